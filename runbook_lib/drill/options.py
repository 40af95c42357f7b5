"""The drill's options: one frozen type, declared once, crossing the process boundary once.

``runbook drill`` builds :class:`DrillOptions` from its command line and :meth:`~DrillOptions.
validate` checks it once, before any process starts; :meth:`~DrillOptions.to_args` hands it to
pytest in a child process, where the plugin reads it back with :meth:`~DrillOptions.from_config`
(plain ``pytest`` takes the same options: :func:`add_options` declares them for both).

Defaults from the environment are read here and nowhere else: ``RUNBOOK_GUIDE``,
``RUNBOOK_CONFIG`` and ``RUNBOOK_PG``. The features directory is pytest-bdd's own
``bdd_features_base_dir`` ini value (``-o bdd_features_base_dir=DIR`` with plain pytest), so
the binding module and the options can never disagree about it.

The rest of what the environment tells a drill (production sizes, the drill database size, where
clusters go, the DSN of ``--pg dsn``, the image of ``--pg container``) is :class:`Settings`:
resolved and validated once by the CLI and the pytest plugin (fixture ``drill_settings``), then
passed down as plain values.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from runbook_lib.world.targets import Target

from runbook_lib.drill.shard import Shard
from runbook_lib.errors import ConfigurationError
from runbook_lib.paths import DEFAULT_CONFIG, DEFAULT_FEATURES, DEFAULT_GUIDE, ConfigDir
from runbook_lib.procedures.production_sizes import (
    DEFAULT_PRODUCTION_DB_BYTES,
    DEFAULT_PRODUCTION_STORAGE_BYTES,
    DEFAULT_PRODUCTION_STORAGE_OBJECTS,
    parse_size,
)
from runbook_lib.world.container import DEFAULT_IMAGE
from runbook_lib.world.postgres import BACKENDS, DEFAULT_DOCKER_HOST
from runbook_lib.world.secrets import Secret

FEATURES_INI = "bdd_features_base_dir"
MAX_AUTO_WORKERS = 8  # `--workers auto` never starts more (each runs its own cluster)
DEFAULT_DRILL_DB_BYTES = 32 * 1000**2  # 32MB: large enough to time a restore


@dataclass(frozen=True)
class Settings:
    """What the environment tells a drill, read once at the edge and passed down: procedures
    and world modules never read ``os.environ`` (a child process still inherits it, through
    :func:`runbook_lib.world.shell.child_env`)."""

    production_db_bytes: int = DEFAULT_PRODUCTION_DB_BYTES  # RUNBOOK_PRODUCTION_DB_SIZE
    production_storage_objects: int = DEFAULT_PRODUCTION_STORAGE_OBJECTS  # ..._STORAGE_OBJECTS
    production_storage_bytes: int = DEFAULT_PRODUCTION_STORAGE_BYTES  # ..._STORAGE_SIZE
    drill_db_bytes: int = DEFAULT_DRILL_DB_BYTES  # RUNBOOK_DRILL_DB_SIZE
    pg_tmpdir: Path | None = None  # RUNBOOK_PG_TMPDIR: where throwaway clusters go
    pg_dsn: Secret = field(default=Secret(""))  # RUNBOOK_PG_DSN (holds a password: masked)
    docker_host: str = DEFAULT_DOCKER_HOST  # DOCKER_HOST
    pg_image: str = DEFAULT_IMAGE  # RUNBOOK_PG_IMAGE: the container backend's image
    step_summary: Path | None = None  # GITHUB_STEP_SUMMARY: CI's job summary file

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        """Parse and check every variable; a bad one is a ConfigurationError naming it."""

        def size(name: str, default: int) -> int:
            raw = environ.get(name, "").strip()
            if not raw:
                return default
            try:
                value = parse_size(raw)
            except ConfigurationError:
                value = 0
            if value <= 0:
                raise ConfigurationError(
                    f"{name}={raw!r}: give a positive size like 8GiB, 500MB or 1024 (bytes)"
                )
            return value

        objects = environ.get("RUNBOOK_PRODUCTION_STORAGE_OBJECTS", "").strip()
        if objects and not (objects.isdigit() and int(objects) > 0):
            raise ConfigurationError(
                f"RUNBOOK_PRODUCTION_STORAGE_OBJECTS={objects!r}: give a positive whole number"
            )
        tmpdir = environ.get("RUNBOOK_PG_TMPDIR", "").strip()
        if tmpdir and not Path(tmpdir).is_dir():
            raise ConfigurationError(
                f"RUNBOOK_PG_TMPDIR={tmpdir!r}: not a directory; create it or unset the variable"
            )
        dsn = environ.get("RUNBOOK_PG_DSN", "").strip()
        if dsn and not dsn.startswith(("postgres://", "postgresql://")):
            raise ConfigurationError(
                "RUNBOOK_PG_DSN must look like postgresql://user:password@host:port/db"
            )
        summary = environ.get("GITHUB_STEP_SUMMARY", "").strip()
        return cls(
            production_db_bytes=size("RUNBOOK_PRODUCTION_DB_SIZE", DEFAULT_PRODUCTION_DB_BYTES),
            production_storage_objects=int(objects or DEFAULT_PRODUCTION_STORAGE_OBJECTS),
            production_storage_bytes=size(
                "RUNBOOK_PRODUCTION_STORAGE_SIZE", DEFAULT_PRODUCTION_STORAGE_BYTES
            ),
            drill_db_bytes=size("RUNBOOK_DRILL_DB_SIZE", DEFAULT_DRILL_DB_BYTES),
            pg_tmpdir=Path(tmpdir) if tmpdir else None,
            pg_dsn=Secret(dsn),
            docker_host=environ.get("DOCKER_HOST", "").strip() or DEFAULT_DOCKER_HOST,
            pg_image=environ.get("RUNBOOK_PG_IMAGE", "").strip() or DEFAULT_IMAGE,
            step_summary=Path(summary) if summary else None,
        )


@dataclass(frozen=True)
class DrillOptions:
    """What a drill run was asked to do (every field has the meaning of its CLI option)."""

    guide: Path = DEFAULT_GUIDE
    features: Path = DEFAULT_FEATURES
    config: Path = DEFAULT_CONFIG
    pg: str = "auto"
    only: tuple[str, ...] = ()
    keyword: str = ""  # pytest's -k: scenarios whose test name matches the expression
    target: str | None = None
    allow_production: bool = False
    stand_ins: bool = False
    fault: str | None = None
    workers: str = "auto"
    evidence_dir: Path | None = None
    kill_matrix: Path | None = None  # `runbook mutate`'s matrix: per scenario, proof or unproven
    shard: str = ""  # "I/N": only the I-th of N stable shares of the selection ("" = all of it)

    @property
    def config_dir(self) -> ConfigDir:
        return ConfigDir(self.config)

    @property
    def worker_count(self) -> str:
        """``--workers`` as pytest-xdist takes it. ``auto`` is two workers per CPU this process
        may use (at most :data:`MAX_AUTO_WORKERS`) for a whole drill: its scenarios also wait
        (restores, the Vercel CLI, Alertmanager's timers), and on 2 cores four workers beat
        three (paired drills: 39.4 s against 44.7 s); one per CPU when ``--only``, ``-k`` or
        ``--shard`` narrow the run, where a worker's own start-up (about 1.2 s of CPU) is not
        won back."""
        if self.workers != "auto":
            return self.workers
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        narrowed = bool(self.only or self.keyword or self.shard)
        return str(min((cpus or 1) * (1 if narrowed else 2), MAX_AUTO_WORKERS))

    @property
    def live(self) -> bool:
        """True when the drill reaches a target's real endpoints (no simulation stands in)."""
        return bool(self.target) and not self.stand_ins

    @property
    def shard_spec(self) -> Shard | None:
        """``--shard`` parsed (None: the whole selection); a bad one is a ConfigurationError."""
        return Shard.parse(self.shard) if self.shard else None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], **chosen: object) -> DrillOptions:
        """Options whose unset values take their ``RUNBOOK_*`` environment default."""
        defaults: dict[str, object] = {
            "guide": Path(environ["RUNBOOK_GUIDE"]) if environ.get("RUNBOOK_GUIDE") else None,
            "config": Path(environ["RUNBOOK_CONFIG"]) if environ.get("RUNBOOK_CONFIG") else None,
            "pg": environ.get("RUNBOOK_PG") or None,
        }
        values = {k: v for k, v in {**defaults, **chosen}.items() if v is not None}
        return cls(**values)  # type: ignore[arg-type]

    @classmethod
    def from_config(cls, config: pytest.Config) -> DrillOptions:
        """The options of this pytest process (``runbook drill``'s child, or plain pytest)."""
        features = config.getini(FEATURES_INI)
        evidence_dir = config.getoption("evidence_dir")
        kill_matrix = config.getoption("kill_matrix")
        return cls(
            guide=Path(config.getoption("guide")),
            features=config.rootpath / features if features else DEFAULT_FEATURES,
            config=Path(config.getoption("runbook_config")),
            pg=config.getoption("pg"),
            only=tuple(s.removesuffix(".feature") for s in config.getoption("only")),
            keyword=config.getoption("keyword") or "",
            target=config.getoption("target"),
            allow_production=config.getoption("allow_production"),
            stand_ins=config.getoption("stand_ins"),
            fault=config.getoption("game_day_fault"),
            workers=str(config.getoption("numprocesses", None) or 0),
            evidence_dir=Path(evidence_dir) if evidence_dir else None,
            kill_matrix=Path(kill_matrix) if kill_matrix else None,
            shard=config.getoption("shard") or "",
        )

    def load_target(self, environ: Mapping[str, str]) -> Target:
        """The simulated world, or ``--target`` with its DSN and credentials from ``environ``:
        refused (ConfigurationError) when it names production or its variables are unset."""
        from runbook_lib.world.targets import SIMULATED, load_target

        if not self.target:
            return SIMULATED
        target = load_target(
            self.target,
            self.config_dir.targets,
            allow_production=self.allow_production,
            environ=environ,
        )
        target.require_environment()
        return target

    def available_features(self) -> list[str]:
        return sorted(p.stem for p in self.features.glob("*.feature"))

    def validate(self, settings: Settings) -> None:
        """Refuse options that cannot work, with one line saying what to do (exit 2 or 3).

        Checks what needs no server: the guide parses, the features and configuration exist,
        ``--only`` names features, the backend is known (``auto`` asks ``settings``' Docker
        host), the target passes the production guard, the fault exists, ``--shard`` is I/N,
        and the option combinations make sense.
        """
        from runbook_lib.guide.model import load_guide
        from runbook_lib.world.postgres import resolve_backend

        load_guide(self.guide)
        if not self.features.is_dir() or not self.available_features():
            raise ConfigurationError(
                f"--features {self.features}: no .feature files there; give the directory of your features"
            )
        if not self.config.is_dir():
            raise ConfigurationError(
                f"--config {self.config}: not a directory; give the directory holding targets.yml and api-keys.yml"
            )
        unknown = [stem for stem in self.only if stem not in self.available_features()]
        if unknown:
            raise ConfigurationError(
                f"--only: no feature named {', '.join(unknown)}; available: {', '.join(self.available_features())}"
            )
        if self.workers not in ("auto", "logical") and not self.workers.isdigit():
            raise ConfigurationError(
                f"--workers {self.workers!r}: give auto, a number of workers, or 0 for serial"
            )
        resolve_backend(self.pg, settings.docker_host, settings.pg_image)
        if self.shard:
            Shard.parse(self.shard)
        if self.fault:
            from runbook_lib.drill.faults import run_wide as find_fault  # imports the simulations

            find_fault(self.fault)
        if self.kill_matrix is not None and not self.kill_matrix.is_file():
            raise ConfigurationError(
                f"--kill-matrix {self.kill_matrix}: no such file; write one with `runbook mutate`"
            )
        self.load_target(os.environ)
        if self.target:
            if self.fault and not self.stand_ins:
                raise ConfigurationError(
                    "a game day injects faults into the simulations: add --stand-ins to --target"
                )
        elif self.stand_ins:
            raise ConfigurationError("--stand-ins rehearses a live target: name it with --target")

    def to_args(self) -> list[str]:
        """pytest arguments that carry these options into the child process.

        "--opt=value" keeps pytest's early argument scan from taking a value for a test path.
        """
        args = [
            f"--guide={self.guide}",
            f"--runbook-config={self.config}",
            "-o",
            f"{FEATURES_INI}={self.features.resolve()}",
            f"--pg={self.pg}",
            *(f"--only={stem}" for stem in self.only),
        ]
        if self.keyword:
            args += ["-k", self.keyword]
        if self.evidence_dir is not None:
            args.append(f"--evidence-dir={self.evidence_dir}")
        if self.workers != "0":
            # worksteal: idle workers take queued scenarios from busy ones (durations vary 0.01-8 s)
            args += [f"--numprocesses={self.worker_count}", "--dist=worksteal"]
        if self.fault:
            args.append(f"--game-day-fault={self.fault}")
        if self.kill_matrix is not None:
            args.append(f"--kill-matrix={self.kill_matrix.resolve()}")
        if self.shard:
            args.append(f"--shard={self.shard}")
        if self.target:
            args.append(f"--target={self.target}")
        if self.allow_production:
            args.append("--allow-production")
        if self.stand_ins:
            args.append("--stand-ins")
        return args


def add_options(parser: pytest.Parser, environ: Mapping[str, str] = os.environ) -> None:
    """Declare the drill options for pytest (defaults from the environment, as the CLI's)."""
    defaults = DrillOptions.from_environ(environ)
    group = parser.getgroup("runbook", "runbook drills")
    group.addoption(
        "--guide",
        default=str(defaults.guide),
        help="the operations guide under test (default: the packaged guide, or $RUNBOOK_GUIDE)",
    )
    group.addoption(
        "--runbook-config",
        default=str(defaults.config),
        help="configuration directory: targets.yml, api-keys.yml, alerts/ (default: packaged, or $RUNBOOK_CONFIG)",
    )
    group.addoption(
        "--pg",
        default=defaults.pg,
        choices=BACKENDS,
        help="PostgreSQL backend: auto (container if Docker answers, else embedded), embedded, container, dsn",
    )
    group.addoption(
        "--evidence-dir", default=None, help="write evidence.json and the reports in this directory"
    )
    group.addoption(
        "--only",
        action="append",
        default=[],
        metavar="FEATURE",
        help="run only the scenarios of this feature file stem (repeatable)",
    )
    group.addoption(
        "--target", default=None, help="a live target of targets.yml (default: the simulated world)"
    )
    group.addoption(
        "--allow-production",
        action="store_true",
        default=False,
        help="accept a target that names production identifiers",
    )
    group.addoption(
        "--stand-ins",
        action="store_true",
        default=False,
        help="with --target: simulations answer for the target's S3 and HTTP endpoints",
    )
    group.addoption(
        "--game-day-fault", default=None, help="(set by `runbook drill --fault`) the fault active"
    )
    group.addoption(
        "--shard",
        default=None,
        metavar="I/N",
        help="run only the I-th of N stable shares of the selected scenarios (1-based); "
        "`runbook merge` joins the shards' evidence",
    )
    group.addoption(
        "--kill-matrix",
        default=None,
        help="a kill matrix of `runbook mutate`: evidence lists the scenarios no mutation kills",
    )

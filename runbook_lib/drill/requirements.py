"""What the drills need from the machine, how to tell it is there, and how to install it.

One table serves ``runbook doctor`` (read-only: probe each requirement) and ``runbook setup``
(probe, install what is missing through the ecosystem's own installer, probe again). A
requirement marked *required* stops the default drill when missing; the others enable a part
of it (promtool checks the alert evaluator, npm runs the guide's ``npm`` steps), which
``runbook setup`` installs too, or another backend (Docker for ``--pg container``), which
``runbook setup --with docker`` asks for: it installs and starts ``dockerd`` (Debian's
``docker.io``) and provides the image ``RUNBOOK_PG_IMAGE`` names (``postgres:15`` pulled, or
``runbook/postgres:15`` built here from Debian's packages where no registry answers).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from runbook_lib.errors import EnvironmentMissing
from runbook_lib.world.container import DEFAULT_IMAGE, has_image, probe_engine
from runbook_lib.world.postgres import DEFAULT_DOCKER_HOST, find_bindir


@dataclass(frozen=True)
class Probe:
    """What a probe saw: whether the thing is there, and its version or why not."""

    found: bool
    detail: str


@dataclass(frozen=True)
class Requirement:
    name: str
    purpose: str
    probe: Callable[[], Probe]
    required: bool  # the default drill cannot run without it
    apt: tuple[str, ...] = ()  # Debian packages that provide it
    pip: tuple[str, ...] = ()  # Python distributions that provide it
    optional_key: str = ""  # `runbook setup --with KEY` installs an optional requirement
    by_default: bool = True  # `runbook setup` installs it without being asked
    installer: str = ""  # a named installer of runbook setup, for what no package manager does

    @property
    def fix(self) -> str:
        if self.installer == "dockerd":
            return "start dockerd (apt-get install docker.io first where it is absent)"
        if self.installer == "postgres-image":
            return "pull the image, or build runbook/postgres:15 here (debootstrap, docker import)"
        if self.installer == "vercel-cli":
            return "npm install the pinned Vercel CLI and its Node.js into runbook's tool directory"
        if self.apt:
            return f"apt-get install {' '.join(self.apt)}"
        if self.pip:
            return f"pip install {' '.join(self.pip)}"
        return ""


def version_of(argv: list[str]) -> str | None:
    """The first line a program prints for ``argv`` (its version), or None when it is absent."""
    if not shutil.which(argv[0]) and not os.path.exists(argv[0]):
        return None
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0] if text else "present"


def _program(*argv: str) -> Callable[[], Probe]:
    def probe() -> Probe:
        found = version_of(list(argv))
        return Probe(found is not None, found or "not found")

    return probe


def _postgres_server() -> Probe:
    try:
        bindir = find_bindir()
    except EnvironmentMissing as exc:
        return Probe(False, str(exc))
    version = version_of([str(bindir / "pg_ctl"), "--version"]) or "unknown version"
    return Probe(True, f"{version} in {bindir}")


def _extension_dirs(bindir: Path) -> list[Path]:
    major = bindir.parent.name
    return [
        Path("/usr/share/postgresql") / major / "extension",
        bindir.parent / "share" / "extension",
        bindir.parent / "share" / "postgresql" / "extension",
        *Path("/usr/share/postgresql").glob("*/extension"),
    ]


def _postgres_contrib() -> Probe:
    try:
        bindir = find_bindir()
    except EnvironmentMissing:
        return Probe(False, "no PostgreSQL server binaries")
    for directory in _extension_dirs(bindir):
        if (directory / "pg_stat_statements.control").exists():
            return Probe(True, f"pg_stat_statements in {directory}")
    return Probe(False, "pg_stat_statements is not installed")


def _postgres_user() -> Probe:
    if os.geteuid() != 0:
        return Probe(True, "not needed (not running as root)")
    found = subprocess.run(["id", "postgres"], capture_output=True, check=False).returncode == 0
    return Probe(found, "present" if found else "missing: PostgreSQL refuses to run as root")


def docker_host() -> str:
    # `runbook doctor` and `setup` are the CLI's edge: they ask what the drill would ask
    return os.environ.get("DOCKER_HOST", "").strip() or DEFAULT_DOCKER_HOST


def container_image() -> str:
    """The image ``--pg container`` (and ``auto``) runs: RUNBOOK_PG_IMAGE, else postgres:15."""
    return os.environ.get("RUNBOOK_PG_IMAGE", "").strip() or DEFAULT_IMAGE


def _docker() -> Probe:
    engine = probe_engine(docker_host())
    if engine.answers:
        return Probe(True, f"Docker {engine.version} answers at {engine.host}")
    installed = version_of(["dockerd", "--version"])
    found = f"installed ({installed}) but {engine.why_not}" if installed else "not found"
    return Probe(False, found)


def _image() -> Probe:
    """The container backend's image in the engine's store (the one built here: current)."""
    from runbook_lib.drill.image import LOCAL_IMAGE, image_is_current

    image, engine = container_image(), probe_engine(docker_host())
    if not engine.answers:
        return Probe(False, f"{image}: unknown ({engine.why_not})")
    present = has_image(engine, image)
    if present and image == LOCAL_IMAGE and not image_is_current(image):
        return Probe(False, f"{image} present but built from an older recipe")
    if present:
        return Probe(True, f"{image} present")
    return Probe(False, f"{image} absent: --pg auto runs the embedded cluster")


def _alertmanager() -> Probe:
    """Debian's ``prometheus-alertmanager`` or upstream's ``alertmanager``, with its ``amtool``."""
    found = version_of(["prometheus-alertmanager", "--version"]) or version_of(
        ["alertmanager", "--version"]
    )
    if found and not shutil.which("amtool"):
        return Probe(False, f"{found}, but amtool is missing")
    return Probe(found is not None, found or "not found")


def _vercel_cli() -> Probe:
    """The pinned Vercel CLI the guide's ``vercel`` lines run through, and the pinned Node.js it
    runs on, with their versions."""
    from runbook_lib.procedures.deployment.vercel_cli import (
        NODE_VERSION,
        VERSION,
        bin_dir,
        tool_dir,
    )

    cli = bin_dir() / "vercel"
    node = bin_dir() / "node"
    found = version_of([str(cli), "--version"]) if cli.exists() and node.exists() else None
    if found is None:
        return Probe(False, f"vercel@{VERSION} and node@{NODE_VERSION} not both in {tool_dir()}")
    runtime = version_of([str(node), "--version"]) or "?"
    return Probe(
        VERSION in found and runtime == f"v{NODE_VERSION}",
        f"{found} on Node.js {runtime.removeprefix('v')} in {tool_dir()}",
    )


def _python(dist: str) -> Callable[[], Probe]:
    def probe() -> Probe:
        try:
            return Probe(True, metadata.version(dist))
        except metadata.PackageNotFoundError:
            return Probe(False, "not installed")

    return probe


REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement(
        "PostgreSQL 15 server",
        "the real database every drill restores into",
        _postgres_server,
        True,
        apt=("postgresql", "postgresql-contrib"),
    ),
    Requirement(
        "PostgreSQL contrib (pg_stat_statements)",
        "the guide's slow-query report and the query alert",
        _postgres_contrib,
        True,
        apt=("postgresql-contrib",),
    ),
    Requirement(
        "unprivileged 'postgres' user (running as root)",
        "PostgreSQL refuses to run as root",
        _postgres_user,
        True,
    ),
    Requirement(
        "aws CLI", "the guide's aws s3 sync", _program("aws", "--version"), True, pip=("awscli",)
    ),
    Requirement(
        "git", "the guide's release branch", _program("git", "--version"), True, apt=("git",)
    ),
    Requirement(
        "curl", "the guide's backup trigger", _program("curl", "--version"), True, apt=("curl",)
    ),
    Requirement(
        "npm",
        "the guide's npm version / npm run steps",
        _program("npm", "--version"),
        False,
        apt=("npm",),
        optional_key="npm",
    ),
    Requirement(
        "Vercel CLI (npm vercel and node, pinned)",
        "runs the guide's vercel lines as written (deploy, rollback, logs)",
        _vercel_cli,
        False,
        optional_key="vercel",
        installer="vercel-cli",
    ),
    Requirement(
        "Alertmanager (and amtool)",
        "routes, groups, repeats and inhibits the drills' alerts to Slack, email and the status page",
        _alertmanager,
        True,
        apt=("prometheus-alertmanager",),
    ),
    Requirement(
        "promtool",
        "checks the alert evaluator against Prometheus",
        _program("promtool", "--version"),
        False,
        apt=("prometheus",),
        optional_key="promtool",
    ),
    Requirement(
        "Docker daemon (--pg container)",
        "the container backend; the embedded backend is used without it",
        _docker,
        False,
        apt=("docker.io",),
        optional_key="docker",
        by_default=False,
        installer="dockerd",
    ),
    Requirement(
        "Docker image of PostgreSQL (--pg container)",
        "the container backend's server (RUNBOOK_PG_IMAGE, default postgres:15)",
        _image,
        False,
        optional_key="docker",
        by_default=False,
        installer="postgres-image",
    ),
    *(
        Requirement(f"python: {dist}", "the drill runner", _python(dist), True, pip=(dist,))
        for dist in ("pytest-bdd", "moto", "respx", "hypothesis")
    ),
)
OPTIONAL_KEYS = tuple(
    dict.fromkeys(r.optional_key for r in REQUIREMENTS if r.optional_key and not r.by_default)
)

"""Where the drills act: the simulated world (the default) or a live target, guarded against
production.

A :class:`Target` names everything a procedure touches: the storage and backup buckets, the
Supabase project, the Vercel project, the database DSN, the AWS profile, and the environment
variables that hold its credentials. Fixtures and steps take these from the session's target
(fixture ``drill_target``), never from constants, so one procedure serves:

- :data:`SIMULATED` (default): the guide's own names (``napoleon-ai-storage``, ...) on the
  simulations: moto's S3, the HTTP fakes and a throwaway PostgreSQL cluster;
- a target of the configuration directory's ``targets.yml`` (``runbook drill --target staging``): its database through
  its DSN, its buckets and projects wherever the guide names production's, its credentials
  from the environment, its AWS profile (and S3 endpoint, when it names one). Such a live run
  reaches the target's real endpoints and runs the scenarios tagged ``@live`` only;
- the same target *rehearsed* (``--target staging --stand-ins``): every scenario, with the
  simulations standing in for the target's S3 and HTTP endpoints (they know its projects and
  accept its credentials), so a live configuration is exercised without a network.

The guard works twice. :func:`load_target` refuses a target any of whose identifiers (or its
DSN's host or database) is a configured production identifier, unless explicitly allowed; and
:meth:`Target.map_command` rewrites a guide command's production names to the target's and
refuses a command that would still name production after the rewrite.

The DSN and the tokens are held as :class:`~runbook_lib.world.secrets.Secret`: a target printed
in a traceback or an assertion shows them masked; the fixtures reveal them to the clients only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from runbook_lib.errors import ConfigurationError
from runbook_lib.procedures.backup_recovery.storage import Buckets
from runbook_lib.world import yamlio
from runbook_lib.world.secrets import Secret

# What a target must name: a missing one would silently fall back to production's name.
IDENTIFIERS = (
    "storage_bucket",
    "backup_bucket",
    "supabase_project",
    "vercel_project",
    "vercel_project_name",
)
# target key -> the credential (as clients read it) whose value that variable holds
CREDENTIAL_KEYS = {
    "supabase_token_env": "SUPABASE_ACCESS_TOKEN",
    "supabase_service_role_key_env": "SUPABASE_SERVICE_ROLE_KEY",
    "vercel_token_env": "VERCEL_TOKEN",
    "stripe_key_env": "STRIPE_SECRET_KEY",
    "openai_key_env": "OPENAI_API_KEY",
    "slack_webhook_env": "SLACK_WEBHOOK_URL",  # the incident channel's webhook URL
}


@dataclass(frozen=True)
class CommandMapping:
    """A guide command as written and as the drill runs it on this target."""

    original: str
    line: str
    replaced: tuple[tuple[str, str], ...]  # (as the guide names it, the target's name)


@dataclass(frozen=True)
class Target:
    name: str
    live: bool
    storage_bucket: str
    backup_bucket: str
    supabase_project: str
    vercel_project: str
    vercel_project_name: str
    postgres_dsn: Secret | None = None  # carries the database password
    aws_profile: str | None = None
    aws_endpoint_url: str | None = None  # an S3-compatible endpoint instead of AWS's own
    credentials: dict[str, Secret] = field(default_factory=dict)  # client variable -> value
    production: frozenset[str] = frozenset()
    allow_production: bool = False
    unset_variables: tuple[str, ...] = ()  # variables the target names that hold nothing

    @property
    def buckets(self) -> Buckets:
        return Buckets(self.storage_bucket, self.backup_bucket)

    @property
    def identifiers(self) -> dict[str, str]:
        """Every name this target points at, as the production guard compares them."""
        found = {key: str(getattr(self, key)) for key in IDENTIFIERS}
        if self.aws_profile:
            found["aws_profile"] = self.aws_profile
        if self.postgres_dsn:
            parts = urlsplit(self.postgres_dsn.reveal())
            found["postgres_host"] = parts.hostname or ""
            found["postgres_database"] = parts.path.lstrip("/")
        return found

    def map_command(self, line: str) -> CommandMapping:
        """The guide's ``line`` with the guide's (production) names replaced by this target's."""
        original, replaced = line, []
        for key in IDENTIFIERS:
            guide_name, own = str(getattr(SIMULATED, key)), str(getattr(self, key))
            line, count = _name(guide_name).subn(own, line)
            if count and guide_name != own:
                replaced.append((guide_name, own))
        still = sorted(p for p in self.production if _name(p).search(line.lower()))
        if self.live and still and not self.allow_production:
            raise ConfigurationError(
                f"target {self.name!r}: the command `{line}` still names production "
                f"({', '.join(still)}); refusing to run it without --allow-production"
            )
        return CommandMapping(original, line, tuple(replaced))

    def require_environment(self) -> None:
        """A drill of a live target needs its DSN and every credential variable it names."""
        if self.unset_variables:
            raise ConfigurationError(
                f"target {self.name!r} needs {', '.join(self.unset_variables)} in the "
                "environment: set them to the target's database DSN and tokens"
            )


def _name(identifier: str) -> re.Pattern[str]:
    """``identifier`` as a whole name: not part of a longer bucket, host or project name."""
    return re.compile(rf"(?<![\w.-]){re.escape(identifier)}(?![\w-])")


SIMULATED = Target(
    name="simulated",
    live=False,
    storage_bucket="napoleon-ai-storage",
    backup_bucket="napoleon-ai-backup",
    supabase_project="napoleonaiproduction",  # a ref: 20 lowercase letters
    vercel_project="prj_napoleonai",
    vercel_project_name="napoleon-ai",
)


def _config(path: Path) -> dict[str, Any]:
    try:
        document = yamlio.load(path.read_text(encoding="utf-8"))
    except (OSError, yamlio.YAMLError) as exc:
        raise ConfigurationError(f"{path}: cannot read the target configuration: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("targets"), dict):
        raise ConfigurationError(f"{path}: expected 'production_identifiers:' and 'targets:'")
    return document


def load_target(
    name: str,
    path: Path,
    *,
    allow_production: bool = False,
    environ: Mapping[str, str],
) -> Target:
    """The live target ``name`` of ``path`` (a configuration directory's ``targets.yml``), its
    DSN and credentials read from ``environ`` (the CLI or the plugin passes its environment)."""
    document = _config(path)
    targets = document["targets"]
    if name not in targets or not isinstance(targets[name], dict):
        raise ConfigurationError(f"no target {name!r} in {path}; known: {', '.join(targets)}")
    raw = {str(k): str(v) for k, v in targets[name].items()}
    missing = [key for key in IDENTIFIERS if not raw.get(key)]
    if missing:
        raise ConfigurationError(
            f"target {name!r} in {path} does not name {', '.join(missing)}: "
            "a procedure would fall back to the guide's production names"
        )
    listed = document.get("production_identifiers") or []
    target = Target(
        name=name,
        live=True,
        **{key: raw[key] for key in IDENTIFIERS},
        postgres_dsn=Secret(dsn) if (dsn := environ.get(raw.get("postgres_dsn_env", ""))) else None,
        aws_profile=raw.get("aws_profile"),
        aws_endpoint_url=raw.get("aws_endpoint_url"),
        credentials={
            client_name: Secret(environ[raw[key]])
            for key, client_name in CREDENTIAL_KEYS.items()
            if raw.get(key) and environ.get(raw[key])
        },
        production=frozenset(str(p).lower() for p in listed)
        if isinstance(listed, list)
        else frozenset(),
        allow_production=allow_production,
        unset_variables=tuple(
            raw[key]
            for key in ("postgres_dsn_env", *CREDENTIAL_KEYS)
            if raw.get(key) and not environ.get(raw[key])
        ),
    )
    hits = sorted(
        f"{key}={value}"
        for key, value in target.identifiers.items()
        if value.lower() in target.production
    )
    if hits and not allow_production:
        raise ConfigurationError(
            f"target {name!r} points at production ({', '.join(hits)}); "
            "refusing to drill it without --allow-production"
        )
    return target

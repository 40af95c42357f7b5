"""Live targets: the same procedures pointed at real staging services, guarded against production.

``config/targets.yml`` names each target's identifiers (Supabase project, Vercel project,
buckets, AWS profile) and the environment variables that hold its credentials. Before anything
runs, :func:`load_target` refuses a target whose identifiers, or whose database DSN's host and
database, match a configured production identifier, unless the operator explicitly allows it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from runbook_lib.errors import ConfigurationError

TARGETS = Path(__file__).resolve().parent.parent / "config" / "targets.yml"


@dataclass(frozen=True)
class Target:
    name: str
    identifiers: dict[str, str]
    postgres_dsn: str | None


def _config(path: Path) -> dict[str, object]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"{path}: cannot read the target configuration: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("targets"), dict):
        raise ConfigurationError(f"{path}: expected 'production_identifiers:' and 'targets:'")
    return document


def load_target(
    name: str,
    *,
    allow_production: bool = False,
    path: Path = TARGETS,
    environ: dict[str, str] | None = None,
) -> Target:
    document = _config(path)
    environ = dict(os.environ) if environ is None else environ
    targets = document["targets"]
    assert isinstance(targets, dict)
    if name not in targets:
        raise ConfigurationError(f"no target {name!r} in {path}; known: {', '.join(targets)}")
    raw = {str(k): str(v) for k, v in targets[name].items()}
    dsn = environ.get(raw.get("postgres_dsn_env", ""), "") or None
    values = {k: v for k, v in raw.items() if not k.endswith("_env")}
    if dsn:
        parts = urlsplit(dsn)
        values["postgres_host"] = parts.hostname or ""
        values["postgres_database"] = parts.path.lstrip("/")
    listed = document.get("production_identifiers") or []
    production = {str(p).lower() for p in listed} if isinstance(listed, list) else set()
    hits = sorted(f"{key}={value}" for key, value in values.items() if value.lower() in production)
    if hits and not allow_production:
        raise ConfigurationError(
            f"target {name!r} points at production ({', '.join(hits)}); "
            "refusing to drill it without --allow-production"
        )
    return Target(name, values, dsn)

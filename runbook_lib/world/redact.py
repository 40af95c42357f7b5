"""Secrets never reach an artifact.

Values are redacted when they are registered (tokens and passwords the drill creates), when
they sit in an environment variable whose name looks secret (``*KEY*``, ``*TOKEN*``,
``*SECRET*``, ``*PASSWORD*``), when they follow ``Bearer`` or ``OAuth``, or when they are the
password part of a URL. Every artifact writer passes its text through :func:`text`.
"""

from __future__ import annotations

import os
import re
from typing import Any

MASK = "***"
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL", re.IGNORECASE)
_PATTERNS = (
    re.compile(r"(?i)(\b(?:bearer|oauth|token)\s+)([A-Za-z0-9._~+/=-]{6,})"),
    re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]+:)([^@\s]+)(@)"),
    re.compile(r"(?i)(\bpassword\s*[=:]\s*)(\S+)"),
)
_registered: set[str] = set()


def register(*values: str) -> None:
    """Remember secret values so that :func:`text` masks them wherever they appear."""
    _registered.update(v for v in values if v and len(v) >= 4)


def secret_values() -> set[str]:
    env = {v for k, v in os.environ.items() if _SECRET_NAME.search(k) and len(v) >= 4}
    return _registered | env


def text(value: str) -> str:
    for secret in sorted(secret_values(), key=len, reverse=True):
        value = value.replace(secret, MASK)
    for pattern in _PATTERNS:
        value = pattern.sub(
            lambda m: m.group(1) + MASK + (m.group(3) if m.lastindex == 3 else ""), value
        )
    return value


def data(value: Any) -> Any:
    """Redact every string inside a JSON-like structure."""
    if isinstance(value, str):
        return text(value)
    if isinstance(value, dict):
        return {k: data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [data(v) for v in value]
    return value

"""Secrets never reach an artifact.

A :class:`Redactor` masks the values registered with it (tokens and passwords the drill
creates), the values of the secret-named variables (``*KEY*``, ``*TOKEN*``, ``*SECRET*``,
``*PASSWORD*``) of the environment it was made from, whatever follows ``Bearer`` or ``OAuth``,
and the password part of a URL.

There is no module-level registry: the pytest plugin makes one Redactor per session from its
environment (fixture ``redactor``) and hands it to whatever learns or writes secrets (the
evidence writers, the simulated cloud, the servers' fixtures, the steps that create keys).
:func:`runbook_lib.world.shell.run` masks a command's output with a Redactor of the
environment the command was given, which holds every credential the command could print.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

MASK = "***"
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL", re.IGNORECASE)
_PATTERNS = (
    re.compile(r"(?i)(\b(?:bearer|oauth|token)\s+)([A-Za-z0-9._~+/=-]{6,})"),
    re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]+:)([^@\s]+)(@)"),
    re.compile(r"(?i)(\bpassword\s*[=:]\s*)(\S+)"),
)
_MIN_LENGTH = 4  # shorter values would mask ordinary words


class Redactor:
    """The secrets one drill session knows, and the masking of text and JSON-like data."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        """Know the secret-named variables of ``environ`` (taken now, not looked up later)."""
        self._secrets: set[str] = set()
        self.register(*(v for k, v in (environ or {}).items() if _SECRET_NAME.search(k)))

    def register(self, *values: str) -> None:
        """Remember secret values so that :meth:`text` masks them wherever they appear."""
        self._secrets.update(v for v in values if v and len(v) >= _MIN_LENGTH)

    def secret_values(self) -> frozenset[str]:
        return frozenset(self._secrets)

    def text(self, value: str) -> str:
        for secret in sorted(self.secret_values(), key=len, reverse=True):
            value = value.replace(secret, MASK)
        for pattern in _PATTERNS:
            value = pattern.sub(
                lambda m: m.group(1) + MASK + (m.group(3) if m.lastindex == 3 else ""), value
            )
        return value

    def data(self, value: object) -> object:
        """Redact every string inside a JSON-like structure."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.data(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(v) for v in value]
        return value

"""Secrets never reach an artifact.

A :class:`Redactor` masks the values registered with it (tokens and passwords the drill
creates), the values of the secret-named variables (``*KEY*``, ``*TOKEN*``, ``*SECRET*``,
``*PASSWORD*``, ``*DSN*``, ``*WEBHOOK*``) of the environment it was made from and the password
of every URL there (also percent-encoded), whatever follows ``Bearer`` or ``OAuth``, and the
password part of a URL. It is the second line of defence: secrets are held as
:class:`~runbook_lib.world.secrets.Secret`, whose printed forms are masked.

There is no module-level registry: the pytest plugin makes one Redactor per session from its
environment (fixture ``redactor``) and hands it to whatever learns or writes secrets (the
evidence writers, the simulated cloud, the servers' fixtures, the steps that create keys).
:func:`runbook_lib.world.shell.run` masks a command's output with a Redactor of the
environment the command was given, which holds every credential the command could print.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from urllib.parse import quote, unquote, urlsplit

from runbook_lib.world.secrets import Secret

MASK = "***"
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|DSN|WEBHOOK", re.IGNORECASE)
_PATTERNS = (
    # a credential after its keyword: 6+ token characters with a digit, or 20+ without one
    # ("The token provided via VERCEL_TOKEN" keeps its words)
    re.compile(
        r"(?i)(\b(?:bearer|oauth|token)\s+)"
        r"((?=[A-Za-z0-9._~+/=-]{6})[A-Za-z._~+/=-]*\d[A-Za-z0-9._~+/=-]*|[A-Za-z0-9._~+/=-]{20,})"
    ),
    re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]+:)([^@\s]+)(@)"),
    re.compile(r"(?i)(\bpassword\s*[=:]\s*)(\S+)"),
)
_MIN_LENGTH = 4  # shorter values would mask ordinary words


def _url_password(value: str) -> str | None:
    if "://" not in value or "@" not in value:
        return None
    try:
        password = urlsplit(value.strip()).password
    except ValueError:
        return None
    return unquote(password) if password else None


class Redactor:
    """The secrets one drill session knows, and the masking of text and JSON-like data."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        """Know the secret-named variables of ``environ`` and the password of every URL in
        it (taken now, not looked up later)."""
        self._secrets: set[str] = set()
        self._ordered: list[str] | None = None  # every secret, longest first; None: re-sort
        environ = environ or {}
        self.register(*(v for k, v in environ.items() if _SECRET_NAME.search(k)))
        self.register(*(p for p in map(_url_password, environ.values()) if p))

    def register(self, *values: str | Secret) -> None:
        """Remember secret values so that :meth:`text` masks them wherever they appear (a
        :class:`~runbook_lib.world.secrets.Secret` is revealed here, into the mask list only)."""
        revealed = [v.reveal() if isinstance(v, Secret) else v for v in values]
        # a password inside a DSN appears percent-encoded: mask that spelling too
        encoded = [quote(v, safe="") for v in revealed if v]
        self._secrets.update(
            v for v in (*revealed, *encoded) if len(v) >= _MIN_LENGTH and "\0" not in v
        )
        self._ordered = None

    def secret_values(self) -> frozenset[str]:
        return frozenset(self._secrets)

    def text(self, value: str) -> str:
        return self.texts([value])[0]

    def texts(self, values: list[str]) -> list[str]:
        """Mask many strings at once: the known secrets are replaced in one joined string (a
        few C-speed passes, however many strings an evidence file holds), then the patterns."""
        if self._ordered is None:
            self._ordered = sorted(self._secrets, key=len, reverse=True)
        if any("\0" in v for v in values):  # the joint would be ambiguous: one at a time
            return [self._texts_joined([v])[0] for v in values]
        return self._texts_joined(values)

    def _texts_joined(self, values: list[str]) -> list[str]:
        joined = "\0".join(values)
        for secret in self._ordered or ():
            joined = joined.replace(secret, MASK)
        masked = joined.split("\0") if len(values) > 1 or "\0" not in joined else [joined]
        return [_masked_patterns(v) for v in masked]

    def data(self, value: object) -> object:
        """Redact every string inside a JSON-like structure (all strings in one batch)."""
        strings: list[str] = []
        _collect(value, strings)
        masked = iter(self.texts(strings))
        return _rebuild(value, masked)


def _masked_patterns(value: str) -> str:
    for pattern in _PATTERNS:
        value = pattern.sub(
            lambda m: m.group(1) + MASK + (m.group(3) if m.lastindex == 3 else ""), value
        )
    return value


def _collect(value: object, into: list[str]) -> None:
    if isinstance(value, str):
        into.append(value)
    elif isinstance(value, dict):
        for item in value.values():
            _collect(item, into)
    elif isinstance(value, list | tuple):
        for item in value:
            _collect(item, into)


def _rebuild(value: object, masked: Iterator[str]) -> object:
    if isinstance(value, str):
        return next(masked)
    if isinstance(value, Secret):
        return MASK
    if isinstance(value, dict):
        return {k: _rebuild(v, masked) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rebuild(v, masked) for v in value]
    return value

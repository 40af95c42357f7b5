"""Secrets held so that printing them cannot leak them.

A :class:`Secret` wraps a password, token, key or a DSN that carries a password. Its ``repr``
and ``str`` are masked (``Secret('***')``, ``***``), so a traceback, a pytest assertion repr, a
log line or an f-string shows the mask, never the value; a dataclass holding one prints masked
too. The value comes out only through :meth:`Secret.reveal`, called at the client boundary: a
psycopg connect, a child process's environment, an HTTP header. The session's
:class:`~runbook_lib.world.redact.Redactor` stays the second line of defence on artifacts.

Masked by design: ``f"Bearer {token}"`` with a Secret sends ``Bearer ***`` (the server then
refuses it), so a forgotten :meth:`~Secret.reveal` fails loudly instead of leaking.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

MASK = "***"


@dataclass(frozen=True)
class Secret:
    """A secret value whose every printed form is masked; :meth:`reveal` at the boundary only."""

    _value: str = field(repr=False)

    def reveal(self) -> str:
        """The value itself: for a client's connect call, a child's environment or a header."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK!r})" if self._value else "Secret('')"

    def __str__(self) -> str:
        return MASK if self._value else ""

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Secret is not pickled: reveal it at the boundary that needs it")

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> Secret:
        return self


def secret(value: str | Secret | None) -> Secret:
    """``value`` as a Secret (a Secret stays itself; None is the empty secret)."""
    if isinstance(value, Secret):
        return value
    return Secret(value or "")


def masked_url(url: str | Secret) -> str:
    """A URL for messages: its password (if any) replaced by the mask."""
    text = url.reveal() if isinstance(url, Secret) else url
    parts = urlsplit(text)
    if parts.password is None:
        return text
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:{MASK}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))

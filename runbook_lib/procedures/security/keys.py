"""API key rotation (guide: Access Management, "API Keys: Rotated quarterly").

The inventory (``api-keys.yml`` of the configuration directory) lists every production credential with its provider,
owner and creation date; :func:`stale_keys` names those older than the guide's period. The
rotation procedure issues a new key at the provider, switches clients to it, revokes the old
one, and proves through the provider's API that the old key is now refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Protocol

from runbook_lib.errors import ConfigurationError, GuideError
from runbook_lib.guide.model import Guide, schedule_interval
from runbook_lib.world import yamlio


@dataclass(frozen=True)
class KeyRecord:
    name: str
    provider: str
    owner: str
    created: date


def load_inventory(path: Path) -> list[KeyRecord]:
    try:
        document = yamlio.load(path.read_text(encoding="utf-8"))
        return [
            KeyRecord(str(k["name"]), str(k["provider"]), str(k["owner"]), _day(k["created"]))
            for k in document["keys"]
        ]
    except (OSError, yamlio.YAMLError, KeyError, TypeError, ValueError) as exc:
        raise ConfigurationError(
            f"{path}: not a key inventory (keys: [{{name, provider, owner, created}}]): {exc}"
        ) from None


def _day(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def rotation_days(guide: Guide) -> float:
    for statement in guide.statements_in("Access Management"):
        if statement.label.lower() == "api keys":
            seconds = schedule_interval(statement.text)
            if seconds is not None:
                return seconds / 86400
    raise GuideError(
        guide.path, None, "Access Management", "expected '**API Keys**: Rotated <cadence>'"
    )


def stale_keys(inventory: list[KeyRecord], today: date, max_age_days: float) -> list[str]:
    return [
        f"{k.name} ({k.provider}, owner {k.owner}) is {(today - k.created).days} days old"
        for k in inventory
        if (today - k.created).days > max_age_days
    ]


class KeyProvider(Protocol):
    def issue(self) -> str: ...
    def revoke(self, key: str) -> None: ...
    def status_with(self, key: str) -> int:
        """HTTP status of an authenticated read at the provider with ``key``."""
        ...


@dataclass(frozen=True)
class Rotation:
    name: str
    old_status_after: int
    new_status: int


def rotate(name: str, provider: KeyProvider, credentials: dict[str, str]) -> Rotation:
    """Issue, switch, revoke, prove: the old key must be refused and the new one accepted."""
    old = credentials[name]
    new = provider.issue()
    credentials[name] = new
    new_status = provider.status_with(new)
    provider.revoke(old)
    return Rotation(name, provider.status_with(old), new_status)

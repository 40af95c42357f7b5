"""Where the tool finds what it reads: the one home of every path.

The package ships a complete default world as package data, so an installed ``runbook``
works from any directory: Napoleon AI's guide (``defaults/production-operations-guide.md``),
the features (``features/``), and the configuration directory (``defaults/config/``) with the
live targets (``targets.yml``), the API-key inventory (``api-keys.yml``) and the alert rule
file deployed to Prometheus (``alerts/napoleon-ai.rules.yml``). A user points the tool at
their own with ``--guide PATH``, ``--features DIR`` and ``--config DIR``; nothing is found
relative to a source checkout, and reports go under the current directory.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
DEFAULT_GUIDE = PACKAGE / "defaults" / "production-operations-guide.md"
DEFAULT_FEATURES = PACKAGE / "features"
DEFAULT_CONFIG = PACKAGE / "defaults" / "config"
TEMPLATES = PACKAGE / "evidence" / "templates"
SCENARIOS = PACKAGE / "drill" / "scenarios.py"
PYTEST_INI = PACKAGE / "drill" / "drill-pytest.ini"
RULE_FILE_NAME = "napoleon-ai.rules.yml"
ALERTMANAGER_FILE_NAME = "alertmanager.yml"


@dataclass(frozen=True)
class ConfigDir:
    """A configuration directory (``--config DIR``): what the drill reads besides the guide."""

    root: Path = DEFAULT_CONFIG

    @property
    def targets(self) -> Path:
        return self.root / "targets.yml"

    @property
    def key_inventory(self) -> Path:
        return self.root / "api-keys.yml"

    @property
    def rule_file(self) -> Path:
        return self.root / "alerts" / RULE_FILE_NAME

    @property
    def alertmanager_file(self) -> Path:
        """The Alertmanager configuration deployed with the rules (``alerts/alertmanager.yml``)."""
        return self.root / "alerts" / ALERTMANAGER_FILE_NAME


DEFAULT_CONFIG_DIR = ConfigDir()


def default_reports() -> Path:
    """Where ``runbook drill`` writes ``<run-id>/`` and ``latest`` unless told otherwise."""
    return Path.cwd() / "reports"


def user_cache(environ: Mapping[str, str]) -> Path:
    """runbook's per-user cache (``$XDG_CACHE_HOME/runbook``, else ``~/.cache/runbook``): pinned
    tools and compiled bytecode, which survive across checkouts and need no root."""
    return Path(environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "runbook"

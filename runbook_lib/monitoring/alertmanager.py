"""Alertmanager's configuration, generated from the guide (guide: Incident Response > Severity
Levels, Response Timeline, Communication Channels; Monitoring & Alerting > Alerting Rules).

Who hears of an alert, and how often, is the guide's:

- the rules' ``severity`` label is one of the guide's levels (:data:`LEVEL_NAMES`: ``critical``
  is its "Critical" P0, ``warning`` its "Medium" P2, ``ticket`` its "Low" P3);
- every alert reaches the Internal channel the guide names ("Slack #incidents"), firing and
  resolved, naming itself, its severity and the guide section and line it implements;
- an alert at the guide's most severe level (P0: "Service completely down") is one customers
  feel, so it also reaches the External channels the guide names: the status page and email
  notifications to the customer list (the guide says neither when nor for which level; the top
  level is our reading);
- the levels that get "direct communication" (Stakeholders: "P0/P1") also email the stakeholders;
- a firing alert is told again at its level's response time (P0: "< 15 minutes"): until someone
  responds, the channel hears it when the guide says a response is due (``repeat_interval``);
- grouping: one notification per alert name (``group_by: [alertname]``: the uptime alert's burn
  windows arrive together), after Alertmanager's own ``group_wait`` and ``group_interval``
  (30 s, 5 m: the guide states nothing shorter than its 15-minute response);
- inhibition, from the rule catalogue: an alert whose rule reads an up/down signal
  (the database-up gauge, the uptime probe: a catalogue gauge marked binary) says its system is
  down, and silences the lower-severity alerts of that system (same ``source`` label): slow
  statements of a database that is down are noise.

Alertmanager has no Statuspage integration: the status page hears through a webhook to our
bridge (:mod:`runbook_lib.monitoring.alertmanager_statuspage`), which opens and resolves the
incident through Statuspage's API. Email goes out as Alertmanager sends it, over SMTP, through
the guide's email provider's relay (SendGrid: ``smtp.sendgrid.net:587``, STARTTLS, user
``apikey``, the API key as password). Secrets are files under ``/etc/alertmanager/secrets``,
never in the configuration.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, cast

import yaml

from runbook_lib.errors import GuideError
from runbook_lib.guide.model import Guide, SeverityLevel
from runbook_lib.monitoring import alertmanager_statuspage, catalog
from runbook_lib.monitoring.measures import Gauge
from runbook_lib.monitoring.webhooks import HOOKS_HOST
from runbook_lib.procedures.incident_response.communications import (
    Channels,
    internal_channel,
    stakeholder_levels,
)

SECRETS_DIR = "/etc/alertmanager/secrets"
SLACK_URL_FILE = f"{SECRETS_DIR}/slack-incidents-webhook-url"
SENDGRID_KEY_FILE = f"{SECRETS_DIR}/sendgrid-api-key"
SMARTHOST = "smtp.sendgrid.net:587"
SMTP_USER = "apikey"  # SendGrid's SMTP relay: this user name, the API key as password
STATUSPAGE_BRIDGE = HOOKS_HOST + alertmanager_statuspage.PATH
LEVEL_NAMES = {"critical": "Critical", "warning": "Medium", "ticket": "Low"}
GROUP_BY = ["alertname"]
GROUP_WAIT = 30.0  # Alertmanager's defaults
GROUP_INTERVAL = 300.0
RESOLVE_TIMEOUT = 300.0
_ADDRESSES = Channels("", "", "", "")  # the configured mailing lists (the guide names none)

TITLE = (
    '[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] '
    "{{ .CommonLabels.alertname }} ({{ .CommonLabels.severity }}, %s)"
)
ALERT_LINES = (
    "{{ range .Alerts }}{{ .Labels.alertname }} [{{ .Labels.severity }}] {{ .Status }}"
    "{{ with .Labels.window }} window {{ . }}{{ end }}: {{ .Annotations.summary }} "
    "(guide: {{ .Annotations.guide_section }}, line {{ .Annotations.guide_line }})\n{{ end }}"
)


@dataclass(frozen=True)
class Tier:
    """How the alerts of one severity label are told, as the guide says."""

    severity: str  # the rules' label
    level: SeverityLevel  # the guide's level it is
    slack_channel: str  # Internal
    external: tuple[str, ...]  # External channels: "status page", "email"
    stakeholders: bool  # Stakeholders: direct communication

    @property
    def audiences(self) -> tuple[str, ...]:
        return (
            "internal",
            *(("external",) if self.external else ()),
            *(("stakeholders",) if self.stakeholders else ()),
        )

    @property
    def receiver(self) -> str:
        """Named after the level and who hears: "P0-internal+external+stakeholders"."""
        return f"{self.level.level}-{'+'.join(self.audiences)}"

    @property
    def repeat_seconds(self) -> float:
        return self.level.response_seconds


def _rules(guide: Guide) -> list[dict[str, Any]]:
    """The rules the guide generates (the rule file's, as :mod:`catalog` writes them)."""
    groups = cast(list[dict[str, list[dict[str, Any]]]], catalog.generate(guide))
    return [rule for group in groups for rule in group["rules"]]


def severities(guide: Guide) -> list[str]:
    """The severity labels of the rules the guide generates, most severe first."""
    found = {str(rule["labels"]["severity"]) for rule in _rules(guide)}
    return sorted(found, key=lambda s: _level(guide, s).response_seconds)


def _level(guide: Guide, severity: str) -> SeverityLevel:
    name = LEVEL_NAMES.get(severity)
    for level in guide.severity_levels:
        if level.name == name:
            return level
    raise GuideError(
        guide.path,
        None,
        "Severity Levels",
        f"expected a level named {name!r} for the rules' severity {severity!r} "
        f"(runbook_lib/monitoring/alertmanager.py LEVEL_NAMES)",
    )


def external_channels(guide: Guide) -> tuple[str, ...]:
    """What Communication Channels' External line names: "status page", "email"."""
    for statement in guide.statements_in("Communication Channels"):
        if statement.label.lower() == "external":
            text = statement.text.lower()
            return tuple(c for c in ("status page", "email") if c in text)
    return ()


def tier(guide: Guide, severity: str) -> Tier:
    level = _level(guide, severity)
    top = guide.severity_levels[0].level
    return Tier(
        severity,
        level,
        internal_channel(guide),
        external_channels(guide) if level.level == top else (),
        level.level in stakeholder_levels(guide),
    )


def tiers(guide: Guide) -> list[Tier]:
    return [tier(guide, s) for s in severities(guide)]


def expected_routes(guide: Guide) -> dict[str, str]:
    """severity label -> the receiver the guide's configuration routes it to."""
    return {t.severity: t.receiver for t in tiers(guide)}


def duration(seconds: float) -> str:
    """Prometheus's duration format, in its largest exact unit: 900 -> "15m", 0.025 -> "25ms"."""
    millis = round(seconds * 1000)
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if millis and millis % size == 0:
            return f"{millis // size}{unit}"
    return f"{millis}ms"


# -- the configuration --------------------------------------------------------------------------


def _receiver(t: Tier) -> dict[str, object]:
    title = f"{t.level.level} {t.level.name}"
    receiver: dict[str, object] = {
        "name": t.receiver,
        "slack_configs": [
            {
                "api_url_file": SLACK_URL_FILE,
                "channel": t.slack_channel,
                "send_resolved": True,
                "title": TITLE % title,
                "text": ALERT_LINES,
            }
        ],
    }
    mails = [
        *([_email(_ADDRESSES.customers, title)] if "email" in t.external else []),
        *([_email(_ADDRESSES.stakeholders, title)] if t.stakeholders else []),
    ]
    if mails:
        receiver["email_configs"] = mails
    if "status page" in t.external:
        receiver["webhook_configs"] = [{"url": STATUSPAGE_BRIDGE, "send_resolved": True}]
    return receiver


def _email(to: tuple[str, ...], level: str) -> dict[str, object]:
    return {
        "to": ", ".join(to),
        "from": _ADDRESSES.sender,
        "smarthost": SMARTHOST,
        "auth_username": SMTP_USER,
        "auth_password_file": SENDGRID_KEY_FILE,
        "require_tls": True,
        "send_resolved": True,
        "headers": {"Subject": TITLE % level},
        "html": "",
        "text": ALERT_LINES,
    }


def _down_signals() -> set[str]:
    return {m.name for m in catalog.MEASURES if isinstance(m, Gauge) and m.binary}


def inhibit_rules(guide: Guide) -> list[dict[str, object]]:
    """An alert whose rule reads an up/down signal silences its system's lower severities."""
    order = severities(guide)
    down, found = _down_signals(), []
    for rule in _rules(guide):
        labels = rule["labels"]
        names = set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", str(rule["expr"])))
        lower = order[order.index(labels["severity"]) + 1 :]
        if not names & down or not lower:
            continue
        inhibit: dict[str, object] = {
            "source_matchers": [f'alertname="{rule["alert"]}"', f'severity="{labels["severity"]}"'],
            "target_matchers": [f'source="{labels["source"]}"', f'severity=~"{"|".join(lower)}"'],
        }
        if inhibit not in found:
            found.append(inhibit)
    return found


def generate(guide: Guide) -> dict[str, object]:
    found = tiers(guide)
    receivers = {t.receiver: _receiver(t) for t in found}
    default = found[-1].receiver  # an alert of no known severity: as the least severe
    return {
        "global": {"resolve_timeout": duration(RESOLVE_TIMEOUT)},
        "route": {
            "receiver": default,
            "group_by": GROUP_BY,
            "group_wait": duration(GROUP_WAIT),
            "group_interval": duration(GROUP_INTERVAL),
            "repeat_interval": duration(max(t.repeat_seconds for t in found)),
            "routes": [
                {
                    "matchers": [f'severity="{t.severity}"'],
                    "receiver": t.receiver,
                    "repeat_interval": duration(t.repeat_seconds),
                }
                for t in found
            ],
        },
        "inhibit_rules": inhibit_rules(guide),
        "receivers": list(receivers.values()),
    }


def render(guide: Guide) -> str:
    header = (
        "# Generated from docs/production-operations-guide.md by `runbook alerts export`; do not edit.\n"
        "# Routes, receivers, repeat intervals and inhibition: runbook_lib/monitoring/alertmanager.py.\n"
    )
    return header + yaml.dump(generate(guide), Dumper=_Dumper, sort_keys=False, width=1000)


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (the templates) as literal blocks."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)

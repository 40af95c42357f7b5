"""Our bridge from Alertmanager to the status page (guide: Communication Channels, External).

Alertmanager has no Statuspage integration; its webhook receiver posts each notification (the
webhook payload, version 4: ``groupKey``, ``status``, ``commonLabels``, ``alerts``) to a URL of
ours, and this endpoint (``POST /api/alertmanager/statuspage``) tells the status page through
Atlassian Statuspage's API: the first firing notification of a group opens an incident
(``investigating``), a later one adds an update, a resolved one resolves the incident. It answers
Alertmanager 200 once Statuspage took the change, and 502 when Statuspage did not (Alertmanager
then retries: the bridge itself does not), so a status page outage shows in Alertmanager's own
failed-notification count.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

import httpx

from runbook_lib.errors import ServiceError
from runbook_lib.procedures.incident_response.communications import STATUSPAGE_API
from runbook_lib.world.clock import Clock
from runbook_lib.world.http import ApiClient

PATH = "/api/alertmanager/statuspage"
IMPACT = {"critical": "critical", "warning": "minor"}  # severity label -> Statuspage impact


@dataclass
class StatuspageBridge:
    page_id: str
    key: str = field(repr=False)
    http: httpx.Client
    clock: Clock
    incidents: dict[str, str] = field(default_factory=dict)  # groupKey -> incident id
    answers: list[int] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.method != "POST" or request.url.path != PATH:
            return httpx.Response(404, json={"error": "no such endpoint"})
        try:
            payload = json.loads(request.content)
            group, status = str(payload["groupKey"]), str(payload["status"])
            alerts: list[dict[str, Any]] = list(payload["alerts"])
            labels: dict[str, str] = dict(payload.get("commonLabels") or {})
        except (ValueError, KeyError, TypeError):
            return self._answer(400, "not an Alertmanager webhook payload (version 4)")
        with self._lock:
            try:
                self._tell(group, status, alerts, labels)
            except ServiceError as refused:
                return self._answer(502, f"Statuspage refused: {refused}")
        return self._answer(200, "")

    def _answer(self, status: int, error: str) -> httpx.Response:
        self.answers.append(status)
        return httpx.Response(status, json={"error": error} if error else {"ok": True})

    def _tell(
        self, group: str, status: str, alerts: list[dict[str, Any]], labels: dict[str, str]
    ) -> None:
        api = ApiClient(
            "Statuspage API",
            STATUSPAGE_API,
            self.key,
            "STATUSPAGE_API_KEY",
            self.http,
            self.clock,
            retries=0,
            auth_scheme="OAuth",
        )
        body = "\n".join(_line(a) for a in alerts)
        base = f"/v1/pages/{self.page_id}/incidents"
        open_id = self.incidents.get(group)
        if status == "resolved":
            if open_id is not None:
                change = {"status": "resolved", "body": body}
                api.request("PATCH", f"{base}/{open_id}", json={"incident": change})
                del self.incidents[group]
            return
        if open_id is not None:
            api.request("PATCH", f"{base}/{open_id}", json={"incident": {"body": body}})
            return
        incident = {
            "name": f"{labels.get('alertname', 'Alert')}: investigating",
            "status": "investigating",
            "impact_override": IMPACT.get(labels.get("severity", ""), "minor"),
            "body": body,
        }
        created = api.request("POST", base, json={"incident": incident}, expect=(201,))
        self.incidents[group] = str(created.json()["id"])


def _line(alert: dict[str, Any]) -> str:
    """One alert as Slack's and the emails' lines say it: ``Name [severity] status: summary``."""
    labels, notes = alert.get("labels", {}), alert.get("annotations", {})
    name, severity = labels.get("alertname", "?"), labels.get("severity", "?")
    return f"{name} [{severity}] {alert.get('status', '?')}: {notes.get('summary', '')}"

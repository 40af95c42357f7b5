"""SendGrid's Event Webhook, simulated: what SendGrid tells the sender about every email it took.

- Settings (served by :class:`~runbook_lib.sim.notify.SendGridFake` at ``GET`` / ``PATCH
  /v3/user/webhooks/event/settings``): ``enabled``, ``url`` and one flag per event type, as
  SendGrid's legacy single-webhook API; enabling it without a ``url`` is refused
  (:class:`SettingsRefused`, a 400 in SendGrid's error shape ``{"errors": [{"message", "field",
  "help"}]}``).
- Every recipient of an accepted send gets SendGrid's delivery events, as its mail server
  answers: ``processed`` then ``delivered``; a mailbox that does not exist
  (:attr:`EventWebhook.unknown_mailboxes`) ``bounce`` (``type`` bounce, ``status`` 5.1.1, the
  server's ``reason``), which puts the address on the bounce suppression list, so a later send
  to it is ``dropped`` (``reason`` Bounced Address, never attempted); a busy server
  (:attr:`EventWebhook.busy_mailboxes`) answers 4xx first: ``deferred`` before ``delivered``.
- Events wait until :meth:`EventWebhook.post` sends them as one JSON array to the configured
  URL (``email``, ``timestamp``, ``event``, ``sg_event_id``, ``sg_message_id``: the send's
  ``X-Message-Id`` and a per-recipient suffix, ``smtp-id``, ``category``), as SendGrid posts
  batches; a batch the URL does not answer with a 2xx stays pending and goes again with the next
  post (SendGrid retries for 24 hours). Only the event types whose flag is on are sent, and
  nothing while the webhook is disabled.
- :attr:`EventWebhook.stalled` (a fault): SendGrid keeps accepting sends but posts no event.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from runbook_lib.sim.http import json_response
from runbook_lib.world.clock import Clock

SETTINGS_PATH = "/v3/user/webhooks/event/settings"
FLAGS = (
    "bounce",
    "click",
    "deferred",
    "delivered",
    "dropped",
    "group_resubscribe",
    "group_unsubscribe",
    "open",
    "processed",
    "spam_report",
    "unsubscribe",
)
NO_MAILBOX = "550 5.1.1 The email account that you tried to reach does not exist."
TRY_LATER = "451 4.7.1 Please try again later"


def sendgrid_errors(status: int, *problems: tuple[str, str | None]) -> httpx.Response:
    """SendGrid's error answer: ``{"errors": [{"message", "field", "help"}]}``."""
    errors = [{"message": m, "field": f, "help": None} for m, f in problems]
    return json_response(status, {"errors": errors})


class SettingsRefused(Exception):
    """A settings change SendGrid refuses: its problems as (message, field)."""

    def __init__(self, *problems: tuple[str, str | None]) -> None:
        super().__init__(problems[0][0])
        self.problems = problems


@dataclass
class EventWebhook:
    clock: Clock
    settings: dict[str, Any] = field(
        default_factory=lambda: {
            "enabled": False,
            "url": "",
            **dict.fromkeys(FLAGS, False),
            "oauth_client_id": "",
            "oauth_token_url": "",
        }
    )
    unknown_mailboxes: set[str] = field(default_factory=set)  # their server answers 550 5.1.1
    busy_mailboxes: set[str] = field(default_factory=set)  # their server answers 451 once
    suppressed: set[str] = field(default_factory=set)  # SendGrid's bounce suppression list
    pending: list[dict[str, Any]] = field(default_factory=list)  # events not yet taken with a 2xx
    posts: list[int | None] = field(default_factory=list)  # each post's answer (None: none)
    stalled: bool = False

    # -- the settings (served by SendGridFake at SETTINGS_PATH) ---------------------------------
    def update_settings(self, change: object) -> dict[str, Any]:
        """Apply a PATCH of the settings; :class:`SettingsRefused` with SendGrid's problems."""
        if not isinstance(change, dict):
            raise SettingsRefused(("Bad Request", None))
        wrong = [k for k in change if k not in ("enabled", "url", *FLAGS)]
        wrong += [k for k in ("enabled", *FLAGS) if k in change and not isinstance(change[k], bool)]
        if wrong:
            raise SettingsRefused(*((f"invalid value for {k}", k) for k in wrong))
        updated = {**self.settings, **change}
        if updated["enabled"] and not str(updated["url"]).startswith(("https://", "http://")):
            raise SettingsRefused(("a url is required to enable the Event Webhook", "url"))
        self.settings = updated
        return self.settings

    # -- what happens to an accepted send -----------------------------------------------------
    def accept(self, recipients: Iterable[str]) -> str:
        """Queue the delivery events of one accepted send; its ``X-Message-Id``."""
        message_id = secrets.token_urlsafe(16)
        for index, email in enumerate(recipients):
            for name, details in self._fate(email):
                self._queue(name, email, f"{message_id}.recvd-drill-{index}", details)
        return message_id

    def _fate(self, email: str) -> list[tuple[str, dict[str, Any]]]:
        if email in self.suppressed:
            return [("processed", {}), ("dropped", {"reason": "Bounced Address"})]
        if email in self.unknown_mailboxes:
            self.suppressed.add(email)
            bounce = {"type": "bounce", "status": "5.1.1", "reason": NO_MAILBOX}
            return [
                ("processed", {}),
                ("bounce", {**bounce, "bounce_classification": "Invalid Address"}),
            ]
        delivered = ("delivered", {"response": "250 2.0.0 OK"})
        if email in self.busy_mailboxes:
            deferred = {"response": TRY_LATER, "attempt": "1"}
            return [("processed", {}), ("deferred", deferred), delivered]
        return [("processed", {}), delivered]

    def _queue(self, name: str, email: str, sg_message_id: str, details: dict[str, Any]) -> None:
        if not (self.settings["enabled"] and self.settings.get(name)):
            return
        self.pending.append(
            {
                "email": email,
                "timestamp": int(self.clock.now().timestamp()),
                "smtp-id": f"<{sg_message_id.split('.')[0]}@ismtpd-drill>",
                "event": name,
                "category": [],
                "sg_event_id": secrets.token_urlsafe(16),
                "sg_message_id": sg_message_id,
                **details,
            }
        )

    # -- posting the events -------------------------------------------------------------------
    def post(self, http: httpx.Client) -> int | None:
        """Post every pending event to the configured URL through ``http`` as one batch; the
        answer's status (None: nothing to post, stalled, or no answer)."""
        if self.stalled or not self.pending or not self.settings["enabled"]:
            return None
        batch = list(self.pending)
        try:
            answer = http.post(
                self.settings["url"],
                json=batch,
                headers={"User-Agent": "SendGrid Event API"},
                timeout=10,
            )
        except httpx.TransportError:
            self.posts.append(None)
            return None
        self.posts.append(answer.status_code)
        if answer.is_success:
            del self.pending[: len(batch)]
        return answer.status_code

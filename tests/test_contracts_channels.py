"""The simulated Statuspage and SendGrid hold to the real contracts, and our notifier speaks them
(issue 14, section 3).

- Statuspage: ``Authorization: OAuth <key>``; errors are ``{"message": ...}``; a scheduled
  maintenance needs its window (``scheduled_for`` before ``scheduled_until``, ISO 8601 with a
  zone), as every maintenance status does; a realtime incident needs none.
- SendGrid ``/v3/mail/send``: the subject may be global, in every personalization or in a
  template (``template_id``); content is required unless a template is used; refusals are
  SendGrid's ``{"errors": [{"message", "field", "help"}]}`` in its own words.

Each test fails on the simulation as it was before (``{"error": ...}`` bodies, any window
accepted, a top-level ``subject`` demanded, content never demanded).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from runbook_lib.errors import ServiceError
from runbook_lib.guide.model import Guide
from runbook_lib.procedures.incident_response.communications import Notifier
from runbook_lib.sim.cloud import STATUS_PAGE_ID, SimulatedCloud
from runbook_lib.world.clock import VirtualClock

INCIDENTS = f"https://api.statuspage.io/v1/pages/{STATUS_PAGE_ID}/incidents"
MAIL = "https://api.sendgrid.com/v3/mail/send"
# SendGrid's words (its v3 Mail Send error reference), not the simulation's constants
NO_SUBJECT = (
    "The subject is required. You can get around this requirement if you use a template with a "
    "subject defined or if every personalization has a subject defined."
)
NO_CONTENT = (
    "The content param is required unless you are using a transactional template and have "
    "defined a template_ID."
)


@pytest.fixture
def sim() -> SimulatedCloud:
    return SimulatedCloud(clock=VirtualClock())


def _client(sim: SimulatedCloud) -> httpx.Client:
    hosts = {
        "api.statuspage.io": sim.statuspage.handle,
        "api.sendgrid.com": sim.sendgrid.handle,
        "hooks.slack.com": sim.slack.handle,
    }
    return httpx.Client(transport=httpx.MockTransport(lambda r: hosts[r.url.host](r)))


def _oauth(sim: SimulatedCloud) -> dict[str, str]:
    return {"Authorization": f"OAuth {sim.credentials.statuspage_key}"}


# -- Statuspage ------------------------------------------------------------------------------------


def test_statuspage_errors_are_a_message(sim: SimulatedCloud) -> None:
    with _client(sim) as http:
        bearer = http.post(
            INCIDENTS,
            headers={"Authorization": f"Bearer {sim.credentials.statuspage_key}"},
            json={"incident": {"name": "x"}},
        )
        nameless = http.post(INCIDENTS, headers=_oauth(sim), json={"incident": {}})
        other_page = http.post(
            INCIDENTS.replace(STATUS_PAGE_ID, "kctbh9vrtdwd"),
            headers=_oauth(sim),
            json={"incident": {"name": "x"}},
        )
        unknown = http.patch(f"{INCIDENTS}/nope", headers=_oauth(sim), json={"incident": {}})
    for answer, status in ((bearer, 401), (nameless, 422), (other_page, 404), (unknown, 404)):
        assert answer.status_code == status
        assert set(answer.json()) == {"message"}, answer.json()
        assert isinstance(answer.json()["message"], str)


def _maintenance(status: str, start: Any, end: Any) -> dict[str, Any]:
    incident = {"name": "Database upgrade", "status": status, "body": "Sunday 02:00-04:00 UTC"}
    if start is not None:
        incident["scheduled_for"] = start
    if end is not None:
        incident["scheduled_until"] = end
    return {"incident": incident}


@pytest.mark.parametrize(
    ("status", "start", "end"),
    [
        ("scheduled", None, "2026-01-11T04:00:00+00:00"),
        ("scheduled", "2026-01-11T04:00:00+00:00", "2026-01-11T02:00:00+00:00"),  # ends first
        ("scheduled", "2026-01-11T02:00:00+00:00", "2026-01-11T02:00:00+00:00"),  # no length
        ("scheduled", "Sunday 2 AM", "Sunday 4 AM"),  # not ISO 8601
        ("scheduled", "2026-01-11T02:00:00", "2026-01-11T04:00:00"),  # no time zone
        ("in_progress", None, None),  # a maintenance status too
    ],
)
def test_a_maintenance_without_a_sound_window_is_refused(
    sim: SimulatedCloud, status: str, start: Any, end: Any
) -> None:
    with _client(sim) as http:
        answer = http.post(INCIDENTS, headers=_oauth(sim), json=_maintenance(status, start, end))
    assert answer.status_code == 422
    assert "scheduled" in answer.json()["message"].lower()
    assert sim.statuspage.incidents == {}


def test_a_maintenance_with_its_window_and_an_incident_without_one_are_taken(
    sim: SimulatedCloud,
) -> None:
    start, end = "2026-01-11T02:00:00+00:00", "2026-01-11T04:00:00+00:00"
    with _client(sim) as http:
        scheduled = http.post(
            INCIDENTS, headers=_oauth(sim), json=_maintenance("scheduled", start, end)
        )
        realtime = http.post(
            INCIDENTS, headers=_oauth(sim), json=_maintenance("investigating", None, None)
        )
        moved = http.patch(
            f"{INCIDENTS}/{scheduled.json()['id']}",
            headers=_oauth(sim),
            json={"incident": {"status": "in_progress"}},
        )
        wrong_family = http.patch(
            f"{INCIDENTS}/{realtime.json()['id']}",
            headers=_oauth(sim),
            json={"incident": {"status": "completed"}},
        )
    assert scheduled.status_code == 201
    assert (scheduled.json()["scheduled_for"], scheduled.json()["scheduled_until"]) == (start, end)
    assert (realtime.status_code, realtime.json()["scheduled_for"]) == (201, None)
    assert (moved.status_code, moved.json()["status"]) == (200, "in_progress")
    assert wrong_family.status_code == 422


def test_the_notifier_schedules_a_maintenance_with_its_window(
    sim: SimulatedCloud, guide: Guide
) -> None:
    start = datetime(2026, 1, 11, 2, tzinfo=UTC)
    with _client(sim) as http:
        notifier = Notifier(guide, sim.channels(), sim.clock, http)
        notifier.schedule_status_page("Maintenance", "Sunday", (start, start + timedelta(hours=2)))
        with pytest.raises(ServiceError, match=r"answered 422: .*\"message\""):
            notifier.schedule_status_page("Backwards", "x", (start, start - timedelta(hours=2)))
    (incident,) = sim.statuspage.incidents.values()
    assert (incident.status, incident.scheduled_for) == ("scheduled", start.isoformat())


# -- SendGrid ------------------------------------------------------------------------------------


def _send(sim: SimulatedCloud, body: dict[str, Any]) -> httpx.Response:
    with _client(sim) as http:
        return http.post(
            MAIL, headers={"Authorization": f"Bearer {sim.credentials.sendgrid_key}"}, json=body
        )


FROM = {"email": "status@napoleon.ai"}
CONTENT = [{"type": "text/plain", "value": "Sunday 02:00 UTC"}]


def test_sendgrid_takes_the_subject_from_every_personalization(sim: SimulatedCloud) -> None:
    answer = _send(
        sim,
        {
            "personalizations": [
                {"to": [{"email": "a@example.com"}], "subject": "Maintenance (A)"},
                {"to": [{"email": "b@example.com"}], "subject": "Maintenance (B)"},
            ],
            "from": FROM,
            "content": CONTENT,
        },
    )
    assert (answer.status_code, answer.content) == (202, b"")
    assert answer.headers["X-Message-Id"]
    assert [(d.to, d.subject) for d in sim.sendgrid.deliveries] == [
        (("a@example.com",), "Maintenance (A)"),
        (("b@example.com",), "Maintenance (B)"),
    ]


def test_sendgrid_takes_a_template_without_subject_or_content(sim: SimulatedCloud) -> None:
    answer = _send(
        sim,
        {
            "personalizations": [
                {"to": [{"email": "a@example.com"}], "dynamic_template_data": {"day": "Sunday"}}
            ],
            "from": FROM,
            "template_id": "d-0123456789abcdef0123456789abcdef",
        },
    )
    assert answer.status_code == 202


def test_sendgrid_refuses_a_send_without_any_subject_or_content_in_its_words(
    sim: SimulatedCloud,
) -> None:
    answer = _send(
        sim,
        {
            "personalizations": [
                {"to": [{"email": "a@example.com"}], "subject": "only one has it"},
                {"to": [{"email": "b@example.com"}]},
            ],
            "from": FROM,
        },
    )
    assert answer.status_code == 400
    errors = answer.json()["errors"]
    assert [(e["message"], e["field"]) for e in errors] == [
        (NO_SUBJECT, "subject"),
        (NO_CONTENT, "content"),
    ]
    assert all(e["help"].startswith("http://sendgrid.com/docs/") for e in errors)
    assert sim.sendgrid.deliveries == []


def test_sendgrid_refuses_a_personalization_without_a_recipient(sim: SimulatedCloud) -> None:
    answer = _send(
        sim, {"personalizations": [{"to": []}], "from": FROM, "subject": "x", "content": CONTENT}
    )
    assert answer.status_code == 400
    assert [e["field"] for e in answer.json()["errors"]] == ["personalizations.0.to"]

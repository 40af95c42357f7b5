"""The email-delivery and Stripe-webhook alerts count what crossed the simulations: SendGrid's
Event Webhook posts and Stripe's signed deliveries, as our receivers took them. Each broken world
turns its check red: a SendGrid that refuses every send, events that never arrive, a delivery
signed with another secret, a replay past the tolerance; a rolled secret (two v1) stays green."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from runbook_lib.drill import faults
from runbook_lib.monitoring import signals, webhooks
from runbook_lib.sim import external
from runbook_lib.sim.cloud import SimulatedCloud
from tests.helpers import ROOT, child_drill

SCENARIOS = ROOT / "runbook_lib" / "drill" / "scenarios.py"


@pytest.fixture
def sim() -> SimulatedCloud:
    return SimulatedCloud()


def _api(sim: SimulatedCloud) -> httpx.Client:
    """The providers' APIs, as the application reaches them."""
    hosts = {"api.sendgrid.com": sim.sendgrid.handle, "api.stripe.com": sim.stripe.handle}
    return httpx.Client(transport=httpx.MockTransport(lambda r: hosts[r.url.host](r)))


# -- SendGrid ------------------------------------------------------------------------------------


def _emails(
    sim: SimulatedCloud, sent: int, missing: int
) -> tuple[signals.Outbox, webhooks.SendGridEvents]:
    receiver = webhooks.SendGridEvents()
    with _api(sim) as http:
        webhooks.subscribe_sendgrid(receiver, sim.credentials.sendgrid_key, http, sim.clock)
        recipients = signals.customers(sent)
        sim.sendgrid.event_webhook.unknown_mailboxes.update(recipients[:missing])
        outbox = signals.send_emails(recipients, sim.credentials.sendgrid_key, http, sim.clock)
    with receiver.client() as hooks:
        sim.sendgrid.event_webhook.post(hooks)
    return outbox, receiver


def test_bounces_are_counted_from_the_events_sendgrid_posted(sim: SimulatedCloud) -> None:
    outbox, receiver = _emails(sim, 10, 2)
    assert len(outbox.accepted) == 10
    assert all(message_id for message_id, _ in outbox.accepted)
    assert receiver.reported(outbox.accepted) == 10
    bounces = [e for e in receiver.events.values() if e["event"] == "bounce"]
    assert {e["email"] for e in bounces} == set(signals.customers(2))
    assert all(
        e["type"] == "bounce" and e["status"].startswith("5.") and e["reason"] for e in bounces
    )
    assert {e["event"] for e in receiver.events.values()} == {"processed", "delivered", "bounce"}
    assert signals.email_delivery_failures(outbox, receiver) == 2


def test_the_event_batch_is_sendgrids_json_array(sim: SimulatedCloud) -> None:
    seen: list[httpx.Request] = []
    receiver = webhooks.SendGridEvents()
    with _api(sim) as http:
        webhooks.subscribe_sendgrid(receiver, sim.credentials.sendgrid_key, http, sim.clock)
        signals.send_emails(["a@example.com"], sim.credentials.sendgrid_key, http, sim.clock)
    with httpx.Client(
        transport=httpx.MockTransport(lambda r: seen.append(r) or receiver.handle(r))
    ) as hooks:
        assert sim.sendgrid.event_webhook.post(hooks) == 200
    (request,) = seen
    assert str(request.url) == receiver.url
    batch = json.loads(request.content)
    assert [e["event"] for e in batch] == ["processed", "delivered"]
    for event in batch:
        assert {"email", "timestamp", "event", "sg_event_id", "sg_message_id"} <= set(event)
        assert event["timestamp"] == int(sim.clock.now().timestamp())


def test_a_bounced_address_is_suppressed_and_later_sends_are_dropped(sim: SimulatedCloud) -> None:
    _, first = _emails(sim, 1, 1)
    assert [e["event"] for e in first.events.values()] == ["processed", "bounce"]
    outbox, again = _emails(sim, 1, 0)  # the same address, its mailbox still missing
    assert [e["event"] for e in again.events.values()] == ["processed", "dropped"]
    assert next(iter(again.events.values()))["email"] == signals.customers(1)[0]
    assert signals.email_delivery_failures(outbox, again) == 1


def test_a_busy_server_defers_then_delivers_and_that_is_no_failure(sim: SimulatedCloud) -> None:
    sim.sendgrid.event_webhook.busy_mailboxes.add(signals.customers(1)[0])
    outbox, receiver = _emails(sim, 1, 0)
    assert [e["event"] for e in receiver.events.values()] == ["processed", "deferred", "delivered"]
    assert receiver.fates() == {outbox.accepted[0]: "delivered"}
    assert signals.email_delivery_failures(outbox, receiver) == 0


def test_sendgrid_answering_500_to_every_send_counts_refused_sends_and_no_events(
    sim: SimulatedCloud,
) -> None:
    faults.find(faults.CLOUD, "SendGrid answers 500 to every send").apply(sim)
    outbox, receiver = _emails(sim, 10, 2)
    assert (len(outbox.accepted), len(outbox.refused)) == (0, 10)
    assert receiver.events == {}
    assert receiver.reported(outbox.accepted) == 0
    assert signals.email_delivery_failures(outbox, receiver) == 10  # the alert fires on the outage


def test_sendgrid_errors_have_its_shape(sim: SimulatedCloud) -> None:
    sim.sendgrid.inject(500, times=1, path_contains="/v3/mail/send")
    with _api(sim) as http:
        answer = http.post(
            "https://api.sendgrid.com/v3/mail/send",
            headers={"Authorization": f"Bearer {sim.credentials.sendgrid_key}"},
            json={},
        )
        bad = http.patch(
            "https://api.sendgrid.com/v3/user/webhooks/event/settings",
            headers={"Authorization": f"Bearer {sim.credentials.sendgrid_key}"},
            json={"enabled": True},
        )
    assert answer.status_code == 500
    assert set(answer.json()["errors"][0]) == {"message", "field", "help"}
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "url"


def test_events_never_posted_leave_every_email_unreported(sim: SimulatedCloud) -> None:
    faults.run_wide("sendgrid-events-stalled").apply(sim)
    outbox, receiver = _emails(sim, 10, 2)
    assert len(outbox.accepted) == 10
    assert receiver.reported(outbox.accepted) == 0
    assert signals.email_delivery_failures(outbox, receiver) == 0  # the bounces go unseen


def test_a_refused_batch_stays_pending_and_counts_once_when_retried(sim: SimulatedCloud) -> None:
    receiver = webhooks.SendGridEvents()
    with _api(sim) as http:
        webhooks.subscribe_sendgrid(receiver, sim.credentials.sendgrid_key, http, sim.clock)
        signals.send_emails(["a@example.com"], sim.credentials.sendgrid_key, http, sim.clock)
    with httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(503))) as down:
        assert sim.sendgrid.event_webhook.post(down) == 503
    assert len(sim.sendgrid.event_webhook.pending) == 2
    with receiver.client() as hooks:
        assert sim.sendgrid.event_webhook.post(hooks) == 200
        assert sim.sendgrid.event_webhook.post(hooks) is None  # nothing left to post
        hooks.post(receiver.url, json=list(receiver.events.values()))  # the batch once more
    assert (len(receiver.events), receiver.accepted) == (2, 2)


def test_the_receiver_refuses_what_is_not_an_event_batch() -> None:
    receiver = webhooks.SendGridEvents()
    with receiver.client() as hooks:
        assert hooks.post(receiver.url, json={"event": "bounce"}).status_code == 400
        assert hooks.post(receiver.url, json=[{"event": "bounce"}]).status_code == 400
        assert hooks.post(receiver.url, content=b"not json").status_code == 400
    assert receiver.events == {}
    assert receiver.refused == 3


# -- Stripe --------------------------------------------------------------------------------------


def _endpoint(sim: SimulatedCloud) -> webhooks.StripeEndpoint:
    with _api(sim) as http:
        return webhooks.register_stripe(
            ["invoice.paid"], sim.credentials.stripe_key, http, sim.clock
        )


def test_registration_follows_stripes_contract(sim: SimulatedCloud) -> None:
    endpoint = _endpoint(sim)
    assert endpoint.secret.startswith("whsec_")
    assert endpoint.endpoint_id.startswith("we_")
    with _api(sim) as http:
        missing = http.post(
            "https://api.stripe.com/v1/webhook_endpoints",
            data={"url": endpoint.url},
            headers={"Authorization": f"Bearer {sim.credentials.stripe_key}"},
        )
    assert missing.status_code == 400
    assert missing.json()["error"]["param"] == "enabled_events"


def test_a_delivery_with_the_right_secret_is_taken_one_with_another_is_a_failure(
    sim: SimulatedCloud,
) -> None:
    endpoint = _endpoint(sim)
    signals.stripe_events(sim.stripe, endpoint.client(), 3, sim.clock.now())
    assert (endpoint.accepted, endpoint.refused) == (3, 0)
    assert signals.stripe_webhook_failures(endpoint) == 0
    signals.forged_deliveries(endpoint.client(), endpoint.url, 1, sim.clock.now())
    assert (endpoint.accepted, endpoint.refused) == (3, 1)
    assert endpoint.reasons() == ["No signatures found matching the expected signature for payload"]
    assert signals.stripe_webhook_failures(endpoint) == 1
    assert len(endpoint.events) == 3  # the forged event never reached the application


def test_a_rolled_secret_signs_twice_and_either_secret_verifies(sim: SimulatedCloud) -> None:
    endpoint = _endpoint(sim)
    old = endpoint.secret
    new = sim.stripe.roll_secret(endpoint.endpoint_id, sim.clock.now(), timedelta(hours=24))
    signals.stripe_events(sim.stripe, endpoint.client(), 2, sim.clock.now())
    assert (endpoint.accepted, endpoint.refused) == (2, 0)
    delivery = sim.stripe.webhooks.deliveries[-1]
    header = delivery.headers["Stripe-Signature"]
    stamp, first, second = header.split(",")
    assert first.startswith("v1=")
    at = int(stamp.removeprefix("t="))
    expected_old = hmac.new(
        old.encode(), f"{at}.".encode() + delivery.payload, hashlib.sha256
    ).hexdigest()
    assert second == f"v1={expected_old}"  # the old secret's comes second:
    assert first != second  # a check of the first v1 alone would refuse the delivery
    now = sim.clock.now().timestamp()
    for secret in (old, new):
        assert webhooks.verify_stripe_signature(delivery.payload, header, secret, now) == ""


def test_once_the_old_secret_expires_an_endpoint_still_holding_it_refuses_everything(
    sim: SimulatedCloud,
) -> None:
    endpoint = _endpoint(sim)
    sim.stripe.roll_secret(endpoint.endpoint_id, sim.clock.now(), timedelta(hours=1))
    sim.clock.advance(2 * 3600)
    signals.stripe_events(sim.stripe, endpoint.client(), 2, sim.clock.now())
    assert (endpoint.accepted, endpoint.refused) == (0, 2)
    assert sim.stripe.webhooks.owed  # Stripe keeps them for a retry


def test_a_replay_past_the_tolerance_is_refused(sim: SimulatedCloud) -> None:
    endpoint = _endpoint(sim)
    signals.stripe_events(sim.stripe, endpoint.client(), 1, sim.clock.now())
    hooks = endpoint.client()
    signals.replayed_delivery(sim.stripe, hooks, sim.clock, 4)  # within 300 s: taken again
    assert (endpoint.accepted, endpoint.refused) == (2, 0)
    assert len(endpoint.events) == 1  # one event, delivered twice
    signals.replayed_delivery(sim.stripe, hooks, sim.clock, 2)  # 6 minutes after signing
    assert (endpoint.accepted, endpoint.refused) == (2, 1)
    assert endpoint.reasons()[0].startswith("Timestamp outside the tolerance zone")


@pytest.mark.parametrize(
    ("age", "verdict"),
    [(0, ""), (300, ""), (301, "Timestamp outside the tolerance zone (1000)"), (-60, "")],
)
def test_tolerance_is_stripes_300_seconds(age: int, verdict: str) -> None:
    payload = b'{"id": "evt_1"}'
    header = external.signature_header(payload, ["whsec_a"], 1000)
    assert webhooks.verify_stripe_signature(payload, header, "whsec_a", 1000 + age) == verdict


@pytest.mark.parametrize(
    ("header", "verdict"),
    [
        ("", "Unable to extract timestamp and signatures from header"),
        ("t=soon,v1=ab", "Unable to extract timestamp and signatures from header"),
        ("t=1000,v0=ab", "No signatures found with expected scheme v1"),
        ("t=1000,v1=ab", "No signatures found matching the expected signature for payload"),
        ("t=1000,v1=é", "No signatures found matching the expected signature for payload"),
    ],
)
def test_malformed_headers_are_refused(header: str, verdict: str) -> None:
    assert webhooks.verify_stripe_signature(b"{}", header, "whsec_a", 1000) == verdict


def test_a_delivery_without_a_signature_or_not_an_event_is_refused(sim: SimulatedCloud) -> None:
    endpoint = _endpoint(sim)
    body = b"[]"
    signed = external.signature_header(body, [endpoint.secret], int(sim.clock.now().timestamp()))
    with endpoint.client() as hooks:
        assert hooks.post(endpoint.url, content=body).status_code == 400
        assert (
            hooks.post(endpoint.url, content=body, headers={"Stripe-Signature": signed}).status_code
            == 400
        )
    assert endpoint.reasons() == ["no Stripe-Signature header", "not a Stripe event"]


# -- the drills: each broken world turns its scenarios red -----------------------------------------

EMAIL_ROWS = {
    "test_email_delivery_failures_are_counted_from_the_events_sendgrid_posts_to_our_webhook[0-silent]",
    "test_email_delivery_failures_are_counted_from_the_events_sendgrid_posts_to_our_webhook[2-firing]",
}


def _game_day(fault: str, evidence_dir: Path) -> dict[str, str]:
    """The email and Stripe scenarios of monitoring_alerting with ``fault`` active run-wide:
    scenario -> status."""
    _, document = child_drill(
        "--only=monitoring_alerting",
        "-k",
        "email or sendgrid or stripe",
        f"--game-day-fault={fault}",
        evidence_dir=evidence_dir,
    )
    records = document["scenarios"]
    return {str(r["node_id"]).rpartition("::")[2]: str(r["status"]) for r in records}


@pytest.mark.parametrize(
    ("fault", "red"),
    [
        ("sendgrid-outage", EMAIL_ROWS),
        ("sendgrid-events-stalled", EMAIL_ROWS),
        ("stripe-webhooks-paused", "stripe"),
    ],
)
def test_each_broken_world_turns_its_scenarios_red(
    fault: str, red: set[str] | str, tmp_path: Path
) -> None:
    statuses = _game_day(fault, tmp_path)
    failed = {name for name, status in statuses.items() if status == "failed"}
    expected = red if isinstance(red, set) else {n for n in statuses if red in n}
    assert len(statuses) == 7, statuses
    assert failed == expected, statuses

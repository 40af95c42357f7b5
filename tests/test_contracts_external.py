"""The simulated OpenAI and Stripe hold to the real contracts (issue 14, section 3).

- OpenAI ``POST /v1/chat/completions`` answers a ``chat.completion`` with ``created`` (unix
  seconds, the cloud's clock), ``usage``, and per choice ``logprobs``: null unless asked for,
  then the tokens' log probabilities; a request without ``messages`` is refused in OpenAI's
  error shape.
- Stripe runs on the cloud's clock: an event happens and is signed at the clock's now, and each
  delivery attempt is signed when it is made, so a retry after an outage of our endpoint is
  inside Stripe's 300 s tolerance while a replay of the first attempt is not. Our endpoint
  takes a delivery whose matching ``v1`` is any of several (a secret rolled twice).

Each test fails on the simulations as they were (no ``created`` or ``logprobs``; a Stripe fake
without a clock that signed at whatever instant its caller passed).
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from runbook_lib.monitoring import webhooks
from runbook_lib.sim import external
from runbook_lib.sim.cloud import SimulatedCloud
from runbook_lib.world.clock import VirtualClock

COMPLETIONS = "https://api.openai.com/v1/chat/completions"


@pytest.fixture
def sim() -> SimulatedCloud:
    return SimulatedCloud(clock=VirtualClock())


def _openai(sim: SimulatedCloud, body: object) -> httpx.Response:
    with httpx.Client(transport=httpx.MockTransport(sim.openai.handle)) as http:
        return http.post(
            COMPLETIONS,
            headers={"Authorization": f"Bearer {sim.credentials.openai_key}"},
            json=body,
        )


SUMMARIZE = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Summarize"}]}


def test_a_chat_completion_carries_created_and_logprobs(sim: SimulatedCloud) -> None:
    sim.clock.advance(3600)
    answer = _openai(sim, SUMMARIZE)
    assert answer.status_code == 200
    body = answer.json()
    assert body["object"] == "chat.completion"
    assert body["created"] == int(sim.clock.now().timestamp())
    assert body["model"].startswith("gpt-4o-mini")
    (choice,) = body["choices"]
    assert "logprobs" in choice
    assert choice["logprobs"] is None  # not asked for
    assert (choice["finish_reason"], choice["message"]["role"]) == ("stop", "assistant")
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_logprobs_asked_for_are_answered(sim: SimulatedCloud) -> None:
    body = _openai(sim, {**SUMMARIZE, "logprobs": True}).json()
    tokens = body["choices"][0]["logprobs"]["content"]
    assert "".join(t["token"] for t in tokens) == body["choices"][0]["message"]["content"]
    assert all(isinstance(t["logprob"], float) and t["logprob"] <= 0 for t in tokens)


def test_a_completion_without_messages_or_with_an_unknown_model_is_refused(
    sim: SimulatedCloud,
) -> None:
    missing = _openai(sim, {"model": "gpt-4o-mini"})
    unknown = _openai(sim, {**SUMMARIZE, "model": "gpt-2"})
    assert missing.status_code == 400
    assert missing.json()["error"] == {
        "message": "Missing required parameter: 'messages'.",
        "type": "invalid_request_error",
        "param": "messages",
        "code": "missing_required_parameter",
    }
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "model_not_found")


# -- Stripe --------------------------------------------------------------------------------------


def _endpoint(sim: SimulatedCloud) -> webhooks.StripeEndpoint:
    with httpx.Client(transport=httpx.MockTransport(sim.stripe.handle)) as http:
        return webhooks.register_stripe(
            ["invoice.paid"], sim.credentials.stripe_key, http, sim.clock
        )


def test_stripe_runs_on_the_clouds_clock(sim: SimulatedCloud) -> None:
    assert sim.stripe.clock is sim.clock
    endpoint = _endpoint(sim)
    sim.clock.advance(90)
    event_id = sim.stripe.trigger("invoice.paid")
    assert sim.stripe.webhooks.events[event_id]["created"] == int(sim.clock.now().timestamp())
    with endpoint.client() as hooks:
        (delivery,) = sim.stripe.deliver(hooks)
    assert delivery.headers["Stripe-Signature"].startswith(f"t={int(sim.clock.now().timestamp())},")
    assert (endpoint.accepted, endpoint.refused) == (1, 0)


def test_a_retry_is_signed_when_it_is_made_and_a_replay_of_the_first_attempt_is_not_taken(
    sim: SimulatedCloud,
) -> None:
    endpoint = _endpoint(sim)
    sim.stripe.trigger("invoice.paid")
    with httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(503))) as down:
        (first,) = sim.stripe.deliver(down)  # our endpoint is down: Stripe keeps it owed
    sim.clock.advance(10 * 60)
    with endpoint.client() as hooks:
        (retry,) = sim.stripe.deliver(hooks)
        replayed = external.replay_delivery(hooks, first)
    assert (first.status, retry.status, replayed.status) == (503, 200, 400)
    assert endpoint.reasons() == [f"Timestamp outside the tolerance zone ({first.headers['Stripe-Signature'][2:12]})"]  # fmt: skip
    assert sim.stripe.webhooks.owed == []


def test_a_secret_rolled_twice_signs_three_times_and_any_v1_verifies(sim: SimulatedCloud) -> None:
    endpoint = _endpoint(sim)
    sim.stripe.roll_secret(endpoint.endpoint_id, old_expires_in=timedelta(hours=12))
    sim.clock.advance(3600)
    newest = sim.stripe.roll_secret(endpoint.endpoint_id, old_expires_in=timedelta(hours=12))
    sim.stripe.trigger("invoice.paid")
    with endpoint.client() as hooks:
        (delivery,) = sim.stripe.deliver(hooks)
    header = delivery.headers["Stripe-Signature"]
    assert header.count("v1=") == 3
    assert (endpoint.accepted, endpoint.refused) == (1, 0)  # its secret's v1 is the last one
    now = sim.clock.now().timestamp()
    assert webhooks.verify_stripe_signature(delivery.payload, header, newest, now) == ""
    assert webhooks.verify_stripe_signature(delivery.payload, header, newest, now + 301) != ""

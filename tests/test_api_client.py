"""The provider client's retries (runbook_lib.world.http): bounded, and polite to rate limits."""

from __future__ import annotations

import httpx

from runbook_lib.world.clock import VirtualClock
from runbook_lib.world.http import ApiClient


def _client(answers: list[httpx.Response], clock: VirtualClock) -> ApiClient:
    def handle(request: httpx.Request) -> httpx.Response:
        return answers.pop(0)

    http = httpx.Client(transport=httpx.MockTransport(handle))
    return ApiClient(
        "Test API", "https://api.example.test", "t0k3n", "TEST_TOKEN", http, clock=clock
    )


def test_a_rate_limit_is_waited_out_as_long_as_retry_after_asks() -> None:
    """Broken world: a client that retries a 429 after 1 s when the API asked for 30 s."""
    clock = VirtualClock()
    start = clock.monotonic()
    limited = httpx.Response(429, headers={"retry-after": "30"}, json={"message": "slow down"})
    client = _client([limited, httpx.Response(200, json={})], clock)
    assert client.request("GET", "/x").status_code == 200
    assert clock.monotonic() - start == 30


def test_without_retry_after_the_backoff_is_exponential() -> None:
    clock = VirtualClock()
    start = clock.monotonic()
    client = _client([httpx.Response(503), httpx.Response(503), httpx.Response(200)], clock)
    client.request("GET", "/x")
    assert clock.monotonic() - start == 1 + 2

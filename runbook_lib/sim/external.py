"""Stateful fakes of the external services whose keys the guide rotates: Stripe and OpenAI.

- Stripe: ``GET /v1/balance`` with ``Authorization: Bearer sk_...``; a bad key answers 401
  ``{"error": {"message": "Invalid API Key provided: sk_live_****abcd", "type": "invalid_request_error"}}``.
- OpenAI: ``GET /v1/models``; a bad key answers 401 with ``"code": "invalid_api_key"``.
"""

from __future__ import annotations

import httpx

from runbook_lib.sim.http import FakeAPI, json_response

STRIPE_URL = "https://api.stripe.com"
OPENAI_URL = "https://api.openai.com"


class StripeFake(FakeAPI):
    def __init__(self) -> None:
        super().__init__(STRIPE_URL)
        self.add_route(
            "GET",
            "/v1/balance",
            lambda request: json_response(
                200,
                {
                    "object": "balance",
                    "available": [{"amount": 0, "currency": "usd"}],
                    "livemode": False,
                },
            ),
        )

    def unauthorized(self) -> httpx.Response:
        return json_response(
            401,
            {
                "error": {
                    "message": "Invalid API Key provided: sk_****",
                    "type": "invalid_request_error",
                }
            },
        )


class OpenAIFake(FakeAPI):
    def __init__(self) -> None:
        super().__init__(OPENAI_URL)
        self.add_route(
            "GET",
            "/v1/models",
            lambda request: json_response(
                200,
                {
                    "object": "list",
                    "data": [{"id": "gpt-4o-mini", "object": "model", "owned_by": "openai"}],
                },
            ),
        )
        self.add_route("POST", "/v1/chat/completions", self._completion)

    @staticmethod
    def _completion(request: httpx.Request) -> httpx.Response:
        return json_response(
            200,
            {
                "id": "chatcmpl-drill",
                "object": "chat.completion",
                "model": "gpt-4o-mini",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "Summary."},
                        "finish_reason": "stop",
                    }
                ],
            },
        )

    def unauthorized(self) -> httpx.Response:
        return json_response(
            401,
            {
                "error": {
                    "message": "Incorrect API key provided.",
                    "type": "invalid_request_error",
                    "param": None,
                    "code": "invalid_api_key",
                }
            },
        )

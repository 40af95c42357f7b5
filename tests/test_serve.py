"""The simulations served over real HTTPS on loopback (runbook_lib.sim.serve), met by real clients.

Each test names the broken world it would catch: a gateway that answers unknown hosts, TLS that
is not really verified, a fault that does not reach the wire, a body lost on the way.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from runbook_lib.sim.cloud import SimulatedCloud
from runbook_lib.sim.serve import Gateway, SessionCA
from runbook_lib.world import touched


@pytest.fixture
def sim() -> SimulatedCloud:
    return SimulatedCloud()


@pytest.fixture
def gateway(tmp_path: Path, sim: SimulatedCloud) -> Iterator[Gateway]:
    served = Gateway(SessionCA(tmp_path / "ca")).start()
    try:
        with served.mounted(sim.routes()):
            yield served
    finally:
        served.stop()


def _backups_url(sim: SimulatedCloud) -> str:
    return f"https://api.supabase.com/v1/projects/{sim.target.supabase_project}/database/backups"


def _curl(
    gateway: Gateway, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **(env if env is not None else gateway.environment())}
    return subprocess.run(
        ["curl", "-sS", "--max-time", "20", *args],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


def test_real_curl_reaches_the_simulation_through_the_proxy(
    gateway: Gateway, sim: SimulatedCloud
) -> None:
    token = sim.credentials.supabase_access_token
    done = _curl(
        gateway, "-w", "%{http_code}", _backups_url(sim), "-H", f"Authorization: Bearer {token}"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith("200")
    assert '"backups"' in done.stdout
    assert [r.url.path for r in sim.supabase.requests] == [
        f"/v1/projects/{sim.target.supabase_project}/database/backups"
    ]


def test_the_proxy_refuses_hosts_no_simulation_serves_from_child_processes(
    gateway: Gateway,
) -> None:
    """Broken world: a gateway that tunnels anywhere would let a child process reach the internet."""
    done = _curl(gateway, "https://example.com/")
    assert done.returncode != 0
    assert "403" in done.stderr
    probe = "import urllib.request; urllib.request.urlopen('https://api.github.com/', timeout=10)"
    python = subprocess.run(
        [sys.executable, "-c", probe],
        env={**os.environ, **gateway.environment()},
        capture_output=True,
        text=True,
        check=False,
    )
    assert python.returncode != 0
    assert "403" in python.stderr
    assert gateway.refused == ["example.com", "api.github.com"]


def test_tls_is_verified_against_the_session_ca(gateway: Gateway, sim: SimulatedCloud) -> None:
    """Broken world: a certificate nobody checks; without the session CA curl must refuse it."""
    env = {
        k: v
        for k, v in gateway.environment().items()
        if not k.endswith(("CA_BUNDLE", "CERT_FILE", "CA_CERTS"))
    }
    done = _curl(gateway, _backups_url(sim), env={**env, "CURL_CA_BUNDLE": "/dev/null"})
    assert done.returncode == 77 or "certificate" in done.stderr.lower(), done


def test_a_fault_that_never_answers_reaches_the_wire(gateway: Gateway, sim: SimulatedCloud) -> None:
    sim.supabase.inject(None, times=1)
    token = sim.credentials.supabase_access_token
    done = _curl(gateway, _backups_url(sim), "-H", f"Authorization: Bearer {token}")
    assert done.returncode == 52, done.stderr  # curl: empty reply from server


def test_in_process_client_goes_through_the_gateway_and_is_recorded(
    gateway: Gateway, sim: SimulatedCloud
) -> None:
    """The drill's own clients meet the same served simulation; what it touches is recorded on
    the calling scenario's record even though a server thread answers."""
    with touched.recording() as record, gateway.mounted(sim.routes()), gateway.client() as http:
        answer = http.get(
            _backups_url(sim),
            headers={"Authorization": f"Bearer {sim.credentials.supabase_access_token}"},
        )
    assert answer.status_code == 200
    assert any("Supabase" in name for name in record.simulated)


def test_a_chunked_body_arrives_whole(gateway: Gateway, sim: SimulatedCloud) -> None:
    body = b'{"text": "' + b"x" * 70_000 + b'"}'

    def chunks() -> Iterator[bytes]:
        yield from (body[i : i + 8192] for i in range(0, len(body), 8192))

    with gateway.client() as http:
        answer = http.post(
            sim.slack_webhook_url, content=chunks(), headers={"Content-Type": "application/json"}
        )
    assert answer.status_code == 200, answer.text
    assert sim.slack.requests[-1].content == body


def test_an_origin_serves_one_host_for_clients_that_take_an_api_url(
    gateway: Gateway, sim: SimulatedCloud
) -> None:
    origin = gateway.origin("api.vercel.com")
    assert origin.startswith("http://127.0.0.1:")
    answer = httpx.get(
        origin + "/v2/user", headers={"Authorization": f"Bearer {sim.credentials.vercel_token}"}
    )
    assert sim.vercel.requests[-1].url.host == "api.vercel.com"
    assert answer.status_code == sim.vercel.handle(sim.vercel.requests[-1]).status_code


def test_stopping_the_gateway_closes_its_ports(tmp_path: Path) -> None:
    served = Gateway(SessionCA(tmp_path)).start()
    url = served.url
    served.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, timeout=2)


def test_each_exchange_is_kept_with_the_answer_the_client_got(
    gateway: Gateway, sim: SimulatedCloud
) -> None:
    """How a step reads what curl really got: the request as it arrived, and the status."""
    _curl(gateway, "-X", "POST", "https://api.supabase.com/v1/projects/{PROJECT_ID}/backups")
    sim.supabase.inject(None, times=1)
    _curl(gateway, _backups_url(sim))
    first, second = gateway.exchanges
    assert first.request.url.path == "/v1/projects/PROJECT_ID/backups"  # curl's URL glob
    assert first.status == 404  # no such route, whatever the credential
    assert second.status is None


def test_a_request_from_a_child_process_is_recorded_on_the_running_scenario(
    gateway: Gateway, sim: SimulatedCloud
) -> None:
    """Broken world: the simulations are mounted before the scenario starts recording (fixture
    setup), so a record taken at mount time would miss them and the evidence would call a
    scenario that only met simulations "real"."""
    with touched.recording() as record:
        _curl(gateway, _backups_url(sim))
    assert any("Supabase" in name for name in record.simulated)

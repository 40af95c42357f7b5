"""The simulated services answer with the real paths, status codes and JSON shapes."""

from __future__ import annotations

import re

import httpx
import pytest

from runbook_lib.sim.cloud import PROJECT_REF, STATUS_PAGE_ID, VERCEL_PROJECT_ID, SimulatedCloud
from runbook_lib.world.clock import VirtualClock


@pytest.fixture
def sim() -> SimulatedCloud:
    return SimulatedCloud()


def client(handler) -> httpx.Client:  # type: ignore[no-untyped-def]
    return httpx.Client(transport=httpx.MockTransport(handler))


def test_supabase_backups_listing_shape(sim: SimulatedCloud) -> None:
    taken = sim.supabase.backend.take_daily_backup(PROJECT_REF)
    token = sim.credentials.supabase_access_token
    with client(sim.supabase.handle) as http:
        answer = http.get(
            f"https://api.supabase.com/v1/projects/{PROJECT_REF}/database/backups",
            headers={"Authorization": f"Bearer {token}"},
        )
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {
        "region",
        "walg_enabled",
        "pitr_enabled",
        "backups",
        "physical_backup_data",
    }
    assert body["backups"][0]["status"] == "COMPLETED"
    assert body["backups"][0]["inserted_at"].endswith("Z")
    assert body["backups"][0]["id"] == taken.id  # an integer, as the restore takes it
    assert body["physical_backup_data"] == {}  # no physical backup: no dates (not nulls)


def test_supabase_unknown_path_and_bad_token(sim: SimulatedCloud) -> None:
    token = sim.credentials.supabase_access_token
    with client(sim.supabase.handle) as http:
        missing = http.post(
            f"https://api.supabase.com/v1/projects/{PROJECT_REF}/backups",
            headers={"Authorization": f"Bearer {token}"},
        )
        refused = http.get(
            f"https://api.supabase.com/v1/projects/{PROJECT_REF}/database/backups",
            headers={"Authorization": "Bearer sbp_wrong"},
        )
    assert missing.status_code == 404
    assert missing.json() == {"message": f"Cannot POST /v1/projects/{PROJECT_REF}/backups"}
    assert refused.status_code == 401
    assert refused.json() == {"message": "Unauthorized"}


def test_supabase_refs_have_the_real_form(sim: SimulatedCloud) -> None:
    assert re.fullmatch(r"[a-z]{20}", PROJECT_REF)
    auth = {"Authorization": f"Bearer {sim.credentials.supabase_access_token}"}
    with client(sim.supabase.handle) as http:
        short = http.get("https://api.supabase.com/v1/projects/napoleonai", headers=auth)
        other = http.get(f"https://api.supabase.com/v1/projects/{'a' * 20}", headers=auth)
    assert short.status_code == 400
    assert other.status_code == 404


def test_supabase_pitr_wants_an_integer_and_pitr_enabled(sim: SimulatedCloud) -> None:
    auth = {"Authorization": f"Bearer {sim.credentials.supabase_access_token}"}
    url = f"https://api.supabase.com/v1/projects/{PROJECT_REF}/database/backups/restore-pitr"
    with client(sim.supabase.handle) as http:
        as_string = http.post(url, headers=auth, json={"recovery_time_target_unix": "1700000000"})
        disabled = http.post(url, headers=auth, json={"recovery_time_target_unix": 1700000000})
        sim.supabase.backend.enable_pitr(PROJECT_REF)
        sim.clock.advance(3600)
        target = int(sim.clock.now().timestamp()) - 600
        accepted = http.post(url, headers=auth, json={"recovery_time_target_unix": target})
    assert as_string.status_code == 400
    assert (disabled.status_code, disabled.json()) == (
        400,
        {"message": "PITR is not enabled for this project."},  # the real API's words (recorded)
    )
    assert (accepted.status_code, accepted.content) == (201, b"")  # the document gives no body


def test_vercel_deployment_moves_through_states_on_the_clock() -> None:
    """A status read of an unfinished deployment stands for a client that waited: the clock moves
    on to its next change (5 s queued, then 60 s building)."""
    sim = SimulatedCloud(clock=VirtualClock())
    auth = {"Authorization": f"Bearer {sim.credentials.vercel_token}"}
    with client(sim.vercel.handle) as http:
        created = http.post(
            "https://api.vercel.com/v13/deployments",
            headers=auth,
            json={"name": "napoleon-ai", "project": VERCEL_PROJECT_ID, "target": "production"},
        )
        dep_id = created.json()["id"]
        states, clock = [created.json()["readyState"]], [sim.clock.monotonic()]
        for _ in range(2):
            states.append(
                http.get(f"https://api.vercel.com/v13/deployments/{dep_id}", headers=auth).json()[
                    "readyState"
                ]
            )
            clock.append(sim.clock.monotonic())
        listed = http.get(
            "https://api.vercel.com/v7/deployments",
            headers=auth,
            params={"projectId": VERCEL_PROJECT_ID, "state": "READY"},
        ).json()
        promoted = http.post(
            f"https://api.vercel.com/v10/projects/{VERCEL_PROJECT_ID}/promote/{dep_id}",
            headers=auth,
        )
        forbidden = http.get("https://api.vercel.com/v7/deployments")
    assert created.status_code == 200
    assert states == ["QUEUED", "BUILDING", "READY"]
    assert clock == [0, 5, 65]
    assert [d["uid"] for d in listed["deployments"]] == [dep_id]
    assert set(listed["pagination"]) == {"count", "next", "prev"}
    assert promoted.status_code == 201
    assert forbidden.status_code == 403
    assert forbidden.json()["error"]["invalidToken"] is True


def test_vercel_injected_faults_and_timeouts(sim: SimulatedCloud) -> None:
    auth = {"Authorization": f"Bearer {sim.credentials.vercel_token}"}
    sim.vercel.inject(503, times=1)
    sim.vercel.inject(None, times=1)
    with client(sim.vercel.handle) as http:
        first = http.get("https://api.vercel.com/v7/deployments", headers=auth)
        with pytest.raises(httpx.ReadTimeout):
            http.get("https://api.vercel.com/v7/deployments", headers=auth)
        third = http.get("https://api.vercel.com/v7/deployments", headers=auth)
    assert (first.status_code, third.status_code) == (503, 200)


def test_slack_webhook_answers_like_slack(sim: SimulatedCloud) -> None:
    with client(sim.slack.handle) as http:
        ok = http.post(sim.slack_webhook_url, json={"text": "P0 incident INC-1 opened"})
        empty = http.post(sim.slack_webhook_url, json={})
        unknown = http.post("https://hooks.slack.com/services/T0/B0/nope", json={"text": "x"})
    assert (ok.status_code, ok.text) == (200, "ok")
    assert (empty.status_code, empty.text) == (400, "no_text")
    assert (unknown.status_code, unknown.text) == (404, "no_service")
    assert sim.slack.in_channel("#incidents")[0]["text"] == "P0 incident INC-1 opened"


def test_statuspage_uses_oauth_and_returns_the_incident(sim: SimulatedCloud) -> None:
    url = f"https://api.statuspage.io/v1/pages/{STATUS_PAGE_ID}/incidents"
    with client(sim.statuspage.handle) as http:
        created = http.post(
            url,
            headers={"Authorization": f"OAuth {sim.credentials.statuspage_key}"},
            json={"incident": {"name": "Database outage", "status": "investigating"}},
        )
        bearer = http.post(
            url,
            headers={"Authorization": f"Bearer {sim.credentials.statuspage_key}"},
            json={"incident": {"name": "x"}},
        )
    assert created.status_code == 201
    assert created.json()["status"] == "investigating"
    assert bearer.status_code == 401


def test_sendgrid_validates_and_accepts_with_202(sim: SimulatedCloud) -> None:
    auth = {"Authorization": f"Bearer {sim.credentials.sendgrid_key}"}
    with client(sim.sendgrid.handle) as http:
        bad = http.post(
            "https://api.sendgrid.com/v3/mail/send", headers=auth, json={"subject": "x"}
        )
        good = http.post(
            "https://api.sendgrid.com/v3/mail/send",
            headers=auth,
            json={
                "personalizations": [{"to": [{"email": "ops@example.com"}]}],
                "from": {"email": "status@example.com"},
                "subject": "Maintenance",
                "content": [{"type": "text/plain", "value": "Sunday 02:00 UTC"}],
            },
        )
    assert bad.status_code == 400
    assert {e["field"] for e in bad.json()["errors"]} == {"personalizations", "from", "content"}
    assert (good.status_code, good.content) == (202, b"")


def test_vercel_rollback_cancel_events_and_aliases() -> None:
    sim = SimulatedCloud(clock=VirtualClock())
    auth = {"Authorization": f"Bearer {sim.credentials.vercel_token}"}
    api = "https://api.vercel.com"
    with client(sim.vercel.handle) as http:

        def deploy(**meta: str) -> str:
            body = {
                "name": "napoleon-ai",
                "project": VERCEL_PROJECT_ID,
                "target": "production",
                "meta": meta,
            }
            return str(http.post(f"{api}/v13/deployments", headers=auth, json=body).json()["id"])

        first = deploy()
        sim.clock.advance(70)
        second = deploy(simulateBuildFailure="1")
        early = http.post(f"{api}/v1/projects/{VERCEL_PROJECT_ID}/rollback/{second}", headers=auth)
        sim.clock.advance(70)
        events = http.get(f"{api}/v3/deployments/{second}/events", headers=auth).json()
        third = deploy()
        cancelled = http.patch(f"{api}/v12/deployments/{third}/cancel", headers=auth)
        fourth = deploy()
        sim.clock.advance(70)
        rollback = http.post(
            f"{api}/v1/projects/{VERCEL_PROJECT_ID}/rollback/{first}", headers=auth
        )
        pending = http.get(
            f"{api}/v9/projects/{VERCEL_PROJECT_ID}", headers=auth, params={"rollbackInfo": "true"}
        ).json()
        sim.clock.advance(11)
        done = http.get(
            f"{api}/v9/projects/{VERCEL_PROJECT_ID}", headers=auth, params={"rollbackInfo": "true"}
        ).json()
        aliases = http.get(f"{api}/v2/deployments/{first}/aliases", headers=auth).json()
        missing = http.get(f"{api}/v13/deployments/dpl_nope", headers=auth)
    assert early.status_code == 422  # not a READY production deployment
    assert events[-1]["type"] == "stderr"
    assert cancelled.json()["readyState"] == "CANCELED"
    assert rollback.status_code == 201
    assert pending["lastAliasRequest"]["jobStatus"] in ("pending", "in-progress")
    assert done["lastAliasRequest"] == done["lastAliasRequest"] | {
        "jobStatus": "succeeded",
        "toDeploymentId": first,
        "fromDeploymentId": fourth,
        "type": "rollback",
    }
    assert done["targets"]["production"]["id"] == first
    assert [(a["alias"], a["deploymentId"]) for a in aliases["aliases"]] == [
        ("napoleon-ai.vercel.app", first)
    ]
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_unhealthy_deployment_answers_503_on_its_health_endpoint() -> None:
    sim = SimulatedCloud(clock=VirtualClock())
    auth = {"Authorization": f"Bearer {sim.credentials.vercel_token}"}
    bypass = {"x-vercel-protection-bypass": sim.vercel.projects[VERCEL_PROJECT_ID].bypass_secret}
    with client(sim.vercel.handle) as api, client(sim.vercel.handle_deployment_url) as web:
        body = {
            "name": "napoleon-ai",
            "project": VERCEL_PROJECT_ID,
            "target": "production",
            "meta": {"simulateUnhealthy": "1"},
        }
        url = api.post("https://api.vercel.com/v13/deployments", headers=auth, json=body).json()[
            "url"
        ]
        before = web.get(f"https://{url}/api/health", headers=bypass)
        sim.clock.advance(70)
        after = web.get(f"https://{url}/api/health", headers=bypass)
        production = web.get("https://napoleon-ai.vercel.app/api/health")
    assert before.status_code == 404  # not READY yet
    assert after.status_code == 503
    assert production.status_code == 503

"""The simulated Vercel API and the drill's client hold to the real contract.

The contract is read from the real clients (issue 14): the SDK's generated models
(github.com/vercel/sdk at 426eb4b, ``src/models/*.ts`` and ``src/funcs/*.ts``, named per test)
and the Vercel CLI 59.25.4 itself, which the last tests run against the served simulation. Each
test names the old behaviour it would have caught (the simulation and client before issue 14).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from runbook_lib.errors import ProcedureFailed
from runbook_lib.procedures.deployment import deploy, vercel_cli
from runbook_lib.procedures.deployment.vercel import VercelClient, event_text
from runbook_lib.sim.cloud import VERCEL_PROJECT_ID, SimulatedCloud
from runbook_lib.sim.vercel_backend import JOB_SECONDS
from runbook_lib.world.clock import VirtualClock
from tests.served_vercel import ServedVercel, served

API = "https://api.vercel.com"
PROJECT = f"{API}/v9/projects/{VERCEL_PROJECT_ID}"

# Required (non-optional) keys of the SDK's models, copied from the TypeScript types:
# getdeploymentsop.ts `Deployments` (one list item)
LIST_ITEM = {
    "uid", "name", "projectId", "url", "created", "createdAt", "readyState", "type",
    "creator", "inspectorUrl",
}  # fmt: skip
# pagination.ts `Pagination`
PAGINATION = {"count", "next", "prev"}
# getprojectinternalroutes.ts `GetProjectLastAliasRequest`
LAST_ALIAS_REQUEST = {"fromDeploymentId", "toDeploymentId", "jobStatus", "requestedAt", "type"}
JOB_STATUSES = {"pending", "in-progress", "succeeded", "failed", "skipped"}
# getdeploymentresponsebody.ts `GetDeploymentResponseBody2` (the full deployment), the keys a
# client reads and the model requires
DEPLOYMENT = {
    "id", "url", "name", "readyState", "createdAt", "type", "meta", "regions", "public",
    "creator", "ownerId", "projectId", "plan", "version", "routes", "aliasAssigned", "bootedAt",
    "buildingAt", "buildSkipped", "isInConcurrentBuildsQueue", "isInSystemBuildsQueue",
    "projectSettings", "inspectorUrl", "env", "build", "status", "createdIn",
}  # fmt: skip
# getdeploymenteventsop.ts: `GetDeploymentEventsResponseBody1` (type, created, payload),
# `GetDeploymentEventsResponseBody2` (flat: no payload), `Three3` (alias-assigned: no payload)
EVENT_WITH_PAYLOAD = {"type", "created", "payload"}
EVENT_PAYLOAD = {"deploymentId", "id", "date", "serial"}
EVENT_FLAT = {"created", "date", "deploymentId", "id", "info", "serial", "type"}
EVENT_ALIAS = {"type", "deploymentId", "date", "alias", "aliasError", "aliasWarning"}


@pytest.fixture
def sim() -> SimulatedCloud:
    return SimulatedCloud(clock=VirtualClock())


@pytest.fixture
def http(sim: SimulatedCloud) -> Iterator[httpx.Client]:
    def route(request: httpx.Request) -> httpx.Response:
        handler = sim.vercel.handle if request.url.host == "api.vercel.com" else None
        return (handler or sim.vercel.handle_deployment_url)(request)

    auth = {"Authorization": f"Bearer {sim.credentials.vercel_token}"}
    with httpx.Client(transport=httpx.MockTransport(route), headers=auth) as client:
        yield client


@pytest.fixture
def client(sim: SimulatedCloud, http: httpx.Client) -> VercelClient:
    project = sim.vercel.projects[VERCEL_PROJECT_ID]
    token = sim.credentials.vercel_token
    name = sim.target.vercel_project_name
    return VercelClient(token, VERCEL_PROJECT_ID, name, sim.clock, http, project.bypass_secret)


def _ready(client: VercelClient, target: str = "production", **meta: bool) -> str:
    return client.wait_ready(client.deploy(target, "a" * 40, meta)).id


def test_rollback_status_lives_in_last_alias_request(
    client: VercelClient, http: httpx.Client
) -> None:
    """getprojectinternalroutes.ts: ``lastAliasRequest`` with jobStatus pending | in-progress |
    succeeded | failed | skipped. Old: ``lastRollbackTarget`` (an opaque ``{}`` in the model)."""
    first, second = _ready(client), _ready(client)
    assert http.post(f"{API}/v1/projects/{VERCEL_PROJECT_ID}/rollback/{first}").status_code == 201
    seen = []
    for _ in range(3):
        job = http.get(PROJECT, params={"rollbackInfo": "true"}).json()["lastAliasRequest"]
        assert set(job) >= LAST_ALIAS_REQUEST
        assert job["jobStatus"] in JOB_STATUSES
        seen.append(job["jobStatus"])
    assert seen == ["in-progress", "succeeded", "succeeded"]  # each read waited for a change
    assert (job["type"], job["fromDeploymentId"], job["toDeploymentId"]) == (
        "rollback",
        second,
        first,
    )
    plain = http.get(PROJECT).json()
    assert "lastAliasRequest" not in plain  # only with ?rollbackInfo=true
    assert "lastRollbackTarget" not in plain


def test_the_client_follows_a_rollback_through_last_alias_request(client: VercelClient) -> None:
    """Old client: polled ``lastRollbackTarget.jobStatus`` and never saw it succeed."""
    first = _ready(client)
    _ready(client)
    seconds = client.rollback(client.get(first))
    assert seconds == pytest.approx(JOB_SECONDS, abs=1)
    production = client.production()
    assert production is not None
    assert production.id == first


def test_deployment_list_is_v7_with_uid_and_pagination(
    client: VercelClient, http: httpx.Client
) -> None:
    """getdeploymentsop.ts, deploymentsGetDeployments.ts (``/v7/deployments``): items carry
    ``uid`` (no ``id``), pagination ``{count, next, prev}``, ``next`` pages with ``until``.
    Old: ``/v6`` with ``id`` and no page after the first."""
    made = [_ready(client) for _ in range(3)]
    first = http.get(f"{API}/v7/deployments", params={"projectId": VERCEL_PROJECT_ID, "limit": "2"})
    body = first.json()
    assert first.status_code == 200
    assert set(body["pagination"]) == PAGINATION
    for item in body["deployments"]:
        assert set(item) >= LIST_ITEM
        assert "id" not in item
    assert body["pagination"]["count"] == 2
    assert body["pagination"]["next"] is not None
    rest = http.get(
        f"{API}/v7/deployments",
        params={"projectId": VERCEL_PROJECT_ID, "until": str(body["pagination"]["next"])},
    ).json()
    listed = [d["uid"] for d in body["deployments"] + rest["deployments"]]
    assert listed == made[::-1]
    assert rest["pagination"]["next"] is None
    assert http.get(f"{API}/v6/deployments").status_code == 404  # not the current version
    assert [d.id for d in client.deployments(limit=3)] == made[::-1]  # old client: KeyError 'id'


def test_events_come_in_every_shape_the_sdk_models(
    client: VercelClient, http: httpx.Client
) -> None:
    """getdeploymenteventsop.ts: records with a ``payload``, flat records without one, and the
    ``alias-assigned`` record. Old: every record had a payload, and the old client read
    ``event["payload"]["text"]`` (a KeyError on the others)."""
    failed = client.deploy("production", "b" * 40, {"simulateBuildFailure": True})
    with pytest.raises(ProcedureFailed, match='npm run build" exited with 1'):
        client.wait_ready(failed)
    ready = _ready(client)
    events = http.get(f"{API}/v3/deployments/{ready}/events").json()
    shapes = {
        "payload" if "payload" in e else "alias" if e["type"] == "alias-assigned" else "flat"
        for e in events
    }
    assert shapes == {"payload", "flat", "alias"}
    for event in events:
        if "payload" in event:
            assert set(event) >= EVENT_WITH_PAYLOAD
            assert set(event["payload"]) >= EVENT_PAYLOAD
        elif event["type"] == "alias-assigned":
            assert set(event) >= EVENT_ALIAS
        else:
            assert set(event) >= EVENT_FLAT
    assert event_text(None) is None  # the model's arrays may hold null
    assert "Build Completed in /vercel/output" in client.logs(ready)


def test_promote_answers_201_with_a_job_or_202_queued(
    sim: SimulatedCloud, client: VercelClient, http: httpx.Client
) -> None:
    """requestpromoteop.ts / projectsRequestPromote.ts: 201 or 202; the CLI reads 202 as queued
    behind an active rolling release. Old: always 201 and production moved at once."""
    first = _ready(client)
    _ready(client)
    started = http.post(f"{API}/v10/projects/{VERCEL_PROJECT_ID}/promote/{first}")
    assert started.status_code == 201
    job = http.get(PROJECT, params={"rollbackInfo": "true"}).json()["lastAliasRequest"]
    assert (job["type"], job["toDeploymentId"]) == ("promote", first)
    third = _ready(client)
    sim.vercel.projects[VERCEL_PROJECT_ID].rolling_release = True
    assert client.promote(client.get(third)) is False  # queued: production has not moved
    production = client.production()
    assert production is not None
    assert production.id == first


def test_rollback_refusals_are_402_409_422(
    sim: SimulatedCloud, client: VercelClient, http: httpx.Client
) -> None:
    """requestrollbackop.ts / projectsRequestRollback.ts: 201; 400/401/402/403/409/410/422.
    Old: every refusal was 409."""
    oldest, previous, current = _ready(client), _ready(client), _ready(client)
    staged = _ready(client, "staging")

    def rollback(to: str) -> httpx.Response:
        return http.post(f"{API}/v1/projects/{VERCEL_PROJECT_ID}/rollback/{to}")

    assert rollback(staged).status_code == 422  # not a production deployment
    assert rollback(current).status_code == 409  # it is production already
    sim.vercel.backend.account = sim.vercel.backend.account.__class__(
        **{**sim.vercel.backend.account.__dict__, "plan": "hobby"}
    )
    refused = rollback(oldest)
    assert refused.status_code == 402  # Hobby: only to the previous production deployment
    assert refused.json()["error"]["code"] == "payment_required"
    assert rollback(previous).status_code == 201
    assert rollback(oldest).status_code == 409  # another job is running
    assert rollback(oldest).json()["error"]["code"] == "conflict"


def test_generated_urls_are_protected_unless_protection_is_off(
    sim: SimulatedCloud, client: VercelClient, http: httpx.Client
) -> None:
    """Vercel Authentication (Standard Protection): a generated URL answers 401 without the
    automation bypass; the production domain is public. Old: every URL answered 200."""
    deployment = client.get(_ready(client))
    health = f"https://{deployment.url}/api/health"
    assert http.get(health).status_code == 401
    assert http.get(health, headers={"x-vercel-protection-bypass": "wrong"}).status_code == 401
    assert client.healthy(deployment)  # the client sends the bypass secret
    assert http.get("https://napoleon-ai.vercel.app/api/health").status_code == 200
    sim.vercel.projects[VERCEL_PROJECT_ID].protected = False
    assert http.get(health).status_code == 200


def test_ready_substate_tells_staged_from_promoted(
    client: VercelClient, http: httpx.Client
) -> None:
    """getdeploymentsop.ts ``readySubstate``: STAGED never served production, PROMOTED has.
    Old: no substate."""
    first = _ready(client)
    staged = _ready(client, "staging")
    body = http.get(f"{API}/v13/deployments/{first}").json()
    assert body["readySubstate"] == "PROMOTED"
    assert set(body) >= DEPLOYMENT
    assert http.get(f"{API}/v13/deployments/{staged}").json()["readySubstate"] == "STAGED"
    assert client.get(staged).substate == "STAGED"


def test_a_custom_environment_the_project_does_not_define_is_refused(
    sim: SimulatedCloud, http: httpx.Client
) -> None:
    """createdeploymenthas1.ts ``customEnvironmentSlugOrId`` (what ``vercel --target X`` sends);
    an unknown one is 404 "Invalid request: Custom Environment not found" (the CLI's own test
    double of the API, packages/cli/test/unit/commands/redeploy/index.test.ts). Old: ``target``
    was checked against a fixed list and ``staging`` was a target, not an environment."""
    body = {"name": "napoleon-ai", "project": VERCEL_PROJECT_ID}
    made = http.post(
        f"{API}/v13/deployments", json={**body, "customEnvironmentSlugOrId": "staging"}
    )
    assert made.status_code == 200
    environment = sim.vercel.projects[VERCEL_PROJECT_ID].environments["staging"]
    assert made.json()["customEnvironment"] == {"id": environment.id, "slug": "staging"}
    unknown = http.post(f"{API}/v13/deployments", json={**body, "customEnvironmentSlugOrId": "qa"})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["message"] == "Invalid request: Custom Environment not found"
    listed = http.get(f"{PROJECT}/custom-environments").json()["environments"]
    assert [e["slug"] for e in listed] == ["staging"]


def test_an_invalid_token_is_403_invalid_token(http: httpx.Client) -> None:
    """What the CLI turns into InvalidToken (packages/cli/src/util/get-user.ts: 403)."""
    refused = http.get(f"{API}/v2/user", headers={"Authorization": "Bearer not-a-token"})
    assert refused.status_code == 403
    assert refused.json() == {
        "error": {"code": "forbidden", "message": "Not authorized", "invalidToken": True}
    }


# -- the real CLI against the served simulation --


@pytest.fixture
def world(tmp_path: Path) -> Iterator[ServedVercel]:
    with served(tmp_path) as world:
        yield world


def _run(world: ServedVercel, line: str) -> Any:
    return world.cli.run(line)


def test_the_cli_deploys_to_production_and_to_the_staging_environment(world: ServedVercel) -> None:
    """``vercel --target staging`` and ``vercel --prod`` as written: the files are uploaded
    (``missing_files``, ``POST /v2/files``), the build followed to READY and its domain."""
    staging = deploy.deploy_with_cli(world.vercel, "vercel --target staging")
    production = deploy.deploy_with_cli(world.vercel, "vercel --prod")
    assert world.client.get(staging.id).substate == "STAGED"
    current = world.client.production()
    assert current is not None
    assert current.id == production.id
    backend = world.cloud.vercel.backend
    assert backend.deployments[staging.id].environment_name == "staging"
    assert backend.files  # the CLI uploaded what the API said was missing
    assert all(run.ok and run.version == "59.25.4" for run in world.cli.runs)
    # the CLI says which Node it runs on: the pinned one, not the machine's
    assert all(run.node == vercel_cli.NODE_VERSION for run in world.cli.runs)


def test_the_cli_refuses_the_guides_rollback_line_and_the_correction_rolls_back(
    world: ServedVercel,
) -> None:
    """``vercel rollback --prod``: refused in the CLI's own words; ``vercel rollback <url>`` then
    rolls production back to the newest earlier healthy deployment."""
    first = deploy.ship(world.client, "a" * 40)
    deploy.ship(world.client, "b" * 40)
    rolled = deploy.rollback_production(world.vercel, "vercel rollback --prod")
    assert rolled.to.id == first.id
    assert rolled.refusal is not None
    assert "unknown or unexpected option: --prod" in rolled.refusal.run.words
    assert rolled.refusal.corrected == f"vercel rollback {first.url}"
    assert rolled.seconds == pytest.approx(JOB_SECONDS, abs=1)
    [refusal] = deploy.refusals(world.cli.runs)
    assert refusal.finding == "GUIDE-VERCEL-ROLLBACK-PROD"
    assert not refusal.rewrite().could_work


def test_the_cli_without_an_argument_only_reports_rollback_status(world: ServedVercel) -> None:
    """Why the finding's fix names the deployment: ``vercel rollback`` alone rolls nothing back,
    and the drill says so instead of taking its exit 0 for a rollback."""
    deploy.ship(world.client, "a" * 40)
    deploy.ship(world.client, "b" * 40)
    with pytest.raises(ProcedureFailed, match="did not roll production back"):
        deploy.rollback_production(world.vercel, "vercel rollback")
    assert "No deployment rollback in progress" in world.cli.runs[-1].stderr


def test_the_cli_reports_an_invalid_token_in_its_own_words(
    tmp_path: Path,
) -> None:
    cloud = SimulatedCloud()
    cloud.vercel.tokens.clear()
    with served(tmp_path, cloud) as world, pytest.raises(ProcedureFailed) as failed:
        deploy.deploy_with_cli(world.vercel, "vercel --prod")
    assert "via VERCEL_TOKEN environment variable is not valid" in str(failed.value)


def test_the_cli_refuses_a_target_the_project_does_not_define(tmp_path: Path) -> None:
    cloud = SimulatedCloud()
    cloud.vercel.projects[VERCEL_PROJECT_ID].environments.clear()
    with served(tmp_path, cloud) as world, pytest.raises(ProcedureFailed) as failed:
        deploy.deploy_with_cli(world.vercel, "vercel --target staging")
    assert "Custom Environment not found" in str(failed.value)

"""The simulated Supabase Management API holds to the real contract (issue 14, section 3).

Sources, copied into ``tests/data/specs/`` (see its README; MIT, supabase/cli commit 1d1e719):
the Management API's OpenAPI 3.0 document, and four request/response pairs the Supabase CLI
recorded from the real API.

1. Routes: every route in :attr:`SupabaseFake.route_table` (what the simulation serves, not a
   list kept here) exists in the document with that method, and is flagged internal exactly when
   the document marks the operation ``x-internal``.
2. Answers: every answer to realistic request sequences (an operator's backup check, restores by
   id and to a point in time followed to a healthy project, the schedule, restore points, wrong
   credentials and refs, the rate limit) is judged:
   - its status is one the document declares for the operation, or 400 / 404, which the real
     API answers beyond the document (the recorded 400 of ``restore-pitr``; NestJS's 404 for a
     route or resource it does not have);
   - a body the document gives a schema validates against it, *closed*: an object schema with
     ``properties`` admits no other property (the document's are open, so an invented field
     would pass unnoticed otherwise; the recorded real bodies pass closed, see
     ``test_the_recorded_real_bodies_pass_the_same_judge``);
   - a declared status without content has no body; every error body is exactly
     ``{"message": <string>}``, the recorded 400's shape (the document declares no error body);
   - every served route answered at least one success, so no success schema goes unchecked.
3. Recordings: the recorded requests, sent to a fresh simulation, are answered with the same
   status, the same header names (``content-type``, ``x-gotrue-id``, ``x-ratelimit-*`` with the
   same values for a fresh window) and a body of the same shape (keys and value types, item by
   item).

Validator: ``openapi-schema-validator`` (``OAS30Validator`` with its OAS 3.0 format checker).
The document is OpenAPI 3.0, whose schema dialect is not plain JSON Schema: ``nullable: true``
(``ApiKeyResponse``, ``V1RestorePointResponse.completed_on``) would make ``jsonschema`` refuse
the nulls the real API sends, and ``format: date-time`` is checked by its OAS format checker.
It resolves the document's ``$ref`` through ``referencing``, as jsonschema does. ``openapi-core``
validates whole request/response pairs, but needs adapters for httpx objects and matches
servers and security too; schema validation per answer is all these tests need. It is in the
``dev`` extras of pyproject.toml (``.ci/run`` installs them).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import time, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from runbook_lib.errors import ProcedureFailed
from runbook_lib.procedures.backup_recovery import backup
from runbook_lib.procedures.backup_recovery.backup import supabase_client
from runbook_lib.sim.cloud import PROJECT_REF, SimulatedCloud
from runbook_lib.sim.http import FakeAPI, Route
from runbook_lib.sim.supabase import SupabaseFake
from runbook_lib.sim.supabase_backend import RATE_LIMIT
from runbook_lib.world.clock import VirtualClock
from runbook_lib.world.http import ApiClient

SPECS = Path(__file__).parent / "data" / "specs"
DOCUMENT = SPECS / "supabase-management-api.openapi.json"
RECORDED = SPECS / "supabase-recorded"
API = "https://api.supabase.com"
ALSO_ANSWERED = {400, 404}  # beyond the document: the recorded 400, NestJS's 404
ERROR_SCHEMA = {
    "type": "object",
    "required": ["message"],
    "properties": {"message": {"type": "string"}},
    "additionalProperties": False,
}


@dataclass(frozen=True)
class Exchange:
    request: httpx.Request
    response: httpx.Response

    @property
    def body(self) -> Any:
        return json.loads(self.response.content) if self.response.content else None

    def __str__(self) -> str:
        return f"{self.request.method} {self.request.url.path} -> {self.response.status_code}"


# -- the document -------------------------------------------------------------------------------


@cache
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    return loaded


@cache
def _registry() -> Registry[Any]:
    closed: dict[str, Any] = _closed(copy.deepcopy(document()))
    resource: Resource[Any] = Resource.from_contents(closed, default_specification=DRAFT4)
    registry: Registry[Any] = Registry().with_resource("urn:supabase-api", resource)
    return registry


def _closed(node: Any, combined: bool = False) -> Any:
    """Every object schema that names its properties admits no other (allOf/anyOf/oneOf parts
    excepted: each names only some of the properties)."""
    if isinstance(node, dict):
        if "properties" in node and "additionalProperties" not in node and not combined:
            node["additionalProperties"] = False
        for key, value in node.items():
            if key in ("allOf", "anyOf", "oneOf") and isinstance(value, list):
                for part in value:
                    _closed(part, combined=True)
            else:
                _closed(value)
    elif isinstance(node, list):
        for item in node:
            _closed(item)
    return node


def operation(method: str, path: str) -> tuple[str, dict[str, Any]] | None:
    """The document's path template and operation answering ``method path`` (literal segments
    before parameters, as a router matches)."""
    for template in sorted(document()["paths"], key=lambda t: t.count("{")):
        operations = document()["paths"][template]
        regex = re.sub(r"\{\w+\}", "[^/]+", template)
        if method.lower() in operations and re.fullmatch(regex, path):
            return template, operations[method.lower()]
    return None


def _pointer(*parts: str) -> str:
    return "urn:supabase-api#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def schema_errors(schema: dict[str, Any], body: Any) -> list[str]:
    validator = OAS30Validator(schema, registry=_registry(), format_checker=oas30_format_checker)
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(body)
    ]


def violations(exchange: Exchange) -> list[str]:
    """Why ``exchange``'s answer breaks the contract (empty: it holds)."""
    status, body = exchange.response.status_code, exchange.body
    found = operation(exchange.request.method, exchange.request.url.path)
    if found is None:  # a route the API does not have: only NestJS's router answers it
        problems = [] if status == 404 else ["a route the document lacks answered"]
        return problems + schema_errors(ERROR_SCHEMA, body)
    template, op = found
    declared = op["responses"].get(str(status))
    if declared is None and status not in ALSO_ANSWERED:
        return [f"status {status} is not declared for {exchange.request.method} {template}"]
    if status >= 400:
        return schema_errors(ERROR_SCHEMA, body)
    content = (declared or {}).get("content", {}).get("application/json")
    if content is None:
        return [] if body is None else [f"the document gives {status} no body, got {body!r}"]
    method = exchange.request.method.lower()
    schema = {"$ref": _pointer("paths", template, method, "responses", str(status), "content",
                               "application/json", "schema")}  # fmt: skip
    return schema_errors(schema, body)


# -- realistic sequences --------------------------------------------------------------------------


class Recorder:
    """An httpx client on the simulation that keeps every exchange."""

    def __init__(self, fake: FakeAPI) -> None:
        self.exchanges: list[Exchange] = []

        def handle(request: httpx.Request) -> httpx.Response:
            response = fake.handle(request)
            self.exchanges.append(Exchange(request, response))
            return response

        self.http = httpx.Client(transport=httpx.MockTransport(handle), base_url=API)


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def operator_sequence(sim: SimulatedCloud, http: httpx.Client) -> None:
    """Daily backups, a restore by id followed to a healthy project, refusals on the way."""
    auth = _auth(sim.credentials.supabase_access_token)
    project, backups = f"/v1/projects/{PROJECT_REF}", f"/v1/projects/{PROJECT_REF}/database/backups"
    http.get(project, headers=auth)
    http.get(f"{project}/api-keys", headers=auth, params={"reveal": "true"})
    http.get(f"{project}/api-keys", headers=auth)
    http.get(backups, headers=auth)  # none yet
    for _ in range(3):
        sim.supabase.backend.take_daily_backup(PROJECT_REF)
        sim.clock.advance(24 * 3600)
    listing = http.get(backups, headers=auth).json()
    newest = listing["backups"][-1]["id"]
    http.post(f"{backups}/restore-pitr", headers=auth, json={"recovery_time_target_unix": 1})
    http.post(f"{backups}/restore", headers=auth, json={"id": str(newest)})  # not an integer
    http.post(f"{backups}/restore", headers=auth, json={"id": 42})  # no such backup
    http.post(f"{backups}/restore", headers=auth, json={"id": newest})
    http.post(f"{backups}/restore", headers=auth, json={"id": newest})  # already restoring
    for _ in range(12):
        http.get(project, headers=auth)
        sim.clock.advance(60)
    http.get(f"{backups}/schedule", headers=auth)
    for value in ("04:00:00", "4am", "05:30:00", "06:00:00", "07:00:00"):  # the 3-a-day limit
        http.patch(f"{backups}/schedule", headers=auth, json={"schedule_for": value})
    http.post(f"{backups}/restore-point", headers=auth, json={"name": "before-upgrade"})
    http.get(f"{backups}/restore-point", headers=auth, params={"name": "before-upgrade"})
    http.get(f"{backups}/restore-point", headers=auth, params={"name": "never-made"})
    http.post(f"{backups}/restore-point", headers=auth)  # the guide's trigger, on this route
    http.post(f"{backups}/restore-point", headers=auth, json={"name": "x" * 21})
    http.post(f"{project}/backups", headers=auth)  # the guide's trigger, as written
    http.get(backups, headers=_auth(sim.credentials.supabase_service_role_key))
    http.get("/v1/projects/napoleonai/database/backups", headers=auth)  # not a ref
    http.get(f"/v1/projects/{'q' * 20}", headers=auth)  # someone else's project


def pitr_sequence(sim: SimulatedCloud, http: httpx.Client) -> None:
    """A project with PITR: its window, restores inside and outside it; a free plan's schedule."""
    auth = _auth(sim.credentials.supabase_access_token)
    backend = sim.supabase.backend
    backend.enable_pitr(PROJECT_REF)
    sim.clock.advance(6 * 3600)
    backend.take_daily_backup(PROJECT_REF)
    backups = f"/v1/projects/{PROJECT_REF}/database/backups"
    window = http.get(backups, headers=auth).json()["physical_backup_data"]
    url = f"{backups}/restore-pitr"
    for target in (window["earliest_physical_backup_date_unix"] - 1, window["latest_physical_backup_date_unix"] + 60, -5, 1.5):  # fmt: skip
        http.post(url, headers=auth, json={"recovery_time_target_unix": target})
    http.post(url, headers=auth, json={"recovery_time_target_unix": window["latest_physical_backup_date_unix"] - 600})  # fmt: skip
    for _ in range(12):
        http.get(f"/v1/projects/{PROJECT_REF}", headers=auth)
        sim.clock.advance(60)
    backend.projects[PROJECT_REF].plan = "free"
    http.get(f"{backups}/schedule", headers=auth)
    http.patch(f"{backups}/schedule", headers=auth, json={"schedule_for": "04:00:00"})


def rate_limit_sequence(sim: SimulatedCloud, http: httpx.Client) -> None:
    """One token past the limit in one window; the next window answers again."""
    auth = _auth(sim.credentials.supabase_access_token)
    for _ in range(RATE_LIMIT + 2):
        http.get(f"/v1/projects/{PROJECT_REF}", headers=auth)
    sim.clock.advance(61)
    http.get(f"/v1/projects/{PROJECT_REF}", headers=auth)


@pytest.fixture(scope="module")
def exchanges() -> list[Exchange]:
    seen: list[Exchange] = []
    for sequence in (operator_sequence, pitr_sequence, rate_limit_sequence):
        sim = SimulatedCloud(clock=VirtualClock())
        recorder = Recorder(sim.supabase)
        with recorder.http:
            sequence(sim, recorder.http)
        seen += recorder.exchanges
    return seen


# -- 1. routes --------------------------------------------------------------------------------------


def route_problems(routes: list[Route]) -> list[str]:
    problems = []
    for route in routes:
        op = document()["paths"].get(route.pattern, {}).get(route.method.lower())
        if op is None:
            problems.append(f"{route.method} {route.pattern} is not in the document")
        elif bool(op.get("x-internal")) != route.internal:
            problems.append(
                f"{route.method} {route.pattern}: x-internal is {bool(op.get('x-internal'))}, "
                f"the route table says {route.internal}"
            )
    return problems


def test_every_served_route_is_in_the_document_with_its_method() -> None:
    routes = SupabaseFake(VirtualClock()).route_table
    assert len(routes) >= 8
    assert route_problems(routes) == []
    internal = {r.pattern.rsplit("/", 1)[-1] for r in routes if r.internal}
    assert internal == {"restore", "restore-point"}  # x-internal in the document


def test_the_route_check_refuses_an_invented_route_and_a_wrong_internal_flag() -> None:
    fake = SupabaseFake(VirtualClock())
    fake.add_route("POST", "/v1/projects/{ref}/backups", lambda request, ref: httpx.Response(201))
    fake.add_route("POST", "/v1/projects/{ref}/database/backups/undo", lambda r, ref: httpx.Response(201))  # fmt: skip
    assert route_problems(fake.route_table) == [
        "POST /v1/projects/{ref}/backups is not in the document",
        "POST /v1/projects/{ref}/database/backups/undo: x-internal is True, the route table says False",
    ]


# -- 2. answers --------------------------------------------------------------------------------------


def test_every_answer_holds_to_the_document(exchanges: list[Exchange]) -> None:
    broken = {str(e): violations(e) for e in exchanges if violations(e)}
    assert broken == {}


def test_every_route_answered_a_success_and_the_refusals_were_exercised(
    exchanges: list[Exchange],
) -> None:
    served = SupabaseFake(VirtualClock()).route_table
    succeeded = {
        (e.request.method, found[0])
        for e in exchanges
        if e.response.is_success and (found := operation(e.request.method, e.request.url.path))
    }
    assert {(r.method, r.pattern) for r in served} <= succeeded
    statuses = {e.response.status_code for e in exchanges}
    assert {200, 201, 400, 401, 402, 404, 429} <= statuses


def test_the_judge_refuses_the_old_simulations_shapes() -> None:
    """What the simulation answered before it followed the document: backups without ``id``,
    ``physical_backup_data`` of nulls, a restore point without ``completed_on``, an error body
    of another shape, and a 201 body the document does not give."""

    def judged(method: str, path: str, status: int, body: Any) -> list[str]:
        content = b"" if body is None else json.dumps(body).encode()
        request = httpx.Request(method, API + path)
        return violations(Exchange(request, httpx.Response(status, content=content)))

    backups = f"/v1/projects/{PROJECT_REF}/database/backups"
    old_listing = {
        "region": "us-east-1",
        "walg_enabled": True,
        "pitr_enabled": False,
        "backups": [{"is_physical_backup": False, "status": "COMPLETED", "inserted_at": "x"}],
        "physical_backup_data": {
            "earliest_physical_backup_date_unix": None,
            "latest_physical_backup_date_unix": None,
        },
    }
    assert any("'id' is a required property" in p for p in judged("GET", backups, 200, old_listing))
    assert any(
        "None is not of type 'integer'" in p for p in judged("GET", backups, 200, old_listing)
    )
    point = {"name": "a", "status": "AVAILABLE"}
    assert judged("POST", backups + "/restore-point", 201, point) == [
        ": 'completed_on' is a required property"
    ]
    assert judged("GET", backups, 200, {**old_listing, "backups": [], "physical_backup_data": {}, "extra": 1})  # fmt: skip
    assert judged("POST", backups + "/restore-pitr", 201, {}) != []
    assert judged("GET", backups, 404, {"error": "Project not found"}) != []
    assert judged("GET", backups, 409, {"message": "conflict"}) != []


def test_the_recorded_real_bodies_pass_the_same_judge() -> None:
    for request, response in recorded_pairs():
        path = request["path"].replace("__PROJECT_REF__", PROJECT_REF)
        content = json.dumps(response["body"]).replace("__PROJECT_REF__", PROJECT_REF).encode()
        exchange = Exchange(
            httpx.Request(request["method"], API + path),
            httpx.Response(response["status"], content=content),
        )
        assert violations(exchange) == [], request["path"]


def test_a_restore_passes_through_restoring_back_to_healthy(exchanges: list[Exchange]) -> None:
    statuses = [
        e.body["status"]
        for e in exchanges
        if e.request.method == "GET"
        and e.request.url.path == f"/v1/projects/{PROJECT_REF}"
        and e.response.status_code == 200
    ]
    runs = [s for i, s in enumerate(statuses) if i == 0 or statuses[i - 1] != s]
    # the operator's restore, the PITR restore (each back to healthy), then the rate-limit run
    assert runs == ["ACTIVE_HEALTHY", "RESTORING", "ACTIVE_HEALTHY", "RESTORING", "ACTIVE_HEALTHY"]


def test_the_rate_limit_answers_429_with_the_window_in_its_headers(
    exchanges: list[Exchange],
) -> None:
    limited = [e for e in exchanges if e.response.status_code == 429 and "/schedule" not in str(e)]
    assert len(limited) == 2
    headers = limited[0].response.headers
    assert (headers["x-ratelimit-limit"], headers["x-ratelimit-remaining"]) == (
        str(RATE_LIMIT),
        "0",
    )
    assert int(headers["retry-after"]) == int(headers["x-ratelimit-reset"]) > 0
    after = exchanges[-1].response
    assert (after.status_code, after.headers["x-ratelimit-remaining"]) == (200, str(RATE_LIMIT - 1))


# -- 3. the recorded real responses --------------------------------------------------------------


def recorded_pairs() -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for request_file in sorted(RECORDED.glob("*.request.json")):
        response_file = request_file.with_name(request_file.name.replace(".request.", ".response."))
        yield (
            json.loads(request_file.read_text(encoding="utf-8")),
            json.loads(response_file.read_text(encoding="utf-8")),
        )


def shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    return type(value).__name__


def replay(request: dict[str, Any]) -> httpx.Response:
    """The recorded request, sent to a fresh simulation (its project, its token)."""
    sim = SimulatedCloud(clock=VirtualClock())
    with httpx.Client(transport=httpx.MockTransport(sim.supabase.handle)) as http:
        return http.request(
            request["method"],
            API + request["path"].replace("__PROJECT_REF__", PROJECT_REF),
            params=request["query"],
            json=request["body"],
            headers=_auth(sim.credentials.supabase_access_token),
        )


RECORDED_NAMES = sorted(p.name.split(".")[0] for p in RECORDED.glob("*.request.json"))


@pytest.mark.parametrize("name", RECORDED_NAMES)
def test_a_recorded_request_is_answered_in_the_recorded_shape(name: str) -> None:
    request = json.loads((RECORDED / f"{name}.default.request.json").read_text(encoding="utf-8"))
    recorded = json.loads((RECORDED / f"{name}.default.response.json").read_text(encoding="utf-8"))
    answer = replay(request)
    assert answer.status_code == recorded["status"]
    assert recorded_differences(recorded, answer) == []


def recorded_differences(recorded: dict[str, Any], answer: httpx.Response) -> list[str]:
    problems = []
    for header, value in recorded["headers"].items():
        got = answer.headers.get(header)
        if got is None:
            problems.append(f"no {header} header")
        elif header.startswith("x-ratelimit-") and got != value:  # a fresh window: the same
            problems.append(f"{header}: {got}, recorded {value}")
        elif header == "content-type" and got != value:
            problems.append(f"content-type {got}, recorded {value}")
        elif value == "__UUID__" and not re.fullmatch(r"[0-9a-f-]{36}", got):
            problems.append(f"{header} {got} is not a UUID")
    body = json.loads(answer.content) if answer.content else None
    if shape(body) != shape(recorded["body"]):
        problems.append(f"body shape {shape(body)}, recorded {shape(recorded['body'])}")
    elif recorded["status"] >= 400 and body != recorded["body"]:
        problems.append(f"error body {body}, recorded {recorded['body']}")
    return problems


def test_the_recorded_comparison_sees_a_changed_shape_or_header() -> None:
    request, recorded = next(
        pair for pair in recorded_pairs() if pair[0]["path"].endswith("/database/backups")
    )
    answer = replay(request)
    nulls = {**answer.json(), "physical_backup_data": {"earliest_physical_backup_date_unix": None}}
    changed = httpx.Response(200, json=nulls, headers={"x-gotrue-id": "nope"})
    assert recorded_differences(recorded, changed) == [
        "content-type application/json, recorded application/json; charset=utf-8",
        "x-gotrue-id nope is not a UUID",
        "no x-ratelimit-limit header",
        "no x-ratelimit-remaining header",
        "no x-ratelimit-reset header",
        f"body shape {shape(nulls)}, recorded {shape(recorded['body'])}",
    ]


def test_four_recordings_are_there() -> None:
    assert len(RECORDED_NAMES) == 4


def test_refs_are_of_the_documents_form() -> None:
    ref = document()["components"]["schemas"]["V1ProjectWithDatabaseResponse"]["properties"]["ref"]
    assert re.fullmatch(ref["pattern"], PROJECT_REF)
    assert ref["minLength"] == len(PROJECT_REF) == ref["maxLength"]


def test_the_restore_window_is_virtual_time() -> None:
    sim = SimulatedCloud(clock=VirtualClock())
    backend = sim.supabase.backend
    backup = backend.take_daily_backup(PROJECT_REF)
    backend.restore_backup(PROJECT_REF, backup.id)
    assert backend.status(PROJECT_REF) == "RESTORING"
    sim.clock.advance(timedelta(seconds=backend.restore_seconds).total_seconds())
    assert backend.status(PROJECT_REF) == "ACTIVE_HEALTHY"


# -- 4. our client speaks the same contract (the code live mode runs) ---------------------------


@pytest.fixture
def sim() -> SimulatedCloud:
    return SimulatedCloud(clock=VirtualClock())


def _client(sim: SimulatedCloud) -> ApiClient:
    http = httpx.Client(transport=httpx.MockTransport(sim.supabase.handle))
    return supabase_client(sim.credentials.supabase_access_token, sim.clock, http)


def test_the_client_restores_a_backup_by_id_and_follows_the_project_back_to_healthy(
    sim: SimulatedCloud,
) -> None:
    client = _client(sim)
    sim.supabase.backend.take_daily_backup(PROJECT_REF)
    sim.clock.advance(3600)
    listing = backup.list_supabase_backups(client, PROJECT_REF)
    newest = listing.newest_completed()
    assert newest is not None
    assert isinstance(newest.id, int)
    restored = backup.restore_supabase_backup(client, PROJECT_REF, newest.id)
    assert [status for _, status in restored.statuses] == ["RESTORING", "ACTIVE_HEALTHY"]
    assert restored.seconds == sim.supabase.backend.restore_seconds
    assert sim.supabase.backend.projects[PROJECT_REF].restores[-1].backup_id == newest.id


def test_a_restore_that_never_starts_or_fails_is_a_failure(sim: SimulatedCloud) -> None:
    client = _client(sim)
    taken = sim.supabase.backend.take_daily_backup(PROJECT_REF)
    sim.supabase.backend.restore_seconds = 0  # accepted, but the project never leaves healthy
    with pytest.raises(ProcedureFailed, match="never left ACTIVE_HEALTHY"):
        backup.restore_supabase_backup(client, PROJECT_REF, taken.id)
    sim.supabase.backend.restore_seconds, sim.supabase.backend.restores_fail = 600, True
    with pytest.raises(ProcedureFailed, match="RESTORE_FAILED 600 s after the request"):
        backup.restore_supabase_backup(client, PROJECT_REF, taken.id)


def test_the_client_restores_to_a_point_in_time_only_where_pitr_is_on(sim: SimulatedCloud) -> None:
    client = _client(sim)
    target = sim.clock.now()
    with pytest.raises(ProcedureFailed, match=r"PITR is not enabled for this project\."):
        backup.restore_supabase_to(client, PROJECT_REF, target)
    sim.supabase.backend.enable_pitr(PROJECT_REF)
    sim.clock.advance(7200)
    listing = backup.list_supabase_backups(client, PROJECT_REF)
    assert listing.pitr_enabled
    assert listing.earliest_physical == target
    restored = backup.restore_supabase_to(client, PROJECT_REF, target + timedelta(hours=1))
    assert restored.statuses[0][1] == "RESTORING"
    made = sim.supabase.backend.projects[PROJECT_REF].restores[-1]
    assert made.recovery_time_target_unix == int(target.timestamp()) + 3600


def test_the_client_reads_and_moves_the_backup_schedule(sim: SimulatedCloud) -> None:
    client = _client(sim)
    assert backup.backup_schedule(client, PROJECT_REF).schedule_for == time(0, 0)
    sim.clock.advance(60)
    moved = backup.set_backup_schedule(client, PROJECT_REF, time(4, 30))
    assert moved == backup.BackupSchedule(time(4, 30), sim.clock.now())
    assert backup.backup_schedule(client, PROJECT_REF) == moved

"""The weekly live checks (features/live_checks.feature) in a real live run: the served
simulations stand as a live target's own endpoints.

In this process: a :class:`SimulatedCloud` of a test target, served over HTTPS by a
:class:`Gateway`, and a :class:`MotoServer` with the target's buckets, arranged as a good week's
staging (:mod:`runbook_lib.sim.staging`) or with one thing wrong. A child ``runbook drill
--target weekly`` (no ``--stand-ins``: the live code path, no hermetic guard, no simulation of
its own) reaches them only through its environment: the gateway's ``HTTPS_PROXY`` and CA,
``AWS_ENDPOINT_URL`` and throwaway AWS credentials. Every run must also leave the target as it
was: no request but GET/HEAD reached the simulations, and S3 holds the same buckets, objects,
versions and settings.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from runbook_lib.drill.mutations.base import edited
from runbook_lib.errors import ConfigurationError, ProcedureFailed
from runbook_lib.guide.model import load_guide, parse_guide
from runbook_lib.monitoring import catalog
from runbook_lib.paths import DEFAULT_CONFIG_DIR, DEFAULT_GUIDE, ConfigDir
from runbook_lib.procedures.backup_recovery.storage import Buckets
from runbook_lib.procedures.live_checks import ReadOnlyHttp, rules
from runbook_lib.procedures.security import buckets as promised
from runbook_lib.sim import staging
from runbook_lib.sim.cloud import SimulatedCloud
from runbook_lib.sim.s3 import MotoServer
from runbook_lib.sim.serve import Gateway, SessionCA
from runbook_lib.world.clock import VirtualClock
from runbook_lib.world.targets import load_target
from tests.helpers import runbook, s3_client

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

NAME = "weekly"
TARGETS = f"""\
production_identifiers: [napoleonaiproduction, prj_napoleonai, napoleon-ai-storage, napoleon-ai-backup]
targets:
  {NAME}:
    supabase_project: napoleonaiweeklystag
    supabase_token_env: WEEKLY_SUPABASE_TOKEN
    vercel_project: prj_napoleonai_weekly
    vercel_project_name: napoleon-ai-weekly
    vercel_token_env: WEEKLY_VERCEL_TOKEN
    storage_bucket: napoleon-ai-weekly-storage
    backup_bucket: napoleon-ai-weekly-backup
"""
TOKENS = {
    "WEEKLY_SUPABASE_TOKEN": "sbp_" + "7" * 40,
    "WEEKLY_VERCEL_TOKEN": "WeeklyVercelToken8d2c4e6f",
}
AWS = {
    "AWS_ACCESS_KEY_ID": "AKIAWEEKLYCHECKS0001",
    "AWS_SECRET_ACCESS_KEY": "weekly-checks-throwaway-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    "AWS_EC2_METADATA_DISABLED": "true",
}
SCENARIOS = {  # -k expression -> the scenario's name
    "newest_backup": "Supabase's newest backup is younger than the guide's backup schedule allows",
    "pointintime": "Point-in-time recovery reaches within the Database RPO, or the RPO finding is stated",
    "domains_answer_healthy": "Production is a READY deployment whose domains answer healthy",
    "roll_back_to": "An earlier READY production deployment is there to roll back to",
    "buckets_keep": "The storage and backup buckets keep what the guide promises of them",
    "deployed_alert_rules": "The deployed alert rules are the rules the guide generates",
}
READS = {"GET", "HEAD"}


@dataclass
class World:
    """The target's endpoints, served in this process, and how to arrange them."""

    sim: SimulatedCloud
    gateway: Gateway
    s3: S3Client
    endpoint: str
    config: ConfigDir
    buckets: Buckets


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    config = ConfigDir(tmp_path / "config")
    shutil.copytree(DEFAULT_CONFIG_DIR.root, config.root)
    config.targets.write_text(TARGETS, encoding="utf-8")
    target = load_target(NAME, config.targets, environ=TOKENS)
    # the cloud's clock starts early enough that the arranged backups end near the wall clock
    sim = SimulatedCloud(target, clock=VirtualClock(datetime.now(UTC) - timedelta(days=4)))
    with MotoServer() as moto:
        httpx.post(f"{moto.endpoint}/moto-api/reset", timeout=10).raise_for_status()
        s3 = s3_client(moto.endpoint, AWS["AWS_ACCESS_KEY_ID"], AWS["AWS_SECRET_ACCESS_KEY"])
        gateway = Gateway(SessionCA(tmp_path / "ca")).start()
        try:
            with gateway.mounted(sim.routes()):
                yield World(sim, gateway, s3, moto.endpoint, config, target.buckets)
        finally:
            gateway.stop()


def _arrange(
    world: World,
    *,
    pitr: bool = True,
    newest_hours_ago: float = 3.0,
    fates: tuple[staging.Fate, ...] = ("healthy", "healthy"),
    skip: tuple[tuple[str, str], ...] = (),
) -> None:
    """A good week's staging, but for what the arguments break."""
    sim = world.sim
    with world.gateway.client() as http:
        staging.arrange_production(sim, staging.operator_vercel(sim, http), fates)
    sim.clock.set(datetime.now(UTC) - timedelta(days=1, hours=newest_hours_ago))
    staging.arrange_backups(sim, pitr=pitr, newest_hours_ago=newest_hours_ago)
    staging.arrange_buckets(world.s3, load_guide(), world.buckets, skip)


def _s3_state(s3: S3Client) -> dict[str, Any]:
    """Every bucket with its object versions and settings: what a write would change."""
    state: dict[str, Any] = {}
    for bucket in sorted(b["Name"] for b in s3.list_buckets()["Buckets"]):
        versions = s3.list_object_versions(Bucket=bucket)
        state[bucket] = (
            sorted((v["Key"], v["VersionId"], v["ETag"]) for v in versions.get("Versions", [])),
            promised.read_posture(s3, bucket),
        )
    return state


@dataclass(frozen=True)
class Run:
    returncode: int
    output: str
    scenarios: dict[str, dict[str, Any]]  # by name


def _live_drill(world: World, tmp_path: Path) -> Run:
    """A child live drill of the weekly checks, which must leave the target as it found it."""
    env = {**world.gateway.environment(), **AWS, "AWS_ENDPOINT_URL": world.endpoint, **TOKENS}
    before = _s3_state(world.s3)
    report = tmp_path / "report"
    with world.gateway.watching() as exchanges:
        done = runbook(
            *("drill", "--target", NAME, "--config", str(world.config.root)),
            *("--only", "live_checks", "--workers", "0", "--pg", "embedded"),
            *("--report-dir", str(report)),
            env=env,
        )
    output = done.stdout + done.stderr
    assert (report / "evidence.json").exists(), output[-3000:]
    evidence = json.loads((report / "evidence.json").read_text())
    assert (evidence["run"]["target"], evidence["run"]["mode"]) == (NAME, "live")
    hosts = {e.request.url.host for e in exchanges}
    assert {"api.supabase.com", "api.vercel.com", "napoleon-ai-weekly.vercel.app"} <= hosts
    writes = [
        f"{e.request.method} {e.request.url}" for e in exchanges if e.request.method not in READS
    ]
    assert writes == []  # nothing but GET and HEAD reached Supabase, Vercel or the domains
    assert _s3_state(world.s3) == before  # no bucket, object, version or setting written
    assert world.gateway.refused == []
    assert "Traceback" not in output
    for secret in (*TOKENS.values(), AWS["AWS_SECRET_ACCESS_KEY"]):
        assert secret not in output
        assert secret not in (report / "evidence.json").read_text()
    return Run(done.returncode, output, {s["name"]: s for s in evidence["scenarios"]})


def _stall_pitr(world: World) -> None:
    """PITR on, but WAL archiving stopped at the last physical backup (3 hours ago)."""
    world.sim.supabase.backend.project(world.sim.target.supabase_project).pitr_since = None


def _drift_rules(world: World) -> None:
    rule_file = world.config.rule_file
    old = f"expr: max_over_time({catalog.FUNCTION_DURATION.name}[5m]) > 10\n"
    new = old.replace("> 10", "> 20")
    rule_file.write_text(edited(rule_file.read_text(), ((old, new),), rule_file.name))


def _open_storage(world: World) -> None:
    world.s3.put_bucket_acl(Bucket=world.buckets.storage, ACL="public-read")


STORAGE, BACKUP = "napoleon-ai-weekly-storage", "napoleon-ai-weekly-backup"
PASSED = ("passed", None)


@dataclass(frozen=True)
class Case:
    """A staging arranged with some things wrong, and what each weekly check must then say."""

    arrangement: dict[str, Any]
    breaks: tuple[Callable[[World], None], ...]
    verdicts: dict[str, tuple[str, str | None]]  # -k name -> (status, pattern its error matches)


# Several broken worlds share one staging when they break different checks (a child drill
# costs ~10 s): each check must turn red for its own reason and every other check stay green.
CASES = {
    "good-week": Case({}, (), dict.fromkeys(SCENARIOS, PASSED)),
    "stale-backup-pitr-off-sick-production-open-buckets-drifted-rules": Case(
        {
            "pitr": False,
            "newest_hours_ago": 30,
            "fates": ("healthy", "unhealthy"),
            "skip": (
                (STORAGE, "versioned"),
                (STORAGE, "public access blocked"),
                (BACKUP, "encrypted at rest"),
                (BACKUP, "expires old objects"),
            ),
        },
        (_drift_rules, _open_storage),
        {
            "newest_backup": (
                "failed",
                r"age of the newest Supabase backup: 1080\d\d(\.\d+)? s is not < 86400 s "
                r"\(the guide: 'Automated daily backups via Supabase' \(line 18\)\)",
            ),
            "pointintime": PASSED,  # with the RPO finding: see below
            "domains_answer_healthy": (
                "failed",
                re.escape("https://napoleon-ai-weekly.vercel.app/api/health answered 503"),
            ),
            "roll_back_to": PASSED,
            "buckets_keep": (
                "failed",
                "".join(  # each named, in whatever order
                    f"(?=.*{re.escape(text)})"
                    for text in (
                        f"{STORAGE} can be made public: public access block BlockPublicAcls, "
                        "IgnorePublicAcls, BlockPublicPolicy, RestrictPublicBuckets off (the "
                        "guide: Access Management, Production Access: Limited to senior developers",
                        f"{STORAGE} is not versioned (versioning never enabled) (the guide: "
                        "Recovery Time Objectives, File Storage RPO 4 h",
                        f"{BACKUP} has no default encryption (the guide: Access Management, "
                        "User Data: Encrypted at rest and in transit",
                        f"{BACKUP} has no enabled lifecycle rule that expires objects (the guide: "
                        "Compliance, GDPR: Data retention and deletion procedures",
                    )
                )
                + "bucket promises broken: 4 is not == 0",
            ),
            "deployed_alert_rules": (
                "failed",
                re.escape(
                    "VercelFunctionSlow (group napoleon-ai-alerting-rules): expr is "
                    f"`max_over_time({catalog.FUNCTION_DURATION.name}[5m]) > 20`, the guide "
                    f"generates `max_over_time({catalog.FUNCTION_DURATION.name}[5m]) > 10`"
                ),
            ),
        },
    ),
    "stalled-pitr-no-rollback-candidate": Case(
        {"fates": ("failed", "healthy")},
        (_stall_pitr,),
        {
            **dict.fromkeys(SCENARIOS, PASSED),
            "pointintime": (
                "failed",
                r"point-in-time recovery lag: 108\d\d(\.\d+)? s is not <= 3600 s",
            ),
            "roll_back_to": (
                "failed",
                re.escape(
                    "an earlier READY production deployment to roll back to: no (none before dpl_"
                ),
            ),
        },
    ),
}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_each_weekly_check_is_green_on_a_good_week_and_red_for_its_own_broken_world(
    world: World, tmp_path: Path, case: Case
) -> None:
    _arrange(world, **case.arrangement)
    for broken in case.breaks:
        broken(world)
    run = _live_drill(world, tmp_path)
    verdicts = {key: run.scenarios[name]["status"] for key, name in SCENARIOS.items()}
    assert verdicts == {key: status for key, (status, _) in case.verdicts.items()}, run.output[
        -3000:
    ]
    for key, (_, says) in case.verdicts.items():
        scenario = run.scenarios[SCENARIOS[key]]
        said = [
            scenario["error"],
            *(m["detail"] for m in scenario["measurements"] if m["passed"] is False),
        ]
        assert re.search(says, " | ".join(said)) if says else said == [""], (key, said)
    failed = any(status == "failed" for status, _ in case.verdicts.values())
    assert run.returncode == (1 if failed else 0), run.output[-3000:]
    for name, scenario in run.scenarios.items():
        if "alert rules" not in name:  # the rule file is the configuration directory's
            assert scenario["exercised"]["simulated"] == [], name  # live: nothing stands in
            assert scenario["exercised"]["real"], name
    pitr = run.scenarios[SCENARIOS["pointintime"]]
    if case.arrangement.get("pitr", True):
        assert pitr["findings"] == []
    else:  # PITR off: the guide's daily backups are all there is: the RPO finding, stated
        assert [f["id"] for f in pitr["findings"]] == ["GUIDE-RPO-DAILY-BACKUPS"]
        assert "point-in-time recovery off" in pitr["findings"][0]["detail"]
        assert "'Automated daily backups via Supabase' (line 18)" in pitr["findings"][0]["detail"]


# -- the parts, without a child drill ----------------------------------------------------------


def test_the_bucket_promises_come_from_the_guide_and_go_with_its_words() -> None:
    """Broken world: a guide that no longer promises encryption at rest (or retention) must not
    have it checked; the promises are read, not typed."""
    buckets = Buckets("s", "b")
    kept = {(p.bucket, p.property) for p in promised.promises(load_guide(), buckets)}
    assert kept == {
        *(
            (name, prop)
            for name in "sb"
            for prop in (
                "encrypted at rest",
                "refuses requests without TLS",
                "public access blocked",
                "versioned",
            )
        ),
        ("b", "expires old objects"),
    }
    text = DEFAULT_GUIDE.read_text(encoding="utf-8")
    quieter = edited(
        text,
        (
            ("Encrypted at rest and in transit", "Handled with care"),
            ("Data retention and deletion procedures", "Deletion on request"),
        ),
        "the guide",
    )
    left = {(p.bucket, p.property) for p in promised.promises(parse_guide(quieter), buckets)}
    assert left == {
        (name, prop) for name in "sb" for prop in ("public access blocked", "versioned")
    }


def test_the_checks_clients_refuse_to_write_before_sending(tmp_path: Path) -> None:
    """Broken world: a check that writes; the read-only clients refuse before anything is sent."""
    sent: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request.method)
        return httpx.Response(200)

    inner = httpx.Client(transport=httpx.MockTransport(answer))
    with ReadOnlyHttp(inner) as http:
        assert http.get("https://api.vercel.com/v2/user").status_code == 200
        with pytest.raises(ProcedureFailed, match=r"tried POST api\.vercel\.com/v13/deployments"):
            http.post("https://api.vercel.com/v13/deployments", json={})
    assert sent == ["GET"]
    with MotoServer() as moto:
        s3 = s3_client(moto.endpoint, "AKIAREADONLY00000001", "x")
        promised.refuse_writes(s3)
        with pytest.raises(ProcedureFailed, match="tried S3 CreateBucket"):
            s3.create_bucket(Bucket="napoleon-ai-never-made")
        assert "napoleon-ai-never-made" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_a_reformatted_rule_file_is_not_drift_but_a_missing_rule_is(tmp_path: Path) -> None:
    guide = load_guide()
    rule_file = tmp_path / "napoleon-ai.rules.yml"
    text = DEFAULT_CONFIG_DIR.rule_file.read_text(encoding="utf-8")
    spaced = text.replace("> 10\n", ">   10\n", 1).replace("for: 5m\n", "for: 300s\n", 1)
    rule_file.write_text(spaced, encoding="utf-8")
    assert rules.rule_drift(guide, rule_file) == []
    start = text.index("  - alert: VercelBuildFailed")
    rule_file.write_text(
        text[:start] + text[text.index("  - alert:", start + 1) :], encoding="utf-8"
    )
    assert rules.rule_drift(guide, rule_file) == [
        "VercelBuildFailed (group napoleon-ai-alerting-rules): the guide generates it, "
        "napoleon-ai.rules.yml lacks it"
    ]


def test_a_target_without_a_token_for_a_service_names_the_key_to_add(tmp_path: Path) -> None:
    config = tmp_path / "targets.yml"
    config.write_text(TARGETS.replace("    vercel_token_env: WEEKLY_VERCEL_TOKEN\n", ""))
    from runbook_lib.procedures.live_checks import live_services
    from runbook_lib.world.clock import WallClock

    target = load_target(NAME, config, environ=TOKENS)
    with ReadOnlyHttp(httpx.Client()) as http, MotoServer() as moto:
        s3 = s3_client(moto.endpoint, "AKIAREADONLY00000002", "x")
        services = live_services(target, WallClock(), http, s3)
        assert services.supabase.token == TOKENS["WEEKLY_SUPABASE_TOKEN"]
        with pytest.raises(
            ConfigurationError,
            match="holds no VERCEL_TOKEN: name the variable that holds it as vercel_token_env",
        ):
            services.vercel  # noqa: B018
    assert TOKENS["WEEKLY_SUPABASE_TOKEN"] not in repr(services)


def test_each_bucket_promise_broken_alone_is_named_and_only_it() -> None:
    """Broken world, one promise at a time (the TLS one included, which no child drill breaks):
    a bucket arranged without exactly that promise breaks exactly it, read back from S3."""
    guide, buckets = load_guide(), Buckets(STORAGE, BACKUP)
    every = promised.promises(guide, buckets)
    with MotoServer() as moto:
        for promise in every:
            httpx.post(f"{moto.endpoint}/moto-api/reset", timeout=10).raise_for_status()
            s3 = s3_client(moto.endpoint, "AKIAPROMISES00000001", "x")
            staging.arrange_buckets(s3, guide, buckets, ((promise.bucket, promise.property),))
            postures = {n: promised.read_posture(s3, n) for n in (STORAGE, BACKUP)}
            broken = [p for p in every if promised.broken(p, postures[p.bucket])]
            assert broken == [promise]

"""The pytest plugin of the drills (``-p runbook_lib.drill.plugin``; the repository's root
conftest loads it too): options, the guide under test, the target, and the Gherkin tag
conventions. It pulls in the fixtures (``drill/fixtures``) and one steps module per chapter.

Options are :class:`~runbook_lib.drill.options.DrillOptions`, read once per process into
``config.stash``, and so are the environment's :class:`~runbook_lib.drill.options.Settings`
(a bad value stops the run with one line naming the variable), and the session's one
:class:`~runbook_lib.world.redact.Redactor` (fixture ``redactor``), made from the environment
and shared by everything that learns or writes a secret; the guide is parsed once per process,
on first use.

A live run (``--target`` without ``--stand-ins``) reaches the target's real endpoints, so it
runs only the scenarios tagged ``@live``: those that need no fault injected into a simulation
and change nothing of the target's but what the guide's procedures themselves write.

Tags: ``@guide:<anchor>`` names the guide section a scenario proves (checked against the
guide's headings), ``@control:<id>`` a compliance control, ``@compliance:<NAME>`` a statement
of the guide's Compliance section, ``@live`` a scenario safe against live endpoints,
``@finding:<id>`` a known gap in the guide: the scenario must fail with ``FindingConfirmed``
(strict xfail), so the day the guide is fixed the tag has to go.

A scenario that raises :class:`~runbook_lib.errors.NotRunnable` (in a step or a fixture: the
server lacks a capability it needs, such as being the drill's own to kill) is reported as *not
runnable* with the capability named: a skip carrying ``not_runnable``, which the progress lines,
pytest's summary and the evidence count apart from passes, failures and findings.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Generator
from pathlib import Path

import psycopg
import pytest

from runbook_lib.drill.options import DrillOptions, Settings, add_options
from runbook_lib.drill.progress import scenario_template
from runbook_lib.drill.schedule import dealt, load_durations
from runbook_lib.drill.shard import ShardPlan, features_sha256, scenario_id
from runbook_lib.errors import ConfigurationError, FindingConfirmed, NotRunnable, RunbookError
from runbook_lib.guide.model import Guide, load_guide
from runbook_lib.world.capabilities import missing_privilege
from runbook_lib.world.clock import Clock, WallClock
from runbook_lib.world.redact import Redactor
from runbook_lib.world.targets import Target

pytest_plugins = [
    "runbook_lib.drill.fixtures.backend",
    "runbook_lib.drill.fixtures.postgres",
    "runbook_lib.drill.fixtures.cloud",
    "runbook_lib.drill.fixtures.vercel",
    "runbook_lib.drill.fixtures.recovery",
    "runbook_lib.drill.fixtures.evidence",
    "runbook_lib.drill.fixtures.alertmanager",
    "runbook_lib.steps.common",
    "runbook_lib.steps.guide",
    "runbook_lib.steps.drill_environment",
    "runbook_lib.steps.backup_recovery",
    "runbook_lib.steps.recovery_objectives",
    "runbook_lib.steps.incident_response",
    "runbook_lib.steps.post_incident_review",
    "runbook_lib.steps.maintenance_windows",
    "runbook_lib.steps.deployment",
    "runbook_lib.steps.security",
    "runbook_lib.steps.performance_optimization",
    "runbook_lib.steps.monitoring_alerting",
    "runbook_lib.steps.live_checks",
]

MARKERS = (
    "guide(section): guide section a scenario proves (from @guide:<anchor> tags)",
    "control(id): compliance control a scenario evidences (from @control:<id> tags)",
    "compliance(name): a Compliance statement of the guide this scenario evidences (@compliance:<NAME>)",
    "finding(id): a known gap in the guide; the scenario must fail with FindingConfirmed",
    "live: safe to run against a live target's real endpoints (@live)",
    "slow: scenarios that take more than a few seconds",
    "fault: fault drills that break something on purpose",
    "needs_docker: needs a running Docker daemon",
)
# botocore and moto still call datetime.utcnow() on Python 3.12+; hypothesis imports libcst
# (when installed) to print explicit examples, and libcst uses an old API
IGNORED_WARNINGS = (
    "ignore::DeprecationWarning:botocore.*",
    "ignore::DeprecationWarning:moto.*",
    "ignore:mypy_extensions.TypedDict is deprecated:DeprecationWarning",
)
OPTIONS = pytest.StashKey[DrillOptions]()
SETTINGS = pytest.StashKey[Settings]()
REDACTOR = pytest.StashKey[Redactor]()
GUIDE = pytest.StashKey[Guide]()
SHARD_PLAN = pytest.StashKey[ShardPlan]()


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    for warning in IGNORED_WARNINGS:
        config.addinivalue_line("filterwarnings", warning)
    config.stash[OPTIONS] = DrillOptions.from_config(config)
    config.stash[REDACTOR] = Redactor(os.environ)
    gc.freeze()  # the modules imported so far (see pytest_collection_finish)
    try:
        config.stash[SETTINGS] = Settings.from_environ(os.environ)
    except ConfigurationError as exc:
        raise pytest.UsageError(str(exc)) from None


def drill_options_of(config: pytest.Config) -> DrillOptions:
    return config.stash[OPTIONS]


def settings_of(config: pytest.Config) -> Settings:
    return config.stash[SETTINGS]


def redactor_of(config: pytest.Config) -> Redactor:
    return config.stash[REDACTOR]


def guide_of(config: pytest.Config) -> Guide:
    """The guide under test, parsed on first use and kept for the rest of this process."""
    if GUIDE not in config.stash:
        config.stash[GUIDE] = load_guide(config.stash[OPTIONS].guide)
    return config.stash[GUIDE]


@pytest.hookimpl(tryfirst=True)  # before pytest-bdd's own, which would make unknown marks
def pytest_bdd_apply_tag(tag: str, function: Callable[..., object]) -> bool | None:
    kind, _, value = tag.partition(":")
    if kind == "control":
        pytest.mark.control(value)(function)
    elif kind == "guide":
        pytest.mark.guide(value)(function)
    elif kind == "compliance":
        pytest.mark.compliance(value)(function)
    elif kind == "live":
        pytest.mark.live(function)
    elif kind == "finding":  # judged by pytest_runtest_makereport below
        pytest.mark.finding(value)(function)
    else:
        return None
    return True


@pytest.hookimpl(wrapper=True, trylast=True)  # innermost: the evidence plugin sees the verdict
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A scenario tagged ``@finding:<ID>`` is a known gap only when it fails with *that*
    finding confirmed; any other error stays a failure, and a pass fails the run, naming the
    tag to remove (the guide was fixed)."""
    report = yield
    error = call.excinfo.value if call.excinfo is not None else None
    if report.when in ("setup", "call") and not server_owned(item.config):
        error = refused_capability(error) or error
    if isinstance(error, NotRunnable) and report.when in ("setup", "call"):
        return not_runnable(report, item, error)
    expected = {mark.args[0] for mark in item.iter_markers("finding")}
    if not expected or report.when != "call":
        return report
    if isinstance(error, FindingConfirmed) and error.finding_id in expected:
        report.outcome = "skipped"
        report.wasxfail = f"known gap {error.finding_id} confirmed"
    elif isinstance(error, FindingConfirmed):
        report.longrepr = (
            f"tagged @finding:{', @finding:'.join(sorted(expected))}, but the scenario confirmed "
            f"another finding: {error}"
        )
    elif report.passed:  # no wasxfail here: pytest does not count a failure that has one (exit 0)
        report.outcome = "failed"
        report.longrepr = (
            f"[XPASS(strict)] the known gap {', '.join(sorted(expected))} no longer reproduces: "
            f"the guide was fixed, remove the @finding:{' / @finding:'.join(sorted(expected))} tag"
        )
    return report


NOT_RUNNABLE = "not runnable"


def not_runnable(
    report: pytest.TestReport, item: pytest.Item, error: NotRunnable
) -> pytest.TestReport:
    """The scenario could not run here (a capability is missing): a skip that says which, and
    is never read as a pass or as the guide's finding."""
    report.outcome = "skipped"
    report.longrepr = (str(item.path), (item.location[1] or 0) + 1, str(error))
    report.not_runnable = error.capability  # type: ignore[attr-defined]  # crosses xdist
    return report


def server_owned(config: pytest.Config) -> bool:
    """False when this session's PostgreSQL is one the drill did not start (``--pg dsn``, a
    target's database); True before a server was opened and for embedded or container."""
    from runbook_lib.drill.fixtures.postgres import PG_INFO

    return config.stash.get(PG_INFO, ("embedded", "", ""))[0] != "dsn"


def refused_capability(error: BaseException | None) -> NotRunnable | None:
    """A privilege the server refused, raised through a step on a server the drill does not
    own: the drill's role lacks a capability, which says nothing about the guide."""
    if isinstance(error, psycopg.errors.InsufficientPrivilege):
        return missing_privilege(str(error))
    return None


def is_not_runnable(report: pytest.TestReport) -> bool:
    return report.skipped and bool(getattr(report, "not_runnable", None))


@pytest.hookimpl(tryfirst=True)  # before the progress lines' own, which knows only outcomes
def pytest_report_teststatus(report: pytest.TestReport) -> tuple[str, str, str] | None:
    if is_not_runnable(report):
        return NOT_RUNNABLE, "", "NOT RUNNABLE"
    return None


def feature_stem(item: pytest.Item) -> str | None:
    """The stem of the .feature file a collected scenario comes from (None for plain tests)."""
    template = scenario_template(item)
    return Path(template.feature.filename).stem if template is not None else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    options = drill_options_of(config)
    keep = items
    if options.only:
        known = {feature_stem(i) for i in items} - {None}
        unknown = set(options.only) - known
        if unknown:
            raise pytest.UsageError(
                f"--only: no feature named {', '.join(sorted(unknown))}; available: {', '.join(sorted(k for k in known if k))}"
            )
        keep = [i for i in keep if feature_stem(i) in options.only]
    if options.live:  # scenarios that need a simulation cannot run against live endpoints
        keep = [i for i in keep if i.get_closest_marker("live") is not None]
    if len(keep) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep


def item_id(item: pytest.Item) -> str:
    """The stable id of a collected item (see :mod:`runbook_lib.drill.shard`)."""
    template = scenario_template(item)
    return scenario_id(template.feature.rel_filename if template is not None else "", item.nodeid)


# a second implementation of the hook in this module, so it needs its own name; trylast: after
# pytest's own -k and -m, which run after the --only and @live selection above
@pytest.hookimpl(trylast=True, specname="pytest_collection_modifyitems")
def pytest_collection_modifyitems_last(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``--shard I/N``: keep this shard's share of what every other selection (``--only``,
    ``-k``, ``@live``) kept, and note the whole selection for the evidence (``run.shard``).
    Under xdist, then put what is kept in the workers' order (:mod:`~runbook_lib.drill.schedule`)."""
    options = drill_options_of(config)
    try:
        shard = options.shard_spec
    except ConfigurationError as exc:
        raise pytest.UsageError(str(exc)) from None
    ids = {item: item_id(item) for item in items}
    if shard is not None:
        plan = ShardPlan(shard, tuple(ids.values()), features_sha256(options.features))
        config.stash[SHARD_PLAN] = plan
        mine = plan.mine
        keep = [item for item in items if ids[item] in mine]
        if len(keep) != len(items):
            config.hook.pytest_deselected(items=[item for item in items if ids[item] not in mine])
            items[:] = keep
    workers = int(getattr(config, "workerinput", {}).get("workercount", 1))
    if all(scenario_template(item) is not None for item in items):  # a drill, not the tests
        items[:] = dealt(items, ids, load_durations(), workers)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Freeze what start-up built (modules, the parsed guide, collected scenarios) out of the
    garbage collector's sight: it lives to the end anyway, and every full collection walked it
    again (the simulations' libraries hold hundreds of thousands of objects), among them the
    five that pytest runs at exit to find unraisable exceptions. What scenarios create is
    collected as before, less often (:data:`RUN_GC_THRESHOLDS`)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*RUN_GC_THRESHOLDS)


# While scenarios run, a young collection per 100 000 new objects instead of 700: a worker then
# spends 0.2 s instead of 0.3-0.5 s in the collector over a drill, its peak memory within 10 MB
RUN_GC_THRESHOLDS = (100_000, 50, 1000)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Freeze what the scenarios left as well, before pytest's exit-time collections: the
    process ends next, and five full collections of every worker's moto, Alertmanager and
    PostgreSQL leftovers cost about half a second of CPU each, for nothing the drill reads."""
    gc.freeze()


def shard_plan_of(config: pytest.Config) -> ShardPlan | None:
    """This process's shard and the whole selection it was cut from (None: not sharded)."""
    return config.stash.get(SHARD_PLAN, None)


@pytest.fixture(scope="session")
def drill_options(pytestconfig: pytest.Config) -> DrillOptions:
    """The options of this drill run."""
    return drill_options_of(pytestconfig)


@pytest.fixture(scope="session")
def drill_settings(pytestconfig: pytest.Config) -> Settings:
    """What the environment tells this drill run (sizes, cluster directory, DSN), read once."""
    return settings_of(pytestconfig)


@pytest.fixture(scope="session")
def redactor(pytestconfig: pytest.Config) -> Redactor:
    """The secrets of this session: the environment's, and every one the drill creates."""
    return redactor_of(pytestconfig)


@pytest.fixture(scope="session")
def wall_clock() -> Clock:
    """Real time, for what a drill measures (restore, query and write timings: the RTO and
    latencies it reports are wall-clock); simulated timelines run on the cloud's virtual clock."""
    return WallClock()


@pytest.fixture(scope="session")
def guide(pytestconfig: pytest.Config) -> Guide:
    """The guide under test, parsed once per process."""
    try:
        return guide_of(pytestconfig)
    except RunbookError as exc:
        pytest.exit(str(exc), returncode=exc.exit_code)


@pytest.fixture(scope="session")
def drill_target(drill_options: DrillOptions) -> Target:
    """Where the procedures act: the simulated world, or ``--target``'s names, database and
    credentials (refused when it points at production, or when its variables are unset)."""
    try:
        return drill_options.load_target(os.environ)
    except RunbookError as exc:
        pytest.exit(str(exc), returncode=exc.exit_code)

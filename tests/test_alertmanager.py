"""Alertmanager: the configuration the guide generates, amtool's verdict on it, a real Alertmanager
on loopback (started, stopped, reaped), the SMTP relay and status page bridge it notifies through,
and each drill check red in its broken world: a guide that says otherwise, a configuration that
does not group or inhibit, Slack answering 500, alerts never sent."""

from __future__ import annotations

import shutil
import signal
import smtplib
import ssl
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from runbook_lib.drill.fixtures.alertmanager import alertmanager_for
from runbook_lib.errors import ConfigurationError
from runbook_lib.guide.model import Guide, load_guide
from runbook_lib.monitoring import (
    alertmanager,
    alertmanager_drill,
    alertmanager_heard,
    alertmanager_server,
    catalog,
    engine,
    webhooks,
)
from runbook_lib.monitoring.alertmanager_statuspage import PATH, StatuspageBridge
from runbook_lib.monitoring.measures import Gauge
from runbook_lib.paths import DEFAULT_CONFIG_DIR
from runbook_lib.procedures.incident_response.communications import internal_channel
from runbook_lib.sim import cloud as sim_cloud
from runbook_lib.sim.cloud import STATUS_PAGE_ID, SimulatedCloud
from runbook_lib.sim.sendgrid_smtp import HOST, SmtpRelay
from runbook_lib.sim.serve import Gateway, SessionCA
from tests.helpers import child_drill, edited_guide

GUIDE = load_guide()
DEPLOYED = DEFAULT_CONFIG_DIR.alertmanager_file
needs_alertmanager = pytest.mark.skipif(
    shutil.which("prometheus-alertmanager") is None and shutil.which("alertmanager") is None,
    reason="Alertmanager not installed (apt-get install prometheus-alertmanager); .ci/run installs it",
)
needs_amtool = pytest.mark.skipif(
    shutil.which("amtool") is None,
    reason="amtool not installed (apt-get install prometheus-alertmanager); .ci/run installs it",
)


def _config(guide: Guide = GUIDE) -> dict[str, object]:
    loaded: dict[str, object] = yaml.safe_load(alertmanager.render(guide))
    return loaded


def _receiver(config: dict[str, object], severity: str) -> dict[str, object]:
    route = config["route"]
    assert isinstance(route, dict)
    name = next(
        r["receiver"] for r in route["routes"] if r["matchers"] == [f'severity="{severity}"']
    )
    receivers = config["receivers"]
    assert isinstance(receivers, list)
    found: dict[str, object] = next(r for r in receivers if r["name"] == name)
    return found


# -- the configuration, from the guide ---------------------------------------------------------


def test_the_committed_configuration_is_what_the_guide_generates() -> None:
    assert DEPLOYED.read_text(encoding="utf-8") == alertmanager.render(GUIDE)


def test_each_severity_reaches_the_guides_channels_at_its_levels_response_time() -> None:
    config = _config()
    critical, warning = _receiver(config, "critical"), _receiver(config, "warning")
    assert critical["name"] == "P0-internal+external+stakeholders"
    assert [c["channel"] for c in critical["slack_configs"]] == ["#incidents"]  # type: ignore[attr-defined]
    assert [e["to"] for e in critical["email_configs"]] == [  # type: ignore[attr-defined]
        "customers@napoleon.ai",
        "board@napoleon.ai, investors@napoleon.ai",
    ]
    assert critical["webhook_configs"][0]["url"].endswith(PATH)  # type: ignore[index]
    assert set(warning) == {"name", "slack_configs"}  # P2: the incident channel only
    routes = {r["receiver"]: r["repeat_interval"] for r in config["route"]["routes"]}  # type: ignore[index]
    assert routes["P0-internal+external+stakeholders"] == "15m"  # P0: < 15 minutes
    assert routes["P2-internal"] == "4h"
    assert routes["P3-internal"] == "1d"


@pytest.mark.parametrize(
    ("edit", "changed"),
    [
        (
            ("**Internal**: Slack #incidents", "**Internal**: Slack #ops-alerts"),
            "channel: '#ops-alerts'",
        ),
        (
            (
                "**P0**: Immediate response (< 15 minutes)",
                "**P0**: Immediate response (< 30 minutes)",
            ),
            "repeat_interval: 30m",
        ),
        (
            ("Direct communication for P0/P1", "Direct communication for P1"),
            "name: P0-internal+external\n",
        ),
        (
            ("**External**: Status page, email notifications", "**External**: Status page"),
            "name: P0-internal+external+stakeholders",
        ),
    ],
)
def test_a_changed_guide_changes_the_configuration(
    edit: tuple[str, str], changed: str, tmp_path: Path
) -> None:
    edited = load_guide(edited_guide(tmp_path, [edit]))
    rendered = alertmanager.render(edited)
    assert rendered != alertmanager.render(GUIDE)
    assert changed in rendered


def test_without_email_in_the_guides_external_channels_customers_get_no_email(
    tmp_path: Path,
) -> None:
    edit = ("**External**: Status page, email notifications", "**External**: Status page")
    critical = _receiver(_config(load_guide(edited_guide(tmp_path, [edit]))), "critical")
    emails = critical["email_configs"]
    assert isinstance(emails, list)
    assert [e["to"] for e in emails] == ["board@napoleon.ai, investors@napoleon.ai"]


def test_inhibition_comes_from_the_catalogues_up_down_signals(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rules = alertmanager.inhibit_rules(GUIDE)
    assert {
        "source_matchers": ['alertname="SupabaseDatabaseDown"', 'severity="critical"'],
        "target_matchers": ['source="supabase"', 'severity=~"warning|ticket"'],
    } in rules
    assert len(rules) == 2  # the database's and production's (the uptime probe) up/down alerts
    # a catalogue whose database signal is no up/down gauge implies no inhibition by it
    measures = tuple(Gauge(m.name) if m == catalog.DATABASE_UP else m for m in catalog.MEASURES)
    monkeypatch.setattr(catalog, "MEASURES", measures)
    assert all("SupabaseDatabaseDown" not in str(r) for r in alertmanager.inhibit_rules(GUIDE))


def test_durations_are_prometheus_durations() -> None:
    assert [alertmanager.duration(s) for s in (900, 14400, 86400, 30, 0.025, 0.75)] == [
        "15m",
        "4h",
        "1d",
        "30s",
        "25ms",
        "750ms",
    ]
    assert alertmanager_drill.parse_duration("1h30m") == 5400
    with pytest.raises(ConfigurationError):
        alertmanager_drill.parse_duration("15 minutes")


def test_as_run_scales_every_timer_and_names_every_change(tmp_path: Path) -> None:
    run = alertmanager_drill.as_run(
        DEPLOYED.read_text(encoding="utf-8"),
        proxy_url="http://127.0.0.1:1",
        ca_file=tmp_path / "ca.pem",
        smtp_port=2525,
        secrets={"slack-incidents-webhook-url": "https://x", "sendgrid-api-key": "SG.k"},
    )
    config = yaml.safe_load(run.config)
    assert config["route"]["group_wait"] == "25ms"
    assert config["route"]["routes"][0]["repeat_interval"] == "750ms"
    email = config["receivers"][0]["email_configs"][0]
    assert email["smarthost"] == "127.0.0.1:2525"
    assert email["tls_config"]["server_name"] == "smtp.sendgrid.net"
    assert email["auth_password_file"] == "sendgrid-api-key"
    assert run.files == {"slack-incidents-webhook-url": "https://x", "sendgrid-api-key": "SG.k"}
    assert any("15m -> 750ms" in change for change in run.changes)
    with pytest.raises(ConfigurationError, match="no secret"):
        alertmanager_drill.as_run(
            DEPLOYED.read_text(encoding="utf-8"),
            proxy_url="http://127.0.0.1:1",
            ca_file=tmp_path / "ca.pem",
            smtp_port=2525,
            secrets={},
        )


def test_our_hooks_host_is_the_one_the_gateway_serves() -> None:
    assert f"https://{sim_cloud.APP_HOOKS_HOST}" == webhooks.HOOKS_HOST


# -- amtool ------------------------------------------------------------------------------------


@needs_amtool
def test_amtool_accepts_the_committed_configuration() -> None:
    accepted, said = alertmanager_server.check_config(DEPLOYED)
    assert accepted, said


@needs_amtool
def test_amtool_refuses_a_route_to_a_receiver_that_does_not_exist(tmp_path: Path) -> None:
    broken = tmp_path / "alertmanager.yml"
    broken.write_text(DEPLOYED.read_text().replace("receiver: P2-internal", "receiver: P2-nobody"))
    accepted, said = alertmanager_server.check_config(broken)
    assert not accepted
    assert "P2-nobody" in said


@needs_amtool
@pytest.mark.parametrize("severity", ["critical", "warning", "ticket"])
def test_amtool_routes_each_severity_to_the_guides_receiver(severity: str) -> None:
    wanted = alertmanager.tier(GUIDE, severity).receiver
    assert alertmanager_server.routes_for(DEPLOYED, {"severity": severity}) == [wanted]


@needs_amtool
def test_the_routes_check_is_red_when_the_guide_no_longer_says_what_the_file_does(
    tmp_path: Path,
) -> None:
    edit = ("Direct communication for P0/P1", "Direct communication for P1")
    wanted = alertmanager.tier(load_guide(edited_guide(tmp_path, [edit])), "critical").receiver
    assert alertmanager_server.routes_for(DEPLOYED, {"severity": "critical"}) != [wanted]


# -- a real Alertmanager on loopback -------------------------------------------------------------

MINIMAL = textwrap.dedent(
    """\
    route: {receiver: nobody, group_wait: 10ms, group_interval: 50ms}
    receivers: [{name: nobody}]
    """
)


def _leftovers() -> list[Path]:
    return sorted(Path(tempfile.gettempdir()).glob(f"{alertmanager_server.TEMP_PREFIX}*"))


def _alertmanagers(root: Path) -> list[int]:
    """Pids of Alertmanagers whose command line names ``root``."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                command = (proc / "cmdline").read_bytes()
            except OSError:
                continue
            if b"alertmanager" in command and str(root).encode() in command:
                found.append(int(proc.name))
    return found


@needs_alertmanager
def test_alertmanager_starts_takes_alerts_and_leaves_nothing_behind() -> None:
    with alertmanager_server.running(MINIMAL, {"secret": "s3cret"}) as server:
        root = server.root
        assert (root / "secret").stat().st_mode & 0o777 == 0o600
        server.post_alerts([{"labels": {"alertname": "Probe", "severity": "warning"}}])
        assert [a["labels"]["alertname"] for a in server.alerts()] == ["Probe"]
        assert server.startup_seconds < 10
        assert _alertmanagers(root) == [server.pid]
    assert not root.exists()
    assert _alertmanagers(root) == []


@needs_alertmanager
def test_a_configuration_alertmanager_refuses_fails_in_one_line() -> None:
    refused_config = "route: {receiver: nobody}\nreceivers: []\n"
    with (
        pytest.raises(ConfigurationError, match="refused its configuration") as refused,
        alertmanager_server.running(refused_config, {}),
    ):
        pass
    assert "\n" not in str(refused.value)


_CHILD = textwrap.dedent(
    """\
    import sys, time
    from runbook_lib.monitoring import alertmanager_server
    with alertmanager_server.running(sys.argv[1], {}) as server:
        print(server.root, server.pid, flush=True)
        time.sleep(60)
    """
)


def _child() -> tuple[subprocess.Popen[str], Path, int]:
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, MINIMAL], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    with child.stdout:
        root, pid = child.stdout.readline().split()
    return child, Path(root), int(pid)


@needs_alertmanager
def test_ctrl_c_stops_alertmanager_and_removes_its_dir() -> None:
    child, root, _pid = _child()
    child.send_signal(signal.SIGINT)  # the drill's process only: it must stop its Alertmanager
    child.wait(timeout=30)
    assert not root.exists()
    assert _alertmanagers(root) == []


@needs_alertmanager
def test_the_next_start_reaps_the_alertmanager_of_a_killed_run() -> None:
    child, root, pid = _child()
    child.kill()  # SIGKILL: no finally runs, Alertmanager and its dir stay behind
    child.wait(timeout=30)
    assert root.exists()
    assert _alertmanagers(root) == [pid]
    assert root in alertmanager_server.reap_orphans()
    deadline = time.monotonic() + 10
    while _alertmanagers(root) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not root.exists()
    assert _alertmanagers(root) == []


# -- the SMTP relay and the status page bridge -------------------------------------------------


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> SessionCA:
    return SessionCA(tmp_path_factory.mktemp("ca"))


def _smtp(relay: SmtpRelay, ca: SessionCA) -> smtplib.SMTP:
    client = smtplib.SMTP("127.0.0.1", relay.port, timeout=10)
    client._host = HOST  # type: ignore[attr-defined]  # verify the certificate for this name
    return client


def test_the_relay_takes_mail_over_starttls_from_apikey_and_tells_the_event_webhook(
    ca: SessionCA,
) -> None:
    sim = SimulatedCloud()
    with SmtpRelay(sim.sendgrid, ca.context_for(HOST)).serving() as relay:
        client = _smtp(relay, ca)
        client.ehlo()
        assert not client.has_extn("auth")  # only after STARTTLS
        client.starttls(context=ssl.create_default_context(cafile=str(ca.cert_file)))
        client.login("apikey", sim.credentials.sendgrid_key)
        client.sendmail(
            "status@napoleon.ai",
            ["a@example.com", "b@example.com"],
            b"Subject: [FIRING:1] X\r\nContent-Type: text/plain\r\n\r\nX [critical] firing: y\r\n",
        )
        client.quit()
    assert [d.to for d in sim.sendgrid.deliveries] == [("a@example.com", "b@example.com")]
    assert sim.sendgrid.deliveries[0].subject == "[FIRING:1] X"
    assert relay.received[0].tls
    assert relay.received[0].sender == "status@napoleon.ai"
    assert relay.received[0].message_id  # SendGrid's id for the send, as the Web API gives it


@pytest.mark.parametrize(
    ("user", "secure", "refused"),
    [("apikey", False, "530"), ("apikey", True, "535"), ("someone", True, "535")],
)
def test_the_relay_refuses_plain_text_and_unknown_keys(
    ca: SessionCA, user: str, secure: bool, refused: str
) -> None:
    sim = SimulatedCloud()
    with SmtpRelay(sim.sendgrid, ca.context_for(HOST)).serving() as relay:
        client = _smtp(relay, ca)
        client.ehlo()
        if secure:
            client.starttls(context=ssl.create_default_context(cafile=str(ca.cert_file)))
        code, _ = client.docmd("AUTH", "PLAIN " + _plain(user, "SG.not-a-key"))
        client.quit()
    assert str(code) == refused
    assert sim.sendgrid.deliveries == []
    assert relay.refused
    assert relay.refused[0].startswith(refused)


def _plain(user: str, password: str) -> str:
    import base64

    return base64.b64encode(f"\0{user}\0{password}".encode()).decode()


def test_a_refusing_relay_answers_421(ca: SessionCA) -> None:
    sim = SimulatedCloud()
    relay = SmtpRelay(sim.sendgrid, ca.context_for(HOST), refusing=True)
    with relay.serving(), pytest.raises(smtplib.SMTPConnectError):
        smtplib.SMTP("127.0.0.1", relay.port, timeout=10)


def _payload(status: str, group: str = '{}:{alertname="X"}') -> bytes:
    import json

    alert = {
        "status": status,
        "labels": {"alertname": "X", "severity": "critical"},
        "annotations": {"summary": "s"},
    }
    return json.dumps(
        {
            "version": "4",
            "groupKey": group,
            "status": status,
            "alerts": [alert],
            "commonLabels": alert["labels"],
        }
    ).encode()


def test_the_bridge_opens_updates_and_resolves_one_incident_per_group() -> None:
    sim = SimulatedCloud()
    api = httpx.Client(transport=httpx.MockTransport(sim.statuspage.handle))
    bridge = StatuspageBridge(STATUS_PAGE_ID, sim.credentials.statuspage_key, api, sim.clock)
    for status in ("firing", "firing", "resolved"):
        answer = bridge.handle(httpx.Request("POST", f"https://h{PATH}", content=_payload(status)))
        assert answer.status_code == 200
    incidents = list(sim.statuspage.incidents.values())
    assert [(i.name, i.status, i.impact) for i in incidents] == [
        ("X: investigating", "resolved", "critical")
    ]
    assert [u["status"] for u in incidents[0].updates] == ["investigating", "resolved"]
    assert bridge.incidents == {}


def test_the_bridge_answers_502_when_statuspage_refuses_so_alertmanager_retries() -> None:
    sim = SimulatedCloud()
    sim.statuspage.inject(503, times=5)
    api = httpx.Client(transport=httpx.MockTransport(sim.statuspage.handle))
    bridge = StatuspageBridge(STATUS_PAGE_ID, sim.credentials.statuspage_key, api, sim.clock)
    answer = bridge.handle(httpx.Request("POST", f"https://h{PATH}", content=_payload("firing")))
    assert answer.status_code == 502
    assert sim.statuspage.incidents == {}
    bad = bridge.handle(httpx.Request("POST", f"https://h{PATH}", content=b"[]"))
    assert bad.status_code == 400


# -- the drill's checks, red in their broken worlds ----------------------------------------------


@pytest.fixture(scope="module")
def gateway(ca: SessionCA) -> Iterator[Gateway]:
    served = Gateway(ca).start()
    yield served
    served.stop()


def _heard(
    gateway: Gateway, evaluation: engine.Evaluation, until: int, deployed: str, sim: SimulatedCloud
) -> tuple[alertmanager_drill.Played, list[alertmanager_heard.Notification], list[str]]:
    """Play ``evaluation`` to an Alertmanager running ``deployed``: what was sent, what the
    incident channel heard, and how Alertmanager holds the slow-statement alert at the end."""
    with gateway.mounted(sim.routes()), alertmanager_for(sim, gateway, deployed) as running:
        played = alertmanager_drill.play(running.server, evaluation, sim.clock, until)
        held = alertmanager_drill.held_states(running.server, "SupabaseSlowStatement")
    return played, alertmanager_heard.slack(sim, internal_channel(GUIDE), played), held


def _edited(deployed: str, edit: tuple[str, str]) -> str:
    assert deployed.count(edit[0]) >= 1, edit
    return deployed.replace(*edit)


RULES = engine.default_rules()


def _uptime_outage() -> engine.Evaluation:
    probes = [1.0] * 40 + [0.0] * 31
    return engine.replay(RULES, catalog.PROBE.values(probes), 70)


@needs_alertmanager
@pytest.mark.parametrize("grouped", [True, False])
def test_the_grouping_check_is_red_when_alerts_are_not_grouped_by_name(
    gateway: Gateway, grouped: bool
) -> None:
    deployed = DEPLOYED.read_text(encoding="utf-8")
    if not grouped:
        deployed = _edited(deployed, ("  - alertname\n", "  - alertname\n  - window\n"))
    _, heard, _ = _heard(gateway, _uptime_outage(), 64, deployed, SimulatedCloud())
    widest = max((n.windows("UptimeErrorBudgetBurn") for n in heard), key=len)
    assert ({"1h/5m", "6h/30m"} <= widest) is grouped


def _slow_while_down(up: float) -> engine.Evaluation:
    held = {
        **catalog.STATEMENT_MEAN.held(150, 10),
        **catalog.DATABASE_UP.held(up, 10),
    }
    return engine.replay(RULES, held, 11)


@needs_alertmanager
@pytest.mark.parametrize("inhibiting", [True, False])
def test_the_inhibition_check_is_red_without_the_inhibit_rules(
    gateway: Gateway, inhibiting: bool
) -> None:
    deployed = DEPLOYED.read_text(encoding="utf-8")
    if not inhibiting:
        config = yaml.safe_load(deployed)
        config["inhibit_rules"] = []
        deployed = yaml.safe_dump(config, sort_keys=False)
    _, heard, held = _heard(gateway, _slow_while_down(0.0), 10, deployed, SimulatedCloud())
    told = sum(n.firing("SupabaseSlowStatement") for n in heard)
    assert (told, held) == ((0, ["inhibited"]) if inhibiting else (1, ["active"]))


@needs_alertmanager
@pytest.mark.parametrize("resolving", [True, False])
def test_the_resolution_checks_are_red_when_nothing_sends_resolved_notices(
    gateway: Gateway, resolving: bool
) -> None:
    deployed = DEPLOYED.read_text(encoding="utf-8")
    if not resolving:
        deployed = deployed.replace("send_resolved: true", "send_resolved: false")
    sim = SimulatedCloud()
    down = catalog.DATABASE_UP.window(0.0, 1, 3, 1.0, 11)
    played, _, _ = _heard(gateway, engine.replay(RULES, down, 11), 14, deployed, sim)
    delays = alertmanager_heard.resolution_delays(sim, GUIDE, played, "SupabaseDatabaseDown", 0.5)
    assert len(delays) == 3  # Slack and both emails heard it fire
    assert all((delay is not None) is resolving for delay, _ in delays.values())
    statuses = {status for _, status in alertmanager_heard.status_page(sim, "SupabaseDatabaseDown")}
    assert statuses == ({"resolved"} if resolving else {"investigating"})


@needs_alertmanager
def test_slack_answering_500_leaves_the_channel_silent_and_alertmanager_counts_it(
    gateway: Gateway,
) -> None:
    sim = SimulatedCloud()
    sim.slack.inject(500, times=10**9)
    evaluation = engine.replay(RULES, catalog.DATABASE_UP.held(0.0, 25), 26)
    deployed = DEPLOYED.read_text(encoding="utf-8")
    with gateway.mounted(sim.routes()), alertmanager_for(sim, gateway, deployed) as running:
        played = alertmanager_drill.play(running.server, evaluation, sim.clock, 25)
        failed = running.server.metric(
            "alertmanager_notification_requests_failed_total", integration="slack"
        )
    assert alertmanager_heard.slack(sim, "#incidents", played) == []
    assert failed >= 2
    assert len(sim.slack.requests) >= 2
    assert alertmanager_heard.status_page(sim, "SupabaseDatabaseDown")  # the others still hear


@needs_alertmanager
def test_alerts_never_posted_leave_every_channel_silent(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(alertmanager_server.Alertmanager, "post_alerts", lambda self, alerts: None)
    sim = SimulatedCloud()
    evaluation = engine.replay(RULES, catalog.DATABASE_UP.held(0.0, 10), 11)
    played, heard, _ = _heard(gateway, evaluation, 10, DEPLOYED.read_text(encoding="utf-8"), sim)
    assert played.posts
    assert not any(n.firing("SupabaseDatabaseDown") for n in heard)
    assert all(not told for told in alertmanager_heard.channels(sim, GUIDE, played).values())


# -- the drills: guide edits turn their scenarios red ------------------------------------------


SELECTED = "alertmanager or reaches_exactly or told_again or silences or slack_answering or grouped"


@needs_alertmanager
@pytest.mark.parametrize(
    ("edit", "green"),
    [
        # the P0 response is due every 45 minutes: the committed file (15m) and the repeats disagree
        (
            (
                "**P0**: Immediate response (< 15 minutes)",
                "**P0**: Immediate response (< 45 minutes)",
            ),
            ("reaches_exactly", "grouped", "silences", "slack_answering"),
        ),
        # the incident channel is #ops-alerts: nothing the committed file sends arrives there, but
        # an alert that must not arrive (inhibited) and a Slack that refuses everything
        (
            ("**Internal**: Slack #incidents", "**Internal**: Slack #ops-alerts"),
            ("[0-0-inhibited]", "slack_answering"),
        ),
    ],
)
def test_a_guide_that_says_otherwise_turns_the_alertmanager_scenarios_red(
    edit: tuple[str, str], green: tuple[str, ...], tmp_path: Path
) -> None:
    guide = edited_guide(tmp_path, [edit])
    _, document = child_drill(
        "--only=monitoring_alerting",
        "-k",
        SELECTED,
        f"--guide={guide}",
        evidence_dir=tmp_path / "evidence",
    )
    statuses = {
        str(r["node_id"]).rpartition("::")[2]: str(r["status"]) for r in document["scenarios"]
    }
    assert len(statuses) == 8, statuses
    expected = {n: "passed" if any(g in n for g in green) else "failed" for n in statuses}
    assert statuses == expected

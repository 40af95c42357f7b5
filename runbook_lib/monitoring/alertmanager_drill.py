"""The deployed Alertmanager configuration, run in a drill on a clock the scenario controls.

:func:`as_run` turns the configuration's ``alerts/alertmanager.yml`` into what the drill's
Alertmanager runs, and says every change (:attr:`AsRun.changes`, for the evidence):

- every duration (``group_wait``, ``group_interval``, ``repeat_interval``, ``resolve_timeout``)
  divided by :data:`SPEEDUP`: a 15-minute repeat takes 750 ms of wall time, and the scenario's
  virtual clock runs :data:`SPEEDUP` times faster than the wall while the alerts play, so every
  notification is timed in the guide's minutes;
- Slack and the status page bridge are reached at their real host names through the drill's
  HTTPS proxy (``http_config.proxy_url``, the session CA as ``tls_config.ca_file``);
- email goes to the SendGrid SMTP relay simulation on loopback instead of
  ``smtp.sendgrid.net:587`` (an SMTP client takes no proxy), TLS still verifying the name
  ``smtp.sendgrid.net`` (``tls_config.server_name``);
- the secret files are the drill's, beside the configuration, not ``/etc/alertmanager/secrets``.

:func:`play` sends an evaluation's alerts to Alertmanager as Prometheus's notifier would (each
alert when it starts firing, ``startsAt`` its first firing evaluation, ``endsAt`` the evaluation
that resolves it; again at that evaluation, resolved), each at its scaled wall time, while the
simulated cloud's clock follows. :func:`heard` reads back what the simulations received.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from runbook_lib.errors import ConfigurationError
from runbook_lib.monitoring.alertmanager import SMARTHOST, duration
from runbook_lib.monitoring.alertmanager_server import Alertmanager
from runbook_lib.monitoring.engine import Evaluation
from runbook_lib.monitoring.rules import FIRING
from runbook_lib.world import yamlio
from runbook_lib.world.clock import VirtualClock

SPEEDUP = 1200.0  # virtual seconds per wall second while alerts play: a minute is 50 ms
JITTER_SECONDS = 0.1  # wall time a delivery may vary by on a busy machine (2 minutes at 1200x)
SETTLE_SECONDS = 3.0  # the longest wait for deliveries in flight once the last minute is played
TIMERS = ("group_wait", "group_interval", "repeat_interval")
_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_UNIT = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def parse_duration(text: str) -> float:
    """Prometheus's duration format in seconds: "1h30m" -> 5400.0."""
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ConfigurationError(f"{text!r} is not a Prometheus duration such as 30s, 5m, 4h")
    return sum(int(n) * _UNIT[u] for n, u in parts)


@dataclass(frozen=True)
class AsRun:
    config: str  # the YAML Alertmanager runs
    files: dict[str, str]  # secret file name -> content, beside the configuration
    changes: tuple[str, ...]  # every change from the deployed configuration, said plainly


def as_run(
    deployed: str,
    *,
    proxy_url: str,
    ca_file: Path,
    smtp_port: int,
    secrets: dict[str, str],
    speedup: float = SPEEDUP,
) -> AsRun:
    """The deployed configuration as the drill runs it; ``secrets``: the content of each secret
    file the configuration names, by the file's base name."""
    config = yamlio.load(deployed)
    changes = [f"every duration divided by {speedup:g} (the scenario's clock runs that fast)"]
    changes += _scale(config.get("global", {}), ("resolve_timeout",), speedup, "global")
    changes += _scale_route(config["route"], speedup, "route")
    files: dict[str, str] = {}
    proxied = {"proxy_url": proxy_url, "tls_config": {"ca_file": str(ca_file)}}
    for receiver in config.get("receivers", []):
        for kind in ("slack_configs", "webhook_configs"):
            for item in receiver.get(kind, []):
                item["http_config"] = {**item.get("http_config", {}), **proxied}
        for item in receiver.get("email_configs", []):
            host = str(item.get("smarthost", "")).rpartition(":")[0]
            item["smarthost"] = f"127.0.0.1:{smtp_port}"
            item["tls_config"] = {"ca_file": str(ca_file), "server_name": host}
        for item in (*receiver.get("slack_configs", []), *receiver.get("email_configs", [])):
            for key in ("api_url_file", "auth_password_file"):
                if key in item:
                    name = Path(item[key]).name
                    if name not in secrets:
                        raise ConfigurationError(f"the drill holds no secret for {item[key]}")
                    files[name], item[key] = secrets[name], name
    changes += [
        f"Slack and webhook receivers reach their hosts through the drill's HTTPS proxy {proxy_url} "
        "(the session CA verifies them)",
        f"email: {SMARTHOST} -> the SendGrid SMTP relay simulation at 127.0.0.1:{smtp_port}, "
        "TLS verifying the name smtp.sendgrid.net",
        f"secret files ({', '.join(sorted(files))}) are the drill's, beside the configuration",
    ]
    text = yamlio.dump(config, width=1000)
    return AsRun(text, files, tuple(changes))


def _scale(node: dict[str, Any], keys: tuple[str, ...], speedup: float, where: str) -> list[str]:
    said = []
    for key in keys:
        if key in node:
            before = str(node[key])
            node[key] = duration(parse_duration(before) / speedup)
            said.append(f"{where}.{key} {before} -> {node[key]}")
    return said


def _scale_route(route: dict[str, Any], speedup: float, where: str) -> list[str]:
    said = _scale(route, TIMERS, speedup, where)
    for index, child in enumerate(route.get("routes", [])):
        name = ",".join(child.get("matchers", [])) or str(index)
        said += _scale_route(child, speedup, f"{where}[{name}]")
    return said


# -- playing an evaluation to Alertmanager ---------------------------------------------------------


@dataclass(frozen=True)
class Firing:
    """One alert (a rule's label set) firing from ``start`` to ``end`` (evaluation seconds;
    ``end`` None: still firing when the evaluation ends)."""

    labels: dict[str, str]
    annotations: dict[str, str]
    start: float
    end: float | None


def firings(evaluation: Evaluation) -> list[Firing]:
    found = []
    for timelines in evaluation.timelines.values():
        for timeline in timelines:
            rule = timeline.rule
            for series_labels, states in timeline.states.items():
                labels = {**dict(series_labels), **rule.labels, "alertname": rule.name}
                start: float | None = None
                for t, state in zip(timeline.times, states, strict=True):
                    if state == FIRING and start is None:
                        start = float(t)
                    elif state != FIRING and start is not None:
                        found.append(Firing(labels, rule.annotations, start, float(t)))
                        start = None
                if start is not None:
                    found.append(Firing(labels, rule.annotations, start, None))
    return sorted(found, key=lambda f: f.start)


@dataclass(frozen=True)
class Played:
    """What was sent: ``origin`` is the virtual instant of the evaluation's minute 0."""

    origin: datetime
    posts: tuple[tuple[float, str, str], ...]  # (minute, alertname, "firing" / "resolved")
    worst_lag_seconds: float  # the latest post behind its scaled wall time
    speedup: float
    settled_seconds: float = 0.0  # waited after the last minute for deliveries in flight

    def minute(self, at: datetime) -> float:
        return (at - self.origin).total_seconds() / 60.0

    @property
    def jitter_minutes(self) -> float:
        """:data:`JITTER_SECONDS` of wall time in the evaluation's minutes."""
        return JITTER_SECONDS * self.speedup / 60.0

    def fired(self, alert: str) -> float | None:
        """The minute ``alert`` was first sent firing."""
        return next((m for m, name, kind in self.posts if name == alert and kind == "firing"), None)

    def resolved(self, alert: str) -> float | None:
        """The minute ``alert`` was last sent resolved."""
        found = [m for m, name, kind in self.posts if name == alert and kind == "resolved"]
        return found[-1] if found else None


def play(
    alertmanager: Alertmanager,
    evaluation: Evaluation,
    clock: VirtualClock,
    until_minute: float,
    speedup: float = SPEEDUP,
) -> Played:
    """Send ``evaluation``'s alerts from the first one that fires to ``until_minute``; the
    virtual clock follows the wall at ``speedup``."""
    alerts = firings(evaluation)
    first = min((f.start for f in alerts), default=until_minute * 60.0)
    origin = clock.now() - timedelta(seconds=first)
    wall0 = time.time()

    def wall(t: float) -> float:
        return wall0 + (t - first) / speedup

    events = sorted(
        [(f.start, "firing", f) for f in alerts]
        + [(f.end, "resolved", f) for f in alerts if f.end is not None],
        key=lambda e: e[0],
    )
    posts, lag = [], 0.0
    with _following(clock, origin + timedelta(seconds=first), wall0, speedup):
        for t, kind, alert in events:
            if t > until_minute * 60.0:
                break
            time.sleep(max(0.0, wall(t) - time.time()))
            lag = max(lag, time.time() - wall(t))
            end = alert.end if alert.end is not None else until_minute * 60.0 + 3600.0
            alertmanager.post_alerts([_alert(alert, wall(alert.start), wall(end))])
            posts.append((t / 60.0, alert.labels["alertname"], kind))
        time.sleep(max(0.0, wall(until_minute * 60.0) - time.time()))
        settled = _settle(alertmanager)
    return Played(origin, tuple(posts), lag, speedup, settled)


def _settle(alertmanager: Alertmanager) -> float:
    """Wait (the clock still following) until no notification is in flight, at most
    :data:`SETTLE_SECONDS`; the wall seconds waited. A delivery that takes longer than a guide
    minute of wall time is still heard, at the minute it arrived."""
    started = time.monotonic()
    while alertmanager.in_flight() > 0 and time.monotonic() - started < SETTLE_SECONDS:
        time.sleep(0.01)
    return time.monotonic() - started


def _alert(alert: Firing, starts: float, ends: float) -> dict[str, Any]:
    return {
        "labels": alert.labels,
        "annotations": alert.annotations,
        "startsAt": _rfc3339(starts),
        "endsAt": _rfc3339(ends),
    }


def _rfc3339(wall: float) -> str:
    return datetime.fromtimestamp(wall, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@contextmanager
def _following(
    clock: VirtualClock, start: datetime, wall0: float, speedup: float
) -> Iterator[None]:
    """Move ``clock`` with the wall, ``speedup`` times faster, from ``start`` (never back)."""
    done = threading.Event()

    def follow() -> None:
        while not done.wait(0.005):
            target = start + timedelta(seconds=(time.time() - wall0) * speedup)
            if target > clock.now():
                clock.set(target)

    follower = threading.Thread(target=follow, daemon=True)
    follower.start()
    try:
        yield
    finally:
        done.set()
        follower.join()


def held_states(alertmanager: Alertmanager, alert: str) -> list[str]:
    """How Alertmanager holds each alert named ``alert``: "inhibited", "silenced" or its state
    ("active", "unprocessed"), as its API v2 says."""
    found = []
    for held in alertmanager.alerts():
        if held["labels"].get("alertname") != alert:
            continue
        status = held["status"]
        found.append(
            "inhibited"
            if status.get("inhibitedBy")
            else "silenced"
            if status.get("silencedBy")
            else str(status.get("state"))
        )
    return found


def describe(played: Played) -> str:
    """The clock the alerts played on, for the evidence."""
    per_minute = 60_000 / played.speedup
    sent = ", ".join(f"{name} {kind} at minute {minute:g}" for minute, name, kind in played.posts)
    return (
        f"alerts played to Alertmanager at {played.speedup:g}x (a guide minute is {per_minute:g} ms "
        f"of wall time; Alertmanager's timers divided alike; the scenario's clock followed): "
        f"{sent or 'none fired'}; then {played.settled_seconds * 1000:.0f} ms for deliveries in flight"
    )

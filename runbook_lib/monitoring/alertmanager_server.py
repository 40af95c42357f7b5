"""A real Alertmanager on loopback, started and stopped like the drill's database.

:func:`running` starts Debian's ``prometheus-alertmanager`` (or an ``alertmanager`` on the
PATH) with a configuration and its secret files in a temp dir of its own, gossip off
(``--cluster.listen-address=``: one instance, no peers to wait for), its storage in that dir,
and its web API on a free port of 127.0.0.1; it waits for ``/-/ready``. When the block ends
(also on an error or Ctrl-C) it stops the process (SIGTERM, then SIGKILL) and deletes the dir.
A run that was killed leaves its dir with the owner's pid: :func:`reap_orphans`, called at every
start, stops such an Alertmanager and deletes its dir, as :func:`runbook_lib.world.postgres.reap_orphans`
does for clusters.

:class:`Alertmanager` speaks its API v2: ``POST /api/v2/alerts`` (what Prometheus sends),
``GET /api/v2/alerts`` (each alert's state, ``inhibitedBy``), and reads its ``/metrics``
(``alertmanager_notifications_total``, ``..._failed_total``, ``alertmanager_notification_requests_failed_total``).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from runbook_lib.errors import ConfigurationError, EnvironmentMissing, ServiceError
from runbook_lib.world import touched
from runbook_lib.world.http import default_tls
from runbook_lib.world.loopback import free_port
from runbook_lib.world.postgres import pid_alive

BINARIES = ("prometheus-alertmanager", "alertmanager")  # Debian's name, upstream's
TEMP_PREFIX = "runbook-alertmanager-"
OWNER_FILE = "runbook-owner.pid"
PID_FILE = "alertmanager.pid"
READY_SECONDS = 15.0


_SAMPLE = re.compile(
    r'^(?P<name>alertmanager_\w+)\{integration="(?P<integration>[^"]+)"\} (?P<value>\S+)$'
)


def find_binary() -> str:
    for name in BINARIES:
        found = shutil.which(name)
        if found:
            return found
    raise EnvironmentMissing(
        "Alertmanager is not installed (apt-get install prometheus-alertmanager; `runbook setup` does it)"
    )


def version() -> str:
    found = subprocess.run(
        [find_binary(), "--version"], capture_output=True, text=True, timeout=20, check=False
    )
    first = (found.stdout or found.stderr).strip().splitlines()
    return first[0] if first else "unknown"


@dataclass(frozen=True)
class Alertmanager:
    """A running Alertmanager: its API at ``url``, its files in ``root``."""

    url: str
    root: Path
    pid: int
    startup_seconds: float

    def _client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10, trust_env=False, verify=default_tls())

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        """``POST /api/v2/alerts``, as Prometheus's notifier does."""
        touched.real("Alertmanager")
        with self._client() as http:
            answer = http.post("/api/v2/alerts", json=alerts)
        if answer.status_code != 200:
            raise ServiceError(
                f"Alertmanager POST /api/v2/alerts answered {answer.status_code}: {answer.text[:200]}",
                answer.status_code,
            )

    def alerts(self) -> list[dict[str, Any]]:
        """Every alert it holds, with ``status`` (``state``, ``inhibitedBy``, ``silencedBy``)."""
        with self._client() as http:
            answer = http.get("/api/v2/alerts")
        answer.raise_for_status()
        found: list[dict[str, Any]] = answer.json()
        return found

    def metric(self, name: str, **labels: str) -> float:
        """The sum of ``name``'s samples whose labels include ``labels`` (0 when none)."""
        with self._client() as http:
            text = http.get("/metrics").text
        total = 0.0
        for line in text.splitlines():
            head, _, value = line.rpartition(" ")
            series, _, rest = head.partition("{")
            if series != name:
                continue
            if all(f'{k}="{v}"' in rest for k, v in labels.items()):
                total += float(value)
        return total

    def in_flight(self) -> int:
        """Notifications begun and not yet over: neither delivered nor given up, and not waiting
        to retry (an integration whose last request failed is left out), from its metrics."""
        with self._client() as http:
            text = http.get("/metrics").text
        counts: dict[tuple[str, str], float] = {}
        for line in text.splitlines():
            found = _SAMPLE.match(line)
            if found:
                counts[(found["name"], found["integration"])] = float(found["value"])
        busy = 0.0
        for name, integration in [k for k in counts if k[0] == "alertmanager_notifications_total"]:
            begun = counts[(name, integration)]
            requests = counts.get(("alertmanager_notification_requests_total", integration), 0)
            failed = counts.get(("alertmanager_notification_requests_failed_total", integration), 0)
            gave_up = counts.get(("alertmanager_notifications_failed_total", integration), 0)
            if failed > gave_up:  # retrying: nothing will arrive until it succeeds
                continue
            busy += begun - (requests - failed) - gave_up
        return int(busy)

    def log(self) -> str:
        return (self.root / "alertmanager.log").read_text(encoding="utf-8", errors="replace")


def reap_orphans(parent: Path | None = None) -> list[Path]:
    """Stop the Alertmanagers of runs that were killed (their owner pid is gone) and delete
    their dirs."""
    reaped = []
    for directory in sorted((parent or Path(tempfile.gettempdir())).glob(f"{TEMP_PREFIX}*")):
        try:
            owner = int((directory / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue
        if pid_alive(owner):
            continue
        _kill(directory)
        shutil.rmtree(directory, ignore_errors=True)
        reaped.append(directory)
    return reaped


def _kill(directory: Path) -> None:
    """SIGKILL the Alertmanager whose pid ``directory`` records, if that pid is still one."""
    with contextlib.suppress(OSError, ValueError):
        pid = int((directory / PID_FILE).read_text())
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
        if b"alertmanager" in command and str(directory).encode() in command:
            os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def running(
    config: str, files: Mapping[str, str], parent: Path | None = None
) -> Iterator[Alertmanager]:
    """Alertmanager with ``config`` (YAML text), ``files`` (name -> content, written beside it
    with mode 0600: the secrets its configuration names by path), until the block ends."""
    binary = find_binary()
    reap_orphans(parent)
    root = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=parent))
    process: subprocess.Popen[bytes] | None = None
    try:
        (root / OWNER_FILE).write_text(str(os.getpid()))
        for name, content in files.items():
            path = root / name
            path.write_text(content, encoding="utf-8")
            path.chmod(0o600)
        (root / "alertmanager.yml").write_text(config, encoding="utf-8")
        port = free_port()
        started = time.monotonic()
        with open(root / "alertmanager.log", "wb") as log:
            process = subprocess.Popen(
                [
                    binary,
                    f"--config.file={root / 'alertmanager.yml'}",
                    f"--storage.path={root / 'data'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                    "--cluster.listen-address=",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=root,
            )
        (root / PID_FILE).write_text(str(process.pid))
        url = f"http://127.0.0.1:{port}"
        _wait_ready(url, process, root)
        yield Alertmanager(url, root, process.pid, time.monotonic() - started)
    finally:
        try:  # a Ctrl-C that lands while it stops must not keep the directory
            if process is not None:
                _stop(process)
        finally:
            shutil.rmtree(root, ignore_errors=True)


def _wait_ready(url: str, process: subprocess.Popen[bytes], root: Path) -> None:
    deadline = time.monotonic() + READY_SECONDS
    with httpx.Client(timeout=1, trust_env=False, verify=default_tls()) as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            with contextlib.suppress(httpx.HTTPError):
                if http.get(f"{url}/-/ready").status_code == 200:
                    return
            time.sleep(0.01)
    log = (root / "alertmanager.log").read_text(errors="replace").strip().splitlines()
    why = next((line for line in reversed(log) if "level=error" in line), log[-1] if log else "")
    why = (why.partition(" err=")[2] or why).strip() or "no output"
    if process.poll() is not None:
        raise ConfigurationError(f"Alertmanager refused its configuration: {why}")
    raise EnvironmentMissing(f"Alertmanager did not become ready in {READY_SECONDS:g} s: {why}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
    except BaseException:  # interrupted while waiting: it must not outlive the run either
        process.kill()
        raise


# -- amtool: Alertmanager's own checks of a configuration --------------------------------------


def amtool(*args: str) -> subprocess.CompletedProcess[str]:
    found = shutil.which("amtool")
    if found is None:
        raise EnvironmentMissing(
            "amtool is not installed (apt-get install prometheus-alertmanager; `runbook setup` does it)"
        )
    touched.real("amtool")
    return subprocess.run([found, *args], capture_output=True, text=True, timeout=60, check=False)


def check_config(path: Path) -> tuple[bool, str]:
    """``amtool check-config``: whether Alertmanager accepts ``path``, and what it said."""
    done = amtool("check-config", str(path))
    said = (done.stdout + done.stderr).strip().splitlines()
    return done.returncode == 0, " ".join(line.strip() for line in said if line.strip())


def routes_for(path: Path, labels: Mapping[str, str]) -> list[str]:
    """``amtool config routes test``: the receivers ``path`` routes an alert with ``labels`` to."""
    pairs = [f"{name}={value}" for name, value in labels.items()]
    done = amtool("config", "routes", "test", f"--config.file={path}", *pairs)
    if done.returncode != 0:
        raise ConfigurationError(f"amtool config routes test refused {path}: {done.stderr.strip()}")
    return [r.strip() for r in done.stdout.strip().split(",") if r.strip()]

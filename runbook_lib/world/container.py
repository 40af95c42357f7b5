"""The Docker engine behind ``--pg container``: is it there, has it the image, and the drill's
own containers (started through testcontainers, killed, restarted, removed, reaped).

    Engine          :func:`probe_engine`: does an engine answer at ``DOCKER_HOST``, its version
    BackendChoice   :func:`choose_backend`: what ``--pg auto`` runs on, and why; ``auto`` takes
                    the container backend only when the engine has the image or can pull it
    postgres_container   one PostgreSQL container through testcontainers' ``PostgresContainer``
    kill_container / start_container   a crash and a restart of a container the drill started
    reap_orphans    remove the containers of runs that died without cleaning up

Testcontainers' reaper (ryuk) is an image no registry gives us here, so it is disabled and the
cleanup is ours. Every container carries :data:`LABEL` plus the run id (:data:`LABEL_RUN`, the
evidence directory's name), the pid of the process that started it (:data:`LABEL_OWNER`) and
that process's host (:data:`LABEL_HOST`), and a key of its own (:data:`LABEL_KEY`: a session's
server and a scenario's throwaway server live in one process). :func:`postgres_container`
removes what it started when its block ends, after a failure and after Ctrl-C; a container
whose owner was killed (SIGKILL, a lost machine) is removed by the next start on the same host.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runbook_lib.errors import EnvironmentMissing
from runbook_lib.world import shell
from runbook_lib.world.loopback import free_port

if TYPE_CHECKING:
    import docker

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
DEFAULT_IMAGE = "postgres:15"  # the official image; RUNBOOK_PG_IMAGE names another
LABEL = "ai.napoleon.runbook"
LABEL_RUN = "ai.napoleon.runbook.run"
LABEL_OWNER = "ai.napoleon.runbook.owner"
LABEL_HOST = "ai.napoleon.runbook.host"
LABEL_KEY = "ai.napoleon.runbook.key"  # one per container: its own cleanup touches no other
READY_TIMEOUT = 90.0


def docker_available(host: str = DEFAULT_DOCKER_HOST) -> bool:
    """True when a Docker daemon at ``host`` (``DOCKER_HOST``, resolved at the edge) answers a
    ping within 3 seconds.

    The local socket is pinged by hand first: docker-py's constructor leaks its socket when
    no daemon answers (seen with docker 7.1), which strict warning settings turn into errors.
    """
    if host.startswith("unix://"):
        return _unix_ping(host.removeprefix("unix://"))
    try:
        client = _client(host, timeout=3)
    except Exception:  # no daemon, no permission, no package: all mean "not available"
        return False
    try:
        return bool(client.ping())
    except Exception:
        return False
    finally:
        client.close()


def _unix_ping(path: str) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(3)
            sock.connect(path)
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            status_line = sock.recv(64).split(b"\r\n", 1)[0]
    except OSError:
        return False
    return status_line.startswith(b"HTTP/1.") and b" 200" in status_line


def _client(host: str, timeout: int = 30) -> docker.DockerClient:
    import docker

    return docker.DockerClient(base_url=host, timeout=timeout)


def _one_line(exc: BaseException) -> str:
    explanation = getattr(exc, "explanation", None) or str(exc) or type(exc).__name__
    lines = str(explanation).strip().splitlines()
    return lines[0][:300] if lines else type(exc).__name__


@dataclass(frozen=True)
class Engine:
    """A Docker engine as the drill sees it (``why_not`` says why it does not answer)."""

    host: str
    answers: bool
    version: str = ""
    name: str = ""  # the engine's host name (`docker info`); ours when it runs on this machine
    why_not: str = ""

    @property
    def local(self) -> bool:
        """The engine runs on this machine: its ports are reached on 127.0.0.1."""
        return (
            self.answers and self.host.startswith("unix://") and self.name == socket.gethostname()
        )


def probe_engine(host: str = DEFAULT_DOCKER_HOST) -> Engine:
    if not docker_available(host):
        return Engine(host, False, why_not=f"no Docker engine answers at {host}")
    try:
        client = _client(host, timeout=10)
        try:
            version, name = str(client.version().get("Version", "?")), str(client.info()["Name"])
        finally:
            client.close()
    except Exception as exc:  # answers a ping, fails the next call: not usable either
        return Engine(host, False, why_not=f"the Docker engine at {host} fails: {_one_line(exc)}")
    return Engine(host, True, version, name)


def has_image(engine: Engine, image: str) -> bool:
    import docker

    client = _client(engine.host)
    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        return False
    finally:
        client.close()
    return True


def provide_image(engine: Engine, image: str, pull: bool = True) -> str | None:
    """None when ``engine`` has ``image`` (pulled now when it was missing and ``pull``); else
    why not, in one line."""
    if not engine.answers:
        return engine.why_not
    if has_image(engine, image):
        return None
    if not pull:
        return f"it has no image {image}"
    from docker.utils import parse_repository_tag

    repository, tag = parse_repository_tag(image)
    client = _client(engine.host, timeout=600)
    try:
        client.images.pull(repository, tag=tag or "latest")
    except Exception as exc:
        return f"it has no image {image} and cannot pull it ({_one_line(exc)})"
    finally:
        client.close()
    return None


@dataclass(frozen=True)
class BackendChoice:
    """What a drill's PostgreSQL runs on (``backend``), what was asked for, and why."""

    requested: str  # auto, embedded, container or dsn
    backend: str  # what runs: embedded, container or dsn
    image: str  # the container image (run, or asked for)
    reason: str = ""  # why ``auto`` chose ``backend``
    engine_answered: bool = False

    @property
    def label(self) -> str:
        """The backend as the evidence records it: what ran, and why when ``auto`` chose."""
        what = f"container ({self.image})" if self.backend == "container" else self.backend
        return f"{what}; --pg auto: {self.reason}" if self.reason else what

    @property
    def line(self) -> str:
        """One console line when an engine answered (so the user expects containers), else ""."""
        if self.requested != "auto" or not self.engine_answered:
            return ""
        if self.backend == "container":
            return f"PostgreSQL: containers of {self.image} ({self.reason})"
        return (
            f"PostgreSQL: the embedded cluster, not containers: {self.reason}; set "
            "RUNBOOK_PG_IMAGE to an image it has (`runbook setup --with docker` builds one)"
        )


def choose_backend(
    requested: str, host: str = DEFAULT_DOCKER_HOST, image: str = DEFAULT_IMAGE, pull: bool = True
) -> BackendChoice:
    """``auto``: the container backend when an engine answers and has ``image`` (or pulls it,
    when ``pull``), else the embedded cluster, saying why. Other requests stand as asked."""
    if requested != "auto":
        return BackendChoice(requested, requested, image)
    engine = probe_engine(host)
    if not engine.answers:
        return BackendChoice(requested, "embedded", image, engine.why_not)
    try:
        missing = provide_image(engine, image, pull)
    except Exception as exc:  # the engine broke between the calls: the embedded cluster stands in
        missing = f"the Docker engine fails: {_one_line(exc)}"
    if missing:
        reason = f"Docker {engine.version} answers, but {missing}"
        return BackendChoice(requested, "embedded", image, reason, True)
    return BackendChoice(
        requested, "container", image, f"Docker {engine.version} has {image}", True
    )


@dataclass(frozen=True)
class RunningContainer:
    """A PostgreSQL container the drill started: where its server listens."""

    id: str
    host: str
    port: int
    engine: str  # the DOCKER_HOST it runs on


def session_run_id() -> str:
    """A run id for a session that has no evidence directory to name it."""
    return f"pytest-{secrets.token_hex(4)}"


def owner_labels(run_id: str) -> dict[str, str]:
    return {
        LABEL: "postgres",
        LABEL_RUN: run_id,
        LABEL_OWNER: str(os.getpid()),
        LABEL_HOST: socket.gethostname(),
        LABEL_KEY: secrets.token_hex(8),
    }


@contextlib.contextmanager
def postgres_container(
    image: str,
    password: str,
    settings: Mapping[str, str],
    *,
    host: str = DEFAULT_DOCKER_HOST,
    run_id: str = "",
) -> Iterator[RunningContainer]:
    """One container of ``image`` (the official image's contract: POSTGRES_USER, _PASSWORD,
    _DB) through testcontainers' PostgresContainer, the server started with ``settings`` as
    ``-c name=value``; removed when the block ends, whatever ends it."""
    engine = probe_engine(host)
    if not engine.answers:
        raise EnvironmentMissing(
            f"--pg container needs a running Docker daemon; {engine.why_not} (use --pg embedded)"
        )
    missing = provide_image(engine, image)
    if missing:
        raise EnvironmentMissing(
            f"--pg container: Docker {engine.version} answers, but {missing}; set "
            "RUNBOOK_PG_IMAGE to an image it has "
            "(`runbook setup --with docker` builds runbook/postgres:15)"
        )
    reap_orphans(host)
    from testcontainers.core.config import testcontainers_config

    testcontainers_config.ryuk_disabled = True  # its image is not available: cleanup is ours
    labels = owner_labels(run_id or session_run_id())
    container = _drill_postgres_class()(
        image,
        username="postgres",
        password=password,
        dbname="postgres",
        driver=None,
        docker_client_kw={"environment": {"DOCKER_HOST": host}},
    )
    container.with_command(["postgres", *(f"-c{name}={value}" for name, value in settings.items())])
    container.with_kwargs(labels=labels, shm_size="256m")
    port = free_port() if engine.local else 0
    if port:  # a fixed port on loopback: the hermetic run stays on it, a restart keeps it
        # (docker-py's (address, port) binding; testcontainers' with_bind_ports takes no address)
        for key in [key for key in container.ports if str(key).split("/")[0] == "5432"]:
            del container.ports[key]
        container.ports["5432/tcp"] = ("127.0.0.1", port)
    try:
        container.start()
        if not port:
            port = int(container.get_exposed_port(5432))
        address = "127.0.0.1" if engine.local else container.get_container_host_ip()
        yield RunningContainer(container.get_container_id(), address, port, host)
    finally:
        with contextlib.suppress(Exception):
            container.stop()
        # whatever an interrupted start left behind under this process's labels
        remove_containers(host, {LABEL_KEY: labels[LABEL_KEY]})


def _drill_postgres_class() -> type[Any]:
    """testcontainers' PostgresContainer with our readiness probe (imported on first use)."""
    from testcontainers.community.postgres import PostgresContainer

    class DrillPostgres(PostgresContainer):
        """Ready when the server accepts TCP connections inside the container (``pg_isready``,
        polled every 0.1 s): no password in the probe's command line, which testcontainers'
        own probe would print when it times out; an exited container stops the wait at once."""

        def _connect(self) -> None:
            wait_ready(self.get_wrapped_container(), READY_TIMEOUT)

    return DrillPostgres


def wait_ready(container: Any, timeout: float) -> None:
    """Poll ``pg_isready`` in ``container`` until its server accepts connections on TCP."""
    deadline = time.monotonic() + timeout
    while True:
        container.reload()
        if container.status in ("exited", "dead"):
            logs = container.logs(tail=5).decode(errors="replace").strip().splitlines()
            raise EnvironmentMissing(
                f"the PostgreSQL container exited before accepting connections: "
                f"{logs[-1] if logs else 'no output'}"
            )
        if container.status == "running":
            code, _ = container.exec_run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"])
            if code == 0:
                return
        if time.monotonic() > deadline:
            raise EnvironmentMissing(
                f"the PostgreSQL container did not accept connections within {timeout:.0f} s"
            )
        time.sleep(0.1)


def kill_container(host: str, container_id: str) -> bool:
    """SIGKILL the server (the container's first process), as a crash would."""
    client = _client(host)
    try:
        client.containers.get(container_id).kill(signal="SIGKILL")
    finally:
        client.close()
    return True


def start_container(host: str, container_id: str, port: int) -> None:
    """Stop the server if it runs (SIGQUIT: immediate shutdown, like ``pg_ctl -m immediate``),
    start the container again and wait until it accepts connections on the same ``port``."""
    client = _client(host, timeout=60)
    try:
        container = client.containers.get(container_id)
        if container.status == "running":
            container.kill(signal="SIGQUIT")
            container.wait(timeout=60)
        container.start()
        wait_ready(container, READY_TIMEOUT)
        bound = client.api.port(container_id, 5432)
        now = int(bound[0]["HostPort"]) if bound else 0
    finally:
        client.close()
    if now != port:
        raise EnvironmentMissing(
            f"the restarted PostgreSQL container listens on port {now}, not {port}; "
            "a drill on a remote Docker engine cannot restart its server"
        )


def container_ids(host: str, labels: Mapping[str, str]) -> list[str]:
    """The ids of the containers (running or not) carrying every one of ``labels``."""
    client = _client(host)
    try:
        return [str(c.id) for c in _labelled(client, labels)]
    finally:
        client.close()


def _labelled(client: docker.DockerClient, labels: Mapping[str, str]) -> list[Any]:
    wanted = [f"{key}={value}" if value else key for key, value in labels.items()]
    return list(client.containers.list(all=True, filters={"label": wanted}))


def remove_containers(host: str, labels: Mapping[str, str]) -> int:
    """Remove (with their anonymous volumes) the containers carrying every one of ``labels``."""
    removed = 0
    client = _client(host)
    try:
        for container in _labelled(client, labels):
            with contextlib.suppress(Exception):  # gone already: removed by someone else
                container.remove(force=True, v=True)
                removed += 1
    finally:
        client.close()
    return removed


def reap_orphans(host: str = DEFAULT_DOCKER_HOST) -> list[str]:
    """Remove the drill containers started on this host by processes that are gone; their ids."""
    reaped = []
    client = _client(host)
    try:
        for container in _labelled(client, {LABEL_OWNER: "", LABEL_HOST: socket.gethostname()}):
            owner = container.labels.get(LABEL_OWNER, "")
            if owner.isdigit() and not shell.pid_alive(int(owner)):
                with contextlib.suppress(Exception):
                    container.remove(force=True, v=True)
                    reaped.append(str(container.short_id))
    finally:
        client.close()
    return reaped

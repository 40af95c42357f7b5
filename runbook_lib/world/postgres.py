"""A real PostgreSQL server for drills: one interface, three backends.

- ``embedded``: a throwaway cluster from the local PostgreSQL binaries (``initdb`` + ``pg_ctl``
  on a free 127.0.0.1 port in a temp dir, drill settings, ``pg_stat_statements`` preloaded).
  PostgreSQL refuses to run as root, so when euid is 0 the server runs as the ``postgres`` OS
  user through ``runuser``.
- ``container``: a container of ``RUNBOOK_PG_IMAGE`` (default the official ``postgres:15``;
  ``runbook setup --with docker`` builds ``runbook/postgres:15`` where no registry answers) run
  through testcontainers, its reaper disabled and the cleanup ours (:mod:`runbook_lib.world.container`).
- ``dsn``: an existing server named by ``RUNBOOK_PG_DSN`` (resolved at the edge, passed in).

A server the drill started (embedded or container) is *owned*: only such a server may be
killed, restarted or reconfigured (:func:`kill_server`, :func:`restart_server` raise
:class:`~runbook_lib.errors.NotRunnable` on another). On any server, a drill session works in its
*namespace* (``rb_<run>_<worker>_``, :func:`namespace_for`): every database and role it creates
carries the prefix, :meth:`PostgresServer.create_database` and
:meth:`~PostgresServer.drop_database` refuse names outside it, and :func:`drop_namespace` removes
exactly what the session created, so parallel workers and other users of one server never
collide. The password is a :class:`~runbook_lib.world.secrets.Secret`, revealed only to psycopg
and to the client programs' environment.

``auto`` picks ``container`` when a Docker engine answers and has the image (or pulls it), else
``embedded``, saying why (:func:`~runbook_lib.world.container.choose_backend`). Every backend is a
context manager that leaves no process and no temp dir behind, also after an error or Ctrl-C;
clusters orphaned by a killed run are reaped at the next start.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import psycopg

from runbook_lib.errors import ConfigurationError, EnvironmentMissing, NotRunnable
from runbook_lib.world import container, shell, touched
from runbook_lib.world.container import DEFAULT_DOCKER_HOST as DEFAULT_DOCKER_HOST
from runbook_lib.world.container import DEFAULT_IMAGE
from runbook_lib.world.container import docker_available as docker_available
from runbook_lib.world.loopback import free_port
from runbook_lib.world.redact import Redactor
from runbook_lib.world.secrets import Secret, masked_url, secret
from runbook_lib.world.shell import pid_alive as pid_alive

BACKENDS: tuple[str, ...] = ("auto", "embedded", "container", "dsn")
CONTAINER_IMAGE = DEFAULT_IMAGE
_TEMP_PREFIX = "runbook-pg-"
_OWNER_FILE = "runbook-owner.pid"

DRILL_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "full_page_writes": "off",
    "synchronous_commit": "off",
    "shared_preload_libraries": "'pg_stat_statements'",
    "pg_stat_statements.track": "all",
    "max_connections": "60",
    "shared_buffers": "128MB",
    "maintenance_work_mem": "256MB",
    "max_wal_size": "2GB",
    "log_min_messages": "warning",
}


OWNER_NEEDED = "a server the drill owns (one it started: embedded, or a container it ran)"
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_NAMESPACE = re.compile(r"rb_[a-z0-9]{6}_[a-z0-9]{1,8}_")


@dataclass(frozen=True)
class PostgresServer:
    """Where a drill's database lives and which client binaries talk to it (``password`` is a
    :class:`~runbook_lib.world.secrets.Secret`; the opener registers it with its
    :class:`~runbook_lib.world.redact.Redactor`). ``namespace`` is the prefix of every database
    and role this session may create or drop ("" outside a drill: no restriction)."""

    backend: str
    host: str
    port: int
    user: str
    password: Secret
    bindir: Path
    version: str
    admin_db: str = "postgres"
    extras: dict[str, str] = field(default_factory=dict, compare=False)
    namespace: str = ""

    def __post_init__(self) -> None:
        given: object = self.password
        if not isinstance(given, Secret):  # a plain str from a caller: hold it masked
            object.__setattr__(self, "password", secret(str(given)))
        if self.namespace and not _NAMESPACE.fullmatch(self.namespace):
            raise ConfigurationError(
                f"namespace {self.namespace!r} must look like rb_<6 letters or digits>_<worker>_"
            )

    @property
    def owned(self) -> bool:
        """True when the drill started this server (so it may kill, restart or reconfigure it)."""
        return self.backend in ("embedded", "container")

    def dsn(self, dbname: str | None = None) -> Secret:
        """The connection URL (it carries the password: reveal it only to a client)."""
        name = dbname or self.admin_db
        password = quote(self.password.reveal(), safe="")
        return Secret(f"postgresql://{quote(self.user)}:{password}@{self.host}:{self.port}/{name}")

    def url(self, dbname: str | None = None) -> str:
        """The connection URL with the password masked, for messages and evidence."""
        return masked_url(self.dsn(dbname))

    def scoped(self, name: str) -> str:
        """``name`` inside this session's namespace (a database or role name, at most 63 bytes)."""
        if self.namespace and name.startswith(self.namespace):
            return name
        return _checked(self.namespace + name)

    def unscoped(self, name: str) -> str:
        """The drill's own name for a scoped one (``rb_..._napoleon_app`` -> ``napoleon_app``)."""
        return name.removeprefix(self.namespace) if self.namespace else name

    def client_env(self) -> dict[str, str]:
        """Environment for pg_dump/pg_restore/psql: the password travels here, never in argv."""
        return shell.child_env(
            {
                "PGHOST": self.host,
                "PGPORT": str(self.port),
                "PGUSER": self.user,
                "PGPASSWORD": self.password.reveal(),
            }
        )

    def binary(self, name: str) -> str:
        path = self.bindir / name
        if not path.exists():
            raise EnvironmentMissing(
                f"{name} not found in {self.bindir}; install the PostgreSQL client (apt-get install postgresql)"
            )
        return str(path)

    def connect(self, dbname: str | None = None) -> psycopg.Connection[tuple[object, ...]]:
        touched.real(f"PostgreSQL {self.backend}")
        return psycopg.connect(self.dsn(dbname).reveal(), autocommit=True, connect_timeout=10)

    def create_database(self, name: str, template: str = "template0") -> str:
        """A new database cloned from ``template`` (replacing one of this session's of that
        name). From PostgreSQL 15 on it is copied as files (``STRATEGY FILE_COPY``: one
        checkpoint, then a directory copy), which clones the drills' few-MB templates 3x faster
        than the default block-by-block WAL_LOG copy."""
        self._require_own(name, "create")
        _check_identifier(template)
        strategy = " STRATEGY FILE_COPY" if self.major_version >= 15 else ""
        with self.connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"{strategy}')
        return name

    def _require_own(self, name: str, what: str) -> None:
        """Refuse to touch a database outside this session's namespace: another worker's, or
        one of the server's own (DROP ... WITH (FORCE) would also end its sessions)."""
        _check_identifier(name)
        if self.namespace and not name.startswith(self.namespace):
            raise ConfigurationError(
                f"refusing to {what} database {name!r} on {self.host}:{self.port}: not one of "
                f"this drill's (they start with {self.namespace!r}); name it with server.scoped()"
            )

    @property
    def major_version(self) -> int:
        match = re.match(r"\d+", self.version)
        return int(match.group()) if match else 0

    def drop_database(self, name: str) -> None:
        """Drop one of this session's databases (ending its sessions: they are the drill's)."""
        self._require_own(name, "drop")
        with self.connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _check_identifier(name: str) -> None:
    if not _IDENTIFIER.fullmatch(name):
        raise ConfigurationError(
            f"name {name!r} must be 1-63 lower-case letters, digits and _, not starting with a digit"
        )


def _checked(name: str) -> str:
    _check_identifier(name)
    return name


def namespace_for(run_id: str, worker: str) -> str:
    """The prefix of one drill session's databases and roles: ``rb_<run>_<worker>_``, from the
    run's id (shared by its xdist workers) and the worker's id (``gw0``, or ``main``)."""
    run = re.sub(r"[^a-z0-9]", "", run_id.lower())[:6].ljust(6, "0")
    who = re.sub(r"[^a-z0-9]", "", worker.lower())[:8] or "main"
    return f"rb_{run}_{who}_"


def drop_namespace(server: PostgresServer) -> list[str]:
    """Drop every database and role of ``server.namespace`` (what this session created, and
    nothing else); returns their names. A no-op without a namespace."""
    if not server.namespace:
        return []
    pattern = server.namespace.replace("_", r"\_") + "%"
    with server.connect() as conn:
        databases = [
            str(r[0])
            for r in conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s ORDER BY 1", (pattern,)
            ).fetchall()
        ]
        roles = [
            str(r[0])
            for r in conn.execute(
                "SELECT rolname FROM pg_roles WHERE rolname LIKE %s ORDER BY 1", (pattern,)
            ).fetchall()
        ]
    for name in databases:
        server.drop_database(name)
    with server.connect() as conn:
        for role in roles:  # its grants lived in the databases just dropped
            try:
                conn.execute(f'DROP ROLE IF EXISTS "{role}"')
            except psycopg.errors.DependentObjectsStillExist:  # something left here: its own
                conn.execute(f'GRANT "{role}" TO CURRENT_USER')  # DROP OWNED needs membership
                conn.execute(f'DROP OWNED BY "{role}"')
                conn.execute(f'DROP ROLE "{role}"')
    return databases + roles


def require_owned(server: PostgresServer, action: str) -> None:
    """Refuse (NotRunnable) to ``action`` a server the drill did not start."""
    if not server.owned:
        raise NotRunnable(
            OWNER_NEEDED,
            f"the drill will not {action} a {server.backend} server it did not start "
            f"({server.host}:{server.port})",
        )


def find_bindir() -> Path:
    """The directory of the newest local PostgreSQL server binaries (initdb, pg_ctl, pg_dump)."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=False
            )
            candidates.append(Path(out.stdout.strip()))
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_major, reverse=True)
    candidates += [
        Path(p) for p in ("/usr/local/pgsql/bin", "/opt/homebrew/bin", "/usr/local/bin", "/usr/bin")
    ]
    for candidate in candidates:
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    raise EnvironmentMissing(
        "no PostgreSQL server binaries (initdb, pg_ctl) found via pg_config or /usr/lib/postgresql/*/bin; "
        "install them (Debian: apt-get install postgresql) or use --pg dsn with RUNBOOK_PG_DSN"
    )


def _major(path: Path) -> int:
    return int(path.parent.name) if path.parent.name.isdigit() else 0


def resolve_backend(
    backend: str, docker_host: str = DEFAULT_DOCKER_HOST, image: str = CONTAINER_IMAGE
) -> str:
    """The backend ``backend`` runs on (``auto``: ``container`` only when the engine already
    has ``image``; nothing is pulled here). An unknown name is a ConfigurationError."""
    if backend not in BACKENDS:
        raise ConfigurationError(
            f"unknown PostgreSQL backend {backend!r}; choose one of {', '.join(BACKENDS)}"
        )
    return container.choose_backend(backend, docker_host, image, pull=False).backend


@contextlib.contextmanager
def open_server(
    backend: str = "auto",
    dsn: str | Secret | None = None,
    dsn_source: str = "RUNBOOK_PG_DSN",
    *,
    parent: Path | None = None,
    docker_host: str = DEFAULT_DOCKER_HOST,
    image: str = CONTAINER_IMAGE,
    run_id: str = "",
) -> Iterator[PostgresServer]:
    """Start (or attach to) a PostgreSQL server for the length of the ``with`` block; a ``dsn``
    (a live target's database, or ``RUNBOOK_PG_DSN`` for ``--pg dsn``) wins over ``backend``.
    ``parent`` is where an embedded cluster goes (see :func:`cluster_parent`); a container runs
    ``image`` and is labelled with ``run_id``."""
    if not dsn and backend not in BACKENDS:
        resolve_backend(backend)  # the one line naming the known backends
    chosen = "dsn" if dsn else container.choose_backend(backend, docker_host, image).backend
    if chosen == "embedded":
        with embedded_cluster(parent=parent) as server:
            yield server
    elif chosen == "container":
        with container_server(docker_host, image, run_id) as server:
            yield server
    else:
        yield dsn_server(dsn or "", dsn_source)


def _as_server_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise EnvironmentMissing(
            "running as root needs an unprivileged 'postgres' OS user for the server; create it (useradd -r postgres)"
        ) from None
    return ["runuser", "-u", "postgres", "--", *argv]


def _run(argv: list[str], what: str, timeout: float = 60) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise EnvironmentMissing(f"{what} failed: {detail[-1] if detail else 'no output'}")
    return result.stdout


RAM_DISK = Path("/dev/shm")
_RAM_DISK_MIN_FREE = 4 * 1024**3


def cluster_parent(configured: Path | None = None) -> Path:
    """Where throwaway clusters are created: ``configured`` (``RUNBOOK_PG_TMPDIR``) when given,
    else the RAM disk (``/dev/shm``) when it has 4 GiB free, else the system temp dir. A drill
    cluster holds throwaway data with ``fsync=off``; on a virtual disk, initdb and CREATE
    DATABASE spend most of their time in file-system metadata work (initdb: 1.6 s on this
    machine's disk, 0.7 s in RAM). The evidence records which was used (``postgres_storage``)."""
    if configured is not None:
        return configured
    with contextlib.suppress(OSError):
        if os.access(RAM_DISK, os.W_OK) and shutil.disk_usage(RAM_DISK).free >= _RAM_DISK_MIN_FREE:
            return RAM_DISK
    return Path(tempfile.gettempdir())


def storage_of(datadir: str | Path) -> str:
    """How a data directory is stored, for the evidence: "RAM disk (/dev/shm)" or "disk (/tmp)"."""
    parent = Path(datadir).parent.parent
    return f"RAM disk ({parent})" if parent == RAM_DISK else f"disk ({parent})"


def reap_orphans(tempdir: str | None = None, parent: Path | None = None) -> list[Path]:
    """Stop and delete clusters left by runs that were killed (their owner pid is gone), in
    ``tempdir``, or else in :func:`cluster_parent` and the system temp dir."""
    reaped = []
    parents = {Path(tempdir)} if tempdir else {cluster_parent(parent), Path(tempfile.gettempdir())}
    candidates = [d for parent in sorted(parents) for d in parent.glob(f"{_TEMP_PREFIX}*")]
    for directory in candidates:
        owner = directory / _OWNER_FILE
        try:
            pid = int(owner.read_text())
        except (OSError, ValueError):
            continue
        if pid_alive(pid):
            continue
        _kill_postmaster(directory / "data")
        shutil.rmtree(directory, ignore_errors=True)
        reaped.append(directory)
    return reaped


def _postmaster_pid(datadir: Path) -> int | None:
    return _lock_pid(datadir / "postmaster.pid")


def _lock_pid(lock: Path) -> int | None:
    """The pid a PostgreSQL lock file names on its first line."""
    try:
        return int(lock.read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None


def _kill_postmaster(datadir: Path, sig: int = signal.SIGKILL) -> bool:
    """Send ``sig`` to the cluster's postmaster. A SIGKILL returns once the postmaster and the
    processes it had started have ended (its backends end when they notice it died), so the
    data directory is free for a restart at once."""
    pid = _postmaster_pid(datadir)
    if pid is None:
        return False
    children = shell.child_pids(pid)
    try:
        os.kill(pid, sig)
    except OSError:
        return False
    if sig == signal.SIGKILL:
        deadline = time.monotonic() + 10
        while any(map(shell.pid_running, [pid, *children])) and time.monotonic() < deadline:
            time.sleep(0.01)
    return True


@contextlib.contextmanager
def embedded_cluster(
    settings: dict[str, str] | None = None,
    hba: str | None = None,
    files: dict[str, bytes] | None = None,
    parent: Path | None = None,
    *,
    drill_settings: bool = True,
) -> Iterator[PostgresServer]:
    """A throwaway cluster on 127.0.0.1, its temp dir in ``parent`` (``RUNBOOK_PG_TMPDIR``;
    default: :func:`cluster_parent`); removed with the temp dir when the block ends. Without
    ``drill_settings`` it keeps initdb's default postgresql.conf (fsync on, nothing preloaded)
    but for its port and loopback address: a plain server, as a user's staging would run."""
    bindir = find_bindir()
    reap_orphans(parent=parent)
    root = Path(tempfile.mkdtemp(prefix=_TEMP_PREFIX, dir=cluster_parent(parent)))
    datadir, password = root / "data", secrets.token_urlsafe(18)
    try:
        (root / _OWNER_FILE).write_text(str(os.getpid()))
        (root / "pwfile").write_text(password + "\n")
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres") if _has_postgres_user() else None
            if user is not None:
                for path in (root, root / "pwfile"):
                    os.chown(path, user.pw_uid, user.pw_gid)
        _run(
            _as_server_user(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(datadir),
                    "-U",
                    "postgres",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    f"--pwfile={root / 'pwfile'}",
                    "--no-sync",
                ]
            ),
            "initdb",
        )
        port = free_port()
        conf = {
            **(DRILL_SETTINGS if drill_settings else {"listen_addresses": "'127.0.0.1'"}),
            "port": str(port),
            "unix_socket_directories": f"'{root}'",
            **(settings or {}),
        }
        with open(datadir / "postgresql.conf", "a", encoding="utf-8") as handle:
            handle.writelines(f"{key} = {value}\n" for key, value in conf.items())
        for name, content in {
            **(files or {}),
            **({"pg_hba.conf": hba.encode()} if hba else {}),
        }.items():
            _write_server_file(datadir / name, content)
        start_embedded(bindir, datadir)
        server = PostgresServer(
            "embedded",
            "127.0.0.1",
            port,
            "postgres",
            Secret(password),
            bindir,
            "unknown",
            extras={"datadir": str(datadir)},
        )
        yield dataclasses.replace(server, version=_server_version(server.dsn()))
    finally:
        try:  # a Ctrl-C that lands while pg_ctl stops the server must not keep the directory
            stop_embedded(bindir, datadir)
        finally:
            shutil.rmtree(root, ignore_errors=True)


def _write_server_file(path: Path, content: bytes) -> None:
    """A file the server reads (pg_hba.conf, TLS key): owned by the server's user, mode 0600."""
    path.write_bytes(content)
    os.chmod(path, 0o600)
    owner = (path.parent / "PG_VERSION").stat()
    if os.geteuid() == 0:
        os.chown(path, owner.st_uid, owner.st_gid)


def _has_postgres_user() -> bool:
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return False
    return True


def start_embedded(bindir: Path, datadir: Path) -> None:
    log = datadir.parent / "server.log"
    _run(
        _as_server_user(
            [str(bindir / "pg_ctl"), "-D", str(datadir), "-l", str(log), "-w", "-t", "60", "start"]
        ),
        f"pg_ctl start (see {log})",
        timeout=90,
    )


def stop_embedded(bindir: Path, datadir: Path) -> None:
    """Stop the server at once; SIGKILL its postmaster when pg_ctl fails or is interrupted.
    A postmaster that was killed is not waited for: pg_ctl would wait until PID 1 reaps it."""
    pid = _postmaster_pid(datadir)
    if pid is None or not shell.pid_running(pid):
        return
    argv = [str(bindir / "pg_ctl"), "-D", str(datadir), "-m", "immediate", "-w", "-t", "30", "stop"]
    try:
        result = subprocess.run(_as_server_user(argv), capture_output=True, timeout=60, check=False)
    except BaseException:
        _kill_postmaster(datadir)
        raise
    if result.returncode != 0:
        _kill_postmaster(datadir)


def kill_server(server: PostgresServer) -> bool:
    """Kill the postmaster with SIGKILL, as a crash would: only a server the drill started, a
    cluster from the local binaries or a container it ran (NotRunnable on any other server,
    never a failure of the guide)."""
    if "container_id" in server.extras:
        require_owned(server, "kill")
        return container.kill_container(server.extras["docker_host"], server.extras["container_id"])
    return _kill_postmaster(_own_datadir(server, "kill"))


def _own_datadir(server: PostgresServer, action: str) -> Path:
    require_owned(server, action)
    datadir = server.extras.get("datadir")
    if not datadir:
        raise NotRunnable(
            "a cluster the drill started from the local binaries (embedded)",
            f"the drill can {action} its embedded clusters only, not a {server.backend} server",
        )
    return Path(datadir)


def restart_server(server: PostgresServer) -> None:
    if "container_id" in server.extras:  # the same container, port and data, started again
        require_owned(server, "restart")
        ids = server.extras
        container.start_container(ids["docker_host"], ids["container_id"], server.port)
        return
    datadir = _own_datadir(server, "restart")
    stop_embedded(server.bindir, datadir)
    _remove_stale_locks(datadir)
    start_embedded(server.bindir, datadir)


def _remove_stale_locks(datadir: Path) -> None:
    """Remove the lock files of a postmaster that no longer runs: ``postmaster.pid`` and its
    socket's lock (in the cluster's own socket directory), with the socket. PostgreSQL removes
    a stale lock itself only once the pid in it is gone, and a killed postmaster stays a
    zombie until PID 1 reaps it."""
    for lock in [datadir / "postmaster.pid", *datadir.parent.glob(".s.PGSQL.*.lock")]:
        pid = _lock_pid(lock)
        if pid is None or not shell.pid_running(pid):
            lock.unlink(missing_ok=True)
            if lock.suffix == ".lock":
                lock.with_suffix("").unlink(missing_ok=True)


def ensure_running(server: PostgresServer) -> None:
    """Bring a crashed server the drill started back (after a kill drill); others must answer."""
    try:
        server.connect().close()
    except psycopg.OperationalError:
        if not server.owned or not {"datadir", "container_id"} & set(server.extras):
            raise
        restart_server(server)


@contextlib.contextmanager
def container_server(
    docker_host: str = DEFAULT_DOCKER_HOST, image: str = CONTAINER_IMAGE, run_id: str = ""
) -> Iterator[PostgresServer]:
    """A container of ``image`` with the drill settings, through testcontainers; owned by the
    drill (it may kill and restart it), removed when the block ends (:mod:`.container`)."""
    password = secrets.token_urlsafe(18)
    settings = {
        **{key: value.strip("'") for key, value in DRILL_SETTINGS.items()},
        "listen_addresses": "*",
        "log_min_messages": "log",  # the server's own readiness line stays in the log
    }
    with container.postgres_container(
        image, password, settings, host=docker_host, run_id=run_id
    ) as running:
        bindir = find_client_bindir()
        dsn = f"postgresql://postgres:{quote(password)}@{running.host}:{running.port}/postgres"
        extras = {"container_id": running.id, "docker_host": running.engine, "image": image}
        yield PostgresServer(
            "container",
            running.host,
            running.port,
            "postgres",
            Secret(password),
            bindir,
            _server_version(Secret(dsn)),
            extras=extras,
        )


def dsn_server(dsn: str | Secret, source: str = "RUNBOOK_PG_DSN") -> PostgresServer:
    """An existing server; the role needs CREATEDB because drills create their own databases.
    ``source`` names the variable the DSN came from, for the error messages."""
    held = secret(dsn)
    if not held:
        raise ConfigurationError(f"--pg dsn needs {source}=postgresql://user:password@host:port/db")
    parts = urlsplit(held.reveal())
    if parts.scheme not in ("postgres", "postgresql") or not parts.hostname:
        raise ConfigurationError(f"{source} must look like postgresql://user:password@host:port/db")
    password = Secret(unquote(parts.password or ""))
    mask = Redactor()
    mask.register(password)
    try:
        version = _server_version(held)
    except psycopg.OperationalError as exc:
        raise EnvironmentMissing(
            f"cannot connect to {source} ({mask.text(str(exc)).splitlines()[0]})"
        ) from None
    return PostgresServer(
        "dsn",
        parts.hostname,
        parts.port or 5432,
        unquote(parts.username or "postgres"),
        password,
        find_client_bindir(),
        version,
        admin_db=(parts.path.lstrip("/") or "postgres"),
    )


def _server_version(dsn: str | Secret) -> str:
    with psycopg.connect(secret(dsn).reveal(), connect_timeout=10) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]).split()[0] if row else "unknown"


def find_client_bindir() -> Path:
    """Client binaries only (pg_dump, pg_restore, psql) suffice for the dsn backend."""
    try:
        return find_bindir()
    except EnvironmentMissing:
        found = shutil.which("pg_restore")
        if found:
            return Path(found).parent
        raise

"""Database Recovery (guide: Backup & Recovery > Recovery Procedures; Rollback Procedures).

- :func:`map_connection` maps the guide's ``pg_restore -h db.supabase.co ...`` to the drill's
  server: only the connection target changes (``-h`` host, plus ``-p`` port); every mapping is
  returned so the evidence can show it.
- :func:`recover_database` is the verified procedure: fetch the newest backup and prove its
  checksum, restore into a scratch database (a custom-format dump with ``pg_restore -j``, plain
  SQL with ``psql`` in one stream: :func:`restore_backup`), prove the copy equals the
  backup's source, check heap and indexes, and only then promote it under the production name.
  A restore that fails or differs is never promoted.
"""

from __future__ import annotations

import os
import shlex
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from runbook_lib.errors import BackupCorrupted, ProcedureFailed
from runbook_lib.procedures.backup_recovery import verify
from runbook_lib.procedures.backup_recovery.backup import (
    DumpFormat,
    download_backup,
    list_backups,
)
from runbook_lib.world import rewrites, shell
from runbook_lib.world.clock import Clock
from runbook_lib.world.postgres import PostgresServer
from runbook_lib.world.rewrites import Rewrite

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_CORRUPTION = (
    "could not uncompress",
    "did not find magic string",
    "unexpected end of file",
    "could not read from input file",
    "could not read input file",
    "corrupt",
    "invalid",
    "input file is too short",
    "not a valid archive",
    "unrecognized data block type",
    "could not find block ID",
    "bad dumpId",
    "error returned by pgrestore",
)
_CONNECTION_LOST = (
    "server closed the connection unexpectedly",
    "terminating connection",
    "connection to server",
    "could not connect",
    "the database system is shutting down",
    "no connection to the server",
    "could not send data to server",
)
_PLAIN_TEXT = "input file appears to be a text format dump"


@dataclass(frozen=True)
class MappedCommand:
    guide_text: str
    argv: tuple[str, ...]
    mapping: tuple[tuple[str, str], ...]  # (as the guide writes it, as the drill runs it)
    rewrites: tuple[Rewrite, ...] = ()  # the same changes, each judged against Supabase

    def only_target_changed(self) -> bool:
        """Every argument but the program path and the connection target (host, port, role, and
        the database's namespace prefix) is the guide's."""
        guide_rest, guide_target = _split_target(shlex.split(self.guide_text)[1:])
        run_rest, run_target = _split_target(list(self.argv[1:]))
        guide_db, run_db = guide_target.get("-d"), run_target.get("-d")
        same_db = guide_db == run_db or (guide_db is not None and (run_db or "").endswith(guide_db))
        return guide_rest == run_rest and same_db


_TARGET_OPTIONS = {"-h": "-h", "--host": "-h", "-p": "-p", "--port": "-p", "-U": "-U"}
_TARGET_OPTIONS |= {"--username": "-U", "-d": "-d", "--dbname": "-d"}


def _split_target(words: list[str]) -> tuple[list[str], dict[str, str]]:
    """A command's words without its connection options, and those options (short names)."""
    rest, target = [], {}
    iterator = iter(words)
    for word in iterator:
        if word in _TARGET_OPTIONS:
            target[_TARGET_OPTIONS[word]] = next(iterator, "")
        else:
            rest.append(word)
    return rest, target


@dataclass(frozen=True)
class Step:
    name: str
    seconds: float


@dataclass(frozen=True)
class RecoveryResult:
    database: str
    backup_key: str
    backup_bytes: int
    database_bytes: int
    jobs: int
    steps: tuple[Step, ...]
    format: DumpFormat = "custom"  # of the backup restored: pg_restore -j (custom) or psql (plain)

    @property
    def seconds(self) -> float:
        return sum(step.seconds for step in self.steps)

    def step(self, name: str) -> float:
        return next(s.seconds for s in self.steps if s.name == name)


def map_connection(guide_text: str, server: PostgresServer) -> MappedCommand:
    """Point the guide's command at the drill server; nothing but the target changes (the
    host, and the database name into the session's namespace when the server has one)."""
    words = shlex.split(guide_text)
    argv, mapping, judged = [], [], []
    iterator = iter(enumerate(words))
    for index, word in iterator:
        if word in ("-h", "--host"):
            _, host = next(iterator)
            argv += ["-h", server.host, "-p", str(server.port)]
            mapping.append((f"{word} {host}", f"-h {server.host} -p {server.port}"))
            judged.append(rewrites.database_host(guide_text, host, mapping[-1][1]))
        elif word in ("-U", "--username") and words[index + 1 :][:1] != [server.user]:
            _, user = next(iterator)
            argv += ["-U", server.user]
            mapping.append((f"{word} {user}", f"-U {server.user}"))
            judged.append(rewrites.database_user(guide_text, user, server.user))
        elif word in ("-d", "--dbname") and server.namespace:
            _, name = next(iterator)
            argv += ["-d", server.scoped(name)]
            mapping.append((f"{word} {name}", f"-d {server.scoped(name)}"))
            judged.append(rewrites.database_name(guide_text, name, server.scoped(name)))
        else:
            argv.append(word)
    argv[0] = server.binary(argv[0])
    mapping.append((words[0], argv[0]))
    judged.append(rewrites.program(guide_text, words[0], argv[0]))
    return MappedCommand(guide_text, tuple(argv), tuple(mapping), tuple(judged))


def run_guide_command(
    mapped: MappedCommand, server: PostgresServer, workdir: Path
) -> shell.CommandResult:
    return shell.run(list(mapped.argv), env=server.client_env(), cwd=str(workdir))


def is_plain_text_refusal(result: shell.CommandResult) -> bool:
    return _PLAIN_TEXT in result.stderr


def restore_plain(server: PostgresServer, sql_file: Path, database: str) -> shell.CommandResult:
    """The corrected procedure for a plain-SQL dump (what Supabase's logical backups are): psql."""
    return shell.run(
        [
            server.binary("psql"),
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "--single-transaction",
            "-d",
            database,
            "-f",
            str(sql_file),
        ],
        env=server.client_env(),
    ).check()


def restore_dump(
    server: PostgresServer,
    dump: Path,
    database: str,
    jobs: int,
    during: Callable[[], None] | None = None,
) -> shell.CommandResult:
    """``pg_restore -j N`` of a custom-format dump; corruption and a lost server are named."""
    argv = [
        server.binary("pg_restore"),
        "--exit-on-error",
        "--no-owner",
        "--jobs",
        str(jobs),
        "--dbname",
        database,
        str(dump),
    ]
    worker = threading.Thread(target=during, daemon=True) if during else None
    if worker:
        worker.start()
    result = shell.run(argv, env=server.client_env())
    if worker:
        worker.join(timeout=30)
    if result.ok:
        return result
    stderr = result.stderr.lower()
    if any(marker in stderr for marker in _CONNECTION_LOST):
        raise ProcedureFailed(
            f"the database server went away during the restore ({_last(result.stderr)}); "
            "nothing was promoted: bring the server back and restore again"
        )
    if any(marker in stderr for marker in _CORRUPTION):
        raise BackupCorrupted(
            f"backup corrupted: pg_restore cannot read {dump.name} ({_last(result.stderr)}); "
            "restore an older backup"
        )
    raise ProcedureFailed(f"pg_restore failed: {_last(result.stderr)}")


def restore_backup(
    server: PostgresServer,
    backup: Path,
    database: str,
    fmt: DumpFormat,
    jobs: int,
    during: Callable[[], None] | None = None,
) -> str:
    """Restore ``backup`` with the tool its format needs: ``pg_restore -j jobs`` for a custom-format
    dump, ``psql`` (one stream, ``jobs`` unused) for plain SQL. Returns the tool's name."""
    if fmt == "custom":
        restore_dump(server, backup, database, jobs, during)
        return "pg_restore"
    worker = threading.Thread(target=during, daemon=True) if during else None
    if worker:
        worker.start()
    try:
        restore_plain(server, backup, database)
    finally:
        if worker:
            worker.join(timeout=30)
    return "psql"


def _last(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else "no output"


def default_jobs() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def recover_database(
    server: PostgresServer,
    s3: S3Client,
    bucket: str,
    source: verify.Fingerprint,
    target: str,
    workdir: Path,
    *,
    clock: Clock,
    jobs: int | None = None,
    during_restore: Callable[[], None] | None = None,
    after_restore: Callable[[str], None] | None = None,
    fmt: DumpFormat | None = None,
) -> RecoveryResult:
    """Restore the newest backup of ``bucket`` (of format ``fmt``, when given) as ``target``,
    verified before it is promoted; each step is timed on ``clock`` (a wall clock in the drills:
    the RTO is real time). Plain SQL is restored by psql in one stream (``jobs`` is then 1)."""
    scratch = f"{target}_restoring"
    steps: list[Step] = []

    started = clock.monotonic()
    backups = [b for b in list_backups(s3, bucket) if fmt is None or b.format == fmt]
    if not backups:
        raise ProcedureFailed(
            f"no {fmt or 'database'} backup in the backup bucket: nothing to restore"
        )
    dump = download_backup(s3, backups[0], workdir, bucket)
    steps.append(Step("fetch and checksum the newest backup", clock.monotonic() - started))
    jobs = 1 if backups[0].format == "plain" else jobs or default_jobs()

    started = clock.monotonic()
    server.create_database(scratch)
    try:
        tool = restore_backup(server, dump, scratch, backups[0].format, jobs, during_restore)
        if after_restore:
            after_restore(scratch)
        steps.append(Step(tool, clock.monotonic() - started))

        started = clock.monotonic()
        verify.require_identical(source, verify.fingerprint(server, scratch))
        verify.amcheck(server, scratch)
        steps.append(Step("verify", clock.monotonic() - started))
    except BaseException:
        _drop_quietly(server, scratch)
        raise

    started = clock.monotonic()
    server.drop_database(target)
    with server.connect() as conn:
        conn.execute(f'ALTER DATABASE "{scratch}" RENAME TO "{target}"')
    with server.connect(target) as conn:
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    steps.append(Step("promote and accept queries", clock.monotonic() - started))
    return RecoveryResult(
        target,
        backups[0].key,
        backups[0].size_bytes,
        int(str(row[0])) if row else 0,
        jobs,
        tuple(steps),
        backups[0].format,
    )


def _drop_quietly(server: PostgresServer, database: str) -> None:
    try:
        server.drop_database(database)
    except Exception:  # the server may be the thing that failed; the scratch copy dies with it
        return

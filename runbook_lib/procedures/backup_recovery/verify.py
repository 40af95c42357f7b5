"""Proof that nothing was lost (guide: Recovery Procedures; RTO "restored and verified").

A :class:`Fingerprint` of a database holds, per table, the exact row count and an
order-independent content hash (``sum(hash_record_extended(row, 0))``, each column hashed by its
type; tables with an unhashable column type fall back to ``hashtextextended(row::text, 0)``
under pinned DateStyle, TimeZone and extra_float_digits), plus the
schema (``pg_dump --schema-only`` with volatile lines filtered), sequences, indexes,
constraints and extensions. :func:`differences` names every table and object that differs;
:func:`amcheck` runs ``pg_amcheck`` on the restored copy, after the schema was compared (it
installs the amcheck extension).
"""

from __future__ import annotations

import hashlib
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import psycopg

from runbook_lib.errors import NotRunnable, ProcedureFailed, VerificationFailed
from runbook_lib.world import capabilities, shell
from runbook_lib.world.postgres import PostgresServer

_PINNED = "SET DateStyle = 'ISO, YMD'; SET TimeZone = 'UTC'; SET extra_float_digits = 3; SET IntervalStyle = 'postgres'"
_VOLATILE = re.compile(r"^(\\restrict|\\unrestrict|-- Dumped (from|by) )")
_IGNORED_EXTENSIONS = {"plpgsql", "amcheck"}


@dataclass(frozen=True)
class TableFingerprint:
    rows: int
    content_hash: str


@dataclass(frozen=True)
class Fingerprint:
    tables: dict[str, TableFingerprint]
    schema_sha256: str
    schema_lines: tuple[str, ...]
    sequences: dict[str, int]
    indexes: frozenset[str]
    constraints: frozenset[str]
    extensions: frozenset[str]


def fingerprint(server: PostgresServer, database: str, jobs: int = 2) -> Fingerprint:
    """Fingerprint ``database``; tables are hashed on ``jobs`` connections, largest first,
    while ``pg_dump --schema-only`` runs beside them."""
    with ThreadPoolExecutor(max_workers=jobs + 1) as pool:
        schema_future = pool.submit(schema_lines, server, database)
        with server.connect(database) as conn:
            tables = [
                str(r[0])
                for r in conn.execute(
                    "SELECT quote_ident(relname) FROM pg_class WHERE relkind = 'r' "
                    "AND relnamespace = 'public'::regnamespace ORDER BY pg_relation_size(oid) DESC"
                ).fetchall()
            ]
            catalog = _catalog(conn)
        chunks = [tables[i::jobs] for i in range(jobs)]
        content: dict[str, TableFingerprint] = {}
        for part in pool.map(lambda chunk: _hash_tables(server, database, chunk), chunks):
            content.update(part)
        schema = schema_future.result()
    sequences, indexes, constraints, extensions = catalog
    return Fingerprint(
        dict(sorted(content.items())),
        hashlib.sha256("\n".join(schema).encode()).hexdigest(),
        schema,
        sequences,
        indexes,
        constraints,
        extensions - _IGNORED_EXTENSIONS,
    )


def _hash_tables(
    server: PostgresServer, database: str, tables: list[str]
) -> dict[str, TableFingerprint]:
    found = {}
    with server.connect(database) as conn:
        conn.execute(_PINNED)
        for table in tables:
            try:  # hashes each column with its type's hash function: no text rendering, 3x faster
                row = conn.execute(
                    f"SELECT count(*), coalesce(sum(hash_record_extended(t, 0)), 0)::text FROM {table} t"
                ).fetchone()
            except (
                psycopg.errors.UndefinedFunction
            ):  # a column type without a hash function (json, point, ...)
                row = conn.execute(
                    f"SELECT count(*), coalesce(sum(hashtextextended(t::text, 0)::numeric), 0)::text FROM {table} t"
                ).fetchone()
            assert row is not None
            found[table] = TableFingerprint(int(str(row[0])), str(row[1]))
    return found


def _catalog(
    conn: psycopg.Connection[tuple[object, ...]],
) -> tuple[dict[str, int], frozenset[str], frozenset[str], frozenset[str]]:
    sequences = {
        str(r[0]): int(str(r[1] or 0))
        for r in conn.execute(
            "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'"
        ).fetchall()
    }
    indexes = frozenset(
        str(r[0])
        for r in conn.execute(
            "SELECT indexname || ': ' || indexdef FROM pg_indexes WHERE schemaname = 'public'"
        ).fetchall()
    )
    constraints = frozenset(
        str(r[0])
        for r in conn.execute(
            "SELECT conrelid::regclass || '.' || conname || ': ' || pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE connamespace = 'public'::regnamespace"
        ).fetchall()
    )
    extensions = frozenset(
        str(r[0]) for r in conn.execute("SELECT extname FROM pg_extension").fetchall()
    )
    return sequences, indexes, constraints, extensions


def schema_lines(server: PostgresServer, database: str) -> tuple[str, ...]:
    """``pg_dump --schema-only`` without the lines that differ on every run."""
    result = shell.run(
        [server.binary("pg_dump"), "--schema-only", "--no-owner", "--dbname", database],
        env=server.client_env(),
    ).check()
    return tuple(line for line in result.stdout.splitlines() if not _VOLATILE.match(line))


def differences(source: Fingerprint, restored: Fingerprint) -> list[str]:
    """Every difference, each naming the table or object; empty when the copy is identical."""
    found = []
    for table, expected in sorted(source.tables.items()):
        actual = restored.tables.get(table)
        if actual is None:
            found.append(f"table {table} is missing")
        elif actual.rows != expected.rows:
            found.append(f"table {table} has {actual.rows} rows, the source {expected.rows}")
        elif actual.content_hash != expected.content_hash:
            found.append(f"table {table} has the same row count but different content")
    found += [
        f"table {t} exists only in the restored copy"
        for t in sorted(set(restored.tables) - set(source.tables))
    ]
    if source.schema_sha256 != restored.schema_sha256:
        changed = sorted(set(source.schema_lines) ^ set(restored.schema_lines))
        found.append(f"schema differs: {changed[0][:120] if changed else 'line order'}")
    for kind, a, b in (("sequence", source.sequences, restored.sequences),):
        found += [
            f"{kind} {name} is at {b.get(name)}, the source at {value}"
            for name, value in sorted(a.items())
            if b.get(name) != value
        ]
    for kind, left, right in (
        ("index", source.indexes, restored.indexes),
        ("constraint", source.constraints, restored.constraints),
        ("extension", source.extensions, restored.extensions),
    ):
        found += [f"{kind} missing: {name}" for name in sorted(left - right)]
        found += [f"{kind} unexpected: {name}" for name in sorted(right - left)]
    return found


def require_identical(source: Fingerprint, restored: Fingerprint) -> None:
    problems = differences(source, restored)
    if problems:
        raise VerificationFailed(
            "restored database differs from the backup's source: " + "; ".join(problems[:5])
        )


def amcheck(
    server: PostgresServer, database: str, *, thorough: bool = False, jobs: int = 2
) -> None:
    """Index and heap structure of the restored copy (pg_amcheck). Row content is already proven
    by the per-table hashes; ``thorough`` adds --heapallindexed (every heap tuple found in every
    index), which costs about half a restore."""
    with server.connect(database) as conn:
        had_amcheck = conn.execute(
            "SELECT 1 FROM pg_extension WHERE extname = 'amcheck'"
        ).fetchone()
    options = ["--heapallindexed"] if thorough else []
    result = shell.run(
        [server.binary("pg_amcheck"), *options, "--install-missing", "--jobs", str(jobs), database],
        env=server.client_env(),
    )
    if not had_amcheck:  # leave the restored database exactly as the backup had it
        with server.connect(database) as conn:
            conn.execute("DROP EXTENSION IF EXISTS amcheck")
    output = (result.stdout + result.stderr).strip()
    if not result.ok and "permission denied" in output:  # it could not check: no verdict
        missing = capabilities.refusal(server, capabilities.INSUFFICIENT_PRIVILEGE, output)
        if missing is not None:
            raise NotRunnable(capabilities.AMCHECK, output.splitlines()[-1][:200])
        raise ProcedureFailed(f"pg_amcheck could not check {database}: {output[:300]}")
    if not result.ok:
        raise VerificationFailed(f"pg_amcheck found corruption in {database}: {output[:300]}")

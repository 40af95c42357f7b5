"""Proof that nothing was lost (guide: Recovery Procedures; RTO "restored and verified").

A :class:`Fingerprint` of a database holds, per table, the exact row count and an
order-independent content hash (``sum(hashtextextended(row::text, 0))``, computed with pinned
DateStyle, TimeZone and extra_float_digits so both sides render rows identically), plus the
schema (``pg_dump --schema-only`` with volatile lines filtered), sequences, indexes,
constraints and extensions. :func:`differences` names every table and object that differs;
:func:`amcheck` runs ``pg_amcheck`` on the restored copy, after the schema was compared (it
installs the amcheck extension).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from runbook_lib import shell
from runbook_lib.errors import VerificationFailed
from runbook_lib.postgres import PostgresServer

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


def fingerprint(server: PostgresServer, database: str) -> Fingerprint:
    with server.connect(database) as conn:
        conn.execute(_PINNED)
        tables = [str(r[0]) for r in conn.execute(
            "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public' ORDER BY 1").fetchall()]
        content = {}
        for table in tables:
            row = conn.execute(
                f"SELECT count(*), coalesce(sum(hashtextextended(t::text, 0)::numeric), 0)::text FROM {table} t"
            ).fetchone()
            assert row is not None
            content[table] = TableFingerprint(int(str(row[0])), str(row[1]))
        sequences = {str(r[0]): int(str(r[1] or 0)) for r in conn.execute(
            "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'").fetchall()}
        indexes = frozenset(str(r[0]) for r in conn.execute(
            "SELECT indexname || ': ' || indexdef FROM pg_indexes WHERE schemaname = 'public'").fetchall())
        constraints = frozenset(str(r[0]) for r in conn.execute(
            "SELECT conrelid::regclass || '.' || conname || ': ' || pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE connamespace = 'public'::regnamespace").fetchall())
        extensions = frozenset(str(r[0]) for r in conn.execute("SELECT extname FROM pg_extension").fetchall())
    schema = schema_lines(server, database)
    return Fingerprint(content, hashlib.sha256("\n".join(schema).encode()).hexdigest(), schema, sequences,
                       indexes, constraints, extensions - _IGNORED_EXTENSIONS)


def schema_lines(server: PostgresServer, database: str) -> tuple[str, ...]:
    """``pg_dump --schema-only`` without the lines that differ on every run."""
    result = shell.run([server.binary("pg_dump"), "--schema-only", "--no-owner", "--dbname", database],
                       env=server.client_env()).check()
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
    found += [f"table {t} exists only in the restored copy" for t in sorted(set(restored.tables) - set(source.tables))]
    if source.schema_sha256 != restored.schema_sha256:
        changed = sorted(set(source.schema_lines) ^ set(restored.schema_lines))
        found.append(f"schema differs: {changed[0][:120] if changed else 'line order'}")
    for kind, a, b in (("sequence", source.sequences, restored.sequences),):
        found += [f"{kind} {name} is at {b.get(name)}, the source at {value}"
                  for name, value in sorted(a.items()) if b.get(name) != value]
    for kind, left, right in (("index", source.indexes, restored.indexes),
                              ("constraint", source.constraints, restored.constraints),
                              ("extension", source.extensions, restored.extensions)):
        found += [f"{kind} missing: {name}" for name in sorted(left - right)]
        found += [f"{kind} unexpected: {name}" for name in sorted(right - left)]
    return found


def require_identical(source: Fingerprint, restored: Fingerprint) -> None:
    problems = differences(source, restored)
    if problems:
        raise VerificationFailed("restored database differs from the backup's source: " + "; ".join(problems[:5]))


def amcheck(server: PostgresServer, database: str) -> None:
    """Heap and index consistency of the restored copy (pg_amcheck --heapallindexed)."""
    with server.connect(database) as conn:
        had_amcheck = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'amcheck'").fetchone()
    result = shell.run([server.binary("pg_amcheck"), "--heapallindexed", "--install-missing",
                        database], env=server.client_env())
    if not had_amcheck:  # leave the restored database exactly as the backup had it
        with server.connect(database) as conn:
            conn.execute("DROP EXTENSION IF EXISTS amcheck")
    if not result.ok:
        raise VerificationFailed(f"pg_amcheck found corruption in {database}: {(result.stdout + result.stderr).strip()[:300]}")

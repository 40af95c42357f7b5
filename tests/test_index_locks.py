"""The index check observes locks, so a blocking build is red every time, not by timing luck."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from runbook_lib.guide.model import load_guide, parse_guide
from runbook_lib.paths import DEFAULT_GUIDE
from runbook_lib.procedures.performance_optimization.index_locks import (
    index_table,
    writer_behind_index_build,
)
from runbook_lib.world.clock import WallClock
from runbook_lib.world.postgres import PostgresServer, embedded_cluster
from tests.helpers import child_drill

GUIDE_TEXT = DEFAULT_GUIDE.read_text(encoding="utf-8")


def _index_sql(text: str) -> list[str]:
    guide = parse_guide(text, "guide.md")
    return [c.text for c in guide.optimization_sql if c.text.upper().startswith("CREATE INDEX")]


@pytest.fixture(scope="module")
def server() -> Iterator[PostgresServer]:
    with embedded_cluster() as server, server.connect("postgres") as conn:
        conn.execute("CREATE TABLE users (id serial PRIMARY KEY, email text)")
        conn.execute("CREATE TABLE emails (id serial PRIMARY KEY, user_id int)")
        conn.execute("INSERT INTO emails (user_id) SELECT g FROM generate_series(1, 2000) g")
        yield server


def test_the_guides_concurrent_builds_let_a_writer_in(server: PostgresServer) -> None:
    for ddl in _index_sql(GUIDE_TEXT):
        lock = writer_behind_index_build(server, "postgres", ddl, clock=WallClock())
        assert lock.mode == "ShareUpdateExclusiveLock", lock
        assert lock.writer_got_lock
        assert not lock.blocks_writers


def test_a_guide_that_drops_concurrently_blocks_the_writer_every_time(
    server: PostgresServer,
) -> None:
    """The mutation: the guide edited to a plain CREATE INDEX must turn the check red."""
    mutated = GUIDE_TEXT.replace("CREATE INDEX CONCURRENTLY", "CREATE INDEX")
    for ddl in _index_sql(mutated):
        lock = writer_behind_index_build(
            server, "postgres", ddl.replace("idx_", "idx_plain_"), clock=WallClock()
        )
        assert lock.mode == "ShareLock", lock
        assert not lock.writer_got_lock
        assert "lock timeout" in lock.writer_error
        assert lock.blocks_writers


def test_the_table_is_read_from_the_statement() -> None:
    assert [index_table(s) for s in _index_sql(GUIDE_TEXT)] == ["users", "emails"]
    assert load_guide().optimization_sql  # the guide still states them


def test_the_drill_scenario_goes_red_for_a_guide_without_concurrently(tmp_path: Path) -> None:
    """The scenario "CREATE INDEX CONCURRENTLY does not block a writer" against the mutation."""
    guide = tmp_path / "guide.md"
    guide.write_text(GUIDE_TEXT.replace("CREATE INDEX CONCURRENTLY", "CREATE INDEX"))
    done, _ = child_drill(
        f"--guide={guide}",
        "--only=performance_optimization",
        "-k",
        "concurrently_does_not_block",
        evidence_dir=tmp_path / "ev",
    )
    assert done.returncode == 1, done.stdout[-2000:]
    assert "the guide's statement took ShareLock" in done.stdout

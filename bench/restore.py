"""Restore benchmark: the drill's restore and verification against raw pg_restore, in one run.

    python -m bench.restore [--size-mb 1024] [--predict-from-mb 100] [--repeat 3] [--jobs N]

On one throwaway cluster it seeds a database of ``--size-mb``, dumps it (custom format), and
measures, alternating the order each round and starting each restore from a checkpointed
server, so that machine noise hits both sides alike (medians of ``--repeat``):

- raw ``pg_restore -j N`` of the dump (the baseline),
- the drill's restore step (``runbook_lib.procedures.backup_recovery.restore.restore_dump``, same dump, same jobs),
- the drill's verification step (fingerprint + comparison + pg_amcheck) of the restored copy,
- a single-stream binary COPY of the largest table (the physical limit per core).

It also restores a ``--predict-from-mb`` database, predicts the big restore+verify from it with
the drill's model, and reports the prediction error. Targets: drill restore <= 1.05 x raw,
verification <= 0.30 x restore. Prints a table and writes JSON (``--output``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runbook_lib.errors import RunbookError
from runbook_lib.procedures import recovery_objectives as objectives
from runbook_lib.procedures.backup_recovery import verify
from runbook_lib.procedures.backup_recovery.backup import take_logical_backup
from runbook_lib.procedures.backup_recovery.restore import default_jobs, restore_dump
from runbook_lib.world import dataset, shell
from runbook_lib.world.clock import WallClock
from runbook_lib.world.postgres import PostgresServer, embedded_cluster


def seed(server: PostgresServer, name: str, megabytes: float) -> int:
    server.create_database(name)
    with server.connect(name) as conn:
        dataset.seed(conn, dataset.DatasetSize.from_megabytes(megabytes))
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return int(str(row[0])) if row else 0


def fresh_target(server: PostgresServer, target: str) -> None:
    """An empty target database and a flushed server, so no run pays for the previous one's writes."""
    server.create_database(target)
    with server.connect() as conn:
        conn.execute("CHECKPOINT")


def raw_restore(server: PostgresServer, dump: Path, target: str, jobs: int) -> float:
    fresh_target(server, target)
    started = time.monotonic()
    shell.run(
        [
            server.binary("pg_restore"),
            "--exit-on-error",
            "--no-owner",
            "--jobs",
            str(jobs),
            "--dbname",
            target,
            str(dump),
        ],
        env=server.client_env(),
    ).check()
    return time.monotonic() - started


def drill_restore(server: PostgresServer, dump: Path, target: str, jobs: int) -> float:
    fresh_target(server, target)
    started = time.monotonic()
    restore_dump(server, dump, target, jobs)
    return time.monotonic() - started


def drill_verify(server: PostgresServer, source: verify.Fingerprint, target: str) -> float:
    started = time.monotonic()
    verify.require_identical(source, verify.fingerprint(server, target))
    verify.amcheck(server, target)
    return time.monotonic() - started


def copy_rate(server: PostgresServer, database: str) -> float:
    """MiB/s of one binary COPY stream of the emails table into an unindexed copy."""
    with server.connect(database) as source, server.connect(database) as target:
        target.execute(
            "DROP TABLE IF EXISTS bench_copy; CREATE UNLOGGED TABLE bench_copy (LIKE emails)"
        )
        started = time.monotonic()
        copied = 0
        with (
            source.cursor().copy("COPY emails TO STDOUT (FORMAT binary)") as out,
            target.cursor().copy("COPY bench_copy FROM STDIN (FORMAT binary)") as into,
        ):
            for block in out:
                copied += len(block)
                into.write(block)
        seconds = time.monotonic() - started
        target.execute("DROP TABLE bench_copy")
    return copied / 1024**2 / seconds


def run(size_mb: float, predict_from_mb: float, repeat: int, jobs: int) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="runbook-bench-"))
    # autovacuum off: its background work after one restore would land on the next one's clock
    # on the disk, not the RAM disk drills use: throughput figures must include disk I/O
    disk = Path(os.environ.get("RUNBOOK_PG_TMPDIR") or tempfile.gettempdir())
    with embedded_cluster({"autovacuum": "off"}, parent=disk) as server:
        progress(f"seeding {predict_from_mb:g} MB and {size_mb:g} MB databases")
        small_bytes = seed(server, "bench_small", predict_from_mb)
        big_bytes = seed(server, "bench_big", size_mb)
        small_dump = take_logical_backup(server, "bench_small", work, datetime.now(UTC)).path
        big_dump = take_logical_backup(server, "bench_big", work, datetime.now(UTC)).path
        small_source, big_source = (
            verify.fingerprint(server, "bench_small"),
            verify.fingerprint(server, "bench_big"),
        )

        progress("small drill: restore + verify + fixed cost, for the prediction")
        small_total = drill_restore(server, small_dump, "small_copy", jobs) + drill_verify(
            server, small_source, "small_copy"
        )
        fixed = objectives.fixed_restore_cost(server, "bench_small", work, WallClock())
        prediction = objectives.predict_restore(small_bytes, small_total, fixed, big_bytes)

        raw, drill, verification = [], [], []
        for round_number in range(1, repeat + 1):
            progress(
                f"round {round_number}/{repeat}: raw pg_restore, drill restore, drill verification"
            )
            raw.append(raw_restore(server, big_dump, "raw_copy", jobs))
            drill.append(drill_restore(server, big_dump, "drill_copy", jobs))
            verification.append(drill_verify(server, big_source, "drill_copy"))
        copy_mib_s = copy_rate(server, "bench_big")
    raw_s, drill_s, verify_s = (statistics.median(x) for x in (raw, drill, verification))
    actual_total = drill_s + verify_s
    return {
        "size_mb_requested": size_mb,
        "database_bytes": big_bytes,
        "dump_bytes": big_dump.stat().st_size,
        "jobs": jobs,
        "repeat": repeat,
        "raw_pg_restore_seconds": raw_s,
        "drill_restore_seconds": drill_s,
        "drill_verify_seconds": verify_s,
        "drill_restore_over_raw": drill_s / raw_s,
        "verify_over_restore": verify_s / drill_s,
        "restore_mib_per_second": big_bytes / 1024**2 / drill_s,
        "single_copy_mib_per_second": copy_mib_s,
        "physical_limit_mib_per_second": copy_mib_s * jobs,
        "prediction": {
            "from_bytes": small_bytes,
            "from_seconds": small_total,
            "fixed_seconds": fixed,
            "predicted_seconds": prediction.predicted_seconds,
            "actual_seconds": actual_total,
            "error": (prediction.predicted_seconds - actual_total) / actual_total,
        },
        "targets_met": {
            "drill_restore_le_1.05x_raw": drill_s <= 1.05 * raw_s,
            "verify_le_0.30x_restore": verify_s <= 0.30 * drill_s,
        },
        "samples": {"raw": raw, "drill": drill, "verify": verification},
    }


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--size-mb", type=float, default=1024, help="database size to restore (default 1024)"
    )
    parser.add_argument(
        "--predict-from-mb",
        type=float,
        default=100,
        help="size of the run that predicts it (default 100)",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="rounds; medians are reported (default 3)"
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=default_jobs(),
        help="pg_restore parallel jobs (default: cores, max 4)",
    )
    parser.add_argument(
        "--output", type=Path, default=Path("reports/bench/restore.json"), help="JSON result file"
    )
    args = parser.parse_args(argv)
    if args.size_mb <= 0 or args.predict_from_mb <= 0 or args.repeat < 1 or args.jobs < 1:
        parser.error("sizes, --repeat and --jobs must be positive")
    try:
        result = run(args.size_mb, args.predict_from_mb, args.repeat, args.jobs)
    except KeyboardInterrupt:
        print("bench: interrupted; the cluster was removed", file=sys.stderr)
        return 130
    except RunbookError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return exc.exit_code
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    p = result["prediction"]
    print(
        f"database {result['database_bytes'] / 1024**2:.0f} MiB (dump {result['dump_bytes'] / 1024**2:.0f} MiB), "
        f"{result['jobs']} jobs, median of {result['repeat']}"
    )
    print(f"  raw pg_restore        {result['raw_pg_restore_seconds']:8.2f} s")
    print(
        f"  drill restore         {result['drill_restore_seconds']:8.2f} s   {result['drill_restore_over_raw']:.3f} x raw (target <= 1.05)"
    )
    print(
        f"  drill verification    {result['drill_verify_seconds']:8.2f} s   {result['verify_over_restore']:.3f} x restore (target <= 0.30)"
    )
    print(
        f"  restore throughput    {result['restore_mib_per_second']:8.1f} MiB/s; single COPY {result['single_copy_mib_per_second']:.1f} MiB/s "
        f"x {result['jobs']} = {result['physical_limit_mib_per_second']:.1f} MiB/s"
    )
    print(
        f"  prediction from {p['from_bytes'] / 1024**2:.0f} MiB: {p['predicted_seconds']:.2f} s vs actual "
        f"{p['actual_seconds']:.2f} s ({p['error']:+.1%})"
    )
    print(f"  written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

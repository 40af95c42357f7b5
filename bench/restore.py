"""Restore benchmark: both recovery paths of the Database RTO, against their raw tools, in one run.

    python -m bench.restore [--size-mb 1024] [--predict-from-mb 100] [--repeat 3] [--jobs N]

The two paths (``runbook_lib.procedures.database_rto``):

- the guide's path: Supabase's backup is plain SQL, restored by ``psql`` in one stream;
- the corrected path: a custom-format dump restored with ``pg_restore -j N``.

On one throwaway cluster on disk (``RUNBOOK_PG_TMPDIR`` or the temp dir, never the RAM disk:
throughput must include disk I/O) it seeds a ``--size-mb`` and a ``--predict-from-mb`` database
and dumps both in both formats. Each round, for each path (the order alternating between rounds,
so machine noise hits both alike), every timed run starts from an empty target after a
``CHECKPOINT`` and ``sync`` (no run pays for an earlier run's writes):

- the small database restored and verified by the drill's code (the prediction's measured point),
- the schema alone restored and verified by the same path (its fixed-cost point),
- the raw tool on the big dump (the baseline: ``psql -f`` / ``pg_restore -j N``),
- the drill's restore step (``restore_backup``) of the same dump,
- the drill's verification (fingerprint, comparison, ``pg_amcheck``) of that copy.

Medians of ``--repeat`` rounds. The prediction is the drill's model
(``runbook_lib.procedures.recovery_objectives.predict_restore``: the line through the
fixed-cost point and the small database, in bytes beyond the empty schema's), for the whole
restore+verify and for each phase; its error is against the measured big restore+verify. The
error with the empty schema's bytes counted as data (the previous model's bias) is reported
beside it. Targets: drill
restore <= 1.05 x raw, verification <= 0.30 x restore, prediction error within +-10 %.
Prints a table and writes JSON (``--output``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runbook_lib.errors import ProcedureFailed, RunbookError
from runbook_lib.procedures import database_rto as rto
from runbook_lib.procedures import recovery_objectives as objectives
from runbook_lib.procedures.backup_recovery import verify
from runbook_lib.procedures.backup_recovery.backup import take_logical_backup
from runbook_lib.procedures.backup_recovery.restore import default_jobs, restore_backup
from runbook_lib.world import dataset, shell
from runbook_lib.world.clock import WallClock
from runbook_lib.world.postgres import PostgresServer, embedded_cluster, storage_of

PREDICTION_TARGET = 0.10  # |error| of the prediction
# the small database and the schema alone are measured this many times per round: their
# differences set the throughput the prediction multiplies by 10, so their noise must be small
SMALL_RUNS = 3


def seed(server: PostgresServer, name: str, megabytes: float) -> int:
    server.create_database(name)
    with server.connect(name) as conn:
        dataset.seed(conn, dataset.DatasetSize.from_megabytes(megabytes))
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return int(str(row[0])) if row else 0


def settle(server: PostgresServer) -> None:
    """Flush the server and the page cache: the next timed run pays for its own writes only."""
    with server.connect() as conn:
        conn.execute("CHECKPOINT")
    os.sync()


def fresh_target(server: PostgresServer, target: str) -> None:
    """An empty target database on a settled server."""
    server.create_database(target)
    settle(server)


def raw_argv(server: PostgresServer, path: rto.RestorePath, dump: Path, target: str) -> list[str]:
    """The tool as an operator runs it: ``psql -f`` (the guide's fix) or ``pg_restore -j N``."""
    if path.format == "plain":
        return [server.binary("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", target, "-f"]
    return [
        *(server.binary("pg_restore"), "--exit-on-error", "--no-owner", "--jobs", str(path.jobs)),
        *("--dbname", target),
    ]


def raw_restore(server: PostgresServer, path: rto.RestorePath, dump: Path, target: str) -> float:
    fresh_target(server, target)
    started = time.monotonic()
    shell.run([*raw_argv(server, path, dump, target), str(dump)], env=server.client_env()).check()
    return time.monotonic() - started


def drill_restore(server: PostgresServer, path: rto.RestorePath, dump: Path, target: str) -> float:
    fresh_target(server, target)
    started = time.monotonic()
    restore_backup(server, dump, target, path.format, path.jobs)
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


SAMPLES = (
    "small_restore",
    "small_verify",
    "fixed_restore",
    "fixed_verify",
    "raw",
    "drill",
    "verify",
)


def measure_round(
    server: PostgresServer,
    path: rto.RestorePath,
    dumps: dict[str, Path],
    sources: dict[str, verify.Fingerprint],
    work: Path,
    samples: dict[str, list[float]],
) -> int:
    """One round of one path; returns the bytes of the fixed-cost (schema-only) copy."""
    key = path.format
    for _ in range(SMALL_RUNS):
        samples["small_restore"].append(drill_restore(server, path, dumps["small"], f"small_{key}"))
        samples["small_verify"].append(drill_verify(server, sources["small"], f"small_{key}"))
        settle(server)
        fixed = objectives.fixed_restore_cost(
            server, "bench_small", work / f"fixed-{key}", WallClock(), path.format, path.jobs
        )
        samples["fixed_restore"].append(fixed.restore_seconds)
        samples["fixed_verify"].append(fixed.verify_seconds)
    samples["raw"].append(raw_restore(server, path, dumps["big"], f"raw_{key}"))
    samples["drill"].append(drill_restore(server, path, dumps["big"], f"drill_{key}"))
    samples["verify"].append(drill_verify(server, sources["big"], f"drill_{key}"))
    return fixed.database_bytes


def predict(
    small_bytes: int, small: float, fixed: float, big_bytes: int, fixed_bytes: int, actual: float
) -> dict[str, float]:
    """The model's prediction of ``actual`` and its error (raises when the small copy took no
    longer than the schema alone: too small to measure a throughput)."""
    p = objectives.predict_restore(small_bytes, small, fixed, big_bytes, fixed_bytes)
    return {
        "predicted_seconds": p.predicted_seconds,
        "actual_seconds": actual,
        "error": (p.predicted_seconds - actual) / actual,
        "mib_per_second": p.bytes_per_second / 1024**2,
    }


def phase(
    small_bytes: int, small: float, fixed: float, big_bytes: int, fixed_bytes: int, actual: float
) -> dict[str, float | None]:
    """One phase's prediction; a phase whose small run was within noise of its fixed cost
    (verification of a small copy) has no throughput of its own: its error is None."""
    try:
        return dict(predict(small_bytes, small, fixed, big_bytes, fixed_bytes, actual))
    except ProcedureFailed:
        return {"error": None}


def summarise(
    path: rto.RestorePath,
    samples: dict[str, list[float]],
    sizes: dict[str, int],
    fixed_bytes: int,
    dump_bytes: int,
) -> dict[str, Any]:
    m = {name: statistics.median(values) for name, values in samples.items()}
    small, fixed = m["small_restore"] + m["small_verify"], m["fixed_restore"] + m["fixed_verify"]
    actual = m["drill"] + m["verify"]
    total = predict(sizes["small"], small, fixed, sizes["big"], fixed_bytes, actual)
    previous = objectives.predict_restore(sizes["small"], small, fixed, sizes["big"])
    return {
        "label": path.label,
        "format": path.format,
        "jobs": path.jobs,
        "dump_bytes": dump_bytes,
        "raw_seconds": m["raw"],
        "drill_restore_seconds": m["drill"],
        "drill_verify_seconds": m["verify"],
        "drill_restore_over_raw": m["drill"] / m["raw"],
        "verify_over_restore": m["verify"] / m["drill"],
        "restore_mib_per_second": sizes["big"] / 1024**2 / m["drill"],
        "prediction": {
            "from_bytes": sizes["small"],
            "from_seconds": small,
            "fixed_seconds": fixed,
            "fixed_bytes": fixed_bytes,
            **total,
            "phases": {
                "restore": phase(
                    sizes["small"],
                    m["small_restore"],
                    m["fixed_restore"],
                    sizes["big"],
                    fixed_bytes,
                    m["drill"],
                ),
                "verify": phase(
                    sizes["small"],
                    m["small_verify"],
                    m["fixed_verify"],
                    sizes["big"],
                    fixed_bytes,
                    m["verify"],
                ),
            },
            # the previous model's main bias: the empty schema's bytes counted as data
            "error_if_empty_schema_counted_as_data": (previous.predicted_seconds - actual) / actual,
        },
        "targets_met": {
            "drill_restore_le_1.05x_raw": m["drill"] <= 1.05 * m["raw"],
            "verify_le_0.30x_restore": m["verify"] <= 0.30 * m["drill"],
            "prediction_within_10_percent": abs(total["error"]) <= PREDICTION_TARGET,
        },
        "samples": samples,
    }


def assumptions(storage: str, jobs: int) -> dict[str, str]:
    return {
        "storage": f"cluster data on {storage} (fsync=off, as the drills); the page cache "
        "absorbs the writes, each timed run starts after CHECKPOINT and sync",
        "network": "none: dumps are local files (read from the page cache), the server is on "
        "loopback; a production restore adds the backup's transfer (its size / bandwidth)",
        "parallelism": f"guide's path: psql, 1 stream; corrected path: pg_restore -j {jobs}; "
        f"verification on 2 connections; {os.cpu_count()} cores, shared with whatever else runs",
        "model": "per path, the line through two points measured in this run: the schema alone "
        "restored and verified by that path (fixed cost, and the empty database's bytes), and "
        "the --predict-from-mb database; linear in bytes beyond the empty schema's",
    }


def run(size_mb: float, predict_from_mb: float, repeat: int, jobs: int) -> dict[str, Any]:
    """The whole benchmark; its dumps are removed with the cluster, also after a failure."""
    work = Path(tempfile.mkdtemp(prefix="runbook-bench-"))
    try:
        return measure(work, size_mb, predict_from_mb, repeat, jobs)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure(
    work: Path, size_mb: float, predict_from_mb: float, repeat: int, jobs: int
) -> dict[str, Any]:
    # autovacuum off: its background work after one restore would land on the next one's clock
    # on the disk, not the RAM disk drills use: throughput figures must include disk I/O
    disk = Path(os.environ.get("RUNBOOK_PG_TMPDIR") or tempfile.gettempdir())
    paths = (rto.RestorePath(rto.GUIDE, "plain", 1), rto.corrected_path(jobs))
    with embedded_cluster({"autovacuum": "off"}, parent=disk) as server:
        storage = storage_of(server.extras["datadir"])
        progress(f"seeding {predict_from_mb:g} MB and {size_mb:g} MB databases on {storage}")
        sizes = {"small": seed(server, "bench_small", predict_from_mb)}
        sizes["big"] = seed(server, "bench_big", size_mb)
        dumps: dict[str, dict[str, Path]] = {}
        for path in paths:
            dumps[path.format] = {}
            for size in ("small", "big"):
                (work / f"{size}-{path.format}").mkdir()
                dumps[path.format][size] = take_logical_backup(
                    server,
                    f"bench_{size}",
                    work / f"{size}-{path.format}",
                    datetime.now(UTC),
                    path.format,
                ).path
        sources = {size: verify.fingerprint(server, f"bench_{size}") for size in ("small", "big")}
        samples: dict[str, dict[str, list[float]]] = {
            p.format: {name: [] for name in SAMPLES} for p in paths
        }
        fixed_bytes: dict[str, list[int]] = {p.format: [] for p in paths}
        for round_number in range(1, repeat + 1):
            for path in paths if round_number % 2 else tuple(reversed(paths)):
                progress(
                    f"round {round_number}/{repeat}, {path.label}: small restore+verify, "
                    "schema alone, raw, drill restore, drill verification"
                )
                fixed_bytes[path.format].append(
                    measure_round(
                        server, path, dumps[path.format], sources, work, samples[path.format]
                    )
                )
        copy_mib_s = copy_rate(server, "bench_big")
    return {
        "size_mb_requested": size_mb,
        "predict_from_mb_requested": predict_from_mb,
        "database_bytes": sizes["big"],
        "from_bytes": sizes["small"],
        "repeat": repeat,
        "storage": storage,
        "single_copy_mib_per_second": copy_mib_s,
        "physical_limit_mib_per_second": copy_mib_s * jobs,
        "assumptions": assumptions(storage, jobs),
        "paths": {
            ("guide" if p.name == rto.GUIDE else "corrected"): summarise(
                p,
                samples[p.format],
                sizes,
                int(statistics.median(fixed_bytes[p.format])),
                dumps[p.format]["big"].stat().st_size,
            )
            for p in paths
        },
    }


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def percent(error: float | None) -> str:
    return "n/a" if error is None else f"{error:+.1%}"


def report(result: dict[str, Any], output: Path) -> None:
    print(
        f"database {result['database_bytes'] / 1024**2:.0f} MiB predicted from "
        f"{result['from_bytes'] / 1024**2:.0f} MiB, on {result['storage']}, "
        f"median of {result['repeat']}"
    )
    for path in result["paths"].values():
        p = path["prediction"]
        raw_tool = "psql -f" if path["format"] == "plain" else f"pg_restore -j {path['jobs']}"
        print(f"  {path['label']} (dump {path['dump_bytes'] / 1024**2:.0f} MiB)")
        print(f"    raw {raw_tool:<16}{path['raw_seconds']:8.2f} s")
        print(
            f"    drill restore       {path['drill_restore_seconds']:8.2f} s   "
            f"{path['drill_restore_over_raw']:.3f} x raw (target <= 1.05)"
        )
        print(
            f"    drill verification  {path['drill_verify_seconds']:8.2f} s   "
            f"{path['verify_over_restore']:.3f} x restore (target <= 0.30)"
        )
        print(
            f"    prediction          {p['predicted_seconds']:8.2f} s vs actual "
            f"{p['actual_seconds']:.2f} s ({p['error']:+.1%}, target within +-10%; restore "
            f"{percent(p['phases']['restore']['error'])}, verify {percent(p['phases']['verify']['error'])}; "
            f"empty schema counted as data {p['error_if_empty_schema_counted_as_data']:+.1%})"
        )
    print(
        f"  single COPY {result['single_copy_mib_per_second']:.1f} MiB/s "
        f"(x jobs = {result['physical_limit_mib_per_second']:.1f} MiB/s)"
    )
    for name, text in result["assumptions"].items():
        print(f"  assumes {name}: {text}")
    print(f"  written to {output}")


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
        help="pg_restore parallel jobs of the corrected path (default: cores, max 4)",
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
    report(result, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())

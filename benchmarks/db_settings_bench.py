"""The database connection settings of tracker/db.py, measured: SQLite's per-connection pragmas
(`mmap_size`, `cache_size`, `temp_store`) and psycopg's server-side prepared statements
(`prepare_threshold`) on PostgreSQL. See benchmarks/README.md.

    python benchmarks/db_settings_bench.py --database-url sqlite:////tmp/bench/100k.sqlite3
    python benchmarks/db_settings_bench.py --database-url postgresql://.../tracker_100k

Point it at a database filled by `tracker demo --patients N` (as benchmarks/run.py builds
them, with its environment). For each variant it builds the app in this process, sends the
same sampled eligibility checks and pharmacy lookups through Flask's test client (no HTTP),
and reports per request the CPU of this process and the wall time (which on PostgreSQL also
holds the server's work and the round trips). Each variant runs `--rounds` times, variants
interleaved, and the best round counts, since the machine may be shared. It measures, and
asserts nothing."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

import run  # noqa: E402  - the benchmark command's helpers (environment, samples)

import tracker.db  # noqa: E402

NO_TUNING: dict[str, str] = {}
SQLITE_VARIANTS: dict[str, dict[str, str]] = {
    "WAL + NORMAL only": NO_TUNING,
    "cache_size 64 MiB": {"cache_size": "-65536"},
    "mmap_size 1 GiB": {"mmap_size": str(1 << 30)},
    "temp_store memory": {"temp_store": "MEMORY"},
    "all three": {"cache_size": "-65536", "mmap_size": str(1 << 30), "temp_store": "MEMORY"},
}
PG_VARIANTS: dict[str, int | None] = {
    "no prepared statements": None,
    "prepared after 5 uses (psycopg default)": 5,
    "prepared at the first use": 0,
}


def measure(env: dict[str, str], requests: int) -> dict[str, float]:
    """CPU and wall milliseconds per request, eligibility and lookup, in this process."""
    out: dict[str, float] = {}
    with run.app_for(env) as app:
        # The app sets its loggers up when it is made: quiet the request log after that.
        for name in ("tracker", "tracker.request"):
            logging.getLogger(name).setLevel(logging.WARNING)
        sample = run.samples(app, seed=2026)
        https = {"base_url": "https://localhost"}
        for name in ("eligibility", "lookup"):
            client = app.test_client()
            todo = sample[name][:requests]
            for path, token in todo[:20]:  # warm: tokens' use recorded, caches filled
                client.get(path, headers={"Authorization": "Bearer " + token}, **https)
            cpu, wall = time.process_time(), time.perf_counter()
            for path, token in todo:
                answer = client.get(path, headers={"Authorization": "Bearer " + token}, **https)
                if answer.status_code != 200:
                    raise SystemExit(f"{path}: {answer.status_code}")
            out[f"{name} cpu"] = (time.process_time() - cpu) / len(todo) * 1000
            out[f"{name} wall"] = (time.perf_counter() - wall) / len(todo) * 1000
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--instance", type=Path, default=BENCH.parent / "instance-bench")
    args = parser.parse_args()
    env = run.environment(args.database_url, args.instance)
    sqlite = args.database_url.startswith("sqlite")
    variants: dict[str, Any] = SQLITE_VARIANTS if sqlite else PG_VARIANTS
    best: dict[str, dict[str, float]] = {}
    for round_ in range(args.rounds):
        for name, value in variants.items():
            if sqlite:
                tracker.db.SQLITE_TUNING = value
            else:
                tracker.db.PG_PREPARE_THRESHOLD = value
            got = measure(env, args.requests)
            run.log(f"round {round_ + 1} {name}: " + ", ".join(
                f"{k} {v:.2f} ms" for k, v in got.items()))
            mine = best.setdefault(name, got)
            for key, ms in got.items():
                mine[key] = min(mine[key], ms)
    print(f"\n{args.database_url.split('@')[-1]}; load average {os.getloadavg()[0]:.1f}; "
          f"best of {args.rounds} rounds of {args.requests} requests each")
    print("| variant | eligibility CPU | eligibility wall | lookup CPU | lookup wall |")
    print("|---|---:|---:|---:|---:|")
    for name, got in best.items():
        print(f"| {name} | {got['eligibility cpu']:.2f} ms | {got['eligibility wall']:.2f} ms "
              f"| {got['lookup cpu']:.2f} ms | {got['lookup wall']:.2f} ms |")


if __name__ == "__main__":
    main()

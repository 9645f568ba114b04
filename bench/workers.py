"""Throughput of worker processes: runs/s with 1, 2 and 4 workers, on SQLite and PostgreSQL.

    python bench/workers.py [--runs 300] [--concurrency 8] [--pg postgresql://...]

Submits RUNS runs of ``bench.worker_flows:IoChain`` (5 steps of 10 ms simulated
I/O each), starts K ``durable-flows worker`` processes and times until every
run has completed. Then one supervised worker (the default: a parent and a
child process) against one ``--single-process`` worker, side by side. PostgreSQL is measured when --pg or DURABLE_FLOWS_TEST_PG
names a server (a fresh schema per measurement).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


async def submit(url: str, runs: int) -> None:
    sys.path.insert(0, str(ROOT))
    from bench.worker_flows import IoChain
    from durable_flows import open_store

    store = open_store(url)
    wf = IoChain(store=store, timeout=None)
    await asyncio.gather(*(wf.submit() for _ in range(runs)))
    await store.close()


async def wait_done(url: str, runs: int) -> None:
    from durable_flows import open_store

    store = open_store(url)
    while True:
        done = len(await store.list_runs(status="completed"))
        if done >= runs:
            break
        await asyncio.sleep(0.05)
    await store.close()


def measure(url: str, workers: int, runs: int, concurrency: int, *extra: str) -> float:
    asyncio.run(submit(url, runs))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "durable_flows.cli",
                "worker",
                "--workflow",
                "bench.worker_flows:IoChain",
                "--db",
                url,
                "--concurrency",
                str(concurrency),
                *extra,
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    try:
        asyncio.run(wait_done(url, runs))
        elapsed = time.perf_counter() - start
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=60)
    return runs / elapsed


async def create_journal(url: str) -> None:
    from durable_flows import open_store

    store = open_store(url)
    await store.open()
    await store.close()


def measure_started(runs: int, concurrency: int, *extra: str) -> tuple[float, float]:
    """(seconds until one worker is started, runs/s once it is): start-up apart from throughput."""
    folder = Path(tempfile.mkdtemp())
    url, health = str(folder / "workers.db"), folder / "health.json"
    asyncio.run(create_journal(url))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "durable_flows.cli", "worker", "--workflow", "bench.worker_flows:IoChain",
         "--db", url, "--concurrency", str(concurrency), "--health-file", str(health), *extra],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        while not health.exists():
            if proc.poll() is not None:
                raise RuntimeError(f"the worker exited with status {proc.returncode}")
            time.sleep(0.01)
        started = time.perf_counter() - t0
        t1 = time.perf_counter()
        asyncio.run(submit(url, runs))
        asyncio.run(wait_done(url, runs))
        return started, runs / (time.perf_counter() - t1)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


async def drop_schemas(dsn: str, schemas: list[str]) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        for schema in schemas:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--pg", default=os.environ.get("DURABLE_FLOWS_TEST_PG"))
    args = parser.parse_args()
    stores = {"SQLite": lambda: str(Path(tempfile.mkdtemp()) / "workers.db")}
    if args.pg:
        sep = "&" if "?" in args.pg else "?"
        stores["PostgreSQL"] = lambda: f"{args.pg}{sep}schema=df_bench_{uuid.uuid4().hex[:8]}"
    print(
        f"{args.runs} runs of 5 steps (10 ms simulated I/O each), --concurrency {args.concurrency} per worker"
    )
    print("(worker start-up, about 0.5 s per process, is included in the time)\n")
    print("| store | 1 worker | 2 workers | 4 workers |")
    print("|---|---|---|---|")
    for name, url_for in stores.items():
        urls = [url_for() for _ in (1, 2, 4)]
        try:
            figures = [
                measure(url, k, args.runs, args.concurrency)
                for url, k in zip(urls, (1, 2, 4), strict=True)
            ]
        finally:
            if name == "PostgreSQL":
                asyncio.run(drop_schemas(args.pg, [u.rsplit("schema=", 1)[1] for u in urls]))
        print(f"| {name} | " + " | ".join(f"{f:,.0f} runs/s" for f in figures) + " |", flush=True)
    # The supervisor (default) against one process (--single-process), one worker: start-up
    # (until its health file appears) apart from throughput once started (submits included).
    (s_up, single), (p_up, supervised) = (
        measure_started(args.runs, args.concurrency, *extra) for extra in (["--single-process"], [])
    )
    print("\n| SQLite, 1 worker | --single-process | supervised (default) | ratio |")
    print("|---|---|---|---|")
    print(f"| start-up | {s_up:.2f} s | {p_up:.2f} s | {p_up / s_up:.2f}x |")
    print(f"| runs/s once started | {single:,.0f} | {supervised:,.0f} | {supervised / single:.2f}x |")


if __name__ == "__main__":
    main()

"""Work the benchmark does in a separate process (``python -m bench._child TASK ...``).

Separate processes give clean memory figures and journals written by a process
that has since exited, as after a deploy or a crash. Each task prints one JSON
object on its last stdout line.

Tasks:
    waiting DB RUNS TICKS   start RUNS HumanFlow runs that loop TICKS times and
                            then wait for an answer; exit once all are waiting.
                            With ``--entries E`` instead of TICKS, pick TICKS so
                            that one run has about E journal entries.
    memory DB EVENTS        run one LoopFlow of EVENTS events; report peak RSS
                            (``--trace``: tracemalloc peak instead).
    idle DB                 open the store of DB and list its runs, resuming
                            nothing; report the memory still held afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import resource
import sys
import time
import tracemalloc
from typing import Any

from .harness import TIMEOUT
from .workloads import define


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _rss_mb() -> float:
    return _status_mb("VmRSS")


def _peak_rss_mb() -> float:
    """Peak RSS of this process image.

    Not ``getrusage().ru_maxrss``: Linux carries the forked parent's high-water
    mark over ``exec`` into it, so a child of a big benchmark process would
    report the parent's size.
    """
    peak = _status_mb("VmHWM")
    if peak != peak:  # no /proc: fall back, with the caveat above
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return peak


async def _park(ns: Any, store: Any, runs: int, ticks: int) -> list[str]:
    """Start ``runs`` HumanFlow runs and return their ids once all wait for an answer."""
    wf = ns.HumanFlow(timeout=TIMEOUT, store=store)
    handlers = [wf.run(start_event=ns.LoopStart(n=ticks)) for _ in range(runs)]
    ids = [h.run_id for h in handlers]
    while True:
        await asyncio.sleep(0.02)
        for h in handlers:
            if h.is_done():
                await h  # a run that ended instead of waiting: let it raise
        waiting = await store.list_runs(status="waiting", workflow=wf.workflow_name)
        if len({r.run_id for r in waiting} & set(ids)) == runs:
            return ids


async def waiting(
    db: str, runs: int, ticks: int, entries: int | None, trace: bool
) -> dict[str, Any]:
    ns = define("durable_flows")
    if entries is not None:
        ticks = await _ticks_for(ns, db + ".calibrate", entries)
    store = ns.api.SqliteStore(db)
    await store.open()
    if trace:
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
    t0 = time.perf_counter()
    ids = await _park(ns, store, runs, ticks)
    seconds = time.perf_counter() - t0
    out: dict[str, Any] = {"run_ids": ids, "ticks": ticks, "seconds": seconds}
    info = await store.get_run(ids[0])
    out["entries"] = info.last_seq
    if trace:
        gc.collect()
        out["held_bytes_per_parked_run"] = (tracemalloc.get_traced_memory()[0] - before) / runs
        tracemalloc.stop()
    await store.close()
    return out


async def _ticks_for(ns: Any, scratch: str, entries: int) -> int:
    """Ticks that give one HumanFlow run about ``entries`` journal entries."""
    store = ns.api.SqliteStore(scratch)
    await store.open()
    counts = []
    for ticks in (10, 20):
        (rid,) = await _park(ns, store, 1, ticks)
        counts.append((await store.get_run(rid)).last_seq)
    await store.close()
    _remove_db(scratch)
    per_tick = (counts[1] - counts[0]) / 10
    overhead = counts[0] - 10 * per_tick
    return max(1, math.ceil((entries - overhead) / per_tick))


def _remove_db(path: str) -> None:
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)


async def memory(db: str, events: int, trace: bool) -> dict[str, Any]:
    ns = define("durable_flows")
    store = ns.api.SqliteStore(db)
    await store.open()
    wf = ns.LoopFlow(timeout=TIMEOUT, store=store)
    await wf.run(start_event=ns.LoopStart(n=10))  # warm: first pages, schema caches
    gc.collect()
    base = _rss_mb()
    if trace:
        tracemalloc.start()
    t0 = time.perf_counter()
    result = await wf.run(start_event=ns.LoopStart(n=events))
    seconds = time.perf_counter() - t0
    assert result == events, result
    out: dict[str, Any] = {"seconds": seconds, "rss_before_mb": base}
    if trace:
        out["trace_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    else:
        out["rss_peak_mb"] = _peak_rss_mb()
    await store.close()
    return out


async def idle(db: str) -> dict[str, Any]:
    gc.collect()
    tracemalloc.start()
    ns = define("durable_flows")
    store = ns.api.SqliteStore(db)
    await store.open()
    wf = ns.HumanFlow(timeout=TIMEOUT, store=store)
    listed = await store.list_runs(status="waiting", workflow=wf.workflow_name)
    count = len(listed)
    del listed
    # aiosqlite's thread keeps the last fetchall() result alive until its next
    # call; one small query releases the listing (it is not per-run state).
    await store.get_run("no such run")
    gc.collect()
    held = tracemalloc.get_traced_memory()[0]
    await store.close()
    return {"waiting_runs": count, "held_bytes": held, "rss_mb": _rss_mb()}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench._child")
    sub = parser.add_subparsers(dest="task", required=True)
    p = sub.add_parser("waiting")
    p.add_argument("db")
    p.add_argument("runs", type=int)
    p.add_argument("ticks", type=int)
    p.add_argument("--entries", type=int)
    p.add_argument("--trace", action="store_true")
    p = sub.add_parser("memory")
    p.add_argument("db")
    p.add_argument("events", type=int)
    p.add_argument("--trace", action="store_true")
    p = sub.add_parser("idle")
    p.add_argument("db")
    args = parser.parse_args(argv)
    if args.task == "waiting":
        out = asyncio.run(waiting(args.db, args.runs, args.ticks, args.entries, args.trace))
    elif args.task == "memory":
        out = asyncio.run(memory(args.db, args.events, args.trace))
    else:
        out = asyncio.run(idle(args.db))
    out["durable_flows"] = sys.modules["durable_flows"].__file__
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])

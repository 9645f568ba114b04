"""Figures only a durable engine has: resume, recover, memory of waiting runs, journal size.

Parked runs are made by a child process (``bench._child``) that exits before
the measurement, so the measuring process starts from nothing but the file, as
a process started after a deploy or a crash would. Each repetition works on a
fresh copy of that file.

The parked run is written with the default ``snapshot_every``, so its resume
replays from its latest snapshot (the report notes where that is).

How "ready to continue" is observed: the store's ``append`` is wrapped
(:class:`~.harness.CommitWatch`) and the clock stops when the run's first
append after ``resume`` (the ``resumed`` record and the status update) has
committed. By then the journal has been read and replayed, the lease is held,
the inbox has been read and the loop is about to wait for input; the answer
is then sent and the run must finish with it (checked, not timed).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .harness import TIMEOUT, CommitWatch, Config, Results, journal_stats, kind_sizes, need
from .workloads import define

ROOT = Path(__file__).resolve().parent.parent
FULL = {
    "resume_entries": 10_000,
    "recover_runs": 1000,
    "memory_events": 100_000,
    "journal_events": 5000,
}
QUICK = {"resume_entries": 300, "recover_runs": 20, "memory_events": 1000, "journal_events": 100}
DF = "durable_flows"


def sizes(cfg: Config) -> dict[str, int]:
    return QUICK if cfg.quick else FULL


def child(*args: str) -> dict[str, Any]:
    """Run ``python -m bench._child ARGS`` and return its JSON line."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [os.environ.get("PYTHONPATH"), str(ROOT)])),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "bench._child", *args],
        cwd=ROOT / "bench",  # not ROOT: python -m puts the cwd first on sys.path
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"bench._child {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def _copy(template: Path, dest: Path) -> Path:
    for suffix in ("", "-wal"):
        if os.path.exists(f"{template}{suffix}"):
            shutil.copyfile(f"{template}{suffix}", f"{dest}{suffix}")
    return dest


async def resume(cfg: Config, res: Results) -> None:
    """Time from ``wf.resume(run_id)`` until a ~10k-entry run waits for input again."""
    want = sizes(cfg)["resume_entries"]
    template = cfg.tmp / "resume-template.db"
    made = child("waiting", str(template), "1", "0", "--entries", str(want))
    run_id, entries = made["run_ids"][0], made["entries"]
    name = f"resume ({entries} entries)"
    ns = define(DF)
    info = await _run_info(ns, _copy(template, cfg.tmp / "resume-look.db"), run_id)
    if info.snapshot_seq:  # written with the default snapshot_every
        res.note(
            f"{name}: replays from the snapshot at seq {info.snapshot_seq}, "
            f"{info.last_seq - info.snapshot_seq + 1} entries"
        )
    else:
        res.note(f"{name}: no snapshot in the journal, the resume replays all of it")
    for rep in range(cfg.reps + 1):  # the first one warms imports and caches
        path = _copy(template, cfg.tmp / f"resume-{rep}.db")
        store = ns.api.SqliteStore(str(path), synchronous=cfg.synchronous)
        await store.open()
        watch = CommitWatch(store)
        wf = ns.HumanFlow(timeout=TIMEOUT, store=store)
        watch.arm(1)
        t0 = time.perf_counter()
        handler = wf.resume(run_id)
        await asyncio.wait_for(watch.all_done.wait(), 120)
        ready = watch.first[run_id] - t0
        await store.send_event(run_id, ns.HumanResponseEvent(response="yes"))
        assert await asyncio.wait_for(handler, 60) == "yes"
        await store.close()
        if rep:
            res.add(
                name,
                "ms until ready",
                DF,
                ready * 1000,
                higher=False,
                ratio=False,
                target="< 200 ms",
                check=need(maximum=200),
            )


async def _run_info(ns: Any, path: Path, run_id: str) -> Any:
    store = ns.api.SqliteStore(str(path))
    try:
        return await store.get_run(run_id)
    finally:
        await store.close()


async def recover(cfg: Config, res: Results) -> None:
    """Time for ``wf.recover()`` over N waiting runs, until every run waits again."""
    n = sizes(cfg)["recover_runs"]
    template = cfg.tmp / "recover-template.db"
    made = child("waiting", str(template), str(n), "1", "--trace")
    held = made["held_bytes_per_parked_run"]
    res.add(
        "waiting run, in the process that started it",
        "bytes held per run",
        DF,
        held,
        higher=False,
        ratio=False,
    )
    ns = define(DF)
    name = f"recover() {n} waiting runs"
    for rep in range(cfg.reps):
        path = _copy(template, cfg.tmp / f"recover-{rep}.db")
        store = ns.api.SqliteStore(str(path), synchronous=cfg.synchronous)
        await store.open()
        watch = CommitWatch(store)
        wf = ns.HumanFlow(timeout=TIMEOUT, store=store)
        watch.arm(n)
        t0 = time.perf_counter()
        handlers = await wf.recover()
        returned = time.perf_counter() - t0
        await asyncio.wait_for(watch.all_done.wait(), 300)
        ready = max(watch.first.values()) - t0
        assert len(handlers) == n, len(handlers)
        await store.close()
        res.add(name, "s until recover() returns", DF, returned, higher=False, ratio=False)
        res.add(
            name,
            "s until all ready",
            DF,
            ready,
            higher=False,
            ratio=False,
            target="< 5 s",
            check=need(maximum=5),
        )
    empty = cfg.tmp / "idle-empty.db"
    child("waiting", str(empty), "1", "1")  # one run, so the schema and pages exist
    idle_full = child("idle", str(_copy(template, cfg.tmp / "idle-full.db")))
    idle_empty = child("idle", str(empty))
    per_run = (idle_full["held_bytes"] - idle_empty["held_bytes"]) / max(1, n - 1)
    res.add(
        "waiting run, in a process that has not resumed it",
        "bytes held per run",
        DF,
        per_run,
        higher=False,
        ratio=False,
        target="~0",
        check=need(maximum=512),
    )


async def memory(cfg: Config, res: Results) -> None:
    """Peak memory of one run of N events (a loop), in a fresh process."""
    n = sizes(cfg)["memory_events"]
    name = f"memory, one run of {n} events"
    # Both children at once: only their memory is reported, not their speed.
    rss, traced = await asyncio.gather(
        asyncio.to_thread(child, "memory", str(cfg.tmp / "memory-rss.db"), str(n)),
        asyncio.to_thread(child, "memory", str(cfg.tmp / "memory-trace.db"), str(n), "--trace"),
    )
    res.add(
        name,
        "peak RSS MB (process)",
        DF,
        rss["rss_peak_mb"],
        higher=False,
        ratio=False,
        target="< 200 MB",
        check=need(maximum=200),
    )
    res.add(name, "RSS MB before the run", DF, rss["rss_before_mb"], higher=False, ratio=False)
    res.add(
        name, "tracemalloc peak MB (run)", DF, traced["trace_peak_mb"], higher=False, ratio=False
    )
    stats = journal_stats(cfg.tmp / "memory-rss.db")
    res.add(
        name,
        "journal bytes per event (file)",
        DF,
        stats["file_bytes"] / n,
        higher=False,
        ratio=False,
    )


async def journal(cfg: Config, res: Results) -> None:
    """Bytes per event of a loop run, and which record kinds they go to."""
    n = sizes(cfg)["journal_events"]
    ns = define(DF)
    path = cfg.tmp / "journal.db"
    store = ns.api.SqliteStore(str(path), synchronous=cfg.synchronous)
    await store.open()
    await ns.LoopFlow(timeout=TIMEOUT, store=store).run(start_event=ns.LoopStart(n=n))
    await store.close()
    stats = journal_stats(path)
    name = f"journal, loop of {n} events"
    res.add(
        name,
        "bytes per event (file / events)",
        DF,
        stats["file_bytes"] / n,
        higher=False,
        ratio=False,
        target="small",
    )
    res.add(
        name,
        "bytes per entry (file / entries)",
        DF,
        stats["bytes_per_entry"],
        higher=False,
        ratio=False,
    )
    res.add(
        name, "payload bytes per entry", DF, stats["payload_per_entry"], higher=False, ratio=False
    )
    res.add(name, "entries per event", DF, stats["entries"] / n, higher=False, ratio=False)
    res.note(f"{name}: entries by kind [count, avg payload bytes]: {json.dumps(kind_sizes(path))}")

"""CPU of the SQLite writer thread per journal entry, with many runs writing at once.

    python bench/writer_cpu.py                       # 300 chain runs at once, 5 reps
    python bench/writer_cpu.py --runs 100 --reps 3
    python bench/writer_cpu.py --baseline /path/src  # alternate with the durable_flows at that path

Each repetition opens a fresh SQLite store (synchronous=FULL), starts ``--runs``
runs of a 10-step chain at once, and prints their throughput (runs/s), the
writer thread's CPU time per journal entry (``time.thread_time`` around its
loop: SQL, hashing, everything it does) and the writer's commits. Thread CPU
time is steadier than throughput on a shared machine: other processes take
wall time, not this thread's CPU. Concurrent runs are where the writer is
busiest: one event loop and the writer share the GIL, so what the writer
spends in Python and in SQLite adds to every run's time.

``--baseline`` runs the same repetitions, alternating, in a subprocess with that
tree first on PYTHONPATH, under its own ``.venv/bin/python`` when it has one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

STEPS = 10


def _patch_writer(cpu: list[float]) -> None:
    """Record the CPU time of each writer thread's loop (both module layouts)."""
    try:
        from durable_flows.storage.sqlite import writer as module
    except ImportError:  # trees before storage/sqlite/ existed
        from durable_flows.storage import _writer as module  # type: ignore[no-redef]
    serve = module.Writer._serve

    def timed(self: Any, conn: Any) -> None:
        began = time.thread_time()
        try:
            serve(self, conn)
        finally:
            cpu.append(time.thread_time() - began)

    module.Writer._serve = timed  # type: ignore[method-assign]


def _chain() -> Any:
    """A workflow of STEPS steps, each handing one event to the next."""
    from durable_flows.decorators import step
    from durable_flows.events import Event, StartEvent, StopEvent
    from durable_flows.workflow import Workflow

    hops = []
    for i in range(STEPS - 1):
        cls = type(f"Hop{i}", (Event,), {"__module__": __name__})
        globals()[cls.__name__] = cls  # importable by name, as journaled events must be
        hops.append(cls)
    body: dict[str, Any] = {}

    def make(i: int) -> Any:
        takes = StartEvent if i == 0 else hops[i - 1]
        gives = StopEvent if i == STEPS - 1 else hops[i]

        async def hop(self: Any, ev: Any) -> Any:
            return gives(result="done") if gives is StopEvent else gives()

        hop.__name__ = f"hop{i}"
        hop.__qualname__ = f"WriterCpuChain.hop{i}"  # a method, not a free function
        hop.__annotations__ = {"ev": takes, "return": gives}
        return step(hop)

    for i in range(STEPS):
        body[f"hop{i}"] = make(i)
    return type("WriterCpuChain", (Workflow,), body)


async def _rep(runs: int, folder: Path) -> dict[str, float]:
    from durable_flows import SqliteStore

    cpu: list[float] = []
    _patch_writer(cpu)
    flow = _chain()
    path = folder / f"w{time.monotonic_ns()}.db"
    store = SqliteStore(str(path))
    await store.open()
    try:
        wf = flow(timeout=120, store=store)
        began = time.perf_counter()
        results = await asyncio.gather(*(wf.run() for _ in range(runs)))
        took = time.perf_counter() - began
        assert results == ["done"] * runs, results[:3]
        commits = float(getattr(store._writer, "_commits", 0))
    finally:
        await store.close()
    conn = sqlite3.connect(path)
    entries = conn.execute("SELECT count(*) FROM journal").fetchone()[0]
    conn.close()
    return {
        "runs_per_s": runs / took,
        "writer_us_per_entry": cpu[-1] / entries * 1e6,
        "commits": commits,
    }


def _child(runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(asyncio.run(_rep(runs, Path(tmp)))))


def _run(runs: int, tree: str | None) -> dict[str, float]:
    env = dict(os.environ)
    python = sys.executable
    if tree is not None:
        env["PYTHONPATH"] = tree
        own = Path(tree) / ".venv" / "bin" / "python"
        python = str(own) if own.exists() else python
    out = subprocess.run(
        [python, str(Path(__file__).resolve()), "--child", "--runs", str(runs)],
        env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _median(xs: list[float]) -> str:
    return f"{statistics.median(xs):8.1f} [{min(xs):.1f} - {max(xs):.1f}]"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--baseline", help="a durable_flows source tree to alternate with")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.runs)
        return 0
    trees: list[tuple[str, str | None]] = [("this tree", None)]
    if args.baseline:
        trees.append(("baseline", args.baseline))
    got: dict[str, list[dict[str, float]]] = {name: [] for name, _ in trees}
    for _ in range(args.reps):
        for name, tree in trees:
            got[name].append(_run(args.runs, tree))
    print(f"{args.runs} chain runs of {STEPS} steps at once, {args.reps} reps (median [min - max])")
    for name, _ in trees:
        reps = got[name]
        print(
            f"{name:<10} runs/s {_median([r['runs_per_s'] for r in reps])}   "
            f"writer CPU us/entry {_median([r['writer_us_per_entry'] for r in reps])}   "
            f"commits {_median([r['commits'] for r in reps])}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

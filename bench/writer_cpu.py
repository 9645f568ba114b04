"""CPU of the SQLite writer thread per journal entry, with many runs writing at once.

    python bench/writer_cpu.py                       # 300 chain runs at once, 5 reps
    python bench/writer_cpu.py --runs 100 --reps 3
    python bench/writer_cpu.py --baseline /path/src  # alternate with the durable_flows at that path

Each repetition opens a fresh SQLite store (synchronous=FULL), starts ``--runs``
runs of a 10-step chain at once, and prints their throughput (runs/s), the
writer's CPU time per journal entry (``time.thread_time`` around its thread's
loop and around each batch it commits inline on the event loop: SQL, hashing,
everything it does), the inline share and the writer's commits. Thread CPU
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


#: CPU seconds of the writer's work in this repetition: its thread, and its inline
#: commits on the event loop (trees that have them).
_CPU = {"thread": 0.0, "inline": 0.0}


def _patch_writer() -> None:
    """Record the CPU time of the writer's work (both module layouts), once per process."""
    try:
        from durable_flows.storage.sqlite import writer as module
    except ImportError:  # trees before storage/sqlite/ existed
        from durable_flows.storage import _writer as module  # type: ignore[no-redef]
    if getattr(module.Writer, "_bench_timed", False):
        return
    serve = module.Writer._serve

    def timed(self: Any, conn: Any) -> None:
        began = time.thread_time()
        try:
            serve(self, conn)
        finally:
            _CPU["thread"] += time.thread_time() - began

    module.Writer._serve = timed  # type: ignore[method-assign]
    held = getattr(module.Writer, "_commit_held", None)
    if held is not None:  # batches committed inline, on the event loop's thread

        def timed_held(self: Any) -> None:
            began = time.thread_time()
            try:
                held(self)
            finally:
                _CPU["inline"] += time.thread_time() - began

        module.Writer._commit_held = timed_held  # type: ignore[method-assign]
    module.Writer._bench_timed = True  # type: ignore[attr-defined]


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

    _patch_writer()
    _CPU.update(thread=0.0, inline=0.0)
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
        "writer_us_per_entry": (_CPU["thread"] + _CPU["inline"]) / entries * 1e6,
        "inline_share": _CPU["inline"] / max(_CPU["thread"] + _CPU["inline"], 1e-9),
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
            f"inline {_median([r.get('inline_share', 0.0) for r in reps])}   "
            f"commits {_median([r['commits'] for r in reps])}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What ``await wf.submit()`` costs now that it returns only once the run is committed.

    python bench/submit.py [--runs 300] [--synchronous FULL|NORMAL]

Prints milliseconds per submit one after another (each waits for its own
commit) and runs per second when many are submitted at once (their commits
share the store's group commit), on a fresh SQLite file.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


async def measure(path: str, runs: int, synchronous: str) -> tuple[float, float]:
    sys.path.insert(0, str(ROOT))
    from bench.worker_flows import IoChain
    from durable_flows import SqliteStore

    store = SqliteStore(path, synchronous=synchronous)
    wf = IoChain(store=store, timeout=None)
    await wf.submit()  # open and migrate outside the timing
    start = time.perf_counter()
    for _ in range(runs):
        await wf.submit()
    sequential = (time.perf_counter() - start) / runs * 1000
    start = time.perf_counter()
    await asyncio.gather(*(wf.submit() for _ in range(runs)))
    concurrent = runs / (time.perf_counter() - start)
    await store.close()
    return sequential, concurrent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--synchronous", default="FULL", choices=["FULL", "NORMAL"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        seq, conc = asyncio.run(measure(str(Path(folder) / "submit.db"), args.runs, args.synchronous))
    print(f"submit, one after another: {seq:.2f} ms per run (synchronous={args.synchronous})")
    print(f"submit, {args.runs} at once: {conc:.0f} runs/s")


if __name__ == "__main__":
    main()

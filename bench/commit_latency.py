"""What one sequential commit costs on this disk, from the bare fsync up to ``store.append``.

    python bench/commit_latency.py            # 300 fsyncs / commits, 1000 appends
    python bench/commit_latency.py --n 100

Prints medians of: an ``os.fsync`` after a 600-byte append to a file; a one-row
SQLite commit in WAL mode at ``synchronous=FULL`` and ``NORMAL``; and
``SqliteStore.append`` of one chat turn's 4 entries (~150-byte payloads), one
after another: at ``EXTRA`` (every commit fsynced inside SQLite), at ``FULL``
as a caller's acknowledged write (it waits for the sync thread's fsync), at
``FULL`` with ``durable=False`` (what the engine waits for before it starts the
next step: the commit, not the fsync) and at ``NORMAL``. A sequential chain
(one step at a time, as a chat loop) pays the ``durable=False`` figure once
per step. The disk is shared: run it next to the benchmark whose time it explains.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path


def _ms(xs: list[float]) -> str:
    return f"median {statistics.median(xs) * 1e3:.3f} ms (p90 {sorted(xs)[int(len(xs) * 0.9)] * 1e3:.3f})"


def bare(folder: Path, n: int) -> None:
    fd = os.open(folder / "f", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        times = []
        for _ in range(n):
            os.write(fd, b"x" * 600)
            began = time.perf_counter()
            os.fsync(fd)
            times.append(time.perf_counter() - began)
    finally:
        os.close(fd)
    print(f"fsync after a 600-byte append            {_ms(times)}")
    for sync in ("FULL", "NORMAL"):
        con = sqlite3.connect(folder / f"{sync}.db", isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute(f"PRAGMA synchronous={sync}")
        con.execute("CREATE TABLE t(x)")
        times = []
        for _ in range(n):
            began = time.perf_counter()
            con.execute("BEGIN IMMEDIATE")
            con.execute("INSERT INTO t VALUES (?)", (b"x" * 600,))
            con.execute("COMMIT")
            times.append(time.perf_counter() - began)
        con.close()
        print(f"SQLite one-row commit, WAL, {sync:<6}        {_ms(times)}")


async def appends(folder: Path, sync: str, n: int, durable: bool = True) -> None:
    from durable_flows import SqliteStore
    from durable_flows.storage.rows import JournalEntry, NewRun

    def entry(seq: int, kind: str) -> JournalEntry:
        return JournalEntry("r", seq, kind, "s", "E", '{"x": "' + "m" * 100 + '"}', time.time(), "json")

    store = SqliteStore(folder / f"store-{sync}-{durable}.db", synchronous=sync)
    await store.open()
    try:
        lease = await store.create_run(NewRun("r", "W", "f"), [entry(1, "started")])
        seq, times = 1, []
        for _ in range(n):
            batch = [entry(seq + 1, "sent"), entry(seq + 2, "sent"), entry(seq + 3, "accepted"), entry(seq + 4, "completed")]
            began = time.perf_counter()
            await store.append(lease, batch, durable=durable)
            times.append(time.perf_counter() - began)
            seq += 4
    finally:
        await store.close()
    label = f"{sync}{'' if durable else ', durable=False'}"
    print(f"store.append of 4 entries, {label:<21}  {_ms(times)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=300, help="fsyncs and commits (appends: n x 10/3)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="df-commit-") as name:
        folder = Path(name)
        bare(folder, args.n)
        for sync, durable in (("EXTRA", True), ("FULL", True), ("FULL", False), ("NORMAL", True)):
            asyncio.run(appends(folder, sync, args.n * 10 // 3, durable))


if __name__ == "__main__":
    main()

"""Raw SQLite on this machine: what a durable engine is up against.

Plain ``sqlite3`` in this thread, WAL mode, a journal-like table with a text
primary key, each transaction ``BEGIN IMMEDIATE ... COMMIT``. Also the cost of
one round trip into aiosqlite's thread, which bounds any engine that makes one
such call per event.
"""

from __future__ import annotations

import os
import sqlite3
import time

import aiosqlite

from .harness import Config, Results

FULL = {"commits": 2000, "batches": 200, "roundtrips": 2000}
QUICK = {"commits": 50, "batches": 5, "roundtrips": 50}
PAYLOAD = '{"exec":12,"worker":0,"attempt":1,"event_seq":34}'
REF = "sqlite"


def _connect(path: str, synchronous: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS j (run_id TEXT, seq INTEGER, payload TEXT, "
        "PRIMARY KEY (run_id, seq)) WITHOUT ROWID"
    )
    return conn


def _commits(path: str, synchronous: str, commits: int, rows: int) -> float:
    """Seconds for ``commits`` transactions of ``rows`` inserts each."""
    conn = _connect(path, synchronous)
    seq = 0
    try:
        t0 = time.perf_counter()
        for _ in range(commits):
            conn.execute("BEGIN IMMEDIATE")
            batch = [("run", seq + i, PAYLOAD) for i in range(rows)]
            conn.executemany("INSERT INTO j VALUES (?, ?, ?)", batch)
            conn.execute("COMMIT")
            seq += rows
        return time.perf_counter() - t0
    finally:
        conn.close()
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)


async def sqlite(cfg: Config, res: Results) -> None:
    n = FULL if not cfg.quick else QUICK
    for rep in range(cfg.reps):
        for sync in ("FULL", "NORMAL"):
            path = str(cfg.tmp / f"raw-{sync}-{rep}.db")
            dt = _commits(path, sync, n["commits"], 1)
            name = f"SQLite 1 row per commit, synchronous={sync}"
            res.add(name, "commits/s", REF, n["commits"] / dt, ratio=False)
            res.add(name, "µs per commit", REF, dt / n["commits"] * 1e6, higher=False, ratio=False)
        path = str(cfg.tmp / f"raw-batch-{rep}.db")
        dt = _commits(path, "FULL", n["batches"], 100)
        res.add(
            "SQLite 100 rows per commit, synchronous=FULL",
            "rows/s",
            REF,
            n["batches"] * 100 / dt,
            ratio=False,
        )
        res.add(
            "aiosqlite round trip (SELECT 1)",
            "µs per await",
            REF,
            await _roundtrip(cfg, n["roundtrips"]) * 1e6,
            higher=False,
            ratio=False,
        )


async def _roundtrip(cfg: Config, count: int) -> float:
    conn = await aiosqlite.connect(str(cfg.tmp / "roundtrip.db"))
    try:
        await conn.execute_fetchall("SELECT 1")
        t0 = time.perf_counter()
        for _ in range(count):
            await conn.execute_fetchall("SELECT 1")
        return (time.perf_counter() - t0) / count
    finally:
        await conn.close()

"""What the audit trail costs and how fast search answers.

    python bench/audit.py chain  [--runs 200 --reps 5]   # hash chain cost per chain step
    python bench/audit.py writer [--steps 3000 --reps 7] # the writer's cost per step, no fsync
    python bench/audit.py search [--entries 1000000]     # search over a big journal

``chain`` runs the 10-step chain workflow on SQLite (synchronous=FULL) with
the writer's chain step as shipped, with it replaced by a no-op, and with
that and the search index's triggers and index dropped (the journal as it was before),
in alternating repetitions, and prints µs per step for each and the file
size per entry. Because the
machine is shared and a 2% difference drowns in its noise, it also times the
hashing itself on the very entries those runs journaled (entries per step
times µs per entry) and prints that as a share of a step.

``writer`` times the writer's transaction for one chain step's three
entries (BEGIN, the append job, COMMIT; synchronous=NORMAL: no fsync) with
no chain and no search index, with the chain, and with both, interleaved in
chunks of 100 steps; the fastest quarter of the chunks is the figure least
disturbed by other processes.

``search`` writes a journal of N entries (1,000 runs; payloads of random words,
a few entries mentioning "refund 42"), then times ``store.search`` for a rare
phrase, a common word and a filtered query (median of 20).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))

from bench.workloads import CHAIN_STEPS, define  # noqa: E402
from durable_flows.storage import SqliteStore  # noqa: E402
from durable_flows.storage.chain import chain_hashes  # noqa: E402
from durable_flows.storage.rows import JournalEntry, NewRun, SearchQuery  # noqa: E402
from durable_flows.storage.sqlite import jobs as _write_jobs  # noqa: E402


async def _chain_runs(path: Path, runs: int, search_index: bool = True) -> float:
    ns = define("durable_flows")
    from durable_flows.storage.sqlite.search_index import SearchIndexer

    due = SearchIndexer.due
    if not search_index:
        async with SqliteStore(path):
            pass
        conn = sqlite3.connect(path)
        _drop_search(conn)
        conn.close()
        SearchIndexer.due = lambda self, idle: False  # type: ignore[method-assign]
    try:
        async with SqliteStore(path) as store:
            flow = ns.ChainFlow(store=store, timeout=None)
            await flow.run()  # warm up
            start = time.perf_counter()
            for _ in range(runs):
                await flow.run()
            return (time.perf_counter() - start) / (runs * CHAIN_STEPS)
    finally:
        SearchIndexer.due = due  # type: ignore[method-assign]


def _drop_search(conn: sqlite3.Connection) -> None:
    """Take the search index's commit-path parts out of a journal (the journal
    as it was before the index): its triggers and the index of runs whose
    entries wait (runs_search_behind). The writer must not index either."""
    for trigger in ("delete", "update"):
        conn.execute(f"DROP TRIGGER journal_search_{trigger}")
    conn.execute("DROP INDEX runs_search_behind")


def _no_chain(prev: Any, entries: Any, key: Any) -> list[None]:
    return [None] * len(entries)


def bench_chain(runs: int, reps: int) -> None:
    shipped = _write_jobs.chain_hashes
    on: list[float] = []
    off: list[float] = []
    bare: list[float] = []  # no hash chain and no search index: the journal before issue 17
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(reps):
            for label, fn, out, index in (
                ("on", shipped, on, True), ("off", _no_chain, off, True), ("bare", _no_chain, bare, False),
            ):  # fmt: skip
                _write_jobs.chain_hashes = fn  # type: ignore[assignment]
                try:
                    out.append(asyncio.run(_chain_runs(Path(tmp) / f"{label}{rep}.db", runs, index)))
                finally:
                    _write_jobs.chain_hashes = shipped
        sizes = {label: (Path(tmp) / f"{label}0.db").stat().st_size for label in ("on", "bare")}
        conn = sqlite3.connect(Path(tmp) / "on0.db")
        rows = [JournalEntry(*r) for r in conn.execute(
            "SELECT run_id, seq, kind, step, event_type, payload, ts, codec FROM journal ORDER BY run_id, seq")]
        steps = runs + 1
    per_step_entries = len(rows) / (steps * CHAIN_STEPS)
    start = time.perf_counter()
    for _ in range(5):
        chain_hashes(None, rows, None)
    per_entry = (time.perf_counter() - start) / (5 * len(rows))
    m_on, m_off, m_bare = statistics.median(on), statistics.median(off), statistics.median(bare)
    hashing = per_entry * per_step_entries
    print(f"chain step, hashing on : {m_on * 1e6:7.1f} µs median, {min(on) * 1e6:7.1f} min; {[round(x * 1e6) for x in on]}")
    print(f"chain step, hashing off: {m_off * 1e6:7.1f} µs median, {min(off) * 1e6:7.1f} min; {[round(x * 1e6) for x in off]}")
    print(f"no chain, no search idx: {m_bare * 1e6:7.1f} µs median, {min(bare) * 1e6:7.1f} min; {[round(x * 1e6) for x in bare]}")
    print(f"chain on vs off        : {(m_on - m_off) / m_off * 100:+.1f}% (difference of medians, machine noise included)")
    print(f"chain + index vs bare  : {(m_on - m_bare) / m_bare * 100:+.1f}%")
    print(f"journal file after the first repetition: {sizes['on'] / len(rows):.0f} bytes per entry "
          f"with hashes and search index, {sizes['bare'] / len(rows):.0f} without")
    print(f"hashing itself         : {per_entry * 1e6:.2f} µs per entry x {per_step_entries:.1f} entries per step "
          f"= {hashing * 1e6:.1f} µs = {hashing / m_on * 100:.2f}% of a step")


def _step_rows(run_id: str, seq: int, i: int) -> list[JournalEntry]:
    """What one chain step journals: accepted, produced, completed."""
    return [
        JournalEntry(run_id, seq + 1, "accepted", f"step_{i % 10}", None,
                     f'{{"exec":{i},"worker":0,"attempt":1,"event_seq":{seq}}}', time.time()),
        JournalEntry(run_id, seq + 2, "produced", f"step_{i % 10}", "bench.workloads._DF.Chain4",
                     f'{{"exec":{i},"event":{{"_data":{{"n":{i}}}}}}}', time.time()),
        JournalEntry(run_id, seq + 3, "completed", f"step_{i % 10}", None,
                     f'{{"exec":{i},"attempt":1,"duration":0.000123}}', time.time()),
    ]  # fmt: skip


def bench_writer(steps: int, reps: int) -> None:
    """The writer's own work per chain step, in its thread's terms: one
    transaction per step (BEGIN IMMEDIATE, the append job, COMMIT; WAL,
    synchronous=NORMAL so no fsync), variants interleaved in chunks of 100
    steps so that load from other processes hits them alike."""
    from durable_flows.storage.rows import Lease
    from durable_flows.storage.sqlite.search_index import SearchIndexer
    from durable_flows.storage.sqlite.writer import open_write_connection

    variants = {"bare": (_no_chain, False), "chain": (chain_hashes, False), "chain+index": (chain_hashes, True)}
    shipped = _write_jobs.chain_hashes
    totals = {label: [] for label in variants}  # type: dict[str, list[float]]
    with tempfile.TemporaryDirectory() as tmp:
        conns, jobs, seqs = {}, {}, {}
        for label, (_, index) in variants.items():
            conn = open_write_connection(str(Path(tmp) / f"{label}.db"), "NORMAL", 5.0)
            if not index:
                _drop_search(conn)
            job = _write_jobs.WriteJobs("bench", 3600.0)
            conn.execute("BEGIN IMMEDIATE")
            job.create_run(conn, [], NewRun("r", "bench.Flow", "{}"), [])
            conn.execute("COMMIT")
            conns[label], jobs[label], seqs[label] = conn, job, 0
        lease = Lease("r", "bench", 1, 0.0)
        for _rep in range(reps):
            for chunk in range(0, steps, 100):
                for label, (fn, index) in variants.items():
                    _write_jobs.chain_hashes = fn  # type: ignore[assignment]
                    conn, job = conns[label], jobs[label]
                    indexer: SearchIndexer = job.indexer
                    start = time.perf_counter()
                    for i in range(chunk, min(chunk + 100, steps)):
                        conn.execute("BEGIN IMMEDIATE")
                        job.append(conn, [], lease, _step_rows("r", seqs[label], i), None, [])
                        conn.execute("COMMIT")
                        seqs[label] += 3
                        if index and indexer.due(idle=False):
                            conn.execute("BEGIN IMMEDIATE")
                            indexer.run(conn, idle=False)
                            conn.execute("COMMIT")
                    totals[label].append((time.perf_counter() - start) / (min(chunk + 100, steps) - chunk))
                    _write_jobs.chain_hashes = shipped
        for conn in conns.values():
            conn.close()
    best = {label: statistics.median(sorted(t)[: max(1, len(t) // 4)]) for label, t in totals.items()}
    for label, times in totals.items():
        print(f"writer, one chain step, {label:12s}: {best[label] * 1e6:6.1f} µs "
              f"(median of the fastest quarter of {len(times)} chunks; all-chunk median "
              f"{statistics.median(times) * 1e6:.1f})")
    print(f"hash chain adds {(best['chain'] - best['bare']) * 1e6:.1f} µs per step, "
          f"search index {(best['chain+index'] - best['chain']) * 1e6:.1f} µs more")


WORDS = [f"w{i}" for i in range(5000)]


def _fill(path: Path, entries: int) -> None:
    asyncio.run(_open(path))
    rng = random.Random(7)
    conn = sqlite3.connect(path)
    runs = 1000
    per_run = entries // runs
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO runs (run_id, workflow, status, created_at, updated_at, last_seq, waiting_for) "
        "VALUES (?, ?, ?, 0, 0, ?, '[]')",
        [(f"run{r:04d}", f"app.Flow{r % 5}", "failed" if r % 10 == 0 else "completed", per_run) for r in range(runs)],
    )
    for r in range(runs):
        rows = []
        for seq in range(1, per_run + 1):
            text = " ".join(rng.choice(WORDS) for _ in range(8))
            if rng.random() < 0.0001:
                text += " refund 42"
            kind = "failed" if seq % 50 == 0 else "sent"
            rows.append((f"run{r:04d}", seq, kind, "step", "app.Ev", json.dumps({"text": text}), seq * 0.1, "json"))
        conn.executemany(
            "INSERT INTO journal (run_id, seq, kind, step, event_type, payload, ts, codec) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        if r % 100 == 99:
            conn.execute("COMMIT")
            print(f"  written {(r + 1) * per_run:,} entries", file=sys.stderr)
            conn.execute("BEGIN")
    conn.execute("COMMIT")
    conn.close()


async def _open(path: Path) -> None:
    async with SqliteStore(path):
        pass


async def _index(path: Path) -> None:
    """Open a store and wait for its writer to index what the bulk insert left waiting."""
    start = time.perf_counter()
    waiting = (
        "SELECT (SELECT count(*) FROM journal_search_pending) "
        "+ (SELECT count(*) FROM runs WHERE last_seq > search_upto)"
    )
    async with SqliteStore(path) as store:
        for _ in range(100_000):
            if not (await store._read(waiting, ()))[0][0]:
                break
            await asyncio.sleep(0.2)
    print(f"the writer indexed them in {time.perf_counter() - start:.0f} s (batches between writes)")


async def _time_queries(path: Path) -> None:
    async with SqliteStore(path) as store:
        for label, query in (
            ("rare phrase 'refund 42'", SearchQuery("refund 42")),
            ("common word, top 50", SearchQuery("w17")),
            ("word + --status failed --kind failed", SearchQuery("w17", statuses=("failed",), kinds=("failed",))),
            ("a word in every entry ('sent')", SearchQuery("sent")),
        ):
            times = []
            for _ in range(20):
                start = time.perf_counter()
                hits = await store.search(query)
                times.append(time.perf_counter() - start)
            print(f"{label:40s} {statistics.median(times) * 1000:7.1f} ms median ({len(hits)} hits)")


def bench_search(entries: int, keep: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(keep) if keep else Path(tmp) / "big.db"
        if not path.exists():
            start = time.perf_counter()
            _fill(path, entries)
            print(f"wrote {entries:,} entries in {time.perf_counter() - start:.0f} s")
            asyncio.run(_index(path))
        asyncio.run(_time_queries(path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["chain", "writer", "search"])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--keep", default=None, help="search: journal file to write once and reuse")
    args = parser.parse_args()
    if args.what == "chain":
        bench_chain(args.runs, args.reps)
    elif args.what == "writer":
        bench_writer(args.steps, args.reps)
    else:
        bench_search(args.entries, args.keep)


if __name__ == "__main__":
    main()

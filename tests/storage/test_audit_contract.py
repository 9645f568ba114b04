"""The audit methods every store has: hash chains written by each kind of
write, archived rows that load into any store and export back unchanged,
inbox origins, and search."""

from __future__ import annotations

import json
from pathlib import Path

from storage_helpers import entries, make_entry, new_run

from durable_flows.audit import verify_chain
from durable_flows.audit.archive import archive_bytes
from durable_flows.storage import JournalStore, SqliteStore
from durable_flows.storage.chain import chain_hashes
from durable_flows.storage.rows import RunUpdate, SearchQuery

#: Searchable entries not in SQLite's full-text index (whatever lists them as waiting).
UNINDEXED_COUNT = (
    "SELECT count(*) FROM journal j WHERE kind NOT IN ('snapshot', 'accepted', 'completed') "
    "AND NOT EXISTS (SELECT 1 FROM journal_docs d WHERE d.run_id = j.run_id AND d.seq = j.seq)"
)


async def _journal(store: JournalStore) -> None:
    lease = await store.create_run(new_run("r1"), entries("r1", 1, 3))
    await store.append(lease, entries("r1", 4, 5))
    await store.append(lease, [], RunUpdate(status="waiting"))
    inbox = await store.send_to_inbox("r1", "x.Answer", '{"_data":{"a":1}}', origin='{"actor":"amy"}')
    await store.append(lease, [make_entry("r1", 6, payload=json.dumps({"inbox": inbox, "refund": 42}))], None, [inbox])
    await store.append(lease, entries("r1", 7, 7), RunUpdate(status="completed", release_lease=True))


async def test_every_write_chains_and_verifies(store: JournalStore) -> None:
    await _journal(store)
    chain = await store.read_chain("r1")
    assert chain is not None and len(chain.entries) == 7
    assert chain.hashes == chain_hashes(None, chain.entries, None)
    assert chain.chain_head == chain.hashes[-1] and chain.unchained_upto is None
    assert verify_chain(chain).ok
    fork_id = await store.fork("r1", 5, "r1-fork")
    fork = await store.read_chain(fork_id)
    assert fork is not None and [e.run_id for e in fork.entries] == ["r1-fork"] * 5
    assert fork.hashes == chain_hashes(None, fork.entries, None) and verify_chain(fork).ok
    assert fork.hashes[0] != chain.hashes[0]  # the copy names another run: a chain of its own
    assert await store.read_chain("nope") is None


async def test_archived_rows_load_into_sqlite_and_export_unchanged(store: JournalStore, tmp_path: Path) -> None:
    await _journal(store)
    dumped = await store.dump_runs(["r1", "nope"])
    assert [d.run["run_id"] for d in dumped] == ["r1"]
    [run] = dumped
    assert len(run.journal) == 7 and [i["origin"] for i in run.inbox] == ['{"actor":"amy"}']
    assert run.inbox[0]["consumed_seq"] == 6
    original = archive_bytes(dumped)
    async with SqliteStore(tmp_path / "copy.db") as copy:
        await copy.load_runs(dumped)
        assert archive_bytes(await copy.dump_runs(["r1"])) == original
        assert verify_chain(await copy.read_chain("r1")).ok  # type: ignore[arg-type]


async def test_search_finds_words_of_payloads_with_filters(store: JournalStore) -> None:
    await _journal(store)
    hits = await store.search(SearchQuery("Refund 42"))
    assert [(h.run_id, h.seq, h.kind, h.status) for h in hits] == [("r1", 6, "sent", "completed")]
    assert "[refund]" in hits[0].snippet.lower()
    assert await store.search(SearchQuery("refund", kinds=("failed",))) == []
    assert await store.search(SearchQuery("refund", statuses=("failed",))) == []
    assert await store.search(SearchQuery("refund", workflow="other")) == []
    assert len(await store.search(SearchQuery("refund", workflow="wf"))) == 1
    assert await store.search(SearchQuery("refund", until=0)) == []
    assert await store.search(SearchQuery("!!")) == []


async def test_send_event_records_origin(store: JournalStore) -> None:
    from durable_flows.events import HumanResponseEvent

    await store.create_run(new_run("r1"), entries("r1", 1, 1))
    await store.send_event("r1", HumanResponseEvent(response="ok"), actor="u-9")
    [item] = await store.read_inbox("r1")
    origin = json.loads(item.origin or "")
    assert origin["actor"] == "u-9" and origin["via"] == "api" and isinstance(origin["pid"], int)


async def test_sqlite_appends_chain_from_the_stored_head_when_another_store_wrote(tmp_path: Path) -> None:
    """The writer remembers each run's chain head to skip a read; an append by
    another store object (another process) in between must not fork the chain."""
    import sqlite3

    path = tmp_path / "j.db"
    async with SqliteStore(path) as a, SqliteStore(path) as b:
        lease = await a.create_run(new_run("r1"), entries("r1", 1, 2))
        await a.append(lease, entries("r1", 3, 3), RunUpdate(release_lease=True))
        lease_b = await b.claim_lease("r1")
        await b.append(lease_b, entries("r1", 4, 5), RunUpdate(release_lease=True))
        lease = await a.claim_lease("r1")
        await a.append(lease, entries("r1", 6, 6))
        chain = await a.read_chain("r1")
        assert chain is not None and verify_chain(chain).ok and len(chain.entries) == 6
        # A head changed behind the writer's back while seq stayed put: the
        # append's WHERE clause notices, the head is read again, and the append succeeds.
        conn = sqlite3.connect(path)
        conn.execute("UPDATE runs SET chain_head = 's:forged' WHERE run_id = 'r1'")
        conn.commit()
        await a.append(lease, entries("r1", 7, 7))
        chain = await a.read_chain("r1")
        assert chain is not None and chain.hashes[-1] == chain_hashes("s:forged", chain.entries[-1:], None)[0]
        report = verify_chain(chain)
        assert not report.ok and report.seq == 7


async def test_an_archive_loads_into_every_store_and_exports_unchanged(store: JournalStore, tmp_path: Path) -> None:
    """SQLite -> archive -> (memory | SQLite | PostgreSQL) -> archive: the same bytes."""
    from durable_flows.errors import ArchiveImportError

    async with SqliteStore(tmp_path / "src.db") as source:
        await _journal(source)
        await source.fork("r1", 4, "r1-fork")
        dumped = await source.dump_runs(["r1", "r1-fork"])
    original = archive_bytes(dumped)
    await store.load_runs(dumped)
    assert archive_bytes(await store.dump_runs(["r1", "r1-fork"])) == original
    for run_id in ("r1", "r1-fork"):
        assert verify_chain(await store.read_chain(run_id)).ok  # type: ignore[arg-type]
    assert [i.id for i in await store.read_inbox("r1")] == []  # consumed, as in the source
    try:
        await store.load_runs(dumped)
    except ArchiveImportError as exc:
        assert "r1" in str(exc) and "Nothing was imported" in str(exc)
    else:
        raise AssertionError("a second import must be refused")
    # New inbox ids never reuse imported ones.
    await store.create_run(new_run("r2"), entries("r2", 1, 1))
    assert await store.send_to_inbox("r2", "x.E", "{}") > dumped[0].inbox[0]["id"]


async def test_sqlite_writer_indexes_pending_entries_when_idle_and_finds_them_before(tmp_path: Path) -> None:
    """Entries are searchable the moment they commit (a scan of the ones not
    indexed yet), and the writer moves them into the FTS5 index once it is
    idle, including entries a crashed process left unindexed."""
    import asyncio
    import sqlite3

    path = tmp_path / "j.db"
    async with SqliteStore(path) as store:
        await store.create_run(new_run("r0"), entries("r0", 1, 1))
    conn = sqlite3.connect(path)  # as a process that died before indexing would leave it
    assert conn.execute(UNINDEXED_COUNT).fetchone() == (0,)
    conn.execute(
        "INSERT INTO journal (run_id, seq, kind, step, event_type, payload, ts, codec) "
        "VALUES ('r0', 2, 'sent', NULL, NULL, '{\"refund\": 42}', 1.0, 'json')"
    )
    conn.execute("UPDATE runs SET last_seq = 2 WHERE run_id = 'r0'")
    conn.commit()
    assert conn.execute(UNINDEXED_COUNT).fetchone() == (1,)
    assert conn.execute("SELECT count(*) FROM journal_search_pending").fetchone() == (0,)  # no trigger
    async with SqliteStore(path) as store:
        lease = await store.create_run(new_run("r1"), [make_entry("r1", 1, payload='{"refund": 43}')])
        await store.append(lease, [make_entry("r1", 2, payload='{"refund": 44}')])
        found = await store.search(SearchQuery("refund"))
        assert sorted((h.run_id, h.seq) for h in found) == [("r0", 2), ("r1", 1), ("r1", 2)]
        for _ in range(100):
            if conn.execute(UNINDEXED_COUNT).fetchone() == (0,):
                break
            await asyncio.sleep(0.02)
        assert conn.execute(UNINDEXED_COUNT).fetchone() == (0,)
        # Every run's mark caught up with its journal.
        assert conn.execute("SELECT run_id, search_upto, last_seq FROM runs ORDER BY 1").fetchall() == [
            ("r0", 2, 2), ("r1", 2, 2),
        ]  # fmt: skip
        indexed = conn.execute(
            "SELECT d.run_id, d.seq FROM journal_fts JOIN journal_docs d ON d.doc = journal_fts.rowid "
            "WHERE journal_fts MATCH 'refund' ORDER BY 1, 2"
        ).fetchall()
        assert indexed == [("r0", 2), ("r1", 1), ("r1", 2)]
        assert sorted((h.run_id, h.seq) for h in await store.search(SearchQuery("refund"))) == indexed
        [hit] = await store.search(SearchQuery("43"))
        assert (hit.run_id, hit.seq) == ("r1", 1) and "[43]" in hit.snippet and hit.rank < 0
        deleted = await store.delete_runs(float("inf"), only=["r0"])
        assert deleted == []  # r0 is running: never deleted


async def test_sqlite_search_of_only_common_words_lists_the_newest_matches(tmp_path: Path) -> None:
    """bm25 reads every match; past RANKED_MATCHES entries per word the newest come first."""
    from durable_flows.storage.rows import JournalEntry
    from durable_flows.storage.sqlite.audit import RANKED_MATCHES

    n = RANKED_MATCHES + 100
    rows = [
        JournalEntry("r1", seq, "sent", None, None, json.dumps({"text": "common" + (" rare" if seq % 1000 == 0 else "")}), 1.0)
        for seq in range(1, n + 1)
    ]
    async with SqliteStore(tmp_path / "j.db") as store:
        await store.create_run(new_run("r1"), rows)
    async with SqliteStore(tmp_path / "j.db") as store:  # closed and reopened: all indexed
        common = await store.search(SearchQuery("common", limit=5))
        assert [(h.seq, h.rank) for h in common] == [(n - i, 0.0) for i in range(5)]
        filtered = await store.search(SearchQuery("common", kinds=("sent",), limit=3))
        assert [h.seq for h in filtered] == [n, n - 1, n - 2]
        rare = await store.search(SearchQuery("rare common", limit=100))
        assert sorted(h.seq for h in rare) == list(range(1000, n + 1, 1000)) and all(h.rank < 0 for h in rare)

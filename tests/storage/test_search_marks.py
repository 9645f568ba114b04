"""SQLite's search marks (migration 0007): entries past their run's
``runs.search_upto`` are searchable before the writer indexes them, whatever
was deleted before, and a journal upgraded from version 6 keeps its pending
entries searchable and indexes them."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from storage_helpers import entries, make_entry, new_run

from durable_flows.storage import SqliteStore
from durable_flows.storage.migrate import apply_migrations, load_migrations
from durable_flows.storage.rows import RunUpdate, SearchQuery
from durable_flows.storage.sqlite import search_index
from durable_flows.storage.sqlite.search_index import SearchIndexer

#: Searchable entries not in the full-text index, however they are listed as waiting.
UNINDEXED = (
    "SELECT j.run_id, j.seq FROM journal j WHERE kind NOT IN ('snapshot', 'accepted', 'completed') "
    "AND NOT EXISTS (SELECT 1 FROM journal_docs d WHERE d.run_id = j.run_id AND d.seq = j.seq) "
    "ORDER BY 1, 2"
)


def _said(run_id: str, seq: int, word: str, kind: str = "sent"):  # type: ignore[no-untyped-def]
    return make_entry(run_id, seq, kind, payload={"said": word})


async def _found(path: Path, word: str) -> list[tuple[str, int]]:
    """What search answers without any writer (a read-only store indexes nothing)."""
    async with SqliteStore(path, read_only=True) as store:
        return sorted((h.run_id, h.seq) for h in await store.search(SearchQuery(word, limit=1000)))


def _indexed(path: Path, word: str) -> list[tuple[str, int]]:
    """The entries the FTS5 index itself holds for ``word``."""
    with sqlite3.connect(path) as conn:
        return conn.execute(
            "SELECT d.run_id, d.seq FROM journal_fts JOIN journal_docs d ON d.doc = journal_fts.rowid "
            "WHERE journal_fts MATCH ? ORDER BY 1, 2",
            (word,),
        ).fetchall()


def _query(path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


async def _finished_run(store: SqliteStore, run_id: str, word: str) -> None:
    lease = await store.create_run(new_run(run_id), entries(run_id, 1, 2))
    await store.append(
        lease,
        [_said(run_id, 3, word), _said(run_id, 4, word, "completed")],
        RunUpdate(status="completed", release_lease=True),
    )


async def test_runs_journaled_again_after_a_delete_are_found_before_and_after_indexing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run deleted by gc takes its mark with it: a run created again under
    its id (or any other) is searchable from its first commit."""
    path = tmp_path / "j.db"
    async with SqliteStore(path) as store:
        for run_id in ("a", "b"):
            await _finished_run(store, run_id, "walrus")
    assert _indexed(path, "walrus") == [("a", 3), ("b", 3)]  # closing indexed them
    assert _query(path, "SELECT run_id, search_upto FROM runs ORDER BY 1") == [("a", 4), ("b", 4)]
    monkeypatch.setattr(SearchIndexer, "due", lambda self, idle: False)  # a writer that never indexes
    async with SqliteStore(path) as store:
        assert sorted(await store.delete_runs(float("inf"))) == ["a", "b"]
        # The same id again, with fewer entries than before, and a new id.
        lease = await store.create_run(new_run("a"), [_said("a", 1, "otter")])
        await store.append(lease, [_said("a", 2, "otter", "accepted")])
        await store.create_run(new_run("c"), [_said("c", 1, "otter"), _said("c", 2, "walrus")])
        assert sorted((h.run_id, h.seq) for h in await store.search(SearchQuery("otter"))) == [("a", 1), ("c", 1)]
        assert await _found(path, "walrus") == [("c", 2)]
    assert _query(path, UNINDEXED) == [("a", 1), ("c", 1), ("c", 2)]
    assert _indexed(path, "walrus") == []  # the delete took the old entries out of the index
    monkeypatch.undo()
    async with SqliteStore(path):
        pass  # the writer indexes what waits before it closes
    assert _query(path, UNINDEXED) == []
    assert _indexed(path, "otter") == [("a", 1), ("c", 1)] and _indexed(path, "walrus") == [("c", 2)]
    assert _query(path, "SELECT run_id, search_upto, last_seq FROM runs ORDER BY 1") == [("a", 2, 2), ("c", 2, 2)]
    assert await _found(path, "otter") == [("a", 1), ("c", 1)]


async def test_an_entry_deleted_and_written_again_at_its_seq_is_found_and_indexed(tmp_path: Path) -> None:
    """Deleting a journal row lowers its run's mark below it, so a row written
    again at that seq (below the old mark) is not taken for an indexed one."""
    path = tmp_path / "j.db"
    async with SqliteStore(path) as store:
        lease = await store.create_run(new_run("r"), [_said("r", s, "heron") for s in range(1, 5)])
        await store.release_lease(lease)
    assert _query(path, "SELECT search_upto FROM runs") == [(4,)] and _query(path, UNINDEXED) == []
    with sqlite3.connect(path) as conn:  # by hand, as an operator repairing a journal might
        conn.execute("DELETE FROM journal WHERE run_id = 'r' AND seq = 2")
        conn.execute(
            "INSERT INTO journal (run_id, seq, kind, step, event_type, payload, ts, codec) "
            "VALUES ('r', 2, 'sent', NULL, NULL, ?, 1.0, 'json')",
            (json.dumps({"said": "ibis"}),),
        )
    assert _query(path, "SELECT search_upto FROM runs") == [(1,)]
    assert await _found(path, "ibis") == [("r", 2)]
    assert await _found(path, "heron") == [("r", 1), ("r", 3), ("r", 4)]  # each once
    async with SqliteStore(path):
        pass  # the writer indexes what waits before it closes
    assert _indexed(path, "ibis") == [("r", 2)] and _indexed(path, "heron") == [("r", 1), ("r", 3), ("r", 4)]
    assert _query(path, "SELECT search_upto FROM runs") == [(4,)] and _query(path, UNINDEXED) == []


def _version6_journal(path: Path) -> None:
    """A journal of version 6: run "old" indexed by migration 0005, then
    entries the trigger of 0005 listed as pending (a writer that died before
    indexing them) and one entry edited by hand."""
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
    )

    def migrate(versions: range) -> None:
        for migration in load_migrations():
            if migration.version in versions:
                for statement in migration.statements:
                    conn.execute(statement)
                conn.execute("INSERT INTO schema_migrations VALUES (?, ?, 0)", (migration.version, migration.name))

    def journal(run_id: str, rows: list[tuple[int, str, str]]) -> None:
        conn.executemany(
            "INSERT INTO journal (run_id, seq, kind, step, event_type, payload, ts, codec) "
            "VALUES (?, ?, ?, NULL, NULL, ?, 1.0, 'json')",
            [(run_id, seq, kind, json.dumps({"said": word})) for seq, kind, word in rows],
        )
        conn.execute("UPDATE runs SET last_seq = (SELECT max(seq) FROM journal WHERE run_id = ?) WHERE run_id = ?", (run_id, run_id))

    migrate(range(1, 5))
    for run_id in ("old", "new"):
        conn.execute(
            "INSERT INTO runs (run_id, workflow, status, created_at, updated_at, last_seq, waiting_for) "
            "VALUES (?, 'wf', 'waiting', 1, 1, 0, '[]')",
            (run_id,),
        )
    journal("old", [(1, "sent", "crane"), (2, "completed", "crane")])
    migrate(range(5, 7))
    journal("old", [(3, "sent", "stork")])
    journal("new", [(1, "sent", "stork"), (2, "accepted", "stork"), (3, "sent", "crane")])
    conn.execute("UPDATE journal SET payload = ? WHERE run_id = 'old' AND seq = 1", (json.dumps({"said": "egret"}),))
    conn.commit()
    assert conn.execute("SELECT run_id, seq FROM journal_search_pending ORDER BY 1, 2").fetchall() == [
        ("new", 1), ("new", 3), ("old", 1), ("old", 3),
    ]  # fmt: skip
    conn.close()


async def test_an_upgrade_from_version_6_keeps_pending_entries_searchable_and_indexes_them(tmp_path: Path) -> None:
    path = tmp_path / "v6.db"
    _version6_journal(path)
    with sqlite3.connect(path) as conn:
        assert apply_migrations(conn, str(path)) == [7]
        triggers = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        assert triggers == {"journal_search_delete", "journal_search_update"}
    # Nothing moved: the pending entries stay listed, each run's mark is its last seq.
    assert _query(path, "SELECT count(*) FROM journal_search_pending") == [(4,)]
    assert _query(path, "SELECT run_id, search_upto, last_seq FROM runs ORDER BY 1") == [("new", 3, 3), ("old", 3, 3)]
    assert await _found(path, "stork") == [("new", 1), ("old", 3)]
    assert await _found(path, "crane") == [("new", 3)]
    assert await _found(path, "egret") == [("old", 1)]
    async with SqliteStore(path) as store:
        lease = await store.claim_lease("old")
        await store.append(lease, [_said("old", 4, "stork")])
        assert sorted((h.run_id, h.seq) for h in await store.search(SearchQuery("stork"))) == [
            ("new", 1), ("old", 3), ("old", 4),
        ]  # fmt: skip
    assert _query(path, "SELECT count(*) FROM journal_search_pending") == [(0,)]
    assert _query(path, UNINDEXED) == []
    assert _indexed(path, "stork") == [("new", 1), ("old", 3), ("old", 4)]
    assert _indexed(path, "crane") == [("new", 3)] and _indexed(path, "egret") == [("old", 1)]
    assert _query(path, "SELECT run_id, search_upto, last_seq FROM runs ORDER BY 1") == [("new", 3, 3), ("old", 4, 4)]


async def test_the_writer_indexes_in_batches_and_never_moves_a_mark_past_an_unindexed_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches smaller than what waits: each run's mark stops at the last
    entry moved, and the next batch goes on from there."""
    path = tmp_path / "j.db"
    monkeypatch.setattr(SearchIndexer, "due", lambda self, idle: False)
    kinds = ["sent", "accepted", "state", "completed", "snapshot", "failed", "produced"]
    async with SqliteStore(path) as store:
        for run_id in ("r1", "r2", "r3"):
            rows = [make_entry(run_id, s, kinds[s % len(kinds)], payload={"said": "kite"}) for s in range(1, 9)]
            await store.create_run(new_run(run_id), rows)
    with sqlite3.connect(path) as conn:  # an entry edited by hand is listed as pending
        conn.execute("UPDATE journal SET kind = 'sent' WHERE run_id = 'r1' AND seq = 1")
    monkeypatch.undo()
    monkeypatch.setattr(search_index, "IDLE_BATCH", 4)
    searchable = _query(path, UNINDEXED)
    assert len(searchable) == 13
    conn = sqlite3.connect(path, isolation_level=None)
    indexer, batches = SearchIndexer(), 0
    while indexer.due(idle=True):
        conn.execute("BEGIN IMMEDIATE")
        indexer.run(conn, idle=True)
        conn.execute("COMMIT")
        batches += 1
        # Below or at its run's mark, every searchable entry is indexed or listed.
        assert conn.execute(
            "SELECT count(*) FROM journal j JOIN runs r ON r.run_id = j.run_id "
            "WHERE j.seq <= r.search_upto AND j.kind NOT IN ('snapshot', 'accepted', 'completed') "
            "AND NOT EXISTS (SELECT 1 FROM journal_docs d WHERE d.run_id = j.run_id AND d.seq = j.seq) "
            "AND NOT EXISTS (SELECT 1 FROM journal_search_pending p WHERE p.run_id = j.run_id AND p.seq = j.seq)"
        ).fetchone() == (0,)
        assert batches < 20
    conn.close()
    assert batches == 4  # 1 listed + 12 past the marks, in batches of 4
    assert _query(path, UNINDEXED) == [] and _query(path, "SELECT count(*) FROM journal_search_pending") == [(0,)]
    assert _indexed(path, "kite") == searchable
    assert _query(path, "SELECT DISTINCT search_upto FROM runs") == [(8,)]

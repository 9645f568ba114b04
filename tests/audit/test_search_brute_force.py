"""Search answers exactly what a scan of every entry answers, on generated journals
(SQLite's FTS5 index against a brute-force scan written here)."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from durable_flows.storage import JournalStore, SqliteStore
from durable_flows.storage.rows import JournalEntry, NewRun, SearchQuery

WORDS = ["refund", "Refund", "timeout", "TimeoutError", "order", "42", "x9", "alpha", "beta", "naïve", "a", "B", "c"]
KINDS = ["sent", "failed", "state", "snapshot", "produced", "accepted", "completed"]

entry_st = st.tuples(
    st.sampled_from(KINDS),
    st.lists(st.sampled_from(WORDS), max_size=5),
    st.sampled_from(["-", "_", ".", " ", ":", "/", "@"]),
)
journal_st = st.lists(st.lists(entry_st, min_size=1, max_size=6), min_size=1, max_size=4)
query_st = st.lists(st.sampled_from([*WORDS, "absent"]), min_size=1, max_size=2)


def _tokens(text: str) -> set[str]:
    return {w.lower().replace("ï", "i") for w in re.findall(r"[^\W_]+", text)}


async def _search(path: Path, runs: list[list[tuple[str, list[str], str]]], queries: list[list[str]]) -> None:
    await _check(SqliteStore(path), runs, queries)


async def _check(
    opened: JournalStore, runs: list[list[tuple[str, list[str], str]]], queries: list[list[str]]
) -> None:
    async with opened as store:
        written: list[JournalEntry] = []
        for r, run in enumerate(runs):
            run_id = f"run{r}"
            rows = [
                JournalEntry(run_id, seq, kind, None, "a.B/c", json.dumps({"text": sep.join(words)}), 10.0 + seq)
                for seq, (kind, words, sep) in enumerate(run, start=1)
            ]
            await store.create_run(NewRun(run_id, "wf", "{}"), rows)
            written += rows
        await _compare(store, written, queries)
    if isinstance(opened, SqliteStore):  # closing indexed what was pending: ask the index
        async with SqliteStore(opened.path) as store:
            pending = await store._read("SELECT count(*) FROM journal_search_pending", ())
            assert pending == [(0,)]
            await _compare(store, written, queries)


async def _compare(store: JournalStore, written: list[JournalEntry], queries: list[list[str]]) -> None:
    for words in queries:
        query = " ".join(words)
        found = {(h.run_id, h.seq) for h in await store.search(SearchQuery(query, limit=10_000))}
        expected = {
            (e.run_id, e.seq)
            for e in written
            if e.kind not in ("snapshot", "accepted", "completed")
            and _tokens(query) <= _tokens(f"{e.kind} {e.event_type} {e.payload}")
        }
        assert found == expected, query
        failed = {(h.run_id, h.seq) for h in await store.search(SearchQuery(query, kinds=("failed",), limit=10_000))}
        assert failed == {k for k in expected if written_kind(written, k) == "failed"}


def written_kind(written: list[JournalEntry], key: tuple[str, int]) -> str:
    return next(e.kind for e in written if (e.run_id, e.seq) == key)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(runs=journal_st, queries=st.lists(query_st, min_size=1, max_size=4))
def test_fts_search_equals_a_scan(
    tmp_path_factory: pytest.TempPathFactory, runs: list[list[tuple[str, list[str], str]]], queries: list[list[str]]
) -> None:
    path = tmp_path_factory.mktemp("search") / "j.db"
    asyncio.run(_search(path, runs, queries))


@settings(max_examples=12, deadline=None)
@given(runs=journal_st, queries=st.lists(query_st, min_size=1, max_size=4))
def test_postgres_search_equals_a_scan(
    runs: list[list[tuple[str, list[str], str]]], queries: list[list[str]]
) -> None:
    from pg_support import drop_schema, new_schema_name, pg_dsn_or_skip

    from durable_flows.storage.postgres import PostgresStore

    dsn, schema = pg_dsn_or_skip(), new_schema_name()

    async def go() -> None:
        try:
            await _check(PostgresStore(dsn, schema=schema), runs, queries)
        finally:
            await drop_schema(dsn, schema)

    asyncio.run(go())

"""The audit reads and writes of :class:`~.store.PostgresStore`: hash chains,
archived rows, imports and full-text search (the GIN index of
migrations/postgres/0005_audit.sql)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...errors import ArchiveImportError
from .._search_text import UNINDEXED_KINDS, search_words, snippet_of
from ..rows import ARCHIVE_COLUMNS, ArchivedRun, JournalEntry, RunChain, SearchHit, SearchQuery
from .writer import JobFn, UndoList

_ENTRY = "run_id, seq, kind, step, event_type, payload, ts, codec"
#: The text the GIN index holds: the expression must match the index's.
_DOC = (
    "to_tsvector('simple', regexp_replace(j.kind || ' ' || coalesce(j.step, '') || ' ' "
    "|| coalesce(j.event_type, '') || ' ' || j.payload, '[^[:alnum:]]+', ' ', 'g'))"
)
_ORDER = {"runs": "run_id", "journal": "seq", "inbox": "id"}
#: UNINDEXED_KINDS as the partial index's condition spells them (the same
#: text, so that the planner sees the query implies it and uses the index).
_UNINDEXED = "'snapshot', 'accepted', 'completed'"
assert {k.strip("' ") for k in _UNINDEXED.split(",")} == UNINDEXED_KINDS


class PgAudit:
    """Mixed into ``PostgresStore``: needs its ``_fetch`` and ``_write``."""

    async def _fetch(self, sql: str, *args: Any) -> list[Any]:
        raise NotImplementedError

    async def _write(self, fn: JobFn[Any]) -> Any:
        raise NotImplementedError

    async def read_chain(self, run_id: str) -> RunChain | None:
        """See ``JournalStore.read_chain``."""
        head = await self._fetch(
            "SELECT last_seq, chain_head, unchained_upto FROM runs WHERE run_id = $1", run_id
        )
        if not head:
            return None
        rows = await self._fetch(
            f"SELECT {_ENTRY}, hash FROM journal WHERE run_id = $1 ORDER BY seq", run_id
        )
        return RunChain(
            run_id, head[0][0], head[0][1], head[0][2],
            [JournalEntry(*r[:-1]) for r in rows], [r[-1] for r in rows],
        )  # fmt: skip

    async def dump_runs(self, run_ids: Sequence[str]) -> list[ArchivedRun]:
        """See ``JournalStore.dump_runs``."""
        out = []
        for run_id in run_ids:
            tables = {}
            for table, columns in ARCHIVE_COLUMNS.items():
                rows = await self._fetch(
                    f"SELECT {', '.join(columns)} FROM {table} WHERE run_id = $1 "
                    f"ORDER BY {_ORDER[table]}",
                    run_id,
                )
                tables[table] = [dict(zip(columns, row, strict=True)) for row in rows]
            if tables["runs"]:
                out.append(ArchivedRun(tables["runs"][0], tables["journal"], tables["inbox"]))
        return out

    async def load_runs(self, runs: Sequence[ArchivedRun]) -> None:
        """See ``JournalStore.load_runs``."""
        await self._write(lambda conn, undo: _load(conn, undo, runs))

    async def search(self, query: SearchQuery) -> list[SearchHit]:
        """See ``JournalStore.search``: PostgreSQL full-text search, ranked by ts_rank."""
        words = search_words(query.text, fold=False)
        if not words:
            return []
        params: list[Any] = [" & ".join(words)]
        where = [f"{_DOC} @@ to_tsquery('simple', $1)", f"j.kind NOT IN ({_UNINDEXED})"]

        def add(sql: str, value: Any) -> None:
            params.append(value)
            where.append(sql.replace("$?", f"${len(params)}"))

        if query.statuses:
            add("r.status = ANY($?::text[])", list(query.statuses))
        if query.kinds:
            add("j.kind = ANY($?::text[])", list(query.kinds))
        if query.since is not None:
            add("j.ts >= $?", query.since)
        if query.until is not None:
            add("j.ts < $?", query.until)
        if query.workflow is not None:
            wanted = query.workflow.replace(":", ".")
            add("(r.workflow = $? OR r.workflow LIKE '%.' || $?)", wanted)
        params.append(query.limit)
        rows = await self._fetch(
            "SELECT j.run_id, j.seq, j.kind, j.ts, r.workflow, r.status, "
            "j.kind || ' ' || coalesce(j.step, '') || ' ' || coalesce(j.event_type, '') "
            f"|| ' ' || j.payload, ts_rank({_DOC}, to_tsquery('simple', $1)) AS score "
            "FROM journal j JOIN runs r ON r.run_id = j.run_id "
            f"WHERE {' AND '.join(where)} ORDER BY score DESC, j.run_id, j.seq LIMIT ${len(params)}",
            *params,
        )
        return [
            SearchHit(r[0], r[1], r[2], r[3], r[4], r[5], snippet_of(r[6], words), -float(r[7]))
            for r in rows
        ]


async def _load(conn: Any, undo: UndoList, runs: Sequence[ArchivedRun]) -> None:
    import asyncpg

    for archived in runs:
        run_id = archived.run["run_id"]
        if await conn.fetchval("SELECT 1 FROM runs WHERE run_id = $1", run_id):
            raise ArchiveImportError(run_id, "a run with this id exists")
        for table, rows in (
            ("runs", [archived.run]), ("journal", archived.journal), ("inbox", archived.inbox),
        ):  # fmt: skip
            columns = ARCHIVE_COLUMNS[table]
            marks = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
            # inbox.id is an identity column: keep the archived ids.
            overriding = " OVERRIDING SYSTEM VALUE" if table == "inbox" else ""
            try:
                await conn.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}){overriding} VALUES ({marks})",
                    [tuple(row.get(c) for c in columns) for row in rows],
                )
            except asyncpg.UniqueViolationError as exc:
                raise ArchiveImportError(run_id, f"a row is already there ({exc})") from exc
    # Imported inbox ids must not be handed out again.
    await conn.execute(
        "SELECT setval(q.s, greatest((SELECT max(id) FROM inbox), "
        "coalesce(pg_sequence_last_value(q.s), 1))) "
        "FROM (SELECT pg_get_serial_sequence('inbox', 'id')::regclass AS s) q"
    )

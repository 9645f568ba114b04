"""The audit reads and writes of :class:`~.store.SqliteStore`: hash chains,
archived rows, imports and full-text search (FTS5, see migrations/0005_audit.sql)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from ...errors import ArchiveImportError, SearchError
from .._search_text import fts5_query, search_words, snippet_of
from ..rows import ARCHIVE_COLUMNS, ArchivedRun, JournalEntry, RunChain, SearchHit, SearchQuery
from .jobs import ENTRY_COLUMNS, WriteJobs
from .search_index import BODY_SQL, UNINDEXED_SQL
from .writer import JobFn, UndoList

#: Rank matches by relevance when the query's rarest word is in at most this
#: many entries (bm25 reads each match: ~10 µs apiece); else newest first.
RANKED_MATCHES = 5000

#: Keys of the entries not in the index yet: listed, or past their run's mark.
WAITING_SQL = (
    "SELECT run_id, seq FROM journal_search_pending UNION "
    "SELECT b.run_id, b.seq FROM runs m CROSS JOIN journal b "
    "ON b.run_id = m.run_id AND b.seq > m.search_upto "
    f"WHERE m.last_seq > m.search_upto AND b.kind NOT IN {UNINDEXED_SQL} AND NOT EXISTS "
    "(SELECT 1 FROM journal_docs x WHERE x.run_id = b.run_id AND x.seq = b.seq)"
)


class SqliteAudit:
    """Mixed into ``SqliteStore``: needs its ``_read``, ``_write`` and ``_jobs``."""

    _jobs: WriteJobs

    async def _read(self, sql: str, params: Sequence[Any]) -> list[Any]:
        raise NotImplementedError

    async def _write(self, fn: JobFn[Any]) -> Any:
        raise NotImplementedError

    async def read_chain(self, run_id: str) -> RunChain | None:
        """The run's journal with each entry's stored hash, or None for an unknown run."""
        head = await self._read(
            "SELECT last_seq, chain_head, unchained_upto FROM runs WHERE run_id = ?", (run_id,)
        )
        if not head:
            return None
        rows = await self._read(
            f"SELECT {ENTRY_COLUMNS}, hash FROM journal WHERE run_id = ? ORDER BY seq", (run_id,)
        )
        return RunChain(
            run_id, head[0][0], head[0][1], head[0][2],
            [JournalEntry(*r[:-1]) for r in rows], [r[-1] for r in rows],
        )  # fmt: skip

    async def dump_runs(self, run_ids: Sequence[str]) -> list[ArchivedRun]:
        """The stored rows of each of ``run_ids`` that exists, in the order given."""
        out = []
        for run_id in run_ids:
            tables = {}
            for table, columns in ARCHIVE_COLUMNS.items():
                order = {"runs": "run_id", "journal": "seq", "inbox": "id"}[table]
                rows = await self._read(
                    f"SELECT {', '.join(columns)} FROM {table} WHERE run_id = ? ORDER BY {order}",
                    (run_id,),
                )
                tables[table] = [dict(zip(columns, row, strict=True)) for row in rows]
            if tables["runs"]:
                out.append(ArchivedRun(tables["runs"][0], tables["journal"], tables["inbox"]))
        return out

    async def load_runs(self, runs: Sequence[ArchivedRun]) -> None:
        """Insert archived runs as they were stored, in one transaction.

        Raises:
            ArchiveImportError: a run (or one of its inbox ids) is already here;
                nothing is written.
        """
        def load(conn: sqlite3.Connection, undo: UndoList) -> None:
            _load(conn, undo, runs)
            self._jobs.indexer.note_count(sum(len(run.journal) for run in runs))

        await self._write(load)

    async def search(self, query: SearchQuery) -> list[SearchHit]:
        """Journal entries holding every word of ``query.text``, best first.

        Indexed entries are ranked by FTS5's bm25; entries journaled so
        recently that the writer has not indexed them yet (a few hundred at
        most while it is busy) are matched by a scan and ranked after them.
        """
        words = search_words(query.text)
        if not words:
            return []
        where: list[str] = []
        params: list[Any] = []
        if query.statuses:
            where.append(f"r.status IN ({', '.join('?' * len(query.statuses))})")
            params += list(query.statuses)
        if query.kinds:
            where.append(f"j.kind IN ({', '.join('?' * len(query.kinds))})")
            params += list(query.kinds)
        if query.since is not None:
            where.append("j.ts >= ?")
            params.append(query.since)
        if query.until is not None:
            where.append("j.ts < ?")
            params.append(query.until)
        if query.workflow is not None:
            wanted = query.workflow.replace(":", ".")
            where.append("(r.workflow = ? OR substr(r.workflow, -(length(?) + 1)) = '.' || ?)")
            params += [wanted, wanted, wanted]
        filters = "".join(f" AND {w}" for w in where)
        # Ranking by relevance (bm25) costs a read per match: it is done when
        # the rarest word is in at most RANKED_MATCHES entries; a query of
        # only common words lists the newest matches instead (rank 0).
        # Without filters the index alone picks the rows (FTS5 sorts itself)
        # and only those are joined; with filters every match is joined
        # first. Snippets are cut in Python from the chosen rows only: FTS5's
        # snippet() would read the text of every match.
        ranked = await self._rarest(words) <= RANKED_MATCHES
        order = "rank" if ranked else "rowid DESC"
        if filters:
            source = "journal_fts JOIN journal_docs d ON d.doc = journal_fts.rowid"
            matched = "journal_fts MATCH ?"
            rank = "bm25(journal_fts)" if ranked else "0.0"
            sort = "score, d.run_id, d.seq" if ranked else "d.doc DESC"
        else:
            source = (
                f"(SELECT rowid AS doc, {'rank' if ranked else '0.0'} AS rank FROM journal_fts "
                f"WHERE journal_fts MATCH ? ORDER BY {order} LIMIT ?) f "
                "JOIN journal_docs d ON d.doc = f.doc"
            )
            matched = "1 = 1"
            rank = "f.rank"
            sort = "score, d.run_id, d.seq" if ranked else "d.doc DESC"
        try:
            rows = await self._read(
                f"SELECT d.run_id, d.seq, j.kind, j.ts, r.workflow, r.status, {BODY_SQL}, "
                f"{rank} AS score FROM {source} "
                "JOIN journal j ON j.run_id = d.run_id AND j.seq = d.seq "
                "JOIN runs r ON r.run_id = d.run_id "
                f"WHERE {matched}{filters} ORDER BY {sort} LIMIT ?",
                [fts5_query(words), *([] if filters else [query.limit]), *params, query.limit],
            )
        except sqlite3.OperationalError as exc:  # e.g. a word FTS5 cuts in two (a phrase)
            raise SearchError(query.text, str(exc)) from exc
        hits = [SearchHit(*r[:6], snippet_of(r[6], words), r[7]) for r in rows]  # type: ignore[call-arg]
        if len(hits) < query.limit:
            hits += await self._search_pending(words, filters, params, query.limit - len(hits))
        return hits

    async def _rarest(self, words: list[str]) -> int:
        """How many indexed entries hold the rarest of ``words`` (an upper bound on matches)."""
        marks = ", ".join("?" * len(words))
        rows = await self._read(
            f"SELECT term, doc FROM journal_fts_vocab WHERE term IN ({marks})", words
        )
        found = dict(rows)
        return min(found.get(w, 0) for w in words)

    async def _search_pending(
        self, words: list[str], filters: str, params: list[Any], limit: int
    ) -> list[SearchHit]:
        """Entries not indexed yet that hold every word (matched as FTS5 would).

        They are the entries listed in ``journal_search_pending`` and the
        searchable entries of each run past its ``search_upto`` that the
        index does not hold (see search_index.py).
        """
        rows = await self._read(
            f"SELECT j.run_id, j.seq, j.kind, j.ts, r.workflow, r.status, {BODY_SQL} "
            # CROSS JOIN keeps the (small) set of waiting keys the outer loop.
            f"FROM ({WAITING_SQL}) p CROSS JOIN journal j ON j.run_id = p.run_id "
            "AND j.seq = p.seq CROSS JOIN runs r ON r.run_id = p.run_id "
            f"WHERE 1 = 1{filters} ORDER BY j.run_id, j.seq",
            params,
        )
        wanted = set(words)
        hits = [
            SearchHit(r[0], r[1], r[2], r[3], r[4], r[5], snippet_of(r[6], words), 0.0)
            for r in rows
            if wanted <= set(search_words(r[6]))
        ]
        return hits[:limit]


def _load(conn: sqlite3.Connection, undo: UndoList, runs: Sequence[ArchivedRun]) -> None:
    for archived in runs:
        run_id = archived.run["run_id"]
        if conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone():
            raise ArchiveImportError(run_id, "a run with this id exists")
        for table, rows in (
            ("runs", [archived.run]), ("journal", archived.journal), ("inbox", archived.inbox),
        ):  # fmt: skip
            columns = ARCHIVE_COLUMNS[table]
            try:
                conn.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) "
                    f"VALUES ({', '.join('?' * len(columns))})",
                    [tuple(row.get(c) for c in columns) for row in rows],
                )
            except sqlite3.IntegrityError as exc:
                raise ArchiveImportError(run_id, f"a row is already there ({exc})") from exc

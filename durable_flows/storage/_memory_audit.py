"""The audit methods of :class:`~.memory.MemoryStore`: hash chains, archived
rows, imports, and search by scanning every entry (the reference the indexed
stores are tested against)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..errors import ArchiveImportError
from ._search_text import UNINDEXED_KINDS, entry_text, search_words, snippet_of
from .rows import (
    ARCHIVE_COLUMNS,
    ArchivedRun,
    InboxItem,
    JournalEntry,
    RunChain,
    RunInfo,
    SearchHit,
    SearchQuery,
)
from .store_helpers import workflow_matches


class MemoryAudit:
    """Mixed into ``MemoryStore``, whose dictionaries it reads and fills."""

    _runs: dict[str, RunInfo]
    _journal: dict[str, list[JournalEntry]]
    _hashes: dict[str, list[str | None]]
    #: run_id -> unchained_upto of runs imported from a journal older than chaining.
    _unchained: dict[str, int]
    _inbox: dict[int, InboxItem]
    _consumed: dict[int, int]
    _last_inbox_id: int

    def _check_open(self) -> None:
        raise NotImplementedError

    async def read_chain(self, run_id: str) -> RunChain | None:
        """See ``JournalStore.read_chain``."""
        self._check_open()
        info = self._runs.get(run_id)
        if info is None:
            return None
        hashes = list(self._hashes[run_id])
        head = hashes[-1] if hashes else None
        legacy = self._unchained.get(run_id)
        return RunChain(run_id, info.last_seq, head, legacy, list(self._journal[run_id]), hashes)

    async def dump_runs(self, run_ids: Sequence[str]) -> list[ArchivedRun]:
        """See ``JournalStore.dump_runs``."""
        self._check_open()
        out = []
        for run_id in run_ids:
            info = self._runs.get(run_id)
            if info is None:
                continue
            row = {c: getattr(info, c, None) for c in ARCHIVE_COLUMNS["runs"]}
            row["waiting_for"] = json.dumps(info.waiting_for)
            hashes = self._hashes[run_id]
            row["chain_head"] = hashes[-1] if hashes else None
            row["unchained_upto"] = self._unchained.get(run_id)
            journal = [
                {**e._asdict(), "hash": h}
                for e, h in zip(self._journal[run_id], hashes, strict=True)
            ]
            inbox = [
                {
                    **{c: getattr(item, c) for c in ARCHIVE_COLUMNS["inbox"] if c != "consumed_seq"},
                    "consumed_seq": self._consumed.get(item.id),
                }
                for item in sorted(self._inbox.values(), key=lambda i: i.id)
                if item.run_id == run_id
            ]
            out.append(ArchivedRun(row, journal, [_ordered(r, "inbox") for r in inbox]))
        return out

    async def load_runs(self, runs: Sequence[ArchivedRun]) -> None:
        """See ``JournalStore.load_runs``."""
        self._check_open()
        for archived in runs:
            run_id = archived.run["run_id"]
            if run_id in self._runs:
                raise ArchiveImportError(run_id, "a run with this id exists")
            taken = [i["id"] for i in archived.inbox if i["id"] in self._inbox]
            if taken:
                raise ArchiveImportError(run_id, f"inbox ids {taken} are taken")
        for archived in runs:
            row: dict[str, Any] = {
                c: archived.run.get(c) for c in ARCHIVE_COLUMNS["runs"][:16]
            }
            row["waiting_for"] = json.loads(row["waiting_for"] or "[]")
            run_id = row["run_id"]
            self._runs[run_id] = RunInfo(**row)
            self._journal[run_id] = [
                JournalEntry(*(e[c] for c in ARCHIVE_COLUMNS["journal"][:-1]))
                for e in archived.journal
            ]
            self._hashes[run_id] = [e.get("hash") for e in archived.journal]
            if archived.run.get("unchained_upto") is not None:
                self._unchained[run_id] = archived.run["unchained_upto"]
            for item in archived.inbox:
                self._inbox[item["id"]] = InboxItem(
                    item["id"], run_id, item["event_type"], item["payload"], item["codec"],
                    item["created_at"], item.get("origin"),
                )  # fmt: skip
                if item.get("consumed_seq") is not None:
                    self._consumed[item["id"]] = item["consumed_seq"]
                self._last_inbox_id = max(self._last_inbox_id, item["id"])

    async def search(self, query: SearchQuery) -> list[SearchHit]:
        """See ``JournalStore.search``: a scan of every entry; rank is 0 (order: run, seq)."""
        self._check_open()
        words = search_words(query.text)
        if not words:
            return []
        hits = []
        for run_id in sorted(self._journal):
            info = self._runs[run_id]
            if query.statuses and info.status not in query.statuses:
                continue
            if query.workflow is not None and not workflow_matches(info.workflow, query.workflow):
                continue
            for entry in self._journal[run_id]:
                if not _entry_matches(entry, words, query):
                    continue
                text = entry_text(entry)
                hits.append(
                    SearchHit(
                        run_id, entry.seq, entry.kind, entry.ts, info.workflow, info.status,
                        snippet_of(text, words), 0.0,
                    )
                )  # fmt: skip
        return hits[: query.limit]


def _entry_matches(entry: JournalEntry, words: list[str], query: SearchQuery) -> bool:
    if entry.kind in UNINDEXED_KINDS or (query.kinds and entry.kind not in query.kinds):
        return False
    if query.since is not None and entry.ts < query.since:
        return False
    if query.until is not None and entry.ts >= query.until:
        return False
    return set(words) <= set(search_words(entry_text(entry)))


def _ordered(row: dict[str, Any], table: str) -> dict[str, Any]:
    return {c: row.get(c) for c in ARCHIVE_COLUMNS[table]}

"""The audit methods every journal store has, beside the runtime's protocol.

The runtime never calls them; ``durable_flows.audit`` and the CLI do: hash
chains to verify, rows to archive and import, full-text search. Each store
implements them in its own module (``sqlite/audit.py``, ``postgres/audit.py``,
``_memory_audit``).
"""

from __future__ import annotations

from collections.abc import Sequence

from .rows import ArchivedRun, RunChain, SearchHit, SearchQuery


class AuditMethods:
    """Mixed into :class:`~.base.JournalStore`; a store without them raises NotImplementedError."""

    async def read_chain(self, run_id: str) -> RunChain | None:
        """The run's journal with each entry's stored chain hash; None for an unknown run."""
        raise NotImplementedError(f"{type(self).__name__} keeps no hash chain")

    async def dump_runs(self, run_ids: Sequence[str]) -> list[ArchivedRun]:
        """The stored rows (run row, journal, inbox) of each existing run of ``run_ids``."""
        raise NotImplementedError(f"{type(self).__name__} cannot archive runs")

    async def load_runs(self, runs: Sequence[ArchivedRun]) -> None:
        """Insert archived runs exactly as they were stored, all or none.

        Raises:
            ArchiveImportError: a run or inbox id is already here (nothing is written).
        """
        raise NotImplementedError(f"{type(self).__name__} cannot import runs")

    async def search(self, query: SearchQuery) -> list[SearchHit]:
        """Journal entries holding every word of ``query.text``, best first (entries of
        ``_search_text.UNINDEXED_KINDS``: snapshot, accepted, completed, are not searched)."""
        raise NotImplementedError(f"{type(self).__name__} cannot search")

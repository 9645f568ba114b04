"""Auditing run histories: chain verification, archives, run diffs.

Owns what an auditor asks of journals beyond one run at a time: checking the
hash chains the stores write (:mod:`.verify`), archiving runs before ``gc``
deletes them and loading archives back (:mod:`.archive`), and aligning two
runs to find where they diverge (:mod:`.diff`). Search itself is a store
method (``JournalStore.search``): the index lives with the data.

May import ``durable_flows.storage`` and ``durable_flows.errors`` only; the
CLI (``durable_flows.cli.audit``) builds on it.
"""

from __future__ import annotations

from .archive import archive_and_delete, import_archive, read_archive, write_archive
from .diff import RunDiff, diff_histories
from .verify import ChainReport, verify_archive, verify_chain, verify_runs

__all__ = [
    "ChainReport",
    "RunDiff",
    "archive_and_delete",
    "diff_histories",
    "import_archive",
    "read_archive",
    "verify_archive",
    "verify_chain",
    "verify_runs",
    "write_archive",
]

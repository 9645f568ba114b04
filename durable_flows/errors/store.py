"""Errors of the journal database: opening it (missing, foreign, newer or older
schema, read-only), writing to it, and entries that are out of order or damaged."""

from __future__ import annotations

from .root import DurableFlowsError


class StoreError(DurableFlowsError):
    """A journal store could not be opened, read or written."""


class StoreOpenError(StoreError):
    """The database file cannot be opened or is not a durable_flows journal."""

    def __init__(self, path: str, reason: str, hint: str | None = None) -> None:
        self.path = path
        self.reason = reason
        hint = hint or (
            "Check that the directory exists and is writable and that the file is a "
            "durable_flows SQLite journal, or point DURABLE_FLOWS_DB / store= at another path."
        )
        super().__init__(f"cannot open journal database {path!r}: {reason}. {hint}")


class SchemaVersionError(StoreError):
    """The database was written by a newer durable_flows than this one."""

    def __init__(self, path: str, db_version: int, code_version: int) -> None:
        self.path = path
        self.db_version = db_version
        self.code_version = code_version
        super().__init__(
            f"journal database {path!r} has schema version {db_version}, but this "
            f"durable_flows only knows versions up to {code_version}. Upgrade durable_flows "
            "(pip install -U durable_flows) before opening it; nothing was changed."
        )


class StoreClosedError(StoreError):
    """A store was used after :meth:`close`."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(
            f"journal store {path!r} is closed; nothing was written. Create a new store "
            "object (or use `async with store:` around all the work that needs it)."
        )


class StoreWriteError(StoreError):
    """A write transaction failed as a whole (disk full, I/O error, locked too long)."""

    def __init__(self, path: str, reason: str, hint: str | None = None) -> None:
        self.path = path
        self.reason = reason
        hint = hint or (
            "nothing of this write was committed. If the database is locked, another "
            "process holds a write transaction for longer than busy_timeout; otherwise "
            "check free disk space and file permissions, then retry."
        )
        super().__init__(f"journal database {path!r}: write failed ({reason}); {hint}")


class StoreReadOnlyError(StoreError):
    """A write was attempted through a store opened read-only."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(
            f"journal database {path!r} was opened read-only; nothing was written. "
            "Open it without read_only to change it."
        )


class NotAJournalError(StoreOpenError):
    """The database exists but is not a durable_flows journal (and creating one was not asked)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(
            path,
            reason,
            "Point --db / DURABLE_FLOWS_DB at a durable_flows journal; nothing was changed.",
        )


class JournalOutdatedError(StoreOpenError):
    """A command that only reads met a journal with an older schema than this code's."""

    def __init__(self, path: str, db_version: int, code_version: int) -> None:
        self.db_version = db_version
        self.code_version = code_version
        super().__init__(
            path,
            f"it has schema version {db_version}, older than this durable_flows' {code_version}, "
            "and a command that only reads does not migrate",
            f"Migrate it first with: durable-flows migrate --db {path}",
        )


class JournalSeqError(StoreError):
    """An append does not continue a run's journal gap-free (duplicate or skipped seq)."""

    def __init__(self, run_id: str, expected: int, got: int) -> None:
        self.run_id = run_id
        self.expected = expected
        self.got = got
        super().__init__(
            f"run {run_id!r}: append refused because an entry has seq={got} where the "
            f"journal continues at seq={expected}; nothing was written. Entries must be "
            "numbered last_seq+1, last_seq+2, ... with no gap; re-read the run "
            "(store.get_run) before appending again."
        )


class InboxConsumeError(StoreError):
    """An append tried to consume inbox items that are not pending items of its run."""

    def __init__(self, run_id: str, inbox_ids: list[int]) -> None:
        self.run_id = run_id
        self.inbox_ids = inbox_ids
        super().__init__(
            f"run {run_id!r}: inbox items {inbox_ids} are not pending items of this run "
            "(unknown, sent to another run, or already taken into the journal); the "
            "append was refused and nothing was written. Read pending items with "
            "store.read_inbox(run_id)."
        )


class JournalDecodeError(DurableFlowsError):
    """A journal entry cannot be decoded (unknown type or damaged payload)."""

    def __init__(self, run_id: str, seq: int, detail: str) -> None:
        self.run_id = run_id
        self.seq = seq
        self.detail = detail
        super().__init__(
            f"run {run_id!r}, journal entry seq={seq}: {detail}. Nothing was deleted, but "
            "the run cannot continue from this journal (a resume marks it failed): inspect "
            f"it with `durable-flows show {run_id}`, or fork it from before that entry."
        )


class JournalCorruptError(DurableFlowsError):
    """The journal of a run is not a valid history (gap, stale token, bad entry)."""

    def __init__(self, run_id: str, seq: int, detail: str) -> None:
        self.run_id = run_id
        self.seq = seq
        self.detail = detail
        super().__init__(
            f"run {run_id!r}, journal entry seq={seq}: {detail}. The run was not "
            "continued and nothing was deleted; inspect it with `durable-flows show "
            f"{run_id}` or fork it from an earlier seq."
        )

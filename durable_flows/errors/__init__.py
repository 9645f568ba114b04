"""Every error durable_flows raises, under one root.

Upstream's names (``WorkflowTimeoutError``, ``WorkflowValidationError``, ...) are
kept so ``except`` clauses written for llama-index-workflows keep working. The
durable errors take identifiers and build a message that says what went wrong
and what to do about it.
"""

from __future__ import annotations


class DurableFlowsError(Exception):
    """Root of every error raised by durable_flows."""


# --- upstream-compatible names -------------------------------------------------


class WorkflowValidationError(DurableFlowsError):
    """Raised when the workflow configuration or step signatures are invalid."""


class StateTypeError(DurableFlowsError, ValueError):
    """State types that cannot go together (a ValueError, as upstream raises).

    Steps annotated ``Context[A]`` and ``Context[B]`` where neither type
    derives from the other, or ``set_state`` with a type that is neither the
    state's type, a subclass of it, nor a parent type of it.
    """


class WorkflowTimeoutError(DurableFlowsError):
    """Raised when a workflow run exceeds the configured timeout."""


class WorkflowRuntimeError(DurableFlowsError):
    """Raised for runtime errors during step execution or event routing."""


class WorkflowDone(DurableFlowsError):
    """Internal control-flow exception used to stop workers at run end."""


class WorkflowCancelledByUser(DurableFlowsError):
    """Raised when a run is cancelled via the handler, the store or the CLI."""


class WorkflowStepDoesNotExistError(DurableFlowsError):
    """Raised when addressing a step that does not exist in the workflow."""


class WorkflowConfigurationError(DurableFlowsError):
    """Raised when a logical configuration error is detected before a run."""


class ContextSerdeError(DurableFlowsError):
    """Raised when serializing or deserializing a ``Context`` fails."""


class ContextStateError(WorkflowRuntimeError):
    """Raised when a context method is called in the wrong state: before a run
    (``requires a running workflow``), outside a step (``only available from within
    step functions``), or a second run on a context that is running. A
    WorkflowRuntimeError, which these misuses raised before."""


# --- durable errors ------------------------------------------------------------


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


class RunNotFoundError(DurableFlowsError, KeyError):
    """No run with this id exists in the store."""

    def __init__(self, run_id: str, advice: str | None = None) -> None:
        self.run_id = run_id
        super().__init__(
            f"no run with id {run_id!r} in this journal. "
            + (
                f"{advice[0].upper()}{advice[1:]}."
                if advice
                else "List runs with `durable-flows runs` or store.list_runs() to find the right id."
            )
        )

    def __str__(self) -> str:  # KeyError would quote the message otherwise
        return str(self.args[0])


class RunExistsError(DurableFlowsError):
    """A run with this id already exists; run ids are unique per store."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(
            f"a run with id {run_id!r} already exists in this journal; its history was "
            "left as it was. Use wf.resume(run_id) to continue it, or pick another run_id."
        )


class RunFinishedError(DurableFlowsError):
    """The run already finished, so it cannot take new events."""

    def __init__(self, run_id: str, status: str) -> None:
        self.run_id = run_id
        self.status = status
        super().__init__(
            f"run {run_id!r} is already {status}; it accepts no more events. "
            "Start a new run, or fork this one from an earlier point."
        )


class LeaseHeldError(DurableFlowsError):
    """Another live process owns the run."""

    def __init__(self, run_id: str, owner: str, expires_in: float) -> None:
        self.run_id = run_id
        self.owner = owner
        self.expires_in = expires_in
        super().__init__(
            f"run {run_id!r} is being executed by {owner!r} (lease valid for another "
            f"{expires_in:.1f}s). Only one process runs a run at a time: send events to it "
            "with store.send_event(), or resume it after that process stops."
        )


class StaleLeaseError(DurableFlowsError):
    """This process lost ownership of a run; its writes were refused."""

    def __init__(self, run_id: str, token: int) -> None:
        self.run_id = run_id
        self.token = token
        super().__init__(
            f"run {run_id!r}: append refused because fencing token {token} is stale; "
            "another process has taken the run over. This process stops executing it; "
            "nothing it wrote before losing the lease is lost."
        )


class SerializationError(DurableFlowsError, TypeError):
    """A value cannot be stored in the journal with the chosen serializer."""


class EventNotSerializableError(SerializationError):
    """An event field cannot be written as JSON."""

    def __init__(self, event_type: str, field: str, reason: str, value_type: str | None = None) -> None:
        self.event_type = event_type
        self.field = field
        allowed = value_type or "..."
        super().__init__(
            f"event {event_type} field {field!r} cannot be stored as JSON ({reason}). "
            "Make the value JSON-compatible or a pydantic model, or create the "
            f"workflow with serializer=JsonPickleSerializer(allowed=[{allowed}]) naming the "
            "types that may be decoded."
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


class NonDeterminismError(DurableFlowsError):
    """The current workflow code cannot honour a run's recorded history."""

    def __init__(self, run_id: str, seq: int | None, expected: str, found: str) -> None:
        self.run_id = run_id
        self.seq = seq
        self.expected = expected
        self.found = found
        where = f"journal entry seq={seq}" if seq is not None else "its fingerprint"
        super().__init__(
            f"run {run_id!r} cannot be resumed with this code: {where} expects {expected}, "
            f"but the workflow has {found}. Deploy code compatible with the run (restore the "
            "step or event type), or fork the run from before that entry, or cancel it."
        )


class RecoveryLimitError(DurableFlowsError):
    """A run crashed its process too many times while being resumed."""

    def __init__(self, run_id: str, step: str, restarts: int) -> None:
        self.run_id = run_id
        self.step = step
        self.restarts = restarts
        super().__init__(
            f"run {run_id!r}: step {step!r} was in flight when the process died "
            f"{restarts} times in a row, more than its max_recoveries allows; the run was "
            "marked failed instead of crash-looping. Fix what kills the process, then continue "
            "the run with wf.resume(run_id, reset_recoveries=True) "
            "(durable-flows resume RUN_ID --reset-recoveries)."
        )
        self._message = str(self.args[0])
        self.args = (run_id, step, restarts)  # journaled, so a resume raises the same error

    def __str__(self) -> str:
        return self._message


class EventNotAcceptedError(DurableFlowsError):
    """An event sent into a run is of a type no step of the workflow accepts."""

    def __init__(self, run_id: str, event_type: str) -> None:
        self.run_id = run_id
        self.event_type = event_type
        super().__init__(
            f"run {run_id!r}: no step and no waiter accepts events of type {event_type}; "
            "the event was not delivered. Send an event type one of its steps takes."
        )


# --- storage errors added with the SQLite store ----------------------------------


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


# --- serializer errors added with durable_flows.context.serializers ---------------


class ValueNotSerializableError(SerializationError, ValueError):
    """A serializer cannot encode a value (also a ``ValueError``, as upstream raised)."""

    def __init__(self, type_name: str, serializer: str, reason: str) -> None:
        self.type_name = type_name
        self.serializer = serializer
        self.reason = reason
        super().__init__(
            f"the {serializer} serializer cannot encode a value of type {type_name} "
            f"({reason}). Store JSON-compatible values or pydantic models, or choose "
            "a serializer that handles this type (JsonPickleSerializer(allowed=[...]))."
        )


class TypeNotAllowedError(SerializationError, ValueError):
    """A payload names a class the serializer was not allowed to rebuild."""

    def __init__(self, type_name: str, serializer: str, option: str) -> None:
        self.type_name = type_name
        self.serializer = serializer
        self.option = option
        super().__init__(
            f"{serializer} does not allow {type_name}: it is not in the serializer's "
            f"{option} list, so a payload naming it is neither written nor decoded and no "
            f"object of it is built. If the type is trusted, add it: "
            f"{serializer}({option}=[..., {type_name}])."
        )


# --- errors added with the operations API (fork, cancel, gc) -----------------------


class ForkPointError(DurableFlowsError, ValueError):
    """A fork was asked for at a seq the run's journal does not have."""

    def __init__(self, run_id: str, seq: int, last_seq: int) -> None:
        self.run_id = run_id
        self.seq = seq
        self.last_seq = last_seq
        super().__init__(
            f"run {run_id!r} cannot be forked at seq={seq}: its journal has entries "
            f"1..{last_seq}. Pick a seq in that range (see `durable-flows show {run_id}`)."
        )


# --- errors added with the HTTP server and OpenTelemetry ---------------------------


class ExtraMissingError(DurableFlowsError, ImportError):
    """An optional part (the HTTP server, OpenTelemetry) was used without its extra installed."""

    def __init__(self, missing: str, extra: str) -> None:
        self.missing = missing
        self.extra = extra
        super().__init__(
            f"this needs {missing!r}, which is not installed; "
            f"install it with: pip install 'durable_flows[{extra}]'"
        )


class EventEnvelopeError(DurableFlowsError, ValueError):
    """An event sent over HTTP could not be turned into one of the workflow's event types."""

    def __init__(self, workflow: str, reason: str, known: list[str]) -> None:
        self.workflow = workflow
        self.reason = reason
        names = ", ".join(sorted(known)) or "none"
        super().__init__(
            f"workflow {workflow!r}: {reason}; nothing was sent. Send "
            f'{{"type": NAME, "value": {{...fields}}}} with NAME one of: {names}'
        )


# --- errors added with safe operation (read-only opening, outside events) ----------


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


class StoreReadOnlyError(StoreError):
    """A write was attempted through a store opened read-only."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(
            f"journal database {path!r} was opened read-only; nothing was written. "
            "Open it without read_only to change it."
        )


class EventFieldsError(DurableFlowsError, ValueError):
    """An event sent from outside lacks fields (or has unknown ones) the run can accept."""

    def __init__(self, run_id: str, event_type: str, problems: list[str]) -> None:
        self.run_id = run_id
        self.event_type = event_type
        self.problems = problems
        super().__init__(
            f"run {run_id!r}: the {event_type.rpartition('.')[2]} event does not fit: "
            f"{'; '.join(problems)}. Nothing was delivered; send it again with the fields fixed."
        )


# --- auditing -------------------------------------------------------------------


class ArchiveError(DurableFlowsError):
    """An archive file cannot be written or read (gc deletes nothing then)."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(
            f"archive {path!r}: {reason}. Nothing was deleted or imported; fix the path "
            "or the file and run the command again."
        )


class ArchiveImportError(DurableFlowsError):
    """An archived run cannot be imported: the target journal already has it."""

    def __init__(self, run_id: str, detail: str) -> None:
        self.run_id = run_id
        super().__init__(
            f"cannot import run {run_id!r}: {detail}. Nothing was imported; import into "
            "a journal without this run (or delete it there first)."
        )


class SearchError(DurableFlowsError):
    """The search index cannot answer this query."""

    def __init__(self, query: str, reason: str) -> None:
        self.query = query
        super().__init__(
            f"cannot search for {query!r}: {reason}. Search for plain words (letters and digits)."
        )


class AmbiguousRunIdError(DurableFlowsError, ValueError):
    """A run id prefix that starts several runs' ids."""

    def __init__(self, prefix: str, matches: list[str]) -> None:
        self.prefix = prefix
        shown = ", ".join(sorted(matches)[:5])
        super().__init__(f"{len(matches)} runs start with {prefix!r} ({shown}, ...): give more of the id")

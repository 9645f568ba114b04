"""State and record plumbing shared by the parts of the live loop (see loop.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from ..codec.journal import Codec
from ..events import Event, StopEvent
from ..resource import ResourceManager
from ..storage.base import JournalStore
from ..storage.rows import JournalEntry, Lease, NewRun
from . import records as k
from .collect import LiveBuffer
from .commit_order import CommitOrder
from .journal_codec import encode_record
from .plan import RunPlan
from .records import Record
from .reducer import reduce
from .scope import ExecScope
from .spec import RunSpec
from .state import RunState


class _Batch:
    """What one wake-up of the loop journals in one store call, and what to do after."""

    __slots__ = ("records", "entries", "consumed", "to_start", "stream", "timers", "went_idle")

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.entries: list[JournalEntry] = []
        self.consumed: list[int] = []  # inbox ids taken in
        self.to_start: list[int] = []  # executions to start once committed
        self.stream: list[tuple[int, Event]] = []
        self.timers = False
        self.went_idle = False



class LoopBase:
    """The run's live state and the one way to change it: append a record."""

    def __init__(self, plan: RunPlan, store: JournalStore, ctx: Any, run_id: str) -> None:
        self.plan = plan
        self.store = store
        self.spec: RunSpec = plan.spec
        self.codec: Codec = plan.codec
        self.ctx = ctx
        self.run_id = run_id
        self.state = RunState(run_id=run_id)
        self.lease: Lease | None = None
        self.messages: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()
        self.tasks: dict[int, asyncio.Task[None]] = {}
        self.result: asyncio.Future[StopEvent] = asyncio.get_running_loop().create_future()
        #: (position, event): committed stream events, LIVE for one written by a step that
        #: has not committed yet, None for internal events and the final event
        self.stream_log: list[tuple[int | None, Event]] = []
        #: id(event) -> committed position (LIVE until then), for events delivered live
        #: first and for committed events read back from the journal
        self.live_positions: dict[int, tuple[int, Event]] = {}
        #: A step returned a StopEvent: the run is ending, its other steps will not commit.
        self.stopping = False
        self._stream_new = asyncio.Event()
        self._final_event: Event | None = None
        #: Set once a consumer streams with expose_internal: then step state changes are published.
        self.want_internal = False
        self.op = 0  # live order of state edits and collect-buffer changes
        #: Uncommitted writers of state keys and collect buffers, and who depends on whom.
        self.order = CommitOrder()
        #: Live collect buffers: committed ones plus what running executions added.
        self.buffers: dict[str, dict[str, LiveBuffer]] = {}
        self.resources = ResourceManager(on_create=self._on_resource)
        self._loose_resources: list[tuple[str, bool]] = []
        self._reported_status = "running"
        self._reported_waiting_for: list[str] = []
        self._went_idle = False
        self._timer: asyncio.TimerHandle | None = None
        self._final_exc: BaseException | None = None
        self._watcher: asyncio.Task[None] | None = None
        #: Input event names of executions started while internal events stream (StepStateChanged).
        self._input_names: dict[int, str] = {}
        self._new_run: NewRun | None = None
        #: Set by a resume by changed code: the run row's new fingerprint, sent with the next append.
        self._fingerprint_change: str | None = None
        #: A run a recovery limit failed is continued: clear the row's error with the next append.
        self._clear_error = False
        #: Worker mode: when the run goes idle, release it instead of waiting in memory.
        self.park_when_idle = False
        #: Encoded events of the completion being journaled, by id(event).
        self._dumps: dict[int, tuple[Event, Any]] = {}
        self.parked: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        #: Set once ctx.store holds the run's state (at once for a new run; after replay on resume).
        self.state_ready = asyncio.Event()

    # -- messages from outside the loop ------------------------------------------------

    def post(self, *message: Any) -> None:
        """Queue a message for the loop (from any task of this event loop)."""
        self.messages.put_nowait(message)

    def next_op(self) -> int:
        """The next number in the live order of state edits."""
        self.op += 1
        return self.op

    def state_touched(
        self,
        scope: ExecScope | None,
        reads: tuple[str, ...],
        writes: tuple[str, ...],
        ops: list[Any] | None,
        whole: Any,
    ) -> None:
        """A state read or change just now, by a step (``scope``) or from outside any step.

        A change from outside a step is journaled on its own once what it
        read or overwrote has committed.
        """
        if scope is None:
            wid, step = self.order.outside_id(), None
        else:
            wid, step = scope.ex.id, scope.ex.step
        entry = self.order.touch(wid, step, reads, writes)
        if entry is None:
            return
        if ops:
            entry.ops.append((self.next_op(), ops))
        if whole is not None:
            entry.whole = (self.next_op(), whole)
        if scope is None:
            entry.done = True
            self.post("state", wid)

    # -- records -------------------------------------------------------------------

    def _append(self, batch: _Batch, rec: Record) -> None:
        seq = self.state.last_seq + 1
        rec = Record(rec[0], rec[1], rec[2], rec[3], rec[4], seq)
        dumped = None
        if rec.event is not None and self._dumps:
            hit = self._dumps.get(id(rec.event))
            dumped = hit[1] if hit is not None and hit[0] is rec.event else None
        entry = encode_record(self.codec, self.run_id, seq, rec, dumped)
        reduce(self.state, rec, self.spec)
        batch.records.append(rec)
        batch.entries.append(entry)
        if rec.kind == k.STREAM and rec.event is not None:
            batch.stream.append((int(rec.get("n")), rec.event))
        elif rec.kind in (k.FAILED, k.WAITER, k.WAITER_TIMEOUT):
            batch.timers = True

    def _accept(
        self, batch: _Batch, step: str, exec_id: int, event_seq: int, attempt: int, worker: int, now: float
    ) -> None:
        data = {"exec": exec_id, "worker": worker, "attempt": attempt, "event_seq": event_seq}
        self._append(batch, Record(k.ACCEPTED, now, step=step, data=data))
        batch.to_start.append(exec_id)


    def _on_resource(self, key: str, cache: bool) -> None:  # overridden by StepsMixin
        raise NotImplementedError

    def _wake_streams(self) -> None:  # overridden by StreamMixin
        raise NotImplementedError

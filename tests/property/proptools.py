"""Harness for the property tests: live-state snapshots, a store that "crashes", run drivers."""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import wfgen
import wfgen_joins
from driving import canon, drive, journal_outcome

from durable_flows import MemoryStore, SqliteStore
from durable_flows.codec.journal import Codec
from durable_flows.runtime import records as k
from durable_flows.runtime import snapshot
from durable_flows.runtime.loop import RunLoop
from durable_flows.runtime.reducer import reduce
from durable_flows.runtime.replay import decode_journal, replay, replay_spec
from durable_flows.runtime.spec import RunSpec
from durable_flows.runtime.state import RunState
from durable_flows.storage import JournalStore
from durable_flows.storage.rows import JournalEntry, Lease, NewRun, RunUpdate

#: Seconds one generated run may take before the test fails instead of hanging.
RUN_TIMEOUT = 20.0

Snapshots = dict[str, dict[int, Any]]

#: Parts of a finished run's replayed state that must not depend on crashes (executions may
#: legitimately still be in flight when the run ends, so execs and busy are left out).
LEFTOVERS = (
    "status", "queues", "ready", "buffers", "waiters", "resources", "stream_n", "joins", "bound", "streams", "scope",
)


# --- live state after every append ---------------------------------------------------


@contextmanager
def live_snapshots() -> Iterator[Snapshots]:
    """Record ``state.summary()`` of every live loop right after each record it appends.

    Keyed by run id, then seq; a later process's append of the same seq (after
    a crash threw the first one away uncommitted) replaces the earlier one.
    """
    snaps: Snapshots = defaultdict(dict)
    own = "_append" in vars(RunLoop)  # it may live on a base class of RunLoop
    original = RunLoop._append

    def recording(self: Any, batch: Any, rec: Any) -> None:
        original(self, batch, rec)
        snaps[self.run_id][self.state.last_seq] = canon(self.state.summary())

    RunLoop._append = recording  # type: ignore[method-assign]
    try:
        yield snaps
    finally:
        if own:
            RunLoop._append = original  # type: ignore[method-assign]
        else:
            del RunLoop._append


def first_difference(a: Any, b: Any, path: str = "") -> str:
    """Where two JSON values first differ, for assertion messages."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                return f"{path}/{key}: only on the {'replay' if key in a else 'live'} side"
            if a[key] != b[key]:
                return first_difference(a[key], b[key], f"{path}/{key}")
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return first_difference(x, y, f"{path}[{i}]")
    return f"{path}: replay={json.dumps(a)[:300]} live={json.dumps(b)[:300]}"


def check_every_prefix(
    run_id: str, entries: Sequence[JournalEntry], spec: RunSpec, snaps: dict[int, Any]
) -> RunState:
    """Fold the journal record by record; after each, the state must equal the live one.

    Returns the state of the whole journal (also passed through ``replay``'s checks).
    """
    records = decode_journal(run_id, list(entries), Codec())
    folding = replay_spec(records, spec)  # what replay() routes with
    state = RunState(run_id=run_id)
    for rec in records:
        reduce(state, rec, folding)
        live = snaps.get(rec.seq)
        assert live is not None, f"run {run_id}: no live snapshot for seq={rec.seq} ({rec.kind})"
        folded = canon(state.summary())
        assert folded == live, (
            f"run {run_id}: replay of seq 1..{rec.seq} ({rec.kind}, step={rec.step}) differs from "
            f"the live state: {first_difference(folded, live)}"
        )
    full = replay(run_id, records, spec)
    assert canon(full.summary()) == canon(state.summary())
    return full


# --- snapshots ------------------------------------------------------------------------


@contextmanager
def frequent_snapshots(every: int = 1) -> Iterator[None]:
    """Generated workflows snapshot every ``every`` entries, whatever the state's size.

    (The size rule is switched off, so snapshots come at the end of nearly every batch.)
    """
    before = wfgen.SNAPSHOT_EVERY, snapshot.SIZE_RATIO
    wfgen.SNAPSHOT_EVERY, snapshot.SIZE_RATIO = every, 0
    try:
        yield
    finally:
        wfgen.SNAPSHOT_EVERY, snapshot.SIZE_RATIO = before


def check_every_snapshot(run_id: str, entries: Sequence[JournalEntry], spec: RunSpec) -> int:
    """Replay from each snapshot entry plus its tail; it must equal the full replay.

    Also, each snapshot must hold exactly (every field, see ``state_views``) the
    state the journal folds to just before it. Returns how many snapshots there were.
    """
    from state_views import full_view

    entries = list(entries)
    records = decode_journal(run_id, entries, Codec())
    full = full_view(replay(run_id, records, spec))
    folding = replay_spec(records, spec)
    folded = RunState(run_id=run_id)
    seen = 0
    for i, (entry, rec) in enumerate(zip(entries, records, strict=True)):
        if entry.kind == k.SNAPSHOT:
            seen += 1
            base, event_types = snapshot.load_entry(entry, Codec())
            named = {e.event_type for e in entries[: i] if e.event_type}
            assert set(event_types) == named, f"run {run_id}: snapshot seq={entry.seq} names {sorted(event_types)}"
            assert full_view(base) == full_view(folded), (
                f"run {run_id}: snapshot seq={entry.seq} differs from the fold of seq 1..{entry.seq - 1}: "
                f"{first_difference(full_view(base), full_view(folded))}"
            )
            tail = decode_journal(run_id, entries[i:], Codec(), first_seq=entry.seq)
            resumed = full_view(replay(run_id, tail, spec, base=base))
            assert resumed == full, (
                f"run {run_id}: replay from the snapshot at seq={entry.seq} differs from the full "
                f"replay: {first_difference(resumed, full)}"
            )
        reduce(folded, rec, folding)
    return seen


# --- exactly once ----------------------------------------------------------------------


def check_exactly_once(run_id: str, entries: Sequence[JournalEntry], spec: RunSpec, workflow: str) -> int:
    """Every execution counted in the state at most once, and only once it completed.

    Folds the journal record by record. Executions of steps with a ``hit_*``
    effect count themselves in their own counter (``wfgen._hit``), join steps
    each event they consumed in that event's counter (``wfgen_joins``); at every
    prefix that ends between completions (before an ``accepted``, ``resumed``
    or ``snapshot`` record, and at the end) each counter must equal the number
    of completed executions it belongs to: 1 once completed, 0 before, never
    2. Returns how many prefixes were checked.
    """
    keys_of = wfgen.HIT_KEYS.get(workflow, {})
    records = decode_journal(run_id, list(entries), Codec())
    folding = replay_spec(records, spec)
    state = RunState(run_id=run_id)
    events: dict[int, Any] = {}
    key_of_exec: dict[int, str] = {}
    completed: dict[str, int] = defaultdict(int)
    checked = 0

    def check(at: int) -> None:
        got = wfgen.counters(state.state)
        for key in set(got) | set(completed):
            assert got.get(key, 0) == completed.get(key, 0), (
                f"run {run_id}: after seq {at}, counter {key} is {got.get(key, 0)} but "
                f"{completed.get(key, 0)} execution(s) of it completed"
            )

    for rec in records:
        if rec.kind in (k.ACCEPTED, k.RESUMED, k.SNAPSHOT):
            check(rec.seq - 1)
            checked += 1
        if rec.event is not None:
            events[rec.seq] = rec.event
        if rec.kind == k.COMPLETED and int(rec.get("exec")) in key_of_exec:
            for key in key_of_exec[int(rec.get("exec"))]:
                completed[key] += 1
        reduce(state, rec, folding)
        if rec.kind == k.ACCEPTED and rec.step in keys_of:
            key_of = keys_of[rec.step]
            exec_id = int(rec.get("exec"))
            if isinstance(key_of, wfgen_joins.JoinKeys):  # per event a join consumed / per collect release
                key_of_exec[exec_id] = key_of(state.execs[exec_id].bound or {})
            else:
                key_of_exec[exec_id] = [key_of(events[int(rec.get("event_seq"))])]
    check(records[-1].seq if records else 0)
    return checked + 1


# --- a store that dies --------------------------------------------------------------


class SimulatedCrash(Exception):
    """The 'process' died: its store refuses everything from now on."""


class CrashingSqliteStore(SqliteStore):
    """A SqliteStore that dies at its ``crash_at``-th journal write.

    ``when="before"``: that write is refused (the batch is lost, as if the
    process died before the commit). ``when="after"``: the write commits, then
    the caller sees the crash (as if the process died right after the commit).
    Every write after that raises :class:`SimulatedCrash`.
    """

    def __init__(self, path: str, crash_at: int, when: str, **kw: Any) -> None:
        super().__init__(path, **kw)
        self.crash_at = crash_at
        self.when = when
        self.writes = 0
        self.crashed = False

    async def _journal_write(self, fn: Callable[..., Any], *args: Any) -> Any:
        self._check_alive()
        self.writes += 1
        if self.writes == self.crash_at and self.when == "before":
            self.crashed = True
            raise SimulatedCrash(f"died before journal write {self.writes}")
        out = await fn(*args)
        if self.writes == self.crash_at:
            self.crashed = True
            raise SimulatedCrash(f"died after journal write {self.writes}")
        return out

    def _check_alive(self) -> None:
        if self.crashed:
            raise SimulatedCrash("the store's process is dead")

    async def create_run(
        self, run: NewRun, entries: Sequence[JournalEntry], *, durable: bool = True
    ) -> Lease:
        out: Lease = await self._journal_write(partial(super().create_run, durable=durable), run, entries)
        return out

    async def append(
        self,
        lease: Lease,
        entries: Sequence[JournalEntry],
        update: RunUpdate | None = None,
        consumed_inbox: Sequence[int] = (),
        *,
        durable: bool = True,
    ) -> None:
        await self._journal_write(partial(super().append, durable=durable), lease, entries, update, consumed_inbox)

    async def send_to_inbox(
        self, run_id: str, event_type: str, payload: str, codec: str = "json", origin: str | None = None
    ) -> int:
        self._check_alive()
        return await super().send_to_inbox(run_id, event_type, payload, codec, origin)

    async def claim_lease(self, run_id: str) -> Lease:
        self._check_alive()
        return await super().claim_lease(run_id)

    async def release_lease(self, lease: Lease) -> None:
        self._check_alive()
        await super().release_lease(lease)

    async def set_failed(self, run_id: str, reason: str) -> None:
        self._check_alive()
        await super().set_failed(run_id, reason)


# --- running plans ---------------------------------------------------------------------


@dataclass
class Outcome:
    """What a run of a plan ended with."""

    result: Any
    state: Any
    produced: dict[str, int]
    stream: dict[str, int]
    #: What the replayed state holds at the end besides the state (leftovers would show here).
    rest: dict[str, Any] = field(default_factory=dict)
    entries: list[JournalEntry] = field(default_factory=list, repr=False)

    def comparable(self) -> dict[str, Any]:
        return {
            "result": self.result,
            "state": self.state,
            "produced": self.produced,
            "stream": self.stream,
            "rest": self.rest,
        }


def state_json(state: Any) -> Any:
    dumped = state.model_dump(mode="json")
    if isinstance(dumped, dict) and set(dumped) == {"_data"}:  # DictState keeps its keys aside
        dumped = dumped["_data"]
    return canon(dumped)


async def finish(plan: dict[str, Any], store: JournalStore, run_id: str, resumed: bool) -> Outcome:
    """Run (or resume) ``run_id`` to its end on ``store``, answering questions."""
    wf = wfgen.make(plan, store)
    if resumed:
        handler = wf.resume(run_id)
    else:
        handler = wf.run(run_id=run_id, v=plan["start"])
    result = await asyncio.wait_for(drive(handler, store, plan, resumed), RUN_TIMEOUT)
    entries = await store.read(run_id)
    seen = journal_outcome(run_id, entries)
    final = replay(run_id, decode_journal(run_id, entries, Codec()), wf._run_spec()).summary()
    rest = canon({key: final.get(key) for key in LEFTOVERS})
    state = state_json(await handler.ctx.store.get_state())
    return Outcome(result, state, seen["produced"], seen["stream"], rest, entries)


async def baseline(plan: dict[str, Any]) -> Outcome:
    """The uninterrupted run of ``plan`` on a MemoryStore."""
    store = MemoryStore()
    try:
        return await finish(plan, store, "baseline", resumed=False)
    finally:
        await store.close()


def temp_db() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="df-prop-")


def db_in(folder: str) -> str:
    return str(Path(folder) / "journal.db")


@asynccontextmanager
async def fresh_store(kind: str) -> AsyncIterator[JournalStore]:
    """A new store, closed afterwards: ``"memory"``, or SQLite in a temporary folder."""
    with temp_db() as folder:
        store: JournalStore = MemoryStore() if kind == "memory" else SqliteStore(db_in(folder), synchronous="NORMAL")
        try:
            yield store
        finally:
            await store.close()


async def crash_and_resume(
    plan: dict[str, Any], path: str, crashes: Sequence[tuple[int, str]], run_id: str = "r"
) -> tuple[Outcome, int]:
    """Run ``plan`` on ``path``, crashing at each ``(write number, before/after)`` in turn.

    Each crash drops the store object; the next 'process' opens a new store on
    the same file and resumes (or starts again when the run never got created).
    Returns the final outcome and how many crashes really happened.
    """
    happened = 0
    for crash_at, when in crashes:
        store = CrashingSqliteStore(path, crash_at, when, synchronous="NORMAL")
        try:
            existing = await store.get_run(run_id)
            try:
                await finish(plan, store, run_id, resumed=existing is not None)
            except SimulatedCrash:
                happened += 1
            else:
                if not store.crashed:
                    break  # finished before the crash point: nothing more to crash
                happened += 1
        finally:
            await store.close()
    store2 = SqliteStore(path, synchronous="NORMAL")
    try:
        existing = await store2.get_run(run_id)
        outcome = await finish(plan, store2, run_id, resumed=existing is not None)
    finally:
        await store2.close()
    return outcome, happened


def draw_crash_points(data: Any) -> list[tuple[int, str]]:
    """One or two crash points (a number, "before" or "after" its write), drawn
    before anything runs: the number of writes depends on how appends got
    batched, so :func:`fold_crash_points` brings them into range afterwards."""
    from hypothesis import strategies as st

    return data.draw(  # type: ignore[no-any-return]
        st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from(["before", "after"])), min_size=1, max_size=2),
        label="crash points",
    )


def fold_crash_points(points: list[tuple[int, str]], writes: int) -> list[tuple[int, str]]:
    """``points`` as write numbers 1..``writes``."""
    return [(1 + n % writes, when) for n, when in points]


def count_journal_writes(plan: dict[str, Any]) -> int:
    """How many create_run/append calls an uninterrupted SQLite run of ``plan`` makes."""

    async def go() -> int:
        with temp_db() as folder:
            store = CrashingSqliteStore(db_in(folder), crash_at=-1, when="after", synchronous="NORMAL")
            try:
                await finish(plan, store, "count", resumed=False)
                return store.writes
            finally:
                await store.close()

    return asyncio.run(go())

"""Snapshots of the folded run state: written when due, and resumed from.

Runs journal to real SQLite files. Most tests switch the size rule off
(``SIZE_RATIO = 0``) and set a small ``snapshot_every``, so that snapshots
come often in short runs; the fan-out test keeps the defaults.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import test_snapshots as this
from run_waits import owned_and_waiting
from state_views import full_view

from durable_flows import (
    Context,
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    SqliteStore,
    StartEvent,
    StopEvent,
    Workflow,
    step,
)
from durable_flows.codec.journal import Codec
from durable_flows.context.serializers import JsonPickleSerializer
from durable_flows.errors import NonDeterminismError, WorkflowValidationError
from durable_flows.ops.check import check_run
from durable_flows.runtime import snapshot
from durable_flows.runtime.reducer import reduce
from durable_flows.runtime.replay import decode_journal, replay, replay_spec
from durable_flows.runtime.state import RunState
from durable_flows.storage import JournalEntry

pytestmark = pytest.mark.timeout(60)

HERE = Path(__file__).parent


class Go(StartEvent):
    n: int


class Tick(Event):
    i: int


class Ask(InputRequiredEvent):
    question: str = "and then?"


class Open(Event):
    after: int


class Approval(Event):
    ok: bool


class Counter(Workflow):
    """Counts to ``n`` one step at a time (a state edit each), then asks for a word."""

    @step
    async def begin(self, ctx: Context, ev: Go) -> Tick:
        await ctx.store.set("n", ev.n)
        return Tick(i=0)

    @step
    async def spin(self, ctx: Context, ev: Tick) -> Tick | Ask:
        await ctx.store.set("i", ev.i)
        if ev.i + 1 >= await ctx.store.get("n"):
            return Ask()
        return Tick(i=ev.i + 1)

    @step
    async def end(self, ctx: Context, ev: HumanResponseEvent) -> StopEvent:
        return StopEvent(result=f"{await ctx.store.get('i')} then {ev.response}")


class Gate(Workflow):
    """Counts a little, then ``gate`` waits for an Approval: parked with an execution pending."""

    @step
    async def begin(self, ctx: Context, ev: Go) -> Tick:
        return Tick(i=ev.n)

    @step
    async def count(self, ctx: Context, ev: Tick) -> Tick | Open:
        ctx.write_event_to_stream(ev)
        if ev.i > 0:
            return Tick(i=ev.i - 1)
        return Open(after=ev.i)

    @step
    async def gate(self, ctx: Context, ev: Open) -> StopEvent:
        approval = await ctx.wait_for_event(Approval, waiter_id="approval", timeout=None)
        return StopEvent(result=f"approved={approval.ok}")


class GateRenamed(Workflow):
    """Gate with ``gate`` renamed to ``gatekeeper``: the pending execution has no step."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(workflow_name=f"{__name__}.Gate", **kw)

    @step
    async def begin(self, ctx: Context, ev: Go) -> Tick:
        return Tick(i=ev.n)

    @step
    async def count(self, ctx: Context, ev: Tick) -> Tick | Open:
        return Open(after=ev.i)

    @step
    async def gatekeeper(self, ctx: Context, ev: Open) -> StopEvent:
        return StopEvent(result="?")


class CountingStore(SqliteStore):
    """Records every journal read: (run id, after_seq, entries returned)."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.reads: list[tuple[str, int, int]] = []

    async def read(self, run_id: str, after_seq: int = 0) -> list[JournalEntry]:
        got = await super().read(run_id, after_seq)
        self.reads.append((run_id, after_seq, len(got)))
        return got


@pytest.fixture
def often(monkeypatch: pytest.MonkeyPatch) -> None:
    """Snapshots whenever ``snapshot_every`` allows, however big the state."""
    monkeypatch.setattr(snapshot, "SIZE_RATIO", 0)


async def _park(wf: Workflow, store: SqliteStore, run_id: str, n: int) -> None:
    """Run ``wf`` until it waits for outside input, then close ``store`` (its lease is released)."""
    wf.run(run_id=run_id, start_event=Go(n=n))
    for _ in range(1000):
        info = await store.get_run(run_id)
        if info is not None and info.status == "waiting":
            break
        await asyncio.sleep(0.01)
    else:
        raise AssertionError(f"{run_id} never waited")
    await store.close()


async def _answer_when_waiting(store: SqliteStore, handler: Any, response: str) -> None:
    """Once the run waits for outside input (asked before or after a restart), answer it."""
    for _ in range(1000):
        info = await store.get_run(handler.run_id)
        if info is not None and info.status == "waiting" and info.owner == store.owner_id:
            await handler.send_event(HumanResponseEvent(response=response))
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{handler.run_id} never waited")


async def _entries(path: Path, run_id: str) -> list[JournalEntry]:
    async with SqliteStore(path) as store:
        return await store.read(run_id)


def _snapshot_seqs(entries: list[JournalEntry]) -> list[int]:
    return [e.seq for e in entries if e.kind == "snapshot"]


# -- the setting ----------------------------------------------------------------------


@pytest.mark.parametrize("bad", [-1, 1.5, "10", True])
def test_snapshot_every_must_be_a_count(bad: Any) -> None:
    with pytest.raises(WorkflowValidationError, match="snapshot_every"):
        Counter(snapshot_every=bad)


@pytest.mark.parametrize("off", [0, None])
async def test_snapshots_can_be_switched_off(off: int | None, tmp_path: Path, often: None) -> None:
    store = SqliteStore(tmp_path / "j.db")
    await _park(Counter(store=store, snapshot_every=off), store, "r", 30)
    entries = await _entries(tmp_path / "j.db", "r")
    assert _snapshot_seqs(entries) == []
    async with SqliteStore(tmp_path / "j.db") as reader:
        assert (await reader.get_run("r")).snapshot_seq is None  # type: ignore[union-attr]


async def test_snapshots_end_batches_but_never_the_first_or_the_last(tmp_path: Path, often: None) -> None:
    store = SqliteStore(tmp_path / "j.db")
    handler = Counter(store=store, snapshot_every=1).run(run_id="r", start_event=Go(n=5))
    async for ev in handler.stream_events():
        if isinstance(ev, Ask):
            await handler.send_event(HumanResponseEvent(response="stop"))
    assert await handler == "4 then stop"
    info = await store.get_run("r")
    entries = await store.read("r")
    await store.close()
    seqs = _snapshot_seqs(entries)
    assert seqs and info is not None and info.snapshot_seq == seqs[-1]
    first_batch = 3  # run_started, the start event, begin accepted
    assert seqs[0] > first_batch
    stop = next(e.seq for e in entries if e.event_type == "durable_flows.events.StopEvent")
    assert seqs[-1] < stop  # the batch that ends the run has none
    # Each holds the state folded up to the entry before it.
    for seq in seqs:
        state, event_types = snapshot.load_entry(entries[seq - 1], Codec())
        assert state.last_seq == seq - 1
        assert event_types == {
            e.event_type: e.seq
            for e in reversed(entries[: seq - 1])
            if e.event_type is not None
        }


async def test_a_snapshot_that_cannot_be_made_never_fails_the_run(
    tmp_path: Path, often: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[int] = []

    def broken(state: RunState, codec: Codec, event_types: Any) -> Any:
        calls.append(state.last_seq)
        raise TypeError("cannot dump that")

    monkeypatch.setattr(snapshot, "snapshot_data", broken)
    async with SqliteStore(tmp_path / "j.db") as store:
        handler = Counter(store=store, snapshot_every=8).run(run_id="r", start_event=Go(n=12))
        await _answer_when_waiting(store, handler, "anyway")
        assert await asyncio.wait_for(handler, 10) == "11 then anyway"
        entries = await store.read("r")
    assert _snapshot_seqs(entries) == []
    assert len(calls) >= 2 and all(b - a >= 8 for a, b in zip(calls, calls[1:], strict=False))
    assert "no snapshot at seq=" in caplog.text and "cannot dump that" in caplog.text


async def test_a_snapshot_that_cannot_be_encoded_never_fails_the_run(
    tmp_path: Path, often: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Regression: only making the snapshot's data was guarded; encoding it (a value
    JSON has no form for, e.g. a date in a waiter's requirements) aborted the run."""
    monkeypatch.setattr(snapshot, "snapshot_data", lambda state, codec, types: {"x": object()})
    async with SqliteStore(tmp_path / "j.db") as store:
        handler = Counter(store=store, snapshot_every=8).run(run_id="r", start_event=Go(n=12))
        await _answer_when_waiting(store, handler, "anyway")
        assert await asyncio.wait_for(handler, 10) == "11 then anyway"
        entries = await store.read("r")
        info = await store.get_run("r")
    assert _snapshot_seqs(entries) == [] and info is not None and info.snapshot_seq is None
    assert "is not JSON serializable" in caplog.text


class ChangesItsInput(Gate):
    """Gate whose ``gate`` changes the event it was given before it waits."""

    @step
    async def gate(self, ctx: Context, ev: Open) -> StopEvent:
        ev.after += 1000
        approval = await ctx.wait_for_event(Approval, waiter_id="approval", timeout=None)
        return StopEvent(result=f"after={ev.after} ok={approval.ok}")


async def test_a_step_changing_its_input_event_changes_no_snapshot(tmp_path: Path, often: None) -> None:
    """Regression: steps were given the very event objects the run's state holds, so a
    snapshot taken while a step that changed its input was parked (or in flight) saved
    the changed event; a resume from it then differed from a full replay."""
    db = tmp_path / "j.db"
    store = SqliteStore(db)
    await _park(ChangesItsInput(store=store, snapshot_every=1), store, "r", 3)
    async with SqliteStore(db) as reader:
        info = await reader.get_run("r")
        assert info is not None and info.snapshot_seq is not None
        entries = await reader.read("r")
    spec = ChangesItsInput()._run_spec()
    full = replay("r", decode_journal("r", entries, Codec()), spec)
    base, _ = snapshot.load_entry(entries[info.snapshot_seq - 1], Codec())
    assert [ex.event for ex in base.execs.values()] == [Open(after=0)]
    assert full_view(base) == full_view(
        replay("r", decode_journal("r", entries[: info.snapshot_seq - 1], Codec()), spec)
    )
    assert [ex.event for ex in full.execs.values()] == [Open(after=0)]
    async with SqliteStore(db) as store:
        handler = ChangesItsInput(store=store, snapshot_every=1).resume("r")
        await owned_and_waiting(store, "r")
        await handler.send_event(Approval(ok=True))
        assert await asyncio.wait_for(handler, 10) == "after=1000 ok=True"


class PickledGate(Workflow):
    """Waits for an Approval while holding its start event, which carries a set; then counts down."""

    @step
    async def gate(self, ctx: Context, ev: StartEvent) -> Tick:
        approval = await ctx.wait_for_event(Approval, waiter_id="approval", timeout=None)
        await ctx.store.set("seen", f"{type(ev.tags).__name__} ok={approval.ok}")
        return Tick(i=3)

    @step
    async def count(self, ctx: Context, ev: Tick) -> Tick | StopEvent:
        if ev.i > 0:
            return Tick(i=ev.i - 1)
        return StopEvent(result=await ctx.store.get("seen"))


async def test_an_event_journaled_by_jsonpickle_is_not_snapshotted_as_json(
    tmp_path: Path, often: None, caplog: pytest.LogCaptureFixture
) -> None:
    """Regression: a snapshot dumps the events a run holds with the serializer the
    workflow has now; one that jsonpickle journaled (a set) came back from the
    snapshot as JSON wrote it (a list), while a full replay loads it as a set."""
    db = tmp_path / "j.db"
    async with SqliteStore(db) as store:
        PickledGate(store=store, serializer=JsonPickleSerializer()).run(
            run_id="r", start_event=StartEvent(tags={1, 2, 3})
        )
        await owned_and_waiting(store, "r")
    async with SqliteStore(db) as store:
        handler = PickledGate(store=store, snapshot_every=1).resume("r")
        await owned_and_waiting(store, "r")
        await handler.send_event(Approval(ok=True))
        assert await asyncio.wait_for(handler, 10) == "set ok=True"
        entries = await store.read("r")
    assert {e.codec for e in entries if e.event_type is not None} == {"json", "jsonpickle"}
    approved = next(e.seq for e in entries if e.event_type == f"{__name__}.Approval")
    seqs = _snapshot_seqs(entries)
    assert seqs and min(seqs) > approved  # none while the start event was held, some after
    assert "was journaled by jsonpickle" in caplog.text
    spec = PickledGate()._run_spec()
    for seq in seqs:  # each loads as a full replay folds
        base, _ = snapshot.load_entry(entries[seq - 1], Codec())
        upto = replay("r", decode_journal("r", entries[: seq - 1], Codec()), spec)
        assert full_view(base) == full_view(upto)


# -- what a snapshot holds ------------------------------------------------------------


async def test_dump_then_load_gives_the_same_state_after_every_entry(tmp_path: Path) -> None:
    """States of real runs: counting with state edits, a stream, a parked waiter, a result."""
    store = SqliteStore(tmp_path / "j.db")
    await _park(Counter(store=store, snapshot_every=0), store, "counter", 6)
    store = SqliteStore(tmp_path / "j.db")
    await _park(Gate(store=store, snapshot_every=0), store, "gate", 3)
    for run_id, wf in (("counter", Counter()), ("gate", Gate())):
        entries = await _entries(tmp_path / "j.db", run_id)
        records = decode_journal(run_id, entries, Codec())
        spec = replay_spec(records, wf._run_spec())
        state = RunState(run_id=run_id)
        for rec in records:
            reduce(state, rec, spec)
            loaded = snapshot.load(snapshot.dump(state, Codec()), Codec(), run_id)
            assert full_view(loaded) == full_view(state), (run_id, rec.seq)
        assert state.waiters or state.queues or run_id == "counter"


def test_an_unknown_snapshot_format_is_refused() -> None:
    text = snapshot.dump(RunState(run_id="r"), Codec()).replace('"format":1', '"format":99')
    with pytest.raises(ValueError, match="unknown snapshot format 99"):
        snapshot.load(text, Codec(), "r")


# -- resuming from a snapshot ---------------------------------------------------------


def child(db: str, run_id: str) -> None:
    """Start a Counter run in this (sub)process (killed by a fault point, see below)."""

    async def go() -> None:
        store = SqliteStore(db)
        await Counter(store=store, snapshot_every=100).run(run_id=run_id, start_event=Go(n=300))

    asyncio.run(go())


async def test_resume_after_a_kill_reads_only_what_follows_the_snapshot(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
        "DURABLE_FLOWS_FAULTS": "after_append=150",  # SIGKILL after the 150th commit
    }
    proc = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", f"import test_snapshots; test_snapshots.child({str(db)!r}, 'r')"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == -9, proc.stderr
    store = CountingStore(db)
    info = await store.get_run("r")
    assert info is not None and info.status == "running" and info.snapshot_seq is not None
    snap_seq, last_seq = info.snapshot_seq, info.last_seq
    assert 100 < snap_seq < last_seq
    handler = Counter(store=store, snapshot_every=100).resume("r")
    async for ev in handler.stream_events():
        if isinstance(ev, Ask):
            await handler.send_event(HumanResponseEvent(response="done"))
    assert await handler == "299 then done"
    rebuilt = store.reads[0]
    assert rebuilt == ("r", snap_seq - 1, last_seq - snap_seq + 1)  # the snapshot and its tail
    assert all(after > 0 for _, after, _ in store.reads), store.reads  # never the whole journal
    entries = await store.read("r")
    await store.close()
    # The resumed run went on from where the killed one stopped, and snapshotted on.
    assert [e.kind for e in entries].count("resumed") == 1
    assert max(_snapshot_seqs(entries)) > last_seq


@pytest.mark.parametrize(
    "damage",
    [
        "UPDATE journal SET payload = '{\"format\": 1, ' WHERE run_id = 'r' AND seq = {snap}",
        "UPDATE journal SET payload = replace(payload, '\"format\":1', '\"format\":99') "
        "WHERE run_id = 'r' AND seq = {snap}",
        "UPDATE journal SET payload = replace(payload, '\"queues\"', '\"queued\"') "
        "WHERE run_id = 'r' AND seq = {snap}",
        "UPDATE runs SET snapshot_seq = {snap} - 1 WHERE run_id = 'r'",
        "UPDATE runs SET snapshot_seq = 99999 WHERE run_id = 'r'",
    ],
    ids=["not-json", "unknown-format", "missing-field", "names-another-entry", "names-no-entry"],
)
async def test_a_damaged_snapshot_is_skipped_for_a_full_replay(
    damage: str, tmp_path: Path, often: None, caplog: pytest.LogCaptureFixture
) -> None:
    """A snapshot is a cache: the journal before it still holds everything."""
    db = tmp_path / "j.db"
    store = SqliteStore(db)
    await _park(Counter(store=store, snapshot_every=10), store, "r", 20)
    async with SqliteStore(db) as reader:
        snap = (await reader.get_run("r")).snapshot_seq  # type: ignore[union-attr]
    assert snap is not None
    con = sqlite3.connect(db)
    con.execute(damage.replace("{snap}", str(snap)))
    con.commit()
    con.close()
    store = CountingStore(db)
    with caplog.at_level(logging.WARNING, logger="durable_flows.runtime.rebuild"):
        handler = Counter(store=store).resume("r")
        await _answer_when_waiting(store, handler, "fine")
        assert await asyncio.wait_for(handler, 10) == "19 then fine"
    assert ("r", 0, store.reads[1][2]) == store.reads[1]  # then the whole journal
    assert "replaying the whole journal" in caplog.text and "'r'" in caplog.text
    info = await store.get_run("r")
    await store.close()
    assert info is not None and info.status == "completed"


async def _refusal(wf: Workflow, db: Path) -> tuple[NonDeterminismError, NonDeterminismError]:
    """The error a resume raises, and the one a full replay of the journal raises."""
    async with SqliteStore(db) as store:
        entries = await store.read("g")
        with pytest.raises(NonDeterminismError) as full:
            replay("g", decode_journal("g", entries, Codec()), wf._run_spec())
        wf._store = store
        with pytest.raises(NonDeterminismError) as resumed:
            await asyncio.wait_for(wf.resume("g"), 10)
        info = await store.get_run("g")
        assert info is not None and info.status == "waiting"  # refused, not failed
        assert await store.read("g") == entries
    return resumed.value, full.value


async def _parked_gate(db: Path) -> list[JournalEntry]:
    store = SqliteStore(db)
    await _park(Gate(store=store, snapshot_every=1), store, "g", 4)
    entries = await _entries(db, "g")
    assert entries[-1].kind == "snapshot"  # the last batch (gate parked) ends with one
    return entries


async def test_code_that_cannot_continue_is_refused_as_by_a_full_replay(tmp_path: Path, often: None) -> None:
    await _parked_gate(tmp_path / "j.db")
    resumed, full = await _refusal(GateRenamed(), tmp_path / "j.db")
    assert str(resumed) == str(full)
    assert "step 'gate'" in resumed.expected and "no step 'gate'" in resumed.found


@pytest.mark.parametrize("gone", ["Open", "Tick"])
async def test_an_event_type_gone_is_refused_at_its_first_entry(
    gone: str, tmp_path: Path, often: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Open is pending (the waiting execution's event); Tick only in history before the snapshot."""
    entries = await _parked_gate(tmp_path / "j.db")
    monkeypatch.delattr(this, gone)  # as after renaming the class
    resumed, full = await _refusal(Gate(), tmp_path / "j.db")
    assert str(resumed) == str(full)
    assert resumed.seq == next(e.seq for e in entries if e.event_type == f"test_snapshots.{gone}")


class TickWithText(Event):
    i: str


async def test_history_before_the_snapshot_is_not_decoded_again(
    tmp_path: Path, often: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one thing a resume from a snapshot does not refuse, where a full replay does.

    Every Tick is consumed before the snapshot: Tick's class still imports but
    no longer loads the stored fields, which only decoding those entries shows.
    """
    await _parked_gate(tmp_path / "j.db")
    monkeypatch.setattr(this, "Tick", TickWithText)
    async with SqliteStore(tmp_path / "j.db") as store:
        entries = await store.read("g")
        with pytest.raises(NonDeterminismError, match="loads the stored fields"):
            replay("g", decode_journal("g", entries, Codec()), Gate()._run_spec())
        handler = Gate(store=store).resume("g")
        await asyncio.sleep(0.05)
        await handler.send_event(Approval(ok=True))
        assert await asyncio.wait_for(handler, 10) == "approved=True"


async def test_check_replays_from_the_snapshot_as_resume_does(tmp_path: Path, often: None) -> None:
    entries = await _parked_gate(tmp_path / "j.db")
    async with SqliteStore(tmp_path / "j.db") as store:
        ok = await check_run(Gate(), store, "g")
        bad = await check_run(GateRenamed(), store, "g")
    assert ok.ok and ok.entries == 1 and ok.snapshot_seq == len(entries)  # the snapshot is the last entry
    _, full = await _refusal(GateRenamed(), tmp_path / "j.db")
    assert not bad.ok and (bad.seq, bad.message, bad.entries) == (full.seq, str(full), len(entries))


@pytest.mark.parametrize("where", ["after", "before"])
async def test_a_fork_resumes_from_the_snapshot_it_kept(where: str, tmp_path: Path, often: None) -> None:
    db = tmp_path / "j.db"
    store = SqliteStore(db)
    await _park(Counter(store=store, snapshot_every=25), store, "r", 20)
    entries = await _entries(db, "r")
    first = _snapshot_seqs(entries)[0]
    at = len(entries) if where == "after" else first - 1
    store = CountingStore(db)
    await store.fork("r", at, "f")
    fork = await store.get_run("f")
    assert fork is not None
    expected = max(s for s in _snapshot_seqs(entries) if s <= at) if where == "after" else None
    assert fork.snapshot_seq == expected
    handler = Counter(store=store).resume("f")
    await _answer_when_waiting(store, handler, "again")
    assert await asyncio.wait_for(handler, 10) == "19 then again"
    assert store.reads[0][1] == (expected - 1 if expected else 0)
    await store.close()


# -- the cost stays linear ------------------------------------------------------------


class Item(Event):
    i: int


class Done(Event):
    i: int


class FanOut(Workflow):
    """One step queues ``n`` Items at once; four workers turn them into Dones; one collects all."""

    @step
    async def fan(self, ctx: Context, ev: Go) -> Item | None:
        await ctx.store.set("n", ev.n)
        for i in range(ev.n):
            ctx.send_event(Item(i=i))
        return None

    @step(num_workers=4)
    async def work(self, ev: Item) -> Done:
        return Done(i=ev.i)

    @step
    async def total(self, ctx: Context, ev: Done) -> StopEvent | None:
        got = ctx.collect_events(ev, [Done] * await ctx.store.get("n"))
        return None if got is None else StopEvent(result=len(got))


@pytest.mark.timeout(120)
async def test_a_big_state_snapshots_in_proportion_to_the_journal(tmp_path: Path) -> None:
    """Regression guard: snapshotting 2,000 queued events every N entries would be quadratic."""
    async with SqliteStore(tmp_path / "j.db") as store:
        assert await FanOut(store=store, timeout=None).run(run_id="fan", start_event=Go(n=2000)) == 2000
        entries = await store.read("fan")
    snapshots = [len(e.payload) for e in entries if e.kind == "snapshot"]
    rest = sum(len(e.payload) for e in entries if e.kind != "snapshot")
    assert snapshots, "a run of 14,000 entries with the default setting has snapshots"
    assert max(snapshots) > 2000 * 20  # each holds the queued (or collected) events
    assert sum(snapshots) <= rest / 3
    # The rule behind it: after each snapshot, SIZE_RATIO times its size is journaled first.
    seqs = _snapshot_seqs(entries)
    for before, after in zip(seqs, seqs[1:], strict=False):
        between = sum(len(e.payload) for e in entries[before : after - 1])
        assert between >= snapshot.SIZE_RATIO * len(entries[before - 1].payload)
        assert after - before - 1 >= snapshot.DEFAULT_EVERY

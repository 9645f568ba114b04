"""Live streaming under crashes (issue 14 item 3): a run crashed at every journal write and
resumed commits the same stream as an uninterrupted run. A consumer that keeps what it saw
with a position, drops what it saw live without one, and reconnects with
``stream_events(after=<last position>)`` ends with that stream exactly: each event once, in order."""

from __future__ import annotations

from pathlib import Path

import pytest
from proptools import CrashingSqliteStore, SimulatedCrash

from durable_flows import Context, StartEvent, StopEvent, Workflow, step
from durable_flows.events import Event
from durable_flows.storage import SqliteStore

RUN = "r"


class Token(Event):
    text: str


class Half(Event):
    pass


class Writer(Workflow):
    @step
    async def first(self, ctx: Context, ev: StartEvent) -> Half:
        for word in ("a", "b"):
            ctx.write_event_to_stream(Token(text=word))
        return Half()

    @step
    async def second(self, ctx: Context, ev: Half) -> StopEvent:
        for word in ("c", "d"):
            ctx.write_event_to_stream(Token(text=word))
        return StopEvent(result="done")


async def _consume(wf: Writer, resume: bool, out: list[tuple[str, int | None]], after: int | None = None) -> None:
    """Stream the run live; ``out`` gets (token, committed position or None), even on a crash."""
    handler = wf.resume(RUN) if resume else wf.run(run_id=RUN)
    seen: list[Token] = []
    try:
        async for ev in handler.stream_events(after=after):
            if isinstance(ev, Token):
                seen.append(ev)
        await handler
    finally:
        out.extend((t.text, handler.stream_position(t)) for t in seen)


@pytest.mark.timeout(240)
async def test_live_consumers_across_crashes_see_each_committed_event_once(tmp_path: Path) -> None:
    crashed_live = 0
    for crash_at in range(1, 10):
        for when in ("before", "after"):
            path = str(tmp_path / f"{crash_at}-{when}.db")
            store = CrashingSqliteStore(path, crash_at, when, synchronous="NORMAL")
            live: list[tuple[str, int | None]] = []
            try:
                await _consume(Writer(store=store), False, live)
            except SimulatedCrash:
                pass
            finally:
                await store.close()
            store2 = SqliteStore(path, synchronous="NORMAL")
            try:
                resumed = (await store2.get_run(RUN)) is not None
                kept = [(text, pos) for text, pos in live if pos is not None]
                last = max((pos for _, pos in kept if pos is not None), default=0)
                after: list[tuple[str, int | None]] = []
                await _consume(Writer(store=store2), resumed, after, last if resumed else None)
                journal = [e for e in await store2.read(RUN) if e.kind == "stream"]
            finally:
                await store2.close()
            # the committed stream is the uninterrupted one: each token once, in order
            assert [e.event_type.rsplit(".", 1)[-1] for e in journal] == ["Token"] * 4
            # what the consumer ends with: the committed stream, each token once, in order
            assert [t for t, _ in kept] + [t for t, _ in after] == ["a", "b", "c", "d"], (crash_at, when, live, after)
            assert [p for _, p in kept + after] == [1, 2, 3, 4]
            crashed_live += sum(1 for _, pos in live if pos is None)
    assert crashed_live > 0  # some crashes did interrupt executions that had streamed live

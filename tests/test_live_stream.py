"""Live streaming (issue 14 item 3): ``write_event_to_stream`` events reach consumers as a
step writes them; committed copies keep their positions and are not delivered twice."""

from __future__ import annotations

import asyncio
from pathlib import Path

from durable_flows import Context, StartEvent, StopEvent, Workflow, step
from durable_flows.events import Event
from durable_flows.storage import SqliteStore


class Token(Event):
    text: str


class Typist(Workflow):
    """Writes three tokens, pausing after each until the test lets it go on."""

    def __init__(self, gate: asyncio.Queue[None], **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.gate = gate

    @step
    async def type_out(self, ctx: Context, ev: StartEvent) -> StopEvent:
        for word in ("one", "two", "three"):
            ctx.write_event_to_stream(Token(text=word))
            await self.gate.get()
        return StopEvent(result="typed")


async def test_tokens_arrive_while_the_step_runs_and_once(db_path: Path) -> None:
    gate: asyncio.Queue[None] = asyncio.Queue()
    store = SqliteStore(str(db_path))
    handler = Typist(gate, store=store).run()
    seen: list[str] = []
    tokens: list[Token] = []
    positions: list[int | None] = []
    async for ev in handler.stream_events():
        if isinstance(ev, Token):
            seen.append(ev.text)
            tokens.append(ev)
            positions.append(handler.stream_position(ev))  # the step has not committed yet
            gate.put_nowait(None)  # only now may the step write the next token
    assert await handler == "typed"
    assert seen == ["one", "two", "three"]  # each once: the committed copies were skipped
    assert positions == [None, None, None]
    assert [handler.stream_position(t) for t in tokens] == [1, 2, 3]  # committed since
    # once the step committed, each event has its journal position, in order
    # (stream_events(after=N) resumes after them)
    replay = [ev async for ev in Typist(asyncio.Queue(), store=store).resume(handler.run_id).stream_events(after=0)]
    assert [e.text for e in replay if isinstance(e, Token)] == ["one", "two", "three"]
    journal = [e for e in await store.read(handler.run_id) if e.kind == "stream"]
    assert len(journal) == 3
    await store.close()


async def test_interrupted_execution_leaves_live_events_without_position(db_path: Path) -> None:
    gate: asyncio.Queue[None] = asyncio.Queue()
    store = SqliteStore(str(db_path))
    handler = Typist(gate, store=store).run()
    live: list[Token] = []
    async for ev in handler.stream_events():
        if isinstance(ev, Token):
            live.append(ev)
            await handler.cancel_run()  # the step never commits
    assert [t.text for t in live] == ["one"]
    assert handler.stream_position(live[0]) is None  # belongs to an interrupted execution
    assert [e for e in await store.read(handler.run_id) if e.kind == "stream"] == []
    await store.close()

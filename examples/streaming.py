"""Streaming progress to the caller while the run is journaled.

    python examples/streaming.py
"""

from __future__ import annotations

import asyncio

from durable_flows import Context, Event, StartEvent, StopEvent, Workflow, step


class Progress(Event):
    msg: str


class StreamingWorkflow(Workflow):
    @step
    async def write(self, ctx: Context, ev: StartEvent) -> StopEvent:
        words = ev.text.split()
        for i, word in enumerate(words, 1):
            ctx.write_event_to_stream(Progress(msg=f"{i}/{len(words)}: {word}"))
        return StopEvent(result=len(words))


async def main() -> None:
    wf = StreamingWorkflow()
    handler = wf.run(text="every event is journaled before you see it")
    async for ev in handler.stream_events():
        if isinstance(ev, Progress):
            print(ev.msg)
    print(f"words: {await handler}")
    await wf.store.close()


if __name__ == "__main__":
    asyncio.run(main())

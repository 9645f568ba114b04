"""Fan-out / fan-in shapes side by side: what joins, list returns and collect steps cost.

    python -m bench.fan_in [--items N] [--reps R]

One run of each shape over N items on a fresh SQLite journal (default
``synchronous=FULL``), median of R repetitions, printed with its ratio to the
``send_event`` + ``ctx.collect_events`` shape that existed before:

- ``send+collect_events``: a step sends N events, workers map them, a step gathers with ctx.collect_events;
- ``list+collect_events``: the same, the N events returned as a list;
- ``list+collect step``: the list, gathered by a ``list[E]`` parameter (collection stream);
- ``list+join+collect``: N/2 lefts and rights, paired by a two-parameter join step, then gathered.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from durable_flows import Context, Event, SqliteStore, StartEvent, StopEvent, Workflow, step


class Item(Event):
    i: int


class Done(Event):
    i: int


class Left(Event):
    i: int


class Right(Event):
    i: int


class SendCollect(Workflow):
    @step
    async def scatter(self, ctx: Context, ev: StartEvent) -> Item | None:
        for i in range(ev.get("n")):
            ctx.send_event(Item(i=i))
        return None

    @step(num_workers=8)
    async def work(self, ev: Item) -> Done:
        return Done(i=ev.i)

    @step
    async def gather(self, ctx: Context, ev: Done) -> StopEvent | None:
        got = ctx.collect_events(ev, [Done] * await ctx.store.get("n"))
        return None if got is None else StopEvent(result=len(got))


class ListCollect(SendCollect):
    @step
    async def scatter(self, ctx: Context, ev: StartEvent) -> list[Item]:  # type: ignore[override]
        return [Item(i=i) for i in range(ev.get("n"))]


class ListStream(Workflow):
    @step
    async def scatter(self, ev: StartEvent) -> list[Item]:
        return [Item(i=i) for i in range(ev.get("n"))]

    @step(num_workers=8)
    async def work(self, ev: Item) -> Done:
        return Done(i=ev.i)

    @step
    async def gather(self, done: list[Done]) -> StopEvent:
        return StopEvent(result=len(done))


class ListJoin(Workflow):
    @step
    async def scatter(self, ev: StartEvent) -> list[Left | Right]:
        n = ev.get("n")
        return [Left(i=i) for i in range(n // 2)] + [Right(i=i) for i in range(n // 2)]

    @step(num_workers=8)
    async def join(self, left: Left, right: Right) -> Done:
        return Done(i=left.i + right.i)

    @step
    async def gather(self, done: list[Done]) -> StopEvent:
        return StopEvent(result=len(done) * 2)


SHAPES: list[tuple[str, type[Workflow]]] = [
    ("send+collect_events", SendCollect),
    ("list+collect_events", ListCollect),
    ("list+collect step", ListStream),
    ("list+join+collect", ListJoin),
]


async def once(flow: type[Workflow], n: int) -> float:
    with tempfile.TemporaryDirectory(prefix="df-bench-") as folder:
        store = SqliteStore(str(Path(folder) / "j.db"))
        try:
            wf = flow(store=store, timeout=600)
            started = time.perf_counter()
            handler = wf.run(n=n)
            await handler.ctx.store.set("n", n)
            result: Any = await handler
            took = time.perf_counter() - started
        finally:
            await store.close()
    assert result == n, (flow.__name__, result)
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    medians = {}
    for name, flow in SHAPES:
        medians[name] = statistics.median(asyncio.run(once(flow, args.items)) for _ in range(args.reps))
    base = medians[SHAPES[0][0]]
    print(f"fan-in of {args.items} items, median of {args.reps} (SQLite, synchronous=FULL)")
    for name, took in medians.items():
        print(f"  {name:22s} {took * 1000:9.1f} ms  {args.items / took:9.0f} items/s  x{took / base:5.2f}")


if __name__ == "__main__":
    main()

"""A workflow with a list[E] return, a join step and a collect step, for the SIGKILL tests (``test_join_kills.py``).

    python joinwf.py DB RUN_ID

runs or resumes it and prints one JSON line {"result": ...}. Every step body
appends a line to the file named by ``SIDE_EFFECTS`` (its key), so the test can
tell which executions ran in which process.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys

from durable_flows import Context, Event, SqliteStore, StartEvent, StopEvent, Workflow, step

WIDTH = 6
EXPECTED = {"lefts": [1, 3, 5], "rights": [0, 2, 4]}


def effect(key: str) -> None:
    path = os.environ.get("SIDE_EFFECTS")
    if path:
        with open(path, "a") as f:
            f.write(key + "\n")


class Item(Event):
    i: int


class Left(Event):
    i: int


class Right(Event):
    i: int


class Pair(Event):
    left: int
    right: int


class JoinRef(Workflow):
    @step
    async def scatter(self, ev: StartEvent) -> list[Item]:
        effect("scatter")
        return [Item(i=i) for i in range(WIDTH)]

    @step(num_workers=3)
    async def split(self, ev: Item) -> Left | Right:
        await asyncio.sleep(0.01 * (ev.i % 3))
        effect(f"split:{ev.i}")
        return Left(i=ev.i) if ev.i % 2 else Right(i=ev.i)

    @step(num_workers=2)
    async def join(self, ctx: Context, left: Left, right: Right) -> Pair:
        await asyncio.sleep(0.005)
        effect(f"join:{left.i}:{right.i}")
        return Pair(left=left.i, right=right.i)

    @step
    async def gather(self, pairs: list[Pair]) -> StopEvent:
        """A collect step: released once the stream scatter's list opened has closed."""
        effect("gather")
        return StopEvent(result={"lefts": sorted(p.left for p in pairs), "rights": sorted(p.right for p in pairs)})


async def main(db: str, run_id: str) -> None:
    store = SqliteStore(db)
    wf = JoinRef(store=store, timeout=60)
    existing = await store.get_run(run_id)
    handler = wf.resume(run_id) if existing is not None else wf.run(run_id=run_id)
    print(json.dumps({"result": await handler}), flush=True)
    await store.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))

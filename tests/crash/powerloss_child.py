"""Runs chains of state edits one after another on a SqliteStore at FULL, noting every fsync.

    python -c "import sys, powerloss_child; powerloss_child.main(*sys.argv[1:])" DB SYNC_LOG

After each fsync of the WAL returns, appends to SYNC_LOG the WAL's size taken
just before that fsync began: every byte below it is on disk. Prints
``done <run_id> <result>`` once a run's result is handed back, and ``mid``
when a run's fourth step begins (it then lingers 0.2 s). From the fourth run
on, it starts a run only once a line arrives on stdin, so that it never runs
ahead of the test (a long journal would make SQLite checkpoint and restart the
WAL). The test kills this process and cuts the WAL to what a power loss could
have left.
"""

from __future__ import annotations

import asyncio
import os
import sys

from durable_flows import Context, Event, SqliteStore, StartEvent, StopEvent, Workflow, step
from durable_flows.storage.sqlite import syncer

HOPS = 8
#: Runs started without waiting for the test.
FREE_RUNS = 3


class Hop(Event):
    n: int


class PowerFlow(Workflow):
    """HOPS steps in a row; each counts its own execution in state, once."""

    @step
    async def begin(self, ev: StartEvent) -> Hop:
        return Hop(n=0)

    @step
    async def hop(self, ctx: Context, ev: Hop) -> Hop | StopEvent:
        await asyncio.sleep(0.002)
        if ev.n == 3:
            print("mid", flush=True)
            await asyncio.sleep(0.2)  # a kill on "mid" lands inside this run
        async with ctx.store.edit_state() as state:
            state[f"hits:{ev.n}"] = state.get(f"hits:{ev.n}", 0) + 1
        if ev.n + 1 < HOPS:
            return Hop(n=ev.n + 1)
        # HOPS exactly when every execution's edit was applied once.
        return StopEvent(result=sum([await ctx.store.get(f"hits:{i}", default=0) for i in range(HOPS)]))


def main(db: str, log_path: str) -> None:
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    real = syncer._fdatasync

    def noting(fd: int) -> None:
        size = os.fstat(fd).st_size
        real(fd)
        os.write(log_fd, f"{size}\n".encode())

    init = syncer.Syncer.__init__

    def patched(self: syncer.Syncer, *args: object, **kwargs: object) -> None:
        init(self, *args, **kwargs)  # type: ignore[arg-type]
        self.sync_fd = noting

    syncer.Syncer.__init__ = patched  # type: ignore[method-assign]

    async def go() -> None:
        store = SqliteStore(db)
        wf = PowerFlow(store=store, timeout=None)
        for i in range(10_000):
            if i >= FREE_RUNS:
                await asyncio.to_thread(sys.stdin.readline)
            result = await wf.run(run_id=f"r{i}")
            print(f"done r{i} {result}", flush=True)

    asyncio.run(go())


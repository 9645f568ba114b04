"""Workflows whose processes die, for tests/crash/test_deaths.py (importable as ``deathwf``).

Each step notes every start in the file ``$DEATH_MARKS``; it kills its
process only on its first start, so the run completes once resumed. Also a
script: ``python deathwf.py CLASS DB RUN_ID`` runs (or resumes) one run of
CLASS in this process, unsupervised, and prints ``{"result": ...}``.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import sys

from durable_flows import StartEvent, StopEvent, Workflow, step


def _started() -> int:
    """Note a start; how many starts there were before this one."""
    marks = os.environ["DEATH_MARKS"]
    before = open(marks).read().count("started") if os.path.exists(marks) else 0
    with open(marks, "a") as f:
        f.write("started\n")
    return before


class Sleeper(Workflow):
    """Its step sleeps long on its first start: a target for a SIGKILL from outside."""

    @step
    async def nap(self, ev: StartEvent) -> StopEvent:
        if _started() == 0:
            await asyncio.sleep(60)
        return StopEvent(result="rested")


class Aborts(Workflow):
    """Its step calls os.abort() (SIGABRT) on its first start."""

    @step
    async def explode(self, ev: StartEvent) -> StopEvent:
        if _started() == 0:
            os.abort()
        return StopEvent(result="survived abort")


class Segfaults(Workflow):
    """Its (sync, so threaded) step reads address 0 (SIGSEGV) on its first start."""

    @step
    def dereference(self, ev: StartEvent) -> StopEvent:
        if _started() == 0:
            ctypes.string_at(0)
        return StopEvent(result="survived segfault")


async def _main(name: str, db: str, run_id: str) -> None:
    from durable_flows import SqliteStore

    store = SqliteStore(db)
    wf = globals()[name](store=store)
    handler = wf.resume(run_id) if await store.get_run(run_id) else wf.run(run_id=run_id)
    print(json.dumps({"result": await handler}), flush=True)
    await store.close()


if __name__ == "__main__":
    asyncio.run(_main(*sys.argv[1:4]))

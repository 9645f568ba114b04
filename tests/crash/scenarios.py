"""Small workflows for guarantee tests, run as real processes.

    python scenarios.py NAME DB RUN_ID

Runs (or resumes, if the run exists) workflow NAME and prints {"result": ...}
or {"error": "Type: message"} as its last line.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys

from durable_flows import Context, Event, StartEvent, StopEvent, Workflow, step
from durable_flows.retry_policy import retry_policy, stop_after_attempt, wait_fixed


class Tick(Event):
    n: int


class SlowChain(Workflow):
    """20 steps of 0.4 s: far longer than its 3 s timeout."""

    @step
    async def begin(self, ev: StartEvent) -> Tick:
        return Tick(n=0)

    @step
    async def tick(self, ev: Tick) -> Tick | StopEvent:
        await asyncio.sleep(0.4)
        return StopEvent(result=ev.n) if ev.n >= 20 else Tick(n=ev.n + 1)


class AlwaysFailing(Workflow):
    @step(retry_policy=retry_policy(wait=wait_fixed(2.0), stop=stop_after_attempt(3)))
    async def flaky(self, ev: StartEvent) -> StopEvent:
        raise RuntimeError("always")


class CrashesItsProcess(Workflow):
    @step
    async def poison(self, ev: StartEvent) -> StopEvent:
        os.kill(os.getpid(), signal.SIGKILL)
        return StopEvent(result="unreachable")


def _mark_started() -> None:
    with open(os.environ["SCENARIO_MARKS"], "a") as f:
        f.write("started\n")


class ExitsItsProcess(Workflow):
    """Its step ends the process (os._exit) every time, until a file says it is fixed."""

    @step(max_recoveries=3)
    def poison(self, ev: StartEvent) -> StopEvent:
        marks = os.environ["SCENARIO_MARKS"]
        _mark_started()
        if not os.path.exists(marks + ".fixed"):
            os._exit(1)
        return StopEvent(result="fixed")


class SlowStep(Workflow):
    """One 1.5 s step that notes each start: a target for kills from outside."""

    @step
    async def slow(self, ev: StartEvent) -> StopEvent:
        _mark_started()
        await asyncio.sleep(1.5)
        return StopEvent(result="done")


class Answer(Event):
    text: str


class WaitsWithTimeout(Workflow):
    @step
    async def ask(self, ctx: Context, ev: StartEvent) -> StopEvent:
        try:
            got = await ctx.wait_for_event(Answer, waiter_id="a", timeout=1.5)
        except asyncio.TimeoutError:
            return StopEvent(result="timed out")
        return StopEvent(result=got.text)


WORKFLOWS = {
    "slow_chain": lambda store: SlowChain(store=store, timeout=3),
    "always_failing": lambda store: AlwaysFailing(store=store, timeout=None),
    "crashes": lambda store: CrashesItsProcess(store=store, timeout=None, max_recoveries=3),
    "waits": lambda store: WaitsWithTimeout(store=store, timeout=None),
    "exits": lambda store: ExitsItsProcess(store=store, timeout=None),
    "slow_step": lambda store: SlowStep(store=store, timeout=None),
}


async def main(name: str, db: str, run_id: str) -> None:
    from durable_flows import SqliteStore

    store = SqliteStore(db)
    wf = WORKFLOWS[name](store)
    existing = await store.get_run(run_id)
    reset = "--reset-recoveries" in sys.argv
    handler = wf.resume(run_id, reset_recoveries=reset) if existing is not None else wf.run(run_id=run_id)
    if "--until-idle" in sys.argv:
        from durable_flows.events import WorkflowIdleEvent

        async for ev in handler.stream_events(expose_internal=True):
            if isinstance(ev, WorkflowIdleEvent):
                print(json.dumps({"waiting": True}), flush=True)
                await store.close()
                return
    try:
        print(json.dumps({"result": await handler}), flush=True)
    except Exception as exc:  # noqa: BLE001
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), flush=True)
    await store.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))

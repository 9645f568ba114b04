"""A run survives a kill -9: the parent starts a child process, kills it mid-run, and resumes.

    python examples/crash_and_resume.py

Steps that finished before the kill are not run again; the step that was in
flight runs again from its input. The journal is DURABLE_FLOWS_DB (default
./durable_flows.db).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

from durable_flows import Event, StartEvent, StopEvent, Workflow, step

STEPS = 8


class Stage(Event):
    n: int


class Pipeline(Workflow):
    @step
    async def begin(self, ev: StartEvent) -> Stage:
        return Stage(n=1)

    @step
    async def stage(self, ev: Stage) -> Stage | StopEvent:
        print(f"  [pid {os.getpid()}] stage {ev.n} running", flush=True)
        await asyncio.sleep(0.3)  # slow work, e.g. a model call
        return StopEvent(result=f"{STEPS} stages done") if ev.n == STEPS else Stage(n=ev.n + 1)


async def child(run_id: str) -> None:
    wf = Pipeline(timeout=None)
    await wf.run(run_id=run_id)


def start_and_kill_child() -> str:
    run_id = f"pipeline-{int(time.time())}"
    print(f"starting run {run_id} in a child process")
    proc = subprocess.Popen([sys.executable, __file__, "child", run_id], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    # Kill it while stage 3 is running: by then stages 1 and 2 are journaled as completed.
    # (Watching its output, not a fixed sleep: a slow machine must not kill it before it starts.)
    for line in proc.stdout:
        print(line, end="", flush=True)
        if "stage 3 running" in line:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    print("child killed with SIGKILL; resuming the run here")
    return run_id


async def resume(run_id: str) -> None:
    wf = Pipeline(timeout=None)
    result = await wf.resume(run_id)
    history = await wf.store.history(run_id)
    stages = [e for e in history if e["kind"] == "completed" and e["step"] == "stage"]
    print(f"result: {result}; stage executions completed: {len(stages)} (each exactly once)")
    await wf.store.close()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "child":
        asyncio.run(child(sys.argv[2]))
    else:
        asyncio.run(resume(start_and_kill_child()))

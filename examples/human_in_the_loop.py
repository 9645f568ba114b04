"""Ask a human, exit, and finish days later in another process.

    python examples/human_in_the_loop.py start
        -> prints a run id and the question, then exits: the run waits in the journal
    python examples/human_in_the_loop.py answer RUN_ID yes
        -> delivers the answer, resumes the run in this process and prints the result

The journal is the SQLite file named by DURABLE_FLOWS_DB (default ./durable_flows.db).
"""

from __future__ import annotations

import asyncio
import sys

from durable_flows import (
    Context,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StopEvent,
    Workflow,
    step,
)
from durable_flows.events import WorkflowIdleEvent


class ApprovalWorkflow(Workflow):
    @step
    async def draft(self, ctx: Context, ev: StartEvent) -> InputRequiredEvent:
        plan = f"refund {ev.amount} EUR to {ev.customer}"
        await ctx.store.set("plan", plan)
        return InputRequiredEvent(prefix=f"Approve: {plan}? (yes/no)")

    @step
    async def decide(self, ctx: Context, ev: HumanResponseEvent) -> StopEvent:
        plan = await ctx.store.get("plan")
        verdict = "approved" if ev.response.strip().lower() == "yes" else "rejected"
        return StopEvent(result=f"{plan}: {verdict}")


async def start() -> None:
    wf = ApprovalWorkflow(timeout=None)
    handler = wf.run(amount=42, customer="Ada")
    async for ev in handler.stream_events(expose_internal=True):
        if isinstance(ev, InputRequiredEvent):
            print(f"run id: {handler.run_id}")
            print(f"question: {ev.prefix}")
        elif isinstance(ev, WorkflowIdleEvent):
            break  # the run now waits in the journal; this process may exit
    print(f"answer with: python {sys.argv[0]} answer {handler.run_id} yes")
    await wf.store.close()


async def answer(run_id: str, text: str) -> None:
    wf = ApprovalWorkflow(timeout=None)
    await wf.store.send_event(run_id, HumanResponseEvent(response=text))
    print(await wf.resume(run_id))
    await wf.store.close()


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "start":
        asyncio.run(start())
    elif len(sys.argv) == 4 and sys.argv[1] == "answer":
        asyncio.run(answer(sys.argv[2], sys.argv[3]))
    else:
        sys.exit(f"usage: {sys.argv[0]} start | answer RUN_ID TEXT")

"""Run or resume the reference workflow in this process; answer its question from the store.

    python driver.py DB RUN_ID [--no-answer]

Prints one JSON line {"result": ...} when the run finishes, or {"waiting": true}
with --no-answer when it parks for input.
"""

from __future__ import annotations

import asyncio
import json
import sys

from refwf import Reference

from durable_flows import HumanResponseEvent, SqliteStore
from durable_flows.events import WorkflowIdleEvent


async def answer_when_waiting(store: SqliteStore, run_id: str) -> None:
    while True:
        run = await store.get_run(run_id)
        if run is not None and run.status == "waiting":
            try:
                await store.send_event(run_id, HumanResponseEvent(response="yes"))
            except Exception:  # noqa: BLE001 - finished meanwhile
                pass
            return
        await asyncio.sleep(0.02)


async def main(db: str, run_id: str, answer: bool) -> None:
    store = SqliteStore(db)
    wf = Reference(store=store, timeout=60)
    existing = await store.get_run(run_id)
    handler = wf.resume(run_id) if existing is not None else wf.run(run_id=run_id, base=10)
    if not answer:
        async for ev in handler.stream_events(expose_internal=True):
            if isinstance(ev, WorkflowIdleEvent):
                print(json.dumps({"waiting": True}), flush=True)
                await store.close()
                return
    if "--wait-external" in sys.argv:  # someone else answers through the store
        print(json.dumps({"result": await handler}), flush=True)
        await store.close()
        return
    helper = asyncio.create_task(answer_when_waiting(store, run_id))
    result = await handler
    helper.cancel()
    print(json.dumps({"result": result}), flush=True)
    await store.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], "--no-answer" not in sys.argv))

"""The smallest durable run: one step, journaled to a SQLite file.

    python examples/hello_world.py            # runs and prints the result
    durable-flows show <run id>                # (or sqlite3 durable_flows.db) to see the journal
"""

from __future__ import annotations

import asyncio

from durable_flows import StartEvent, StopEvent, Workflow, step


class HelloWorkflow(Workflow):
    @step
    async def greet(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result=f"Hello, {ev.get('name', 'world')}!")


async def main() -> None:
    wf = HelloWorkflow()
    handler = wf.run(name="durable world")
    print(await handler)
    print(f"run id: {handler.run_id}")
    for entry in await wf.store.history(handler.run_id):
        print(f"  {entry['seq']:>3} {entry['kind']:<11} {entry['step'] or '':<8} {entry['event_type'] or ''}")
    await wf.store.close()


if __name__ == "__main__":
    asyncio.run(main())

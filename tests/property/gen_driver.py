"""Run or resume a generated workflow in this process (for the SIGKILL property test).

    python gen_driver.py DB RUN_ID PLAN_JSON_FILE

Prints one JSON line {"result": ..., "state": ...} when the run finishes. Arm
``DURABLE_FLOWS_FAULTS`` to have the process killed at a fault point. With
``FREQUENT_SNAPSHOTS=N`` the workflow snapshots every N entries, whatever the
state's size (``proptools.frequent_snapshots``).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

import proptools

from durable_flows import SqliteStore


async def main(db: str, run_id: str, plan: dict[str, Any]) -> None:
    store = SqliteStore(db)
    try:
        existing = await store.get_run(run_id)
        outcome = await proptools.finish(plan, store, run_id, resumed=existing is not None)
    finally:
        await store.close()
    print(json.dumps({"result": outcome.result, "state": outcome.state, "rest": outcome.rest}), flush=True)


if __name__ == "__main__":
    with open(sys.argv[3]) as f:
        plan = json.load(f)
    every = os.environ.get("FREQUENT_SNAPSHOTS")
    if every:
        proptools.frequent_snapshots(int(every)).__enter__()  # for the life of this process
    asyncio.run(main(sys.argv[1], sys.argv[2], plan))

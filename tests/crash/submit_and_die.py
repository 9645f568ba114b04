"""Submit runs, print their ids, then SIGKILL this process (or close the store and exit).

    python submit_and_die.py DB N [--close]

Used by test_submit.py: whatever ``submit()`` returned must be in the journal.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from refwf import Reference

from durable_flows import SqliteStore


async def main(db: str, count: int, close: bool) -> None:
    store = SqliteStore(db)
    wf = Reference(store=store, timeout=60)
    for _ in range(count):
        handle = await wf.submit(base=10)
        print(handle.run_id, flush=True)
    if close:
        await store.close()
        return
    os.kill(os.getpid(), signal.SIGKILL)  # right after the last submit() returned


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), "--close" in sys.argv))

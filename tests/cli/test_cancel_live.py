"""Cancelling a run that a live process is executing, from another store object.

``store.cancel`` never writes the journal of a run someone else owns: it
queues a cancellation request (inbox type ``CANCEL_REQUEST_TYPE``) and the
owner's loop must turn it into a ``cancelled`` record when it takes its inbox
in. That last part belongs to the runtime (``runtime/inputs.py``,
``_ingest_inbox``); until it lands this test is an expected failure.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import flows
import pytest

from durable_flows.errors import WorkflowCancelledByUser
from durable_flows.storage import SqliteStore

pytestmark = pytest.mark.timeout(30)


async def test_a_live_owner_stops_a_run_cancelled_from_another_store(tmp_path: Path) -> None:
    path = tmp_path / "live.db"
    owner = SqliteStore(path)
    operator = SqliteStore(path)
    try:
        handler = flows.Slow(store=owner, timeout=None).run(seconds=20, run_id="live")
        for _ in range(100):
            if len(await owner.read("live")) >= 3:  # the nap was accepted and runs
                break
            await asyncio.sleep(0.02)
        assert await operator.cancel("live", "stop the nap") == "requested"
        with pytest.raises(WorkflowCancelledByUser):
            await asyncio.wait_for(handler, timeout=5)
        info = await operator.get_run("live")
        assert info is not None and info.status == "cancelled"
        assert json.loads(info.error or "{}").get("reason") == "stop the nap"
        last = (await operator.read("live"))[-1]
        assert (last.kind, last.decoded()["reason"]) == ("cancelled", "stop the nap")
        assert await operator.read_inbox("live") == []
    finally:
        await operator.close()
        await owner.close()

"""Polling helpers for tests that wait on a run's row (imported, not fixtures)."""

from __future__ import annotations

import asyncio

from durable_flows.storage import JournalStore


async def owned_and_waiting(store: JournalStore, run_id: str) -> None:
    """Return once ``store`` itself owns ``run_id`` and the run waits for outside input."""
    for _ in range(500):
        run = await store.get_run(run_id)
        if run is not None and run.owner == store.owner_id and run.status == "waiting":
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{run_id} never waited")

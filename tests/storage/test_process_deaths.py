"""Process deaths (migration 0006) and the previous owner a claim reports, on every store."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from storage_helpers import new_run

from durable_flows.storage import JournalStore, SqliteStore
from durable_flows.storage.deaths import KEEP_FOR, ProcessDeath

pytestmark = pytest.mark.timeout(30)


def death(pid: int, ended_at: float, **kw: object) -> ProcessDeath:
    return ProcessDeath("h1", pid, ended_at - 5, ended_at, recorded_by="h1:1", **kw)  # type: ignore[arg-type]


async def test_find_death_gives_the_earliest_death_after_the_last_write(store: JournalStore) -> None:
    now = time.time()
    await store.record_death(death(42, now - 100, exit_code=1))
    await store.record_death(death(42, now - 10, signal="SIGSEGV", fatal_error="Fatal Python error: x"))
    await store.record_death(death(42, now - 5, signal="SIGKILL"))
    await store.record_death(death(43, now - 8, signal="SIGTERM"))
    found = await store.find_death("h1", 42, now - 20)
    assert found == death(42, now - 10, signal="SIGSEGV", fatal_error="Fatal Python error: x")
    assert await store.find_death("h1", 42, now - 1) is None
    assert await store.find_death("h2", 42, now - 200) is None
    assert (await store.find_death("h1", 42, now - 200)).exit_code == 1  # type: ignore[union-attr]


async def test_recording_a_death_forgets_deaths_older_than_the_keep_time(store: JournalStore) -> None:
    now = time.time()
    await store.record_death(death(7, now - KEEP_FOR - 60, exit_code=1))
    await store.record_death(death(8, now, exit_code=2))
    assert await store.find_death("h1", 7, 0) is None
    assert (await store.find_death("h1", 8, 0)).exit_code == 2  # type: ignore[union-attr]


async def test_a_claim_names_the_owner_that_never_gave_the_run_back(store: JournalStore) -> None:
    first = await store.create_run(new_run("r1"), [])
    assert first.previous_owner is None
    store.forget_lease(first)  # as if this holder stopped without releasing
    second = await store.claim_lease("r1")
    assert second.previous_owner == store.owner_id
    await store.release_lease(second)
    third = await store.claim_lease("r1")
    assert third.previous_owner is None  # released: nobody died holding it


async def test_a_claim_from_a_lapsed_owner_of_another_store_names_it(db_path: Path) -> None:
    async with SqliteStore(db_path, lease_ttl=0.3) as gone, SqliteStore(db_path) as taker:
        lease = await gone.create_run(new_run("r1"), [])
        gone.forget_lease(lease)  # stops renewing: the lease lapses
        await asyncio.sleep(0.5)
        claimed = await taker.claim_lease("r1")
        assert claimed.previous_owner == gone.owner_id != taker.owner_id


async def test_postgres_claim_runs_names_the_previous_owner(pg_schema: tuple[str, str]) -> None:
    from durable_flows.storage.postgres import PostgresStore

    dsn, schema = pg_schema
    async with PostgresStore(dsn, schema=schema, lease_ttl=0.3) as gone, PostgresStore(dsn, schema=schema) as taker:
        lease = await gone.create_run(new_run("r1"), [])
        await gone.release_lease(await gone.create_run(new_run("r2"), []))
        gone.forget_lease(lease)
        await asyncio.sleep(0.5)
        claimed = {lease.run_id: lease.previous_owner for lease, _ in await taker.claim_runs(["wf"], 10)}
        assert claimed == {"r1": gone.owner_id, "r2": None}

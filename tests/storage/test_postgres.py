"""What only the PostgreSQL store does: migrations under a lock, NOTIFY, many stores at once.

Every test runs against the server named by DURABLE_FLOWS_TEST_PG, in a
schema of its own, and is skipped when that variable is unset.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from storage_helpers import entries, make_entry, new_run

from durable_flows.errors import (
    InboxConsumeError,
    JournalCorruptError,
    LeaseHeldError,
    RunExistsError,
    SchemaVersionError,
    StaleLeaseError,
    StoreClosedError,
    StoreOpenError,
    StoreWriteError,
)
from durable_flows.storage import COMPLETED, RunUpdate

pytest.importorskip("asyncpg")

from pg_support import connect  # noqa: E402

from durable_flows.storage.postgres import PostgresStore  # noqa: E402
from durable_flows.storage.postgres.jobs import PgJobs  # noqa: E402
from durable_flows.storage.postgres.migrate import PG_SCHEMA_VERSION  # noqa: E402

pytestmark = pytest.mark.timeout(30)

PgSchema = tuple[str, str]


@pytest.fixture
async def db(pg_schema: PgSchema) -> AsyncIterator[Any]:
    """A plain connection to the test's schema, as an operator would use."""
    dsn, schema = pg_schema
    conn = await connect(dsn, schema)
    try:
        yield conn
    finally:
        await conn.close()


def make(pg_schema: PgSchema, **kw: Any) -> PostgresStore:
    dsn, schema = pg_schema
    return PostgresStore(dsn, schema=schema, **kw)


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# -- opening and migrations -----------------------------------------------------------


async def test_open_creates_the_schema_tables_and_views(pg_schema: PgSchema, db: Any) -> None:
    async with make(pg_schema) as store:
        await store.open()  # idempotent
    rows = await db.fetch("SELECT version, name FROM schema_migrations ORDER BY version")
    assert [(r[0], r[1]) for r in rows] == [(1, "init"), (2, "views"), (3, "snapshots"), (4, "run_states"), (5, "audit"), (6, "process_deaths"), (7, "search_marks")]
    assert PG_SCHEMA_VERSION == 7
    tables = {
        r[0]
        for r in await db.fetch(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = $1 AND table_type = 'BASE TABLE'",
            pg_schema[1],
        )
    }
    assert tables == {"runs", "journal", "inbox", "schema_migrations", "process_deaths"}
    views = {
        r[0]
        for r in await db.fetch(
            "SELECT table_name FROM information_schema.views WHERE table_schema = $1",
            pg_schema[1],
        )
    }
    assert views == {"step_attempts", "step_executions", "run_events", "run_summary", "run_states"}


async def test_reopening_keeps_the_data_and_close_released_the_leases(pg_schema: PgSchema) -> None:
    async with make(pg_schema) as first:
        lease = await first.create_run(new_run("r1"), entries("r1", 1, 2))
        await first.append(
            lease, entries("r1", 3, 3), RunUpdate(status="waiting", waiting_for=["m.A"])
        )
        inbox_id = await first.send_to_inbox("r1", "m.A", "{}")
    async with make(pg_schema) as second:
        assert await second.read("r1") == entries("r1", 1, 3)
        info = await second.get_run("r1")
        assert info is not None and (info.last_seq, info.waiting_for, info.owner) == (
            3,
            ["m.A"],
            None,
        )
        assert [i.id for i in await second.read_inbox("r1")] == [inbox_id]
        assert (await second.claim_lease("r1")).token == 2


async def test_a_schema_newer_than_the_code_is_refused_unchanged(
    pg_schema: PgSchema, db: Any
) -> None:
    async with make(pg_schema):
        pass
    await db.execute("INSERT INTO schema_migrations VALUES (9999, 'future', 0)")
    store = make(pg_schema)
    with pytest.raises(SchemaVersionError) as caught:
        await store.get_run("r1")
    assert (caught.value.db_version, caught.value.code_version) == (9999, PG_SCHEMA_VERSION)
    assert await db.fetchval("SELECT count(*) FROM schema_migrations") == PG_SCHEMA_VERSION + 1
    await store.close()


async def test_many_stores_opening_a_fresh_schema_at_once_migrate_once(
    pg_schema: PgSchema, db: Any
) -> None:
    stores = [make(pg_schema) for _ in range(6)]
    await asyncio.gather(*(s.open() for s in stores))
    rows = await db.fetch("SELECT version FROM schema_migrations ORDER BY version")
    assert [r[0] for r in rows] == list(range(1, PG_SCHEMA_VERSION + 1))
    await asyncio.gather(*(s.close() for s in stores))


async def test_a_search_path_in_the_url_names_the_schema(pg_schema: PgSchema, db: Any) -> None:
    dsn, schema = pg_schema
    sep = "&" if "?" in dsn else "?"
    async with PostgresStore(f"{dsn}{sep}options=-csearch_path%3D{schema}") as store:
        assert store.schema is None
        await store.create_run(new_run("r1"), [])  # the schema is created on first use
        signal = store.inbox_signal("r1")
        async with make(pg_schema) as other:  # the same journal, named with schema=
            await other.send_to_inbox("r1", "m.A", "{}")
        await asyncio.wait_for(signal.wait(), 5)
    assert await db.fetchval("SELECT count(*) FROM runs") == 1


async def test_unreachable_server_and_missing_database_are_store_open_errors(
    pg_schema: PgSchema,
) -> None:
    store = PostgresStore("postgresql://postgres:pw@127.0.0.1:1/test", timeout=5)
    with pytest.raises(StoreOpenError) as caught:
        await store.create_run(new_run("r1"), [])
    assert caught.value.path == "postgresql://postgres:***@127.0.0.1:1/test"
    assert "PostgreSQL server is running" in str(caught.value)
    dsn = pg_schema[0].rsplit("/", 1)[0] + "/df_no_such_database"
    with pytest.raises(StoreOpenError, match="df_no_such_database"):
        await PostgresStore(dsn).open()
    await store.close()
    with pytest.raises(StoreClosedError):
        await store.open()


def test_bad_constructor_arguments() -> None:
    with pytest.raises(ValueError, match="lease_ttl"):
        PostgresStore("postgresql://h/db", lease_ttl=0)
    with pytest.raises(ValueError, match="lock_timeout"):
        PostgresStore("postgresql://h/db", lock_timeout=0)


# -- LISTEN / NOTIFY ------------------------------------------------------------------


async def test_a_send_from_another_store_sets_the_inbox_signal(pg_schema: PgSchema) -> None:
    async with make(pg_schema) as owner, make(pg_schema) as sender:
        await owner.create_run(new_run("r1"), [])
        await owner.create_run(new_run("r2"), [])
        signal, other = owner.inbox_signal("r1"), owner.inbox_signal("r2")
        assert owner.inbox_signal("r1") is signal
        await sender.send_to_inbox("r1", "m.A", "{}")
        await asyncio.wait_for(signal.wait(), 5)
        assert not other.is_set()
        signal.clear()  # and again, for a second send
        await sender.send_to_inbox("r1", "m.B", "{}")
        await asyncio.wait_for(signal.wait(), 5)
        assert [i.event_type for i in await owner.read_inbox("r1")] == ["m.A", "m.B"]


async def test_a_send_just_before_the_owner_asks_for_the_signal_is_not_lost(
    pg_schema: PgSchema,
) -> None:
    """Regression: a resumed run read its inbox, an answer committed, and only
    then did the run ask for its inbox signal; the NOTIFY had found no signal
    and was dropped, so the run slept through the answer for ever."""
    async with make(pg_schema) as owner, make(pg_schema) as sender:
        await owner.create_run(new_run("r1"), [])
        await owner.create_run(new_run("r2"), [])
        assert await owner.read_inbox("r1") == []  # the owner's last look
        await sender.send_to_inbox("r1", "m.A", "{}")
        await asyncio.sleep(0.3)  # the NOTIFY arrives while nobody holds r1's signal
        signal = owner.inbox_signal("r1")
        assert signal.is_set()
        assert not owner.inbox_signal("r2").is_set()


async def test_the_run_signal_wakes_on_new_and_released_runs_of_other_stores(
    pg_schema: PgSchema,
) -> None:
    async with make(pg_schema) as worker, make(pg_schema) as client:
        await worker.open()
        wake = worker.run_signal()
        assert worker.run_signal() is wake and not wake.is_set()
        lease = await client.create_run(new_run("r1"), [])
        await asyncio.wait_for(wake.wait(), 5)
        wake.clear()
        await client.release_lease(lease)
        await asyncio.wait_for(wake.wait(), 5)


async def test_stores_on_other_schemas_are_not_woken(pg_schema: PgSchema) -> None:
    dsn, schema = pg_schema
    async with make(pg_schema) as a, PostgresStore(dsn, schema=schema + "_b") as b:
        try:
            await a.create_run(new_run("r1"), [])
            await b.create_run(new_run("r1"), [])
            signal = a.inbox_signal("r1")
            await b.send_to_inbox("r1", "m.A", "{}")
            await asyncio.sleep(0.3)
            assert not signal.is_set()
        finally:
            conn = await connect(dsn)
            await conn.execute(f'DROP SCHEMA "{schema}_b" CASCADE')
            await conn.close()


# -- leases across stores ----------------------------------------------------------------


async def test_stores_racing_to_claim_a_run_exactly_one_wins(pg_schema: PgSchema) -> None:
    stores = [make(pg_schema) for _ in range(3)]
    try:
        for i in range(10):
            lease = await stores[0].create_run(new_run(f"r{i}"), [])
            await stores[0].release_lease(lease)
        for i in range(10):
            outcome = await asyncio.gather(
                *(s.claim_lease(f"r{i}") for s in stores), return_exceptions=True
            )
            won = [o for o in outcome if not isinstance(o, BaseException)]
            assert len(won) == 1, outcome
            assert all(isinstance(o, LeaseHeldError) for o in outcome if o not in won)
            assert won[0].token == 2
    finally:
        await asyncio.gather(*(s.close() for s in stores))


async def test_a_stale_token_is_refused_after_another_store_took_over(
    pg_schema: PgSchema, db: Any
) -> None:
    async with make(pg_schema) as a, make(pg_schema) as b:
        old = await a.create_run(new_run("r1"), [])
        with pytest.raises(LeaseHeldError) as caught:
            await b.claim_lease("r1")
        assert caught.value.owner == a.owner_id
        await db.execute("UPDATE runs SET lease_expires = lease_expires - 3600")
        new = await b.claim_lease("r1")
        assert (new.owner, new.token) == (b.owner_id, 2)
        with pytest.raises(StaleLeaseError):
            await a.append(old, entries("r1", 1, 1), RunUpdate(status=COMPLETED))
        await b.append(new, entries("r1", 1, 1))
        row = await db.fetchrow("SELECT owner, lease_token, last_seq, status FROM runs")
        assert tuple(row) == (b.owner_id, 2, 1, "running")


async def test_a_lease_of_a_dead_process_on_this_host_can_be_taken_over(
    pg_schema: PgSchema, db: Any
) -> None:
    async with make(pg_schema) as store:
        await store.create_run(new_run("r1"), [])
        ghost = f"{socket.gethostname()}:{dead_pid()}:deadbeef"
        await db.execute("UPDATE runs SET owner = $1, lease_expires = lease_expires + 600", ghost)
        lease = await store.claim_lease("r1")
        assert (lease.owner, lease.token) == (store.owner_id, 2)
        await db.execute("UPDATE runs SET owner = 'otherhost:1:x'")
        await store.release_lease(lease)  # not ours any more: a no-op
        with pytest.raises(LeaseHeldError) as caught:
            await store.claim_lease("r1")
        assert caught.value.owner == "otherhost:1:x" and caught.value.expires_in > 20


async def test_held_leases_are_renewed_in_the_background(pg_schema: PgSchema, db: Any) -> None:
    async with make(pg_schema, lease_ttl=0.3) as a, make(pg_schema) as b:
        lease = await a.create_run(new_run("r1"), [])
        await asyncio.sleep(0.6)  # twice the ttl: only renewal keeps it
        assert await db.fetchval("SELECT lease_expires FROM runs") > lease.expires_at
        with pytest.raises(LeaseHeldError):
            await b.claim_lease("r1")
        await a.release_lease(lease)
        assert (await b.claim_lease("r1")).owner == b.owner_id


async def test_a_lease_lost_to_another_owner_is_no_longer_renewed(
    pg_schema: PgSchema, db: Any
) -> None:
    async with make(pg_schema, lease_ttl=0.3) as a:
        await a.create_run(new_run("r1"), [])
        await db.execute("UPDATE runs SET owner = 'otherhost:1:x', lease_token = 5")
        await asyncio.sleep(0.4)
        assert a._jobs.held == {}
        assert await db.fetchval("SELECT owner FROM runs") == "otherhost:1:x"


async def test_claim_runs_shares_out_claimable_runs_without_overlap(
    pg_schema: PgSchema, db: Any
) -> None:
    async with make(pg_schema) as client:
        for i in range(40):
            lease = await client.create_run(new_run(f"r{i:02}", "wf"), [])
            await client.release_lease(lease)
            await asyncio.sleep(0.001)  # distinct created_at: oldest first below
        held = await client.create_run(new_run("held", "wf"), [])  # a live owner: skipped
        other = await client.create_run(new_run("other", "elsewhere"), [])
        await client.release_lease(other)  # another workflow: skipped
        parked = await client.create_run(new_run("parked", "wf"), [])
        await client.append(parked, [], RunUpdate(status="waiting"))
        await client.release_lease(parked)  # waiting with an empty inbox: skipped
        done = await client.create_run(new_run("done", "wf"), [])
        await client.append(done, [], RunUpdate(status=COMPLETED))
        await client.release_lease(done)  # finished: skipped
        workers = [make(pg_schema) for _ in range(4)]
        try:
            got = await asyncio.gather(*(w.claim_runs(["wf"], 15) for w in workers))
            claimed = [lease.run_id for batch in got for lease, _ in batch]
            assert sorted(claimed) == [f"r{i:02}" for i in range(40)]
            assert all(name == "wf" for batch in got for _, name in batch)
            for batch in got:  # each worker got the oldest it could, in order
                ids = [lease.run_id for lease, _ in batch]
                assert ids == sorted(ids)
            assert await workers[0].claim_runs(["wf"], 10) == []
            await client.send_to_inbox("parked", "m.A", "{}")
            [(lease, name)] = await workers[0].claim_runs(["wf", "nope"], 10)
            assert (lease.run_id, lease.token, name) == ("parked", 2, "wf")
            assert held.token == 1
        finally:
            await asyncio.gather(*(w.close() for w in workers))
        assert await db.fetchval("SELECT count(*) FROM runs WHERE owner IS NULL") == 43


async def test_claim_runs_takes_waiting_runs_whose_owner_died_or_lapsed(
    pg_schema: PgSchema, db: Any
) -> None:
    """Regression: a worker killed right after it took an answer in (its run's
    row still said waiting, its inbox was empty) left the run unclaimed for ever."""
    async with make(pg_schema) as crashed, make(pg_schema) as worker:
        for run_id in ("lapsed", "dead", "live"):
            lease = await crashed.create_run(new_run(run_id, "wf"), [])
            await crashed.append(lease, [], RunUpdate(status="waiting"))
        ghost = f"{socket.gethostname()}:{dead_pid()}:deadbeef"
        await db.execute("UPDATE runs SET lease_expires = 0 WHERE run_id = 'lapsed'")
        await db.execute("UPDATE runs SET owner = $1 WHERE run_id = 'dead'", ghost)
        got = await worker.claim_runs(["wf"], 10)
        assert sorted(lease.run_id for lease, _ in got) == ["dead", "lapsed"]


# -- group commit -------------------------------------------------------------------


async def test_concurrent_appends_share_commits(pg_schema: PgSchema, db: Any) -> None:
    n = 300
    async with make(pg_schema) as store:
        leases = await asyncio.gather(
            *(store.create_run(new_run(f"r{i}"), entries(f"r{i}", 1, 1)) for i in range(n))
        )
        writer = store._writer
        assert writer is not None
        before = writer.commits
        await asyncio.gather(
            *(store.append(lease, entries(lease.run_id, 2, 3)) for lease in leases)
        )
        assert writer.commits - before < 30
    assert tuple(await db.fetchrow("SELECT count(*), count(DISTINCT run_id) FROM journal")) == (
        3 * n,
        n,
    )
    assert await db.fetchval("SELECT count(*) FROM runs WHERE last_seq = 3") == n


async def test_a_failing_job_fails_alone_within_its_batch(pg_schema: PgSchema, db: Any) -> None:
    async with make(pg_schema) as store:
        good = await store.create_run(new_run("good"), [])
        late = await store.create_run(new_run("late"), [])
        stale = await store.create_run(new_run("stale"), [])
        await store.release_lease(stale)
        await store.claim_lease("stale")
        broken = await store.create_run(new_run("broken"), entries("broken", 1, 2))
        # Damage: runs.last_seq says 1 but seq 2 exists, so the next append
        # passes every check and then hits the primary key (a database error
        # that aborts the whole transaction, unlike a refusal).
        await db.execute("UPDATE runs SET last_seq = 1 WHERE run_id = 'broken'")
        writer = store._writer
        assert writer is not None
        # Hold a lock the writer's first batch needs, so that everything sent
        # meanwhile queues up and lands in the second batch together.
        blocker = await connect(*pg_schema)
        await blocker.execute("BEGIN")
        await blocker.execute("SELECT 1 FROM runs WHERE run_id = 'good' FOR UPDATE")
        first = asyncio.ensure_future(store.append(good, entries("good", 1, 1)))
        await asyncio.sleep(0.1)
        outcome = asyncio.gather(
            store.append(good, entries("good", 2, 2)),
            store.append(stale, entries("stale", 1, 1)),
            store.create_run(new_run("good"), entries("good", 1, 1)),
            store.create_run(new_run("other"), entries("other", 1, 1)),
            store.append(late, entries("late", 1, 2), RunUpdate(status="waiting"), [999]),
            store.append(broken, [make_entry("broken", 2)]),
            store.append(late, entries("late", 1, 1)),
            return_exceptions=True,
        )
        await asyncio.sleep(0.1)
        await blocker.execute("COMMIT")
        await blocker.close()
        await first
        results = await outcome
        assert results[0] is None
        assert isinstance(results[1], StaleLeaseError)
        assert isinstance(results[2], RunExistsError)
        assert not isinstance(results[3], BaseException)
        assert isinstance(results[4], InboxConsumeError)
        assert isinstance(results[5], JournalCorruptError) and results[5].run_id == "broken"
        assert results[6] is None
    rows = await db.fetch("SELECT run_id, seq FROM journal ORDER BY run_id, seq")
    assert [tuple(r) for r in rows] == [
        ("broken", 1), ("broken", 2), ("good", 1), ("good", 2), ("late", 1), ("other", 1)
    ]  # fmt: skip
    assert await db.fetchval("SELECT status FROM runs WHERE run_id = 'late'") == "running"


async def test_a_lock_held_past_lock_timeout_fails_the_write_cleanly(
    pg_schema: PgSchema, db: Any
) -> None:
    async with make(pg_schema, lock_timeout=0.2) as store:
        lease = await store.create_run(new_run("r1"), [])
        blocker = await connect(*pg_schema)
        await blocker.execute("BEGIN")
        await blocker.execute("SELECT 1 FROM runs FOR UPDATE")
        try:
            with pytest.raises(StoreWriteError, match="lock timeout"):
                await store.append(lease, entries("r1", 1, 1))
        finally:
            await blocker.execute("ROLLBACK")
            await blocker.close()
        assert await store.read("r1") == []
        await store.append(lease, entries("r1", 1, 1))  # works again once the lock is gone
        assert len(await store.read("r1")) == 1


async def test_close_commits_writes_already_submitted(pg_schema: PgSchema, db: Any) -> None:
    store = make(pg_schema)
    leases = [await store.create_run(new_run(f"r{i}"), []) for i in range(20)]
    tasks = [
        asyncio.ensure_future(store.append(lease, entries(lease.run_id, 1, 1))) for lease in leases
    ]
    await asyncio.sleep(0)  # let every task submit its job
    await store.close()
    await asyncio.gather(*tasks)
    assert await db.fetchval("SELECT count(*) FROM journal") == 20
    assert await db.fetchval("SELECT count(*) FROM runs WHERE owner IS NULL") == 20


async def test_the_store_recovers_when_the_server_drops_its_connections(
    pg_schema: PgSchema, db: Any
) -> None:
    async with make(pg_schema) as store, make(pg_schema) as sender:
        lease = await store.create_run(new_run("r1"), [])
        await store.read("r1")
        signal = store.inbox_signal("r1")
        killed = await db.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = $1",
            f"durable_flows {store.owner_id}"[:63],
        )
        assert killed >= 3  # writer, LISTEN, at least one reader
        await asyncio.sleep(0.2)
        await store.append(lease, entries("r1", 1, 1))  # a new write connection
        assert [e.seq for e in await store.read("r1")] == [1]  # a new read connection
        # The LISTEN connection comes back and, since notifications may have
        # been missed meanwhile, sets every signal once.
        await asyncio.wait_for(signal.wait(), 5)
        signal.clear()
        await sender.send_to_inbox("r1", "m.A", "{}")
        await asyncio.wait_for(signal.wait(), 5)


# -- inbox order across processes -----------------------------------------------------


async def test_inbox_ids_of_a_run_become_visible_in_order(pg_schema: PgSchema) -> None:
    """Regression: with a sequence alone, a send that took id N but committed
    after a send with id N+1 was skipped for ever by the owner, which ignores
    inbox ids at or below the last one it took in. Senders lock the run's row,
    so a later send waits for the earlier one to commit."""
    async with make(pg_schema) as owner, make(pg_schema) as sender:
        await owner.create_run(new_run("r1"), [])
        # A slow sender in another process: its send is done but not committed.
        slow = await connect(*pg_schema)
        jobs = PgJobs("other", 30.0, "unused", "unused")
        await slow.execute("BEGIN")
        slow_id = await jobs.send_to_inbox(slow, [], "r1", "m.Slow", "{}", "json")
        fast = asyncio.ensure_future(sender.send_to_inbox("r1", "m.Fast", "{}"))
        await asyncio.sleep(0.3)
        assert not fast.done()
        assert await owner.read_inbox("r1") == []
        await slow.execute("COMMIT")
        await slow.close()
        fast_id = await fast
        assert slow_id < fast_id
        assert [i.id for i in await owner.read_inbox("r1")] == [slow_id, fast_id]


async def test_run_timestamps_come_from_the_server_clock(pg_schema: PgSchema, db: Any) -> None:
    async with make(pg_schema) as store:
        before = time.time()
        lease = await store.create_run(new_run("r1"), [])
        server_now = await db.fetchval("SELECT extract(epoch FROM clock_timestamp())::float8")
        info = await store.get_run("r1")
        assert info is not None and info.created_at <= server_now
        assert abs(lease.expires_at - store.lease_ttl - info.created_at) < 1e-6
        assert abs(info.created_at - before) < 5  # same machine: the clocks agree

"""What only the SQLite store does: files, migrations, group commit, several writers."""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from storage_helpers import entries, make_entry, new_run

from durable_flows.errors import (
    InboxConsumeError,
    LeaseHeldError,
    RunExistsError,
    SchemaVersionError,
    StaleLeaseError,
    StoreOpenError,
    StoreWriteError,
)
from durable_flows.storage import RunUpdate, SqliteStore
from durable_flows.storage.migrate import CODE_SCHEMA_VERSION

pytestmark = pytest.mark.timeout(10)


def rows(path: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Read the file with a plain sqlite3 connection, as an operator would."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def write(path: Path, sql: str, params: tuple[object, ...] = ()) -> None:
    conn = sqlite3.connect(path)
    try:
        with conn:
            conn.execute(sql, params)
    finally:
        conn.close()


def file_bytes(path: Path) -> bytes:
    return path.read_bytes()


def write_bytes(path: Path, data: bytes) -> None:
    path.write_bytes(data)


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# -- opening and migrations -----------------------------------------------------------


async def test_open_creates_schema_in_wal_mode(sqlite_store: SqliteStore, db_path: Path) -> None:
    await sqlite_store.open()
    await sqlite_store.open()  # idempotent
    applied = rows(db_path, "SELECT version, name, applied_at FROM schema_migrations")
    assert [(v, n) for v, n, _ in applied] == [(1, "init"), (2, "views"), (3, "snapshots"), (4, "run_states"), (5, "audit"), (6, "process_deaths"), (7, "search_marks")]
    assert CODE_SCHEMA_VERSION == 7
    tables = {r[0] for r in rows(db_path, "SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"runs", "journal", "inbox", "schema_migrations"} <= tables
    views = {r[0] for r in rows(db_path, "SELECT name FROM sqlite_master WHERE type='view'")}
    assert views == {"step_attempts", "step_executions", "run_events", "run_summary", "run_states", "journal_text"}
    assert rows(db_path, "PRAGMA journal_mode") == [("wal",)]
    journal_sql = rows(db_path, "SELECT sql FROM sqlite_master WHERE name='journal'")[0][0]
    assert "WITHOUT ROWID" in str(journal_sql)


async def test_reopening_a_file_keeps_its_data(db_path: Path) -> None:
    async with SqliteStore(db_path) as first:
        lease = await first.create_run(new_run("r1"), entries("r1", 1, 2))
        await first.append(
            lease, entries("r1", 3, 3), RunUpdate(status="waiting", waiting_for=["m.A"])
        )
        inbox_id = await first.send_to_inbox("r1", "m.A", "{}")
    async with SqliteStore(db_path) as second:
        assert await second.read("r1") == entries("r1", 1, 3)
        info = await second.get_run("r1")
        assert info is not None and (info.last_seq, info.waiting_for) == (3, ["m.A"])
        assert info.owner is None  # close() released the lease
        assert [i.id for i in await second.read_inbox("r1")] == [inbox_id]
        assert (await second.claim_lease("r1")).token == 2
    assert len(rows(db_path, "SELECT * FROM schema_migrations")) == CODE_SCHEMA_VERSION


async def test_database_newer_than_the_code_is_refused_unchanged(db_path: Path) -> None:
    write(
        db_path,
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT, applied_at REAL)",
    )
    write(db_path, "INSERT INTO schema_migrations VALUES (9999, 'future', 0)")
    before = file_bytes(db_path)
    store = SqliteStore(db_path)
    with pytest.raises(SchemaVersionError) as caught:
        await store.get_run("r1")
    assert (caught.value.db_version, caught.value.code_version) == (9999, CODE_SCHEMA_VERSION)
    assert file_bytes(db_path) == before
    await store.close()


async def test_a_file_that_is_not_a_database_is_refused_unchanged(db_path: Path) -> None:
    garbage = b"this is not sqlite\x00\x01\x02" * 200
    write_bytes(db_path, garbage)
    store = SqliteStore(db_path)
    with pytest.raises(StoreOpenError) as caught:
        await store.open()
    assert "not a usable SQLite database" in caught.value.reason
    assert file_bytes(db_path) == garbage
    await store.close()


@pytest.mark.parametrize("where", ["missing_dir", "parent_is_file", "is_dir"])
async def test_bad_paths_are_refused(tmp_path: Path, where: str) -> None:
    (tmp_path / "afile").write_text("x")
    path = {
        "missing_dir": tmp_path / "nope" / "j.db",
        "parent_is_file": tmp_path / "afile" / "j.db",
        "is_dir": tmp_path,
    }[where]
    store = SqliteStore(path)
    with pytest.raises(StoreOpenError) as caught:
        await store.create_run(new_run("r1"), [])
    assert caught.value.path == str(path)
    assert not (tmp_path / "nope").exists()
    await store.close()


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write to read-only directories")
async def test_unwritable_directory_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(StoreOpenError, match="not writable"):
            await SqliteStore(folder / "j.db").open()
    finally:
        folder.chmod(0o700)


async def test_two_stores_opening_a_fresh_file_at_once_migrate_once(db_path: Path) -> None:
    a, b = SqliteStore(db_path), SqliteStore(db_path)
    await asyncio.gather(a.open(), b.open())
    assert [r[0] for r in rows(db_path, "SELECT version FROM schema_migrations")] == [1, 2, 3, 4, 5, 6, 7]
    await asyncio.gather(a.close(), b.close())


def test_bad_constructor_arguments() -> None:
    with pytest.raises(ValueError, match="synchronous"):
        SqliteStore("x.db", synchronous="OFF")
    with pytest.raises(ValueError, match="lease_ttl"):
        SqliteStore("x.db", lease_ttl=0)


# -- group commit -------------------------------------------------------------------


async def test_concurrent_appends_share_commits(sqlite_store: SqliteStore, db_path: Path) -> None:
    n = 200
    leases = await asyncio.gather(
        *(sqlite_store.create_run(new_run(f"r{i}"), entries(f"r{i}", 1, 1)) for i in range(n))
    )
    writer = sqlite_store._writer
    assert writer is not None
    commits_before = writer._commits
    await asyncio.gather(
        *(sqlite_store.append(lease, entries(lease.run_id, 2, 3)) for lease in leases)
    )
    assert writer._commits - commits_before < 50
    assert rows(db_path, "SELECT count(*), count(DISTINCT run_id) FROM journal") == [(3 * n, n)]
    assert rows(db_path, "SELECT count(*) FROM runs WHERE last_seq = 3") == [(n,)]
    assert rows(db_path, "PRAGMA integrity_check") == [("ok",)]


async def test_a_failing_job_rolls_back_alone_within_its_batch(
    sqlite_store: SqliteStore, db_path: Path
) -> None:
    good = await sqlite_store.create_run(new_run("good"), [])
    late = await sqlite_store.create_run(new_run("late"), [])
    stale = await sqlite_store.create_run(new_run("stale"), [])
    await sqlite_store.release_lease(stale)
    await sqlite_store.claim_lease("stale")
    writer = sqlite_store._writer
    assert writer is not None
    # Hold the write lock so the writer stalls on its first batch; everything
    # submitted meanwhile then lands in the second batch together.
    blocker = sqlite3.connect(db_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    first = asyncio.ensure_future(sqlite_store.append(good, entries("good", 1, 1)))
    await asyncio.sleep(0.05)
    commits_before = writer._commits
    results = asyncio.gather(
        sqlite_store.append(good, entries("good", 2, 2)),
        sqlite_store.append(stale, entries("stale", 1, 1)),
        sqlite_store.create_run(new_run("good"), entries("good", 1, 1)),
        sqlite_store.create_run(new_run("other"), entries("other", 1, 1)),
        # fails after writing its entries: the savepoint must take them back
        sqlite_store.append(late, entries("late", 1, 2), RunUpdate(status="waiting"), [999]),
        return_exceptions=True,
    )
    await asyncio.sleep(0.05)
    blocker.execute("COMMIT")
    blocker.close()
    await first
    outcome = await results
    assert writer._commits - commits_before == 2
    assert outcome[0] is None
    assert isinstance(outcome[1], StaleLeaseError)
    assert isinstance(outcome[2], RunExistsError)
    assert not isinstance(outcome[3], BaseException)
    assert isinstance(outcome[4], InboxConsumeError)
    assert rows(db_path, "SELECT status, last_seq FROM runs WHERE run_id = 'late'") == [
        ("running", 0)
    ]
    assert rows(db_path, "SELECT run_id, seq FROM journal ORDER BY run_id, seq") == [
        ("good", 1), ("good", 2), ("other", 1)
    ]  # fmt: skip


async def test_a_batch_run_again_after_a_failure_keeps_no_trace_of_its_first_pass(
    sqlite_store: SqliteStore, db_path: Path
) -> None:
    """Pins the writer's retry: a batch first runs without savepoints and, when a
    job fails, is rolled back and run again job by job. Nothing of the first pass
    may remain: a claim takes the token up by one, not two, the lease is held
    once, chain heads remembered by the first pass are not used, and the chain
    of every run verifies."""
    from durable_flows.audit import verify_chain

    chained = await sqlite_store.create_run(new_run("chained"), entries("chained", 1, 2))
    free = await sqlite_store.create_run(new_run("free"), [])
    await sqlite_store.release_lease(free)
    stale = await sqlite_store.create_run(new_run("stale"), [])
    await sqlite_store.release_lease(stale)
    await sqlite_store.claim_lease("stale")
    writer = sqlite_store._writer
    assert writer is not None
    blocker = sqlite3.connect(db_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # everything below lands in one batch
    first = asyncio.ensure_future(sqlite_store.append(chained, entries("chained", 3, 3)))
    await asyncio.sleep(0.05)
    commits_before = writer._commits
    results = asyncio.gather(
        sqlite_store.append(chained, entries("chained", 4, 5)),
        sqlite_store.claim_lease("free"),
        sqlite_store.append(stale, entries("stale", 1, 1)),  # fails: runs the batch again
        sqlite_store.append(chained, entries("chained", 6, 6)),
        return_exceptions=True,
    )
    await asyncio.sleep(0.05)
    blocker.execute("COMMIT")
    blocker.close()
    await first
    outcome = await results
    assert writer._commits - commits_before == 2
    assert outcome[0] is None and outcome[3] is None
    assert isinstance(outcome[2], StaleLeaseError)
    claimed = outcome[1]
    assert not isinstance(claimed, BaseException) and claimed.token == free.token + 1
    assert rows(db_path, "SELECT lease_token FROM runs WHERE run_id = 'free'") == [(free.token + 1,)]
    assert sqlite_store._jobs.held["free"] == claimed.token
    assert rows(db_path, "SELECT count(*) FROM journal WHERE run_id = 'stale'") == [(0,)]
    assert [r[0] for r in rows(db_path, "SELECT seq FROM journal WHERE run_id = 'chained'")] == [
        1, 2, 3, 4, 5, 6
    ]  # fmt: skip
    chain = await sqlite_store.read_chain("chained")
    assert chain is not None and verify_chain(chain).ok
    await sqlite_store.append(chained, entries("chained", 7, 7))  # the remembered head is right
    chain = await sqlite_store.read_chain("chained")
    assert chain is not None and verify_chain(chain).ok and len(chain.entries) == 7


async def test_a_lock_held_past_busy_timeout_fails_the_write_cleanly(db_path: Path) -> None:
    async with SqliteStore(db_path, busy_timeout=0.1) as store:
        lease = await store.create_run(new_run("r1"), [])
        blocker = sqlite3.connect(db_path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(StoreWriteError, match="locked"):
                await store.append(lease, entries("r1", 1, 1))
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert await store.read("r1") == []
        await store.append(lease, entries("r1", 1, 1))  # works again once the lock is gone
        assert len(await store.read("r1")) == 1


async def test_close_commits_writes_already_submitted(db_path: Path) -> None:
    store = SqliteStore(db_path)
    leases = [await store.create_run(new_run(f"r{i}"), []) for i in range(20)]
    tasks = [
        asyncio.ensure_future(store.append(lease, entries(lease.run_id, 1, 1))) for lease in leases
    ]
    await asyncio.sleep(0)  # let every task submit its job
    await store.close()
    await asyncio.gather(*tasks)
    assert rows(db_path, "SELECT count(*) FROM journal") == [(20,)]
    assert rows(db_path, "SELECT count(*) FROM runs WHERE owner IS NULL") == [(20,)]


async def test_consumed_inbox_rows_record_the_seq_and_stay(
    sqlite_store: SqliteStore, db_path: Path
) -> None:
    lease = await sqlite_store.create_run(new_run("r1"), [])
    first = await sqlite_store.send_to_inbox("r1", "m.A", "{}")
    second = await sqlite_store.send_to_inbox("r1", "m.B", "{}")
    await sqlite_store.append(lease, entries("r1", 1, 3), consumed_inbox=[first, second])
    assert rows(db_path, "SELECT id, consumed_seq FROM inbox ORDER BY id") == [
        (first, 3),
        (second, 3),
    ]


# -- several store objects on one file ----------------------------------------------


async def test_two_stores_on_one_file_write_side_by_side(db_path: Path) -> None:
    async with SqliteStore(db_path) as a, SqliteStore(db_path) as b:
        la = await a.create_run(new_run("ra"), entries("ra", 1, 1))
        lb = await b.create_run(new_run("rb"), entries("rb", 1, 1))
        await asyncio.gather(
            *(a.append(la, [make_entry("ra", seq)]) for seq in [2]),
            *(b.append(lb, [make_entry("rb", seq)]) for seq in [2]),
        )
        await asyncio.gather(a.append(la, entries("ra", 3, 4)), b.append(lb, entries("rb", 3, 4)))
        assert await b.read("ra") == entries("ra", 1, 4)
        assert await a.read("rb") == entries("rb", 1, 4)
        assert {r.run_id for r in await a.list_runs()} == {"ra", "rb"}
        with pytest.raises(LeaseHeldError) as caught:
            await b.claim_lease("ra")
        assert caught.value.owner == a.owner_id
    assert rows(db_path, "PRAGMA integrity_check") == [("ok",)]


async def test_an_expired_lease_can_be_taken_over(db_path: Path) -> None:
    async with SqliteStore(db_path) as a, SqliteStore(db_path) as b:
        old = await a.create_run(new_run("r1"), [])
        write(db_path, "UPDATE runs SET lease_expires = ? WHERE run_id = 'r1'", (time.time() - 1,))
        new = await b.claim_lease("r1")
        assert (new.owner, new.token) == (b.owner_id, 2)
        with pytest.raises(StaleLeaseError):
            await a.append(old, entries("r1", 1, 1))
        await b.append(new, entries("r1", 1, 1))
        assert rows(db_path, "SELECT owner, lease_token, last_seq FROM runs") == [
            (b.owner_id, 2, 1)
        ]


async def test_a_lease_of_a_dead_process_can_be_taken_over(db_path: Path) -> None:
    async with SqliteStore(db_path) as a, SqliteStore(db_path) as b:
        await a.create_run(new_run("r1"), [])
        ghost = f"{socket.gethostname()}:{dead_pid()}:deadbeef"
        write(db_path, "UPDATE runs SET owner = ?, lease_expires = ?", (ghost, time.time() + 600))
        lease = await b.claim_lease("r1")
        assert (lease.owner, lease.token) == (b.owner_id, 2)
        write(
            db_path,
            "UPDATE runs SET owner = ?, lease_expires = ?",
            ("otherhost:1:x", time.time() + 600),
        )
        with pytest.raises(LeaseHeldError) as caught:
            await a.claim_lease("r1")
        assert caught.value.owner == "otherhost:1:x" and caught.value.expires_in > 500


async def test_held_leases_are_renewed_in_the_background(db_path: Path) -> None:
    async with SqliteStore(db_path, lease_ttl=0.3) as a, SqliteStore(db_path) as b:
        lease = await a.create_run(new_run("r1"), [])
        await asyncio.sleep(0.5)  # longer than the ttl: only renewal keeps it
        [(expires,)] = rows(db_path, "SELECT lease_expires FROM runs")
        assert isinstance(expires, float) and expires > lease.expires_at
        with pytest.raises(LeaseHeldError):
            await b.claim_lease("r1")
        await a.release_lease(lease)
        assert (await b.claim_lease("r1")).owner == b.owner_id

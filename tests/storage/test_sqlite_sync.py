"""SQLite at synchronous=FULL: written vs. on disk, inline commits, and a failed fsync.

The sync thread's fsync is held back with a gate (a wrapper that waits on an
event, then calls the real ``fdatasync``) to show what waits for the disk and
what does not. Real files, a real workflow, a real second connection holding
the write lock.
"""

from __future__ import annotations

import asyncio
import errno
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from durable_flows import Context, SqliteStore, StartEvent, StopEvent, Workflow, step
from durable_flows.errors import StoreWriteError
from durable_flows.events import Event
from durable_flows.storage.rows import JournalEntry, NewRun
from durable_flows.storage.sqlite import syncer as syncer_module

pytestmark = pytest.mark.timeout(60)


class Gate:
    """Holds every fsync of one store until opened; counts those that ran."""

    def __init__(self) -> None:
        self.open = threading.Event()
        self.waiting = threading.Event()
        self.done = 0
        self.real: Callable[[int], None] = syncer_module._fdatasync

    def __call__(self, fd: int) -> None:
        self.waiting.set()
        self.open.wait(30)
        self.real(fd)
        self.done += 1


async def gated(path: Path, gate: Gate) -> SqliteStore:
    store = SqliteStore(path)
    await store.open()
    writer = store._writer
    assert writer is not None and writer.syncer is not None
    writer.syncer.sync_fd = gate
    return store


def entry(seq: int, kind: str = "sent") -> JournalEntry:
    return JournalEntry("r", seq, kind, None, None, "{}", time.time(), "json")


class Hop(Event):
    n: int


class Chain(Workflow):
    """Five steps one after another, each noting that it ran."""

    ran: list[int] = []

    @step
    async def begin(self, ev: StartEvent) -> Hop:
        return Hop(n=0)

    @step
    async def hop(self, ctx: Context, ev: Hop) -> Hop | StopEvent:
        Chain.ran.append(ev.n)
        async with ctx.store.edit_state() as state:
            state["hops"] = state.get("hops", 0) + 1
        return Hop(n=ev.n + 1) if ev.n < 4 else StopEvent(result=ev.n)


async def wait_until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_steps_run_on_written_records_but_the_result_waits_for_the_disk(tmp_path: Path) -> None:
    gate = Gate()
    store = await gated(tmp_path / "j.db", gate)
    try:
        Chain.ran = []
        handler = Chain(store=store, timeout=None).run(run_id="r")
        # Every step runs although no fsync has finished: each started once its
        # record was committed to the WAL.
        await wait_until(lambda: len(Chain.ran) == 5)
        await asyncio.sleep(0.1)
        assert gate.done == 0
        assert not handler.is_done(), "the result was given before it was on disk"
        gate.open.set()
        assert await asyncio.wait_for(handler, 10) == 4
        assert gate.done >= 1
        assert (await store.get_run("r")).status == "completed"
    finally:
        gate.open.set()
        await store.close()


async def test_a_durable_append_waits_for_the_sync_a_written_one_does_not(tmp_path: Path) -> None:
    gate = Gate()
    store = await gated(tmp_path / "j.db", gate)
    try:
        lease = await store.create_run(NewRun("r", "W", "f"), [entry(1, "run_started")], durable=False)
        await asyncio.wait_for(store.append(lease, [entry(2)], durable=False), 5)
        durable = asyncio.ensure_future(store.append(lease, [entry(3)]))
        await asyncio.sleep(0.2)
        assert gate.waiting.is_set() and not durable.done()
        # Written is visible to other connections (and survives a process crash) before the sync.
        with sqlite3.connect(tmp_path / "j.db") as other:
            assert other.execute("SELECT max(seq) FROM journal WHERE run_id='r'").fetchone()[0] == 3
        gate.open.set()
        await asyncio.wait_for(durable, 5)
    finally:
        gate.open.set()
        await store.close()


async def test_unasked_commits_are_synced_within_the_delay(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "j.db")
    await store.open()
    try:
        writer = store._writer
        assert writer is not None and writer.syncer is not None
        lease = await store.create_run(NewRun("r", "W", "f"), [entry(1, "run_started")], durable=False)
        before = writer.syncer.syncs
        for seq in range(2, 52):
            await store.append(lease, [entry(seq)], durable=False)
        # Fifty sequential commits nobody waited on shared a few syncs, and the
        # last is synced shortly after without anyone asking.
        await wait_until(lambda: writer.syncer is not None and writer.syncer._synced == writer.syncer._written, 5)
        assert 1 <= writer.syncer.syncs - before < 50
        assert writer.inline_commits >= 50
    finally:
        await store.close()


async def test_a_failed_fsync_fails_waiting_and_later_writes_and_keeps_what_was_committed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.db"
    store = SqliteStore(path)
    await store.open()
    writer = store._writer
    assert writer is not None and writer.syncer is not None

    def broken(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    try:
        lease = await store.create_run(NewRun("r", "W", "f"), [entry(1, "run_started")], durable=False)
        writer.syncer.sync_fd = broken
        with pytest.raises(StoreWriteError, match="fsync of the write-ahead log failed") as info:
            await store.append(lease, [entry(2)])
        assert "refuses further writes" in str(info.value)
        with pytest.raises(StoreWriteError, match="fsync"):
            await store.append(lease, [entry(3)], durable=False)
    finally:
        await store.close()
    # What was committed before the failure is in the file: a new store reads it.
    async with SqliteStore(path) as again:
        assert [e.seq for e in await again.read("r")] == [1, 2]


async def test_a_run_stops_with_the_sync_error(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "j.db")
    await store.open()
    writer = store._writer
    assert writer is not None and writer.syncer is not None

    def broken(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    writer.syncer.sync_fd = broken
    try:
        Chain.ran = []
        with pytest.raises(StoreWriteError, match="fsync"):
            await asyncio.wait_for(Chain(store=store, timeout=None).run(run_id="r"), 10)
    finally:
        await store.close()


async def test_another_writer_holding_the_lock_never_blocks_the_event_loop(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    store = SqliteStore(path)
    await store.open()
    writer = store._writer
    assert writer is not None
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        lease = await store.create_run(NewRun("r", "W", "f"), [entry(1, "run_started")], durable=False)
        inline_before = writer.inline_commits
        other.execute("BEGIN IMMEDIATE")  # another process's write transaction
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        tick = asyncio.ensure_future(ticker())
        append = asyncio.ensure_future(store.append(lease, [entry(2)], durable=False))
        await asyncio.sleep(0.5)
        assert not append.done()
        assert ticks >= 20, "the event loop stalled behind the other writer's lock"
        other.execute("COMMIT")
        await asyncio.wait_for(append, 10)
        tick.cancel()
        assert writer.inline_commits == inline_before  # it went to the thread, which waited
        assert [e.seq for e in await store.read("r")] == [1, 2]
    finally:
        other.close()
        await store.close()


@pytest.mark.parametrize("level", ["EXTRA", "NORMAL"])
async def test_extra_and_normal_have_no_sync_thread(tmp_path: Path, level: str) -> None:
    store = SqliteStore(tmp_path / "j.db", synchronous=level)
    await store.open()
    try:
        writer = store._writer
        assert writer is not None and writer.syncer is None
        # EXTRA fsyncs inside every COMMIT: never on the event loop.
        assert writer.inline is (level == "NORMAL")
        Chain.ran = []
        assert await Chain(store=store, timeout=None).run(run_id="r") == 4
        assert (writer.inline_commits > 0) is (level == "NORMAL")
    finally:
        await store.close()


def test_the_sync_covers_the_wal_file_of_this_database(tmp_path: Path) -> None:
    """The sync thread syncs ``<db>-wal``, the file SQLite appends commits to."""
    seen: list[tuple[int, int]] = []

    async def go() -> None:
        store = SqliteStore(tmp_path / "j.db")
        await store.open()
        writer = store._writer
        assert writer is not None and writer.syncer is not None
        real = writer.syncer.sync_fd

        def noting(fd: int) -> None:
            info = os.fstat(fd)
            seen.append((info.st_dev, info.st_ino))
            real(fd)

        writer.syncer.sync_fd = noting
        try:
            await store.create_run(NewRun("r", "W", "f"), [entry(1, "run_started")])
            wal = os.stat(tmp_path / "j.db-wal")
        finally:
            await store.close()
        assert seen and set(seen) == {(wal.st_dev, wal.st_ino)}

    asyncio.run(go())

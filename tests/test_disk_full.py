"""A store error never strands a run: disk full on a small tmpfs, inside one long-lived process.

Needs root (to mount a tmpfs); skipped with one line where mounting is not allowed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from durable_flows import Context, Event, SqliteStore, StartEvent, StopEvent, Workflow, step
from durable_flows.errors import StoreWriteError

pytestmark = pytest.mark.timeout(60)

GATE: asyncio.Event | None = None


class Filled(Event):
    n: int


class BigWrites(Workflow):
    @step
    async def first(self, ctx: Context, ev: StartEvent) -> Filled:
        await ctx.store.set("small", 1)
        return Filled(n=1)

    @step
    async def second(self, ctx: Context, ev: Filled) -> StopEvent:
        assert GATE is not None
        await GATE.wait()  # the test fills the disk meanwhile
        await ctx.store.set("big", "x" * 400_000)  # needs new journal pages
        return StopEvent(result=await ctx.store.get("small"))


@contextlib.contextmanager
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or 'not root'})")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder: Path) -> Path:
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as fh:
        for size in (1 << 16, 1 << 12, 1 << 9, 1):
            with contextlib.suppress(OSError):
                while True:
                    fh.write(b"\0" * size)
                    fh.flush()
                    os.fsync(fh.fileno())
    return filler


async def test_disk_full_releases_the_run_and_it_resumes_in_the_same_process(tmp_path: Path) -> None:
    global GATE
    with small_tmpfs(tmp_path) as folder:
        GATE = asyncio.Event()
        store = SqliteStore(folder / "j.db")
        try:
            wf = BigWrites(store=store, timeout=None)
            run_id = uuid.uuid4().hex
            handler = wf.run(run_id=run_id)
            for _ in range(200):  # until `second` waits at the gate
                if "second" in (await handler.ctx.running_steps()):
                    break
                await asyncio.sleep(0.02)
            filler = fill(folder)
            GATE.set()
            with pytest.raises(StoreWriteError) as caught:
                await handler
            assert "stopped here" in str(caught.value) and "lease was given up" in str(caught.value)
            assert run_id not in store._jobs.held  # no longer renewed by this process
            committed = [e.kind for e in await store.read(run_id)]
            assert committed.count("completed") == 1  # `first` only

            filler.unlink()  # space is back: the same process resumes the run
            result = await wf.resume(run_id)
            assert result == 1
            entries = await store.read(run_id)
            kinds = [e.kind for e in entries]
            assert kinds.count("completed") == 2 and kinds[-1] == "completed"
            assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
            info = await store.get_run(run_id)
            assert info is not None and info.status == "completed"
        finally:
            await store.close()
            GATE = None

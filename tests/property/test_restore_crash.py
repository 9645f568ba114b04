"""A restored run (issue 14 item 1) crashed at every journal write and resumed ends like
an uninterrupted restore: same result, each step's state change counted exactly once."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from proptools import CrashingSqliteStore, SimulatedCrash

from durable_flows import Context
from durable_flows.errors import WorkflowCancelledByUser
from durable_flows.events import HumanResponseEvent, InputRequiredEvent
from durable_flows.storage import SqliteStore

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from restore_flows import Asker  # noqa: E402

RESTORED = "restored"
HITS = {"ask": 1, "answer": 1, "check": 1}


def _copy_db(source: str, target: str) -> str:
    for suffix in ("", "-wal", "-shm"):
        if Path(source + suffix).exists():
            shutil.copy(source + suffix, target + suffix)
    return target


async def _source(path: str) -> dict[str, object]:
    """Run until the question, take the dict, cancel; returns the dict."""
    store = SqliteStore(path, synchronous="NORMAL")
    wf = Asker(store=store)
    handler = wf.run(who="eve")
    async for ev in handler.stream_events():
        if isinstance(ev, InputRequiredEvent):
            break
    ctx_dict = handler.ctx.to_dict()
    await handler.cancel_run()
    with pytest.raises(WorkflowCancelledByUser):
        await handler
    await store.close()
    return ctx_dict


async def _answered(store: SqliteStore) -> bool:
    journal = await store.read(RESTORED)
    inbox = await store.read_inbox(RESTORED)
    named = [e.event_type for e in journal] + [i.event_type for i in inbox]
    return any(name and name.endswith("HumanResponseEvent") for name in named)


async def _restore_with_crash(path: str, ctx_dict: dict[str, object], crash_at: int, when: str) -> bool:
    """Restore, answer and finish on a store that dies at write ``crash_at``; True if it died."""
    store = CrashingSqliteStore(path, crash_at, when, synchronous="NORMAL")
    wf = Asker(store=store)
    try:
        handler = wf.run(ctx=Context.from_dict(wf, ctx_dict), run_id=RESTORED)
        handler.ctx.send_event(HumanResponseEvent(response="ok"))
        await handler
    except SimulatedCrash:
        return True
    finally:
        await store.close()
    return store.crashed


async def _finish(path: str, ctx_dict: dict[str, object]) -> tuple[object, object]:
    store = SqliteStore(path, synchronous="NORMAL")
    wf = Asker(store=store)
    try:
        if await store.get_run(RESTORED) is None:  # died before the restored run existed: restore again
            handler = wf.run(ctx=Context.from_dict(wf, ctx_dict), run_id=RESTORED)
            handler.ctx.send_event(HumanResponseEvent(response="ok"))
            return await handler, await handler.ctx.store.get("hits")
        if not await _answered(store):
            await store.send_event(RESTORED, HumanResponseEvent(response="ok"))
        handler = wf.resume(RESTORED)
        result = await handler
        return result, await handler.ctx.store.get("hits")
    finally:
        await store.close()


@pytest.mark.timeout(240)
@pytest.mark.parametrize("where", ["same-store", "other-store"])
async def test_restored_run_crashed_at_every_write_ends_like_the_uninterrupted_one(
    tmp_path: Path, where: str
) -> None:
    """other-store: the dict restores into an empty file, seeded from its snapshot; the
    seeded run's first write (create_run) is a crash point too."""
    template = str(tmp_path / "source.db")
    ctx_dict = await _source(template)

    def target(name: str) -> str:
        path = str(tmp_path / name)
        return _copy_db(template, path) if where == "same-store" else path

    clean = target("clean.db")
    assert not await _restore_with_crash(clean, ctx_dict, 10**6, "after")
    expected = await _finish(clean, ctx_dict)
    assert expected == ("eve:ok", HITS)

    crashes = 0
    for crash_at in range(1, 12):
        for when in ("before", "after"):
            path = target(f"crash-{crash_at}-{when}.db")
            if await _restore_with_crash(path, ctx_dict, crash_at, when):
                crashes += 1
            assert await _finish(path, ctx_dict) == expected, f"crash at write {crash_at} ({when})"
    assert crashes >= 4  # the restored run's own appends were crash points

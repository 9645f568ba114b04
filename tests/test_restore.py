"""Stop now, resume later (issue 14 item 1): ``to_dict()``, cancel, ``Context.from_dict``,
``run(ctx=restored)`` starts a new run continuing from where the dict was taken."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from restore_flows import Asker

from durable_flows import Context
from durable_flows.errors import RunNotFoundError, WorkflowCancelledByUser
from durable_flows.events import HumanResponseEvent, InputRequiredEvent
from durable_flows.storage import MemoryStore, SqliteStore

HERE = Path(__file__).parent


async def _dict_while_waiting(wf: Asker, **start: Any) -> tuple[str, dict[str, Any]]:
    handler = wf.run(**start)
    async for ev in handler.stream_events():
        if isinstance(ev, InputRequiredEvent):
            break
    ctx_dict = handler.ctx.to_dict()
    await handler.cancel_run()
    try:
        await handler
    except WorkflowCancelledByUser:
        pass
    return handler.run_id, ctx_dict


async def test_cancel_then_restore_continues_in_a_new_linked_run(db_path: Path) -> None:
    store = SqliteStore(str(db_path))
    wf = Asker(store=store)
    source, ctx_dict = await _dict_while_waiting(wf, who="ann")
    json.dumps(ctx_dict)  # a plain JSON document

    restored = Context.from_dict(wf, json.loads(json.dumps(ctx_dict)))
    handler = wf.run(ctx=restored)
    handler.ctx.send_event(HumanResponseEvent(response="42"))
    assert await handler == "ann:42"

    assert handler.run_id != source
    info = await store.get_run(handler.run_id)
    assert info is not None and info.parent_run_id == source  # the restored_from link
    assert info.forked_at_seq == ctx_dict["journal_seq"]
    assert (await store.get_run(source)).status == "cancelled"  # type: ignore[union-attr]
    # each step ran once in the restored run's history (the copied part included)
    assert await handler.ctx.store.get("hits") == {"ask": 1, "answer": 1, "check": 1}
    await store.close()


async def test_to_dict_right_after_run_restores_from_the_start(db_path: Path) -> None:
    store = SqliteStore(str(db_path))
    wf = Asker(store=store)
    handler = wf.run(who="bo")
    ctx_dict = handler.ctx.to_dict()  # nothing journaled yet: no RunNotFoundError
    assert ctx_dict["is_running"] and ctx_dict["journal_seq"] == 0
    async for ev in handler.stream_events():
        if isinstance(ev, InputRequiredEvent):
            break
    await handler.cancel_run()
    restored = wf.run(ctx=Context.from_dict(wf, ctx_dict))
    async for ev in restored.stream_events():  # the first step runs again, and asks again
        if isinstance(ev, InputRequiredEvent):
            restored.ctx.send_event(HumanResponseEvent(response="x"))
    assert await restored == "bo:x"
    assert await restored.ctx.store.get("hits") == {"ask": 1, "answer": 1, "check": 1}
    await store.close()


async def test_restore_needs_the_source_runs_journal() -> None:
    first, second = MemoryStore(), MemoryStore()
    _, ctx_dict = await _dict_while_waiting(Asker(store=first), who="c")
    wf = Asker(store=second)
    handler = wf.run(ctx=Context.from_dict(wf, ctx_dict))
    try:
        await handler
    except RunNotFoundError as exc:
        assert "restore with the store the run was journaled in" in str(exc)
    else:
        raise AssertionError("restoring without the source journal must fail clearly")


def test_restore_in_another_process(db_path: Path, tmp_path: Path) -> None:
    saved = tmp_path / "ctx.json"

    async def first() -> None:
        store = SqliteStore(str(db_path))
        _, ctx_dict = await _dict_while_waiting(Asker(store=store), who="dee")
        saved.write_text(json.dumps(ctx_dict))
        await store.close()

    asyncio.run(first())
    script = textwrap.dedent(
        f"""
        import asyncio, json, sys
        sys.path.insert(0, {str(HERE)!r})
        from restore_flows import Asker
        from durable_flows import Context
        from durable_flows.events import HumanResponseEvent
        from durable_flows.storage import SqliteStore

        async def main():
            wf = Asker(store=SqliteStore({str(db_path)!r}))
            ctx = Context.from_dict(wf, json.loads(open({str(saved)!r}).read()))
            handler = wf.run(ctx=ctx)
            handler.ctx.send_event(HumanResponseEvent(response="later"))
            print(await handler)

        asyncio.run(main())
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "dee:later"


async def test_dict_taken_after_cancel_still_restores(db_path: Path) -> None:
    """Upstream's order: cancel_run() first, then to_dict(): the dict still counts as mid-run."""
    store = SqliteStore(str(db_path))
    wf = Asker(store=store)
    handler = wf.run(who="fay")
    async for ev in handler.stream_events():
        if isinstance(ev, InputRequiredEvent):
            break
    await handler.cancel_run()
    ctx_dict = handler.ctx.to_dict()
    assert ctx_dict["is_running"]
    restored = wf.run(ctx=Context.from_dict(wf, ctx_dict))
    restored.ctx.send_event(HumanResponseEvent(response="1"))
    assert await restored == "fay:1"
    state = restored.ctx.to_dict()["state"]  # upstream's layout: values as JSON strings
    assert state["state_type"] == "DictState"
    assert json.loads(state["state_data"]["_data"]["who"]) == "fay"
    await store.close()

"""Stop now, resume later (issue 14 item 1): ``to_dict()``, cancel, ``Context.from_dict``,
``run(ctx=restored)`` starts a new run continuing from where the dict was taken."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from restore_flows import GATE_HITS, Asker, Gate, Part

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


async def test_restore_into_a_store_without_the_source_run(tmp_path: Path) -> None:
    """The dict is self-contained: a waiter with requirements, a half-filled collect
    buffer and the state travel in it; the new run is seeded in another SQLite file,
    linked to the source by ``restored_from``, and its journal alone rebuilds it."""
    first, second = SqliteStore(str(tmp_path / "a.db")), SqliteStore(str(tmp_path / "b.db"))
    source, ctx_dict = await _gate_dict(Gate(store=first))
    await first.close()
    text = json.dumps(ctx_dict, sort_keys=True)
    assert json.dumps(json.loads(text), sort_keys=True) == text  # plain, stable JSON
    snap = ctx_dict["snapshot"]
    assert [w[4] for w in snap["waiters"]] == [{"user": "ann"}]
    assert snap["buffers"] == {"gather": {"default": [["restore_flows.Part", "json", {"n": 1}]]}}

    wf = Gate(store=second)
    handler = wf.run(ctx=Context.from_dict(wf, json.loads(text)))
    handler.ctx.send_event(HumanResponseEvent(response="no", user="bob"))  # not the waiter's
    handler.ctx.send_event(HumanResponseEvent(response="yes", user="ann"))
    handler.ctx.send_event(Part(n=2))
    assert await asyncio.wait_for(handler, 30) == "3:yes"
    assert await handler.ctx.store.get("hits") == GATE_HITS

    assert await second.get_run(source) is None
    entries = await second.read(handler.run_id)
    started = json.loads(entries[0].payload)
    assert entries[0].kind == "run_started" and started["restored_from"] == source
    assert started["seed"] == snap
    assert [e.kind for e in entries].count("run_started") == 1
    # a second process reading only this store settles the finished run from its journal
    again = await Gate(store=second).resume(handler.run_id)
    assert again == "3:yes"
    await second.close()


async def _gate_dict(wf: Gate) -> tuple[str, dict[str, Any]]:
    handler = wf.run()
    async for ev in handler.stream_events():
        if isinstance(ev, InputRequiredEvent):
            break
    # until the run's journal holds gather's buffered Part(1): no event says so
    while not handler.ctx.to_dict()["snapshot"]["buffers"]:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    await handler.cancel_run()
    ctx_dict = handler.ctx.to_dict()  # upstream's order: cancel, then to_dict
    with pytest.raises(WorkflowCancelledByUser):
        await handler
    return handler.run_id, ctx_dict


async def test_a_dict_without_snapshot_needs_the_source_runs_journal() -> None:
    """Taken before the run's first commit, a dict holds nothing to seed from."""
    first, second = MemoryStore(), MemoryStore()
    handler = Asker(store=first).run(who="c")
    ctx_dict = handler.ctx.to_dict()
    assert ctx_dict["snapshot"] is None
    await handler.cancel_run()
    wf = Asker(store=second)
    with pytest.raises(RunNotFoundError, match="restore with the store the run was journaled in"):
        await wf.run(ctx=Context.from_dict(wf, ctx_dict))


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


_GATE_SCRIPT = textwrap.dedent(
    """
    import asyncio, json, sys
    sys.path.insert(0, sys.argv[1])
    from restore_flows import Gate, Part
    from durable_flows import Context
    from durable_flows.errors import WorkflowCancelledByUser
    from durable_flows.events import HumanResponseEvent, InputRequiredEvent
    from durable_flows.storage import SqliteStore

    async def take(db, saved):  # process A: run until the question, cancel, save the dict
        store = SqliteStore(db)
        handler = Gate(store=store).run()
        async for ev in handler.stream_events():
            if isinstance(ev, InputRequiredEvent):
                break
        while not handler.ctx.to_dict()["snapshot"]["buffers"]:
            await asyncio.sleep(0.01)
        await handler.cancel_run()
        try:
            await handler
        except WorkflowCancelledByUser:
            pass
        open(saved, "w").write(json.dumps(handler.ctx.to_dict()))
        await store.close()

    async def restore(db, saved):  # process B: restore into its own store and answer
        store = SqliteStore(db)
        wf = Gate(store=store)
        handler = wf.run(ctx=Context.from_dict(wf, json.loads(open(saved).read())), run_id="restored")
        handler.ctx.send_event(HumanResponseEvent(response="yes", user="ann"))
        handler.ctx.send_event(Part(n=2))
        print(await handler)
        await store.close()

    asyncio.run({"take": take, "restore": restore}[sys.argv[2]](sys.argv[3], sys.argv[4]))
    """
)


def _gate_process(tmp_path: Path, *args: str, faults: str = "") -> subprocess.CompletedProcess[str]:
    script = tmp_path / "gate_process.py"
    script.write_text(_GATE_SCRIPT)
    env = {**os.environ, "DURABLE_FLOWS_FAULTS": faults}
    return subprocess.run(
        [sys.executable, str(script), str(HERE), *args], capture_output=True, text=True, timeout=60, env=env
    )


@pytest.mark.parametrize("killed", [False, True], ids=["answered", "killed-after-restore"])
async def test_restore_in_another_process_and_store(tmp_path: Path, killed: bool) -> None:
    """Process A takes the dict; process B restores it into its own SQLite file and answers
    the wait; killed with SIGKILL right after the restored run's first commit, the run is
    resumed from B's file alone and finishes once."""
    saved, a_db, b_db = tmp_path / "ctx.json", tmp_path / "a.db", tmp_path / "b.db"
    took = await asyncio.to_thread(_gate_process, tmp_path, "take", str(a_db), str(saved))
    assert took.returncode == 0, took.stderr
    source = json.loads(saved.read_text())["run_id"]
    faults = "after_append=1" if killed else ""
    done = await asyncio.to_thread(_gate_process, tmp_path, "restore", str(b_db), str(saved), faults=faults)
    store = SqliteStore(str(b_db))
    try:
        if not killed:
            assert done.returncode == 0, done.stderr
            assert done.stdout.strip() == "3:yes"
        else:
            assert done.returncode == -9, done.stderr
            assert [e.kind for e in await store.read("restored")] == ["run_started", "resumed"]
            wf = Gate(store=store)
            [handler] = await wf.recover()  # the owner is dead: the run is an orphan
            await handler.send_event(HumanResponseEvent(response="yes", user="ann"))
            await handler.send_event(Part(n=2))
            assert await asyncio.wait_for(handler, 30) == "3:yes"
        assert await store.get_run(source) is None
        entries = await store.read("restored")
        kinds = [e.kind for e in entries]
        assert kinds.count("resumed") == (2 if killed else 1)
        assert json.loads(entries[0].payload)["restored_from"] == source
        # each step completed once in the restored run; begin's was in the source run
        done_steps = sorted(e.step for e in entries if e.kind == "completed" and e.step)
        finished = Gate(store=store).resume("restored")  # rebuilt from b.db's journal only
        assert await finished == "3:yes"
        assert await finished.ctx.store.get("hits") == GATE_HITS  # begin's hit came in the seed
    finally:
        await store.close()
    assert done_steps.count("begin") == 0
    assert done_steps == ["ask", "finish", "finish", "gather"]  # finish: buffers, then joins

"""A workflow's serializer changed under a waiting run, and runs a store marked failed.

A serializer that refuses what the journal holds is a code mismatch, like an
event type gone: the resume is refused with NonDeterminismError and the run is
left as it was, so code with the right serializer can still continue it. A run
whose row a damaged journal marked failed says why when it is resumed again.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, RootModel
from run_waits import owned_and_waiting

from durable_flows import Context, Event, SqliteStore, StartEvent, StopEvent, Workflow, step
from durable_flows.context.serializers import JsonPickleSerializer
from durable_flows.errors import (
    ContextSerdeError,
    NonDeterminismError,
    TypeNotAllowedError,
    WorkflowRuntimeError,
)

pytestmark = pytest.mark.timeout(30)


class Bag(Event):
    tags: Any = None


class Approval(Event):
    ok: bool


class Bagging(Workflow):
    """Puts a set in a Bag, then waits for an Approval while holding it."""

    @step
    async def begin(self, ctx: Context, ev: StartEvent) -> Bag:
        return Bag(tags={1, 2})

    @step
    async def gate(self, ctx: Context, ev: Bag) -> StopEvent:
        approval = await ctx.wait_for_event(Approval, waiter_id="approval", timeout=None)
        return StopEvent(result=f"{sorted(ev.tags)} {type(ev.tags).__name__} ok={approval.ok}")


ALLOWING = JsonPickleSerializer(allowed=[Bag, Approval])


def _rows(db: Path) -> tuple[list[Any], list[Any]]:
    con = sqlite3.connect(db)
    try:
        journal = con.execute("SELECT * FROM journal ORDER BY seq").fetchall()
        runs = con.execute("SELECT run_id, status, owner, error, last_seq FROM runs").fetchall()
    finally:
        con.close()
    return journal, runs


async def _parked(db: Path) -> None:
    async with SqliteStore(db) as store:
        Bagging(store=store, serializer=ALLOWING).run(run_id="r")
        await owned_and_waiting(store, "r")


@pytest.mark.parametrize("serializer", [None, JsonPickleSerializer()], ids=["json", "jsonpickle-not-allowing"])
async def test_a_serializer_refusing_the_journal_is_a_code_mismatch(serializer: Any, tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    await _parked(db)
    journal, _ = _rows(db)
    async with SqliteStore(db) as store:
        with pytest.raises(NonDeterminismError) as refused:
            await asyncio.wait_for(Bagging(store=store, serializer=serializer).resume("r"), 10)
        info = await store.get_run("r")
    bag_seq = next(row[1] for row in journal if row[4] == f"{__name__}.Bag")
    assert refused.value.seq == bag_seq
    assert "does not allow" in str(refused.value) and f"{__name__}.Bag" in str(refused.value)
    assert info is not None and info.status == "waiting" and info.owner is None  # left for other code
    assert _rows(db)[0] == journal  # nothing written

    async with SqliteStore(db) as store:  # code with the serializer the run needs continues it
        handler = Bagging(store=store, serializer=ALLOWING).resume("r")
        await owned_and_waiting(store, "r")
        await handler.send_event(Approval(ok=True))
        assert await asyncio.wait_for(handler, 10) == "[1, 2] set ok=True"


async def test_json_code_continues_a_run_jsonpickle_journaled_with_builtin_events(tmp_path: Path) -> None:
    """Events and state of durable_flows' own classes decode whatever the serializer now is."""

    class Plain(Workflow):
        @step
        async def gate(self, ctx: Context, ev: StartEvent) -> StopEvent:
            await ctx.store.set("seen", sorted(ev.tags))
            approval = await ctx.wait_for_event(Approval, waiter_id="approval", timeout=None)
            return StopEvent(result=f"{type(ev.tags).__name__} {await ctx.store.get('seen')} {approval.ok}")

    db = tmp_path / "j.db"
    async with SqliteStore(db) as store:
        Plain(store=store, serializer=JsonPickleSerializer()).run(run_id="r", start_event=StartEvent(tags={3, 4}))
        await owned_and_waiting(store, "r")
    async with SqliteStore(db) as store:
        handler = Plain(store=store).resume("r")
        await owned_and_waiting(store, "r")
        await handler.send_event(Approval(ok=True))
        assert await asyncio.wait_for(handler, 10) == "set [3, 4] True"


async def test_a_run_marked_failed_outside_its_journal_says_why_when_resumed(tmp_path: Path) -> None:
    """Regression: the handler raised WorkflowRuntimeError('') (the journal holds no failure)."""
    db = tmp_path / "j.db"
    await _parked(db)
    async with SqliteStore(db) as store:
        await store.set_failed("r", "run 'r', journal entry seq=3: payload is not JSON")
        with pytest.raises(WorkflowRuntimeError, match="marked failed without finishing: run 'r', journal entry"):
            await asyncio.wait_for(Bagging(store=store, serializer=ALLOWING).resume("r"), 10)
        info = await store.get_run("r")
    assert info is not None and info.status == "failed"


class Counted(BaseModel):
    n: int = 0


class Note(RootModel[str]):
    root: str = ""


class Typed(Workflow):
    """Edits a user state type, then waits for an Approval."""

    @step
    async def gate(self, ctx: Context[Counted], ev: StartEvent) -> StopEvent:
        async with ctx.store.edit_state() as state:
            state.n += 1
        approval = await ctx.wait_for_event(Approval, waiter_id="approval", timeout=None)
        return StopEvent(result=f"n={(await ctx.store.get_state()).n} ok={approval.ok}")


class Noting(Workflow):
    """Its state is a string: JSON journals it as one."""

    @step
    async def gate(self, ctx: Context[Note], ev: StartEvent) -> StopEvent:
        async with ctx.store.edit_state() as state:
            state.root = "[1, 2]"  # a string that is also JSON text
        approval = await ctx.wait_for_event(Approval, waiter_id="approval", timeout=None)
        return StopEvent(result=f"{(await ctx.store.get_state()).root!r} ok={approval.ok}")


async def _resume_and_approve(db: Path, make: Callable[[SqliteStore], Workflow]) -> Any:
    async with SqliteStore(db) as store:
        handler = make(store).resume("r")
        await owned_and_waiting(store, "r")
        await handler.send_event(Approval(ok=True))
        return await asyncio.wait_for(handler, 10)


async def test_a_user_state_jsonpickle_wrote_needs_a_serializer_that_allows_it(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    async with SqliteStore(db) as store:
        Typed(store=store, serializer=JsonPickleSerializer(allowed=[Counted, Approval])).run(run_id="r")
        await owned_and_waiting(store, "r")
    async with SqliteStore(db) as store:
        with pytest.raises(TypeNotAllowedError, match="Counted"):
            await asyncio.wait_for(Typed(store=store).resume("r"), 10)
        info = await store.get_run("r")
    assert info is not None and info.status == "waiting" and info.owner is None  # lease given back
    allowing = JsonPickleSerializer(allowed=[Counted, Approval])
    # n=2: the journaled n=1, plus the edit of gate's second run once the answer is there
    assert await _resume_and_approve(db, lambda store: Typed(store=store, serializer=allowing)) == "n=2 ok=True"


async def test_a_state_json_wrote_as_a_string_resumes_as_that_string(tmp_path: Path) -> None:
    """Regression (review): reading every string state as jsonpickle broke RootModel[str] states."""
    db = tmp_path / "j.db"
    async with SqliteStore(db) as store:
        Noting(store=store).run(run_id="r")
        await owned_and_waiting(store, "r")
    assert await _resume_and_approve(db, lambda store: Noting(store=store)) == "'[1, 2]' ok=True"


def test_context_from_dict_still_refuses_a_string_for_an_object_state() -> None:
    with pytest.raises(ContextSerdeError):
        Context.from_dict(Typed(), {"state": {"state_type": "x.Counted", "state_data": '{"n": 5}'}})

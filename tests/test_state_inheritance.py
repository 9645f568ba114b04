"""Typed state across workflow inheritance: the most derived type, parent merges, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from durable_flows import Context, Event, SqliteStore, StartEvent, StopEvent, Workflow, step
from durable_flows.errors import StateTypeError


class BaseState(BaseModel):
    base_field: str = "base"


class ChildState(BaseState):
    child_field: str = "child"
    extra_counter: int = 0


class Other(BaseModel):
    unrelated: str = ""


class SiblingOne(BaseState):
    one: int = 1


class SiblingTwo(BaseState):
    two: str = Field(default="two")


class Middle(Event):
    pass


class BaseFlow(Workflow):
    @step
    async def first(self, ctx: Context[BaseState], ev: StartEvent) -> Middle:
        await ctx.store.set_state(BaseState(base_field="from base step"))
        return Middle()


class ChildFlow(BaseFlow):
    @step
    async def second(self, ctx: Context[ChildState], ev: Middle) -> StopEvent:
        state = await ctx.store.get_state()
        return StopEvent(result=[type(state).__name__, state.base_field, state.child_field, state.extra_counter])


class Siblings(Workflow):
    @step
    async def one(self, ctx: Context[SiblingOne], ev: StartEvent) -> Middle:
        return Middle()

    @step
    async def two(self, ctx: Context[SiblingTwo], ev: Middle) -> StopEvent:
        return StopEvent()


async def test_a_base_steps_parent_state_merges_into_the_child_state_and_replays(tmp_path: Path) -> None:
    async with SqliteStore(tmp_path / "j.db") as store:
        ctx: Context[ChildState] = Context(ChildFlow(store=store))
        await ctx.store.set("extra_counter", 42)
        handler = ChildFlow(store=store).run(ctx=ctx, run_id="c")
        assert await handler == ["ChildState", "from base step", "child", 42]
        replayed = ChildFlow(store=store).resume("c")
        await replayed
        state = await replayed.ctx.store.get_state()
        assert isinstance(state, ChildState) and state.base_field == "from base step" and state.extra_counter == 42


async def test_sibling_state_types_are_refused_by_name(tmp_path: Path) -> None:
    async with SqliteStore(tmp_path / "j.db") as store:
        with pytest.raises(ValueError, match="not in a compatible inheritance hierarchy") as caught:
            await Siblings(store=store).run()
        assert isinstance(caught.value, StateTypeError)
        assert "SiblingOne" in str(caught.value) and "SiblingTwo" in str(caught.value)


async def test_set_state_with_an_unrelated_type_is_refused(tmp_path: Path) -> None:
    async with SqliteStore(tmp_path / "j.db") as store:
        ctx: Context[ChildState] = Context(ChildFlow(store=store))
        with pytest.raises(ValueError, match="must be of type ChildState or a parent type, got Other"):
            await ctx.store.set_state(Other())  # type: ignore[arg-type]

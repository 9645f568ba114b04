"""State journaled as changes, edit_state on an isolated copy, dependencies per key.

Patch operations are checked with hypothesis (applying the diff of two JSON
values to the first gives the second, without changing it); the live image a
run keeps must equal the codec's dump of the live state after any sequence of
changes; journals are read back from real SQLite files.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from durable_flows import Context, Event, SqliteStore, StartEvent, StopEvent, Workflow, step
from durable_flows.codec.journal import Codec
from durable_flows.context.state_image import StateImage
from durable_flows.context.state_store import DictState
from durable_flows.runtime import completion
from durable_flows.runtime.state_patch import apply_ops, diff

pytestmark = pytest.mark.timeout(60)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=2), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300)
@given(old=json_values, new=json_values)
def test_diff_then_apply_gives_the_new_value_and_leaves_the_old_alone(old: Any, new: Any) -> None:
    before = copy.deepcopy(old)
    ops = diff(old, new)
    assert apply_ops(old, ops) == new
    assert old == before
    json.dumps(ops)  # journaled as JSON


@settings(max_examples=100)
@given(items=st.lists(st.text(max_size=5), max_size=6), more=st.lists(st.text(max_size=5), min_size=1, max_size=3))
def test_a_growing_list_journals_only_its_new_items(items: list[str], more: list[str]) -> None:
    assert diff({"log": items}, {"log": items + more}) == [["append", ["log"], more]]


# --- the live image equals the dump of the live state ------------------------------------

KEYS = ["a", "b", "c"]
changes = st.lists(
    st.tuples(
        st.sampled_from(["set", "append", "nested", "delete"]),
        st.sampled_from(KEYS),
        st.integers(0, 9),
    ),
    max_size=12,
)


changes_in_place = st.lists(
    st.tuples(
        st.sampled_from(
            ["set", "append", "nested", "delete", "append_in_place", "append_dict", "edit_item", "whole"]
        ),
        st.sampled_from(KEYS),
        st.integers(0, 9),
    ),
    max_size=16,
)


@settings(max_examples=150)
@given(steps=changes)
def test_image_follows_the_live_dict_state(steps: list[tuple[str, str, int]]) -> None:
    codec = Codec()
    state = DictState()
    image = StateImage(codec, codec.dump_state(state))
    folded = copy.deepcopy(image.doc)
    for op, key, n in steps:
        extras = state._data
        if op == "set":
            extras[key] = n
        elif op == "append":
            extras[key] = [*extras[key], n] if isinstance(extras.get(key), list) else [n]
        elif op == "nested":
            extras[key] = {"x": n, "y": [n, n + 1]}
        else:
            extras.pop(key, None)
        ops, _ = image.change(state, [key])
        folded = apply_ops(folded, ops)
        assert image.doc == codec.dump_state(state) == folded


@settings(max_examples=200)
@given(steps=changes_in_place)
def test_appends_found_without_dumping_the_list_stay_exact(steps: list[tuple[str, str, int]]) -> None:
    """Pins the append fast path (a list key is compared, not dumped, and the image
    extends lists it built in place): the same list object grown in place, items
    changed in place inside the old prefix, dict items, whole-state changes between
    appends; journaled operations and the document the image started from never
    change afterwards."""
    codec = Codec()
    state = DictState()
    start = codec.dump_state(state)
    image = StateImage(codec, start)
    start_json = json.dumps(start)
    folded = start
    journal: list[tuple[list[Any], str]] = []
    for op, key, n in steps:
        extras = state._data
        current = extras.get(key)
        if op == "set":
            extras[key] = n
        elif op == "append":
            extras[key] = [*current, n] if isinstance(current, list) else [n]
        elif op == "append_in_place" and isinstance(current, list):
            current.append(n)
        elif op == "append_dict":
            item = {"role": "user", "n": n}
            extras[key] = [*current, item] if isinstance(current, list) else [item]
        elif op == "edit_item" and isinstance(current, list) and current:
            if isinstance(current[0], dict):
                current[0]["n"] = n + 100  # in place, inside the prefix the image holds
            else:
                current[0] = n + 100
        elif op == "nested":
            extras[key] = {"x": n, "y": [n, n + 1]}
        elif op == "delete":
            extras.pop(key, None)
        ops, _ = image.change(state, None if op == "whole" else [key])
        journal.append((ops, json.dumps(ops)))
        folded = apply_ops(folded, ops)
        assert image.doc == codec.dump_state(state) == folded
    assert json.dumps(start) == start_json
    for ops, at_the_time in journal:
        assert json.dumps(ops) == at_the_time


class Typed(BaseModel):
    count: int = 0
    names: list[str] = Field(default_factory=list)
    info: dict[str, int] = Field(default_factory=dict)


@settings(max_examples=100)
@given(steps=st.lists(st.tuples(st.sampled_from(["count", "names", "info"]), st.integers(0, 9)), max_size=10))
def test_image_follows_a_typed_state_with_whole_and_keyed_changes(steps: list[tuple[str, int]]) -> None:
    codec = Codec()
    state = Typed()
    image = StateImage(codec, codec.dump_state(state))
    folded = image.doc
    for i, (field, n) in enumerate(steps):
        if field == "count":
            state.count += n
        elif field == "names":
            state.names.append(str(n))
        else:
            state.info[str(n)] = i
        ops, _ = image.change(state, [field] if i % 2 else None)
        folded = apply_ops(folded, ops)
        assert folded == codec.dump_state(state)


# --- in a run, on disk -------------------------------------------------------------------


class Turn(Event):
    n: int


class Chat(Workflow):
    @step
    async def begin(self, ev: StartEvent) -> Turn:
        return Turn(n=0)

    @step
    async def turn(self, ctx: Context, ev: Turn) -> Turn | StopEvent:
        history = await ctx.store.get("history", default=[])
        history.append(f"message {ev.n} " + "x" * 200)
        await ctx.store.set("history", history)
        if ev.n + 1 < 30:
            return Turn(n=ev.n + 1)
        return StopEvent(result=len(history))


async def test_a_growing_history_journals_each_message_once(tmp_path: Path) -> None:
    async with SqliteStore(tmp_path / "j.db") as store:
        handler = Chat(store=store).run(run_id="chat")
        assert await handler == 30
        entries = [e for e in await store.read("chat") if e.kind == "state"]
        assert len(entries) == 30
        for n, entry in enumerate(entries):
            ops = json.loads(entry.payload)["ops"]
            expected = [["set", ["_data", "history"], [f"message 0 {'x' * 200}"]]] if n == 0 else [
                ["append", ["_data", "history"], [f"message {n} {'x' * 200}"]]
            ]
            assert ops == expected
        state_bytes = sum(len(e.payload) for e in entries)
        final = len(json.dumps((await handler.ctx.store.get_state()).model_dump(mode="json")))
        assert state_bytes < 1.5 * final  # each message once, plus ~50 bytes of record per turn


class Go(Event):
    pass


class EditRules(Workflow):
    """edit_state: an exception discards the edit; reads see the pre-edit state; writers refuse."""

    @step
    async def start(self, ctx: Context, ev: StartEvent) -> StopEvent:
        await ctx.store.set("n", 1)
        seen: dict[str, Any] = {}
        with pytest.raises(KeyError):
            async with ctx.store.edit_state() as state:
                state["n"] = 99
                raise KeyError("changed my mind")
        seen["after_error"] = await ctx.store.get("n")
        async with ctx.store.edit_state() as state:
            state["n"] = 2
            seen["inside_get"] = await ctx.store.get("n")  # the committed pre-edit value
            for writer in (ctx.store.set("n", 5), ctx.store.clear()):
                try:
                    await writer
                except RuntimeError as exc:
                    seen.setdefault("refused", []).append(str(exc)[:30])
        seen["after"] = await ctx.store.get("n")
        return StopEvent(result=seen)


async def test_edit_state_is_an_isolated_copy_committed_on_clean_exit(tmp_path: Path) -> None:
    async with SqliteStore(tmp_path / "j.db") as store:
        handler = EditRules(store=store).run(run_id="e")
        seen = await handler
        assert seen["after_error"] == 1 and seen["inside_get"] == 1 and seen["after"] == 2
        assert len(seen["refused"]) == 2
        # The journal holds exactly the committed edits; a replay rebuilds n == 2.
        ops = [json.loads(e.payload)["ops"] for e in await store.read("e") if e.kind == "state"]
        assert ops == [[["set", ["_data", "n"], 1], ["set", ["_data", "n"], 2]]]
        resumed = EditRules(store=store).resume("e")
        await resumed
        assert await resumed.ctx.store.get("n") == 2


class Fan(Event):
    i: int


class FanDone(Event):
    i: int


class Unrelated(Workflow):
    """A slow step edits ``status``; fast workers edit ``seen``: they must not wait for it."""

    @step
    async def split(self, ctx: Context, ev: StartEvent) -> Fan | Go | None:
        ctx.send_event(Go())
        for i in range(5):
            ctx.send_event(Fan(i=i))
        return None

    @step
    async def slow(self, ctx: Context, ev: Go) -> None:
        async with ctx.store.edit_state() as state:
            state["status"] = "busy"
        await asyncio.sleep(1.0)
        return None

    @step(num_workers=5)
    async def fast(self, ctx: Context, ev: Fan) -> FanDone:
        await asyncio.sleep(0.01)
        async with ctx.store.edit_state() as state:
            state["seen"] = state.get("seen", 0) + 1
        return FanDone(i=ev.i)

    @step
    async def gather(self, ctx: Context, ev: FanDone) -> StopEvent | None:
        if ctx.collect_events(ev, [FanDone] * 5) is None:
            return None
        return StopEvent(result=await ctx.store.get("seen"))


async def test_a_step_touching_other_keys_does_not_wait_for_a_slow_step(tmp_path: Path) -> None:
    async with SqliteStore(tmp_path / "j.db") as store:
        loop = asyncio.get_running_loop()
        began = loop.time()
        handler = Unrelated(store=store, timeout=10).run(run_id="u")
        assert await handler == 5
        entries = await store.read("u")
        gathered = next(e for e in entries if e.kind == "produced" and e.event_type and e.event_type.endswith("StopEvent"))
        # The collector got its five results (and the run ended) long before the slow step
        # finished: the run ended while it still slept (its completion is not in the journal).
        assert gathered.ts - entries[0].ts < 0.8, gathered.ts - entries[0].ts
        assert not any(e.kind == "completed" and e.step == "slow" for e in entries)
        assert loop.time() - began < 5


class Blocked(Workflow):
    """``reader`` reads a key ``writer`` changed and is still running: it is held until writer commits."""

    @step
    async def split(self, ctx: Context, ev: StartEvent) -> Go | Fan | None:
        ctx.send_event(Go())
        ctx.send_event(Fan(i=1))
        return None

    @step
    async def writer(self, ctx: Context, ev: Go) -> FanDone:
        await ctx.store.set("shared", 1)
        await asyncio.sleep(0.6)
        return FanDone(i=0)

    @step
    async def reader(self, ctx: Context, ev: Fan) -> FanDone:
        await asyncio.sleep(0.1)
        value = await ctx.store.get("shared", default=None)
        return FanDone(i=value)

    @step
    async def gather(self, ctx: Context, ev: FanDone) -> StopEvent | None:
        got = ctx.collect_events(ev, [FanDone, FanDone])
        return None if got is None else StopEvent(result=sorted(e.i for e in got))


async def test_a_completion_that_read_uncommitted_state_waits_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(completion, "HOLD_WARNING", 0.2)
    caplog.set_level(logging.WARNING, logger="durable_flows")
    async with SqliteStore(tmp_path / "j.db") as store:
        assert await Blocked(store=store).run(run_id="b") == [0, 1]
        kinds = [(e.kind, e.step) for e in await store.read("b")]
        # reader finished first but its completion comes with or after writer's.
        assert kinds.index(("completed", "writer")) < kinds.index(("completed", "reader"))
    held = [r.getMessage() for r in caplog.records if "is not journaled yet" in r.getMessage()]
    assert held and "step reader" in held[0] and "writer" in held[0]


class BadValues(Workflow):
    @step
    async def start(self, ctx: Context, ev: StartEvent) -> StopEvent:
        await ctx.store.set("x", 1.5)
        refused = []
        for bad in (float("inf"), float("nan"), [1.0, float("-inf")]):
            try:
                await ctx.store.set("x", bad)
            except Exception as exc:  # noqa: BLE001 - the test looks at what is raised
                refused.append((type(exc).__name__, "inf/nan" in str(exc)))
        return StopEvent(result={"refused": refused, "x": await ctx.store.get("x")})


async def test_a_non_finite_float_is_refused_at_the_call_and_the_state_keeps_its_value(tmp_path: Path) -> None:
    async with SqliteStore(tmp_path / "j.db") as store:
        out = await BadValues(store=store).run(run_id="b")
        assert out == {"refused": [("SerializationError", True)] * 3, "x": 1.5}
        ops = [json.loads(e.payload)["ops"] for e in await store.read("b") if e.kind == "state"]
        assert ops == [[["set", ["_data", "x"], 1.5]]]

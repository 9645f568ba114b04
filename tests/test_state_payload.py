"""A state store's ``to_dict()`` payload read back without a run (upstream's names)."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from durable_flows import Context, Workflow, step
from durable_flows.context import JsonSerializer, PickleSerializer
from durable_flows.context.state_store import (
    DictState,
    InMemorySerializedState,
    InMemoryStateStore,
    deserialize_state_from_dict,
    parse_in_memory_state,
)
from durable_flows.events import StartEvent, StopEvent

pytestmark = pytest.mark.timeout(30)


class Tally(BaseModel):
    count: int = 0
    label: str = "none"


async def test_dict_state_round_trips_through_to_dict() -> None:
    store: InMemoryStateStore[DictState] = InMemoryStateStore(DictState())
    await store.set("count", 42)
    await store.set("nested", {"a": [1, 2]})
    payload = store.to_dict(JsonSerializer())
    assert payload["store_type"] == "in_memory"
    assert (payload["state_type"], payload["state_module"]) == ("DictState", DictState.__module__)
    state = deserialize_state_from_dict(payload, JsonSerializer())
    assert isinstance(state, DictState)
    assert (state["count"], state["nested"]) == (42, {"a": [1, 2]})
    again = InMemoryStateStore.from_dict(payload, JsonSerializer())
    assert await again.get("count") == 42


@pytest.mark.parametrize("serializer", [JsonSerializer(), PickleSerializer()])
async def test_typed_state_round_trips_through_to_dict(serializer: JsonSerializer) -> None:
    payload = InMemoryStateStore(Tally(count=3, label="x")).to_dict(serializer)
    state = deserialize_state_from_dict(payload, serializer)
    assert state == Tally(count=3, label="x")
    store = InMemoryStateStore.from_dict(payload, serializer)
    assert await store.get_state() == Tally(count=3, label="x")


async def test_a_run_context_payload_reads_back() -> None:
    class Counting(Workflow):
        @step
        async def go(self, ctx: Context, ev: StartEvent) -> StopEvent:
            await ctx.store.set("seen", "yes")
            return StopEvent()

    handler = Counting().run()
    await handler
    state = deserialize_state_from_dict(handler.ctx.to_dict()["state"], JsonSerializer())
    assert isinstance(state, DictState) and state["seen"] == "yes"


def test_payload_without_store_type_or_data_is_an_empty_in_memory_one() -> None:
    parsed = parse_in_memory_state({"state_type": "DictState", "state_data": {"_data": {"k": "1"}}})
    assert isinstance(parsed, InMemorySerializedState)
    assert (parsed.store_type, parsed.state_data) == ("in_memory", {"_data": {"k": "1"}})
    empty = deserialize_state_from_dict({}, JsonSerializer())
    assert isinstance(empty, DictState) and dict(empty.items()) == {}
    assert isinstance(InMemoryStateStore.from_dict({}, JsonSerializer()), InMemoryStateStore)


@pytest.mark.parametrize("store_type", ["sql", "redis"])
def test_another_stores_payload_is_refused_with_the_fix(store_type: str) -> None:
    payload = {"store_type": store_type, "run_id": "r1", "state_type": "DictState"}
    with pytest.raises(ValueError, match=f"Cannot parse store_type '{store_type}'.*from_dict"):
        parse_in_memory_state(payload)
    with pytest.raises(ValueError, match=f"Cannot parse store_type '{store_type}'"):
        InMemoryStateStore.from_dict(payload, JsonSerializer())


def test_undecodable_state_data_says_what_it_holds() -> None:
    with pytest.raises(ValueError, match="decodes to a list, not a state model"):
        deserialize_state_from_dict({"state_data": "[1, 2]"}, JsonSerializer())
    with pytest.raises(ValueError, match="Failed to deserialize state value for key k"):
        deserialize_state_from_dict({"state_data": {"_data": {"k": "{not json"}}}, JsonSerializer())
    with pytest.raises(ValueError, match="of type int"):
        deserialize_state_from_dict({"state_data": 7}, JsonSerializer())

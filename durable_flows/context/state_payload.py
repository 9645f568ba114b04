"""The state part of ``ctx.to_dict()`` as upstream lays it out, read back without a run.

``InMemoryStateStore.to_dict(serializer)`` gives ``{"store_type": "in_memory",
"state_type": ..., "state_module": ..., "state_data": ...}``: ``state_data`` is
``{"_data": {key: <serialized value>}}`` for a ``DictState`` and the serialized
model (a string) for a typed state. This module reads such a payload:
:func:`parse_in_memory_state` checks its layout (an older payload without
``store_type`` is an in-memory one), :func:`deserialize_state_from_dict` turns
it back into the state model. Decoding looks at the payload's shape only,
never at ``state_module``/``state_type``, so a payload cannot make us import a
module it names; a typed state comes back through the serializer, which checks
the type it embeds (see ``codec/serializers.py``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, model_validator

if TYPE_CHECKING:
    from ..codec.serializers import BaseSerializer


class InMemorySerializedState(BaseModel):
    """A state payload holding the state itself (``store_type == "in_memory"``).

    Attributes:
        store_type: Always ``"in_memory"``; filled in when the payload has none.
        state_type: Class name of the state model.
        state_module: Module of the state model's class.
        state_data: ``{"_data": {...}}`` for a ``DictState``, the serialized
            model for a typed state, ``None`` for an empty store.
    """

    store_type: Literal["in_memory"] = "in_memory"
    state_type: str = "DictState"
    state_module: str = "durable_flows.context.state_store"
    state_data: Any = None

    @model_validator(mode="before")
    @classmethod
    def _in_memory_when_unsaid(cls, data: Any) -> Any:
        if isinstance(data, dict) and "store_type" not in data:
            return {**data, "store_type": "in_memory"}
        return data


def parse_in_memory_state(data: dict[str, Any]) -> InMemorySerializedState:
    """Check that ``data`` is an in-memory state payload and read its fields.

    Raises:
        ValueError: ``data["store_type"]`` names another kind of store (e.g.
            ``"sql"``, whose payload holds a reference, not the state).
    """
    store_type = data.get("store_type")
    if store_type not in (None, "in_memory"):
        raise ValueError(
            f"Cannot parse store_type '{store_type}' as InMemorySerializedState. "
            "Restore it with the from_dict() of the store that wrote it."
        )
    return InMemorySerializedState.model_validate(data)


def deserialize_state_from_dict(
    serialized_state: dict[str, Any],
    serializer: BaseSerializer,
    state_type: type[BaseModel] | None = None,
) -> BaseModel:
    """The state model a ``to_dict()`` payload holds (the inverse of ``to_dict``).

    Args:
        serialized_state: The payload.
        serializer: Decodes the stored values (the one that encoded them).
        state_type: Ignored, as in upstream 2.26: the payload's shape decides.

    Raises:
        ValueError: The payload's ``state_data`` has a shape no state has, or a
            value cannot be decoded.
    """
    return decode_state_data(serialized_state.get("state_data"), serializer)


def decode_state_data(state_data: Any, serializer: BaseSerializer) -> BaseModel:
    """Decode ``state_data`` by its shape: ``None`` is an empty ``DictState``,
    ``{"_data": ...}`` a ``DictState``, anything else a typed model.

    Raises:
        ValueError: The shape is none of these, or decoding fails.
    """
    from .state_store import DictState

    if isinstance(state_data, BaseModel):
        return state_data
    if state_data is None:
        return DictState()
    wrapped = state_data
    if isinstance(state_data, str):
        try:
            wrapped = json.loads(state_data)
        except ValueError:
            wrapped = None  # not JSON (a pickled payload): the serializer reads it
    if isinstance(wrapped, dict) and isinstance(wrapped.get("_data"), dict):
        values: dict[str, Any] = {}
        for key, raw in wrapped["_data"].items():
            try:
                values[key] = serializer.deserialize(raw)
            except Exception as exc:
                raise ValueError(f"Failed to deserialize state value for key {key}: {exc}") from exc
        return DictState(**values)
    if isinstance(state_data, (str, dict)):
        text = state_data if isinstance(state_data, str) else json.dumps(state_data)
        value = serializer.deserialize(text)
        if isinstance(value, BaseModel):
            return value
        raise ValueError(
            f"The state payload decodes to a {type(value).__name__}, not a state model "
            "(expected a serialized pydantic model or a {'_data': {...}} DictState)"
        )
    raise ValueError(f"Cannot decode a state payload of type {type(state_data).__name__}")

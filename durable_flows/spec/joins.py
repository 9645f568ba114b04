"""Join steps and ``list[E]`` returns, as read from a step's signature.

A *join* step declares several event parameters, ``(self, a: A, b: B)``: it
runs once one event of each declared type has arrived, with those events bound
to the parameters (llama-index-workflows 2.26 calls this a multi-slot collect).
Each parameter names exactly one event class.

A *fan-out* step returns ``list[E]``: every event of a returned list is
dispatched on its own. The return annotation may mix list and bare members
(``-> list[A] | B``); a bare return must be one of the bare members.

Only :mod:`durable_flows.spec.signature` and :mod:`durable_flows.decorators`
use the readers here; the runtime sees the result through ``StepConfig``.
"""

from __future__ import annotations

from typing import Any, Union, get_args, get_origin

from ..errors import WorkflowValidationError

_NONE_TYPE = type(None)


def _members(hint: Any) -> list[Any]:
    """Union members of ``hint`` (nested unions flattened), in order."""
    if get_origin(hint) is Union or type(hint).__name__ == "UnionType":
        out: list[Any] = []
        for arg in get_args(hint):
            for m in _members(arg):
                if m not in out:
                    out.append(m)
        return out
    return [hint]


def is_list_hint(hint: Any) -> bool:
    """``list`` or ``list[...]``."""
    return hint is list or get_origin(hint) is list


def list_element_types(hint: Any) -> list[Any]:
    """The types a ``list[...]`` return member emits (``list[A | B]`` -> ``[A, B]``)."""
    args = get_args(hint)
    if not args:
        return []
    return [m for m in _members(args[0]) if m is not _NONE_TYPE and m is not None]


def split_returns(members: list[Any]) -> tuple[list[Any], bool, list[Any]]:
    """Split return annotation members into (all emitted types, fans out, bare types).

    ``[list[A], B, None]`` -> ``([A, B, NoneType], True, [B])``: ``A`` arrives in
    lists, ``B`` alone. Types keep their first position, without duplicates.
    """
    types: list[Any] = []
    bare: list[Any] = []
    fan_out = False
    for m in members:
        if is_list_hint(m):
            fan_out = True
            found = list_element_types(m)
        else:
            found = [_NONE_TYPE if m is None else m]
            if m is not None and m is not _NONE_TYPE and m not in bare:
                bare.append(m)
        for t in found:
            if t not in types:
                types.append(t)
    return types, fan_out, bare


def join_params(func_name: str, event_params: dict[str, list[Any]]) -> list[tuple[str, Any]] | None:
    """The ``(parameter, event class)`` slots of a join step, in declaration order.

    Returns:
        None for a step with one event parameter.

    Raises:
        WorkflowValidationError: a parameter of a join declares a Union of types.
    """
    if len(event_params) < 2:
        return None
    slots = []
    for name, types in event_params.items():
        if len(types) != 1:
            raise WorkflowValidationError(
                f"Step {func_name} joins several events, so each event parameter must "
                f"declare a single event type, but parameter {name!r} declares "
                f"{len(types)}. Split the Union into separate parameters or steps."
            )
        slots.append((name, types[0]))
    return slots


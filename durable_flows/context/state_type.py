"""The state type of a workflow, from its steps' ``Context[S]`` annotations."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ..errors import StateTypeError
from .state_store import DictState


def most_derived_state_type(annotated: Any) -> type[BaseModel]:
    """The state type of a workflow whose steps annotate ``Context[S]`` with ``annotated`` types.

    Steps may name a parent type of the state (a base workflow's steps) and a
    child type (a derived workflow's): the run's state is the most derived one.

    Raises:
        StateTypeError: two types where neither derives from the other.
    """
    found = {t for t in annotated if t is not None and t is not DictState and isinstance(t, type)}
    if not found:
        return DictState
    for candidate in found:
        if all(issubclass(candidate, other) for other in found):
            return candidate
    names = ", ".join(sorted(t.__name__ for t in found))
    raise StateTypeError(
        "Multiple state types are not in a compatible inheritance hierarchy. All state types "
        f"must share a common inheritance chain. Found: {names}"
    )

"""``ctx.store``: the run's state, shared by its steps and journaled on every change.

Steps see each other's edits at once (as upstream). Each change is numbered in
live order and its result (the whole state, as JSON) is journaled with the
completion of the step that made it; replay keeps the highest-numbered
committed value, so the journal rebuilds the state the live run had.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel

from ..events import DictLikeModel
from ..runtime.scope import current_scope
from .serializers import _register_framework_types

if TYPE_CHECKING:
    from .context import Context

MODEL_T = TypeVar("MODEL_T", bound=BaseModel)


class DictState(DictLikeModel):
    """The default state: a dict-like model that takes any keys."""

    def __init__(self, /, **params: Any) -> None:
        super().__init__(**params)


_register_framework_types(DictState)  # JsonPickleSerializer may decode it without an allow-list entry


class StateStore(Generic[MODEL_T]):
    """Typed state with dotted-path access, under a writer lock for ``edit_state``."""

    def __init__(self, ctx: Context[Any], state: MODEL_T) -> None:
        self._ctx = ctx
        self._state = state
        self._lock = asyncio.Lock()

    @property
    def state_type(self) -> type[MODEL_T]:
        return type(self._state)

    async def get_state(self) -> MODEL_T:
        """A deep copy of the current state."""
        return self._state.model_copy(deep=True)

    async def set_state(self, state: MODEL_T) -> None:
        """Replace the whole state (must be of the same type or a subclass)."""
        if not isinstance(state, type(self._state)) and not isinstance(self._state, DictState):
            raise ValueError(
                f"State must be of type {type(self._state).__name__}, got {type(state).__name__}"
            )
        async with self._lock:
            self._state = state
            self._changed()

    async def get(self, path: str, default: Any = Ellipsis) -> Any:
        """The value at a dot-separated ``path``.

        Raises:
            ValueError: the path does not exist and no default was given.
        """
        return get_by_path(self._state, path, default)

    async def set(self, path: str, value: Any) -> None:
        """Set the value at a dot-separated ``path`` (intermediate dicts are created)."""
        if self._lock.locked() and _holds(self._lock):
            raise ValueError("store.set() cannot be called inside edit_state(); edit the state object")
        async with self._lock:
            set_by_path(self._state, path, value)
            self._changed()

    async def clear(self) -> None:
        """Reset the state to its type's defaults."""
        async with self._lock:
            self._state = type(self._state)()
            self._changed()

    @asynccontextmanager
    async def edit_state(self) -> AsyncIterator[MODEL_T]:
        """Edit the state object in place under the lock; the result is journaled on exit."""
        async with self._lock:
            _owner[id(self._lock)] = asyncio.current_task()
            try:
                yield self._state
            finally:
                _owner.pop(id(self._lock), None)
            self._changed()

    def to_dict(self, serializer: Any = None) -> dict[str, Any]:
        """The state as JSON-compatible data (what the journal stores)."""
        return {"state_type": _qualname(type(self._state)), "state_data": self._ctx._codec().dump_state(self._state)}

    # -- journaling ------------------------------------------------------------------

    def _changed(self) -> None:
        dumped = self._ctx._codec().dump_state(self._state)  # fails here, not at commit
        loop = self._ctx._run_loop
        if loop is None:
            return  # before a run: the state seeds the next run
        op = loop.next_op()
        scope = current_scope.get()
        if scope is not None and scope.ctx is self._ctx:
            scope.state = (op, dumped)
        else:
            loop.post("state", op, dumped)

    def _replace(self, state: MODEL_T) -> None:
        self._state = state


_owner: dict[int, Any] = {}


def _holds(lock: asyncio.Lock) -> bool:
    try:
        return _owner.get(id(lock)) is asyncio.current_task()
    except RuntimeError:
        return False


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def get_by_path(state: Any, path: str, default: Any = Ellipsis) -> Any:
    """Walk ``a.b.c`` through models, dict-like models, dicts and lists."""
    current = state
    for part in path.split("."):
        found, current = _child(current, part)
        if not found:
            if default is Ellipsis:
                raise ValueError(f"Path '{path}' not found in state")
            return default
    return current


def _child(obj: Any, key: str) -> tuple[bool, Any]:
    if isinstance(obj, DictLikeModel):
        if key in type(obj).model_fields:
            return True, getattr(obj, key)
        if key in obj:
            return True, obj[key]
        return False, None
    if isinstance(obj, BaseModel):
        if key in type(obj).model_fields:
            return True, getattr(obj, key)
        return False, None
    if isinstance(obj, dict):
        return (key in obj), obj.get(key)
    if isinstance(obj, (list, tuple)) and key.lstrip("-").isdigit():
        i = int(key)
        return (-len(obj) <= i < len(obj)), (obj[i] if -len(obj) <= i < len(obj) else None)
    return False, None


def set_by_path(state: Any, path: str, value: Any) -> None:
    """Set ``a.b.c`` in place, creating missing dicts along the way."""
    parts = path.split(".")
    current = state
    for part in parts[:-1]:
        found, child = _child(current, part)
        if not found or child is None:
            child = {}
            _assign(current, part, child)
        current = child
    _assign(current, parts[-1], value)


def _assign(obj: Any, key: str, value: Any) -> None:
    if isinstance(obj, DictLikeModel) and key not in type(obj).model_fields:
        obj[key] = value
    elif isinstance(obj, BaseModel):
        setattr(obj, key, value)
    elif isinstance(obj, dict):
        obj[key] = value
    elif isinstance(obj, list) and key.lstrip("-").isdigit():
        obj[int(key)] = value
    else:
        raise ValueError(f"Cannot set '{key}' on a {type(obj).__name__}")

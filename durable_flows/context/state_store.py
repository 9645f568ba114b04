"""``ctx.store``: the run's state, shared by its steps and journaled on every change.

Steps see each other's edits at once (as upstream). Each change is journaled
as the operations that made it (``state_image.py``), with the completion of
the step that made it, and never before the uncommitted changes it read or
overwrote (``runtime/commit_order.py``); replay applies the operations in
journal order, which is their live order for every key.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from pydantic import BaseModel

from ..codec.serializers import _register_framework_types
from ..errors import StateTypeError
from ..events import DictLikeModel
from ..runtime.commit_order import ALL_STATE, state_key
from ..runtime.scope import current_scope
from ..runtime.state_patch import MISSING
from .edit_copy import edit_copy
from .state_image import StateImage
from .state_payload import InMemorySerializedState as InMemorySerializedState
from .state_payload import deserialize_state_from_dict as deserialize_state_from_dict
from .state_payload import parse_in_memory_state as parse_in_memory_state

if TYPE_CHECKING:
    from .context import Context

MODEL_T = TypeVar("MODEL_T", bound=BaseModel)


class DictState(DictLikeModel):
    """The default state: a dict-like model that takes any keys."""

    def __init__(self, /, **params: Any) -> None:
        super().__init__(**params)


_register_framework_types(DictState)  # JsonPickleSerializer may decode it without an allow-list entry


class StateStore(Generic[MODEL_T]):
    """Typed state with dotted-path access; ``edit_state`` edits an isolated copy.

    Every change is journaled as the operations that made it (see
    ``state_image.py``), with the completion of the step that made it; the
    run's commit order (``runtime/commit_order.py``) makes sure no change is
    journaled before the uncommitted changes it read or overwrote.
    """

    def __init__(self, ctx: Context[Any], state: MODEL_T) -> None:
        self._ctx = ctx
        self._state = state
        self._lock = asyncio.Lock()
        self._image: StateImage | None = None

    @property
    def state_type(self) -> type[MODEL_T]:
        return type(self._state)

    async def get_state(self) -> MODEL_T:
        """A deep copy of the current state."""
        await self._until_loaded()
        self._read((ALL_STATE,))
        return self._state.model_copy(deep=True)

    async def set_state(self, state: MODEL_T) -> None:
        """Replace the whole state, or merge a parent type's fields into it.

        ``state`` of the state's type (or a subclass) replaces it; of a parent
        type (a base workflow's state), its fields are set on the current
        state and the child's own fields are kept.

        Raises:
            StateTypeError: ``state`` is of an unrelated type (a ValueError).
        """
        self._refuse_inside_edit("set_state")
        await self._until_loaded()
        current = type(self._state)
        if isinstance(state, current) or isinstance(self._state, DictState):
            merged: Any = state
        elif issubclass(current, type(state)):
            merged = current.model_validate({**self._state.model_dump(), **state.model_dump()})
        else:
            raise StateTypeError(
                f"State must be of type {current.__name__} or a parent type, got {type(state).__name__}"
            )
        async with self._lock:
            old, self._state = self._state, merged
            self._changed(None, undo=lambda: setattr(self, "_state", old))

    async def get(self, path: str, default: Any = Ellipsis) -> Any:
        """The value at a dot-separated ``path``.

        Raises:
            ValueError: the path does not exist and no default was given.
        """
        await self._until_loaded()
        self._read((state_key(path.split(".", 1)[0]),))
        return get_by_path(self._state, path, default)

    async def set(self, path: str, value: Any) -> None:
        """Set the value at a dot-separated ``path`` (intermediate dicts are created)."""
        self._refuse_inside_edit("set")
        await self._until_loaded()
        async with self._lock:
            top = path.split(".", 1)[0]
            found, before = _child(self._state, top)
            set_by_path(self._state, path, value)
            undo = None if "." in path else (lambda: _restore(self._state, top, found, before))
            self._changed([top], reads=[top], assigned=[top], undo=undo)

    async def clear(self) -> None:
        """Reset the state to its type's defaults."""
        self._refuse_inside_edit("clear")
        await self._until_loaded()
        async with self._lock:
            old, self._state = self._state, type(self._state)()
            self._changed(None, undo=lambda: setattr(self, "_state", old))

    @asynccontextmanager
    async def edit_state(self) -> AsyncIterator[MODEL_T]:
        """Edit an isolated copy of the state; it replaces the state when the block exits cleanly.

        Reads (``get``, ``get_state``) inside or concurrent with the block see
        the state as it was before the block. An exception inside the block
        discards the edit. Writers (``set``, ``set_state``, ``clear``, another
        ``edit_state``) called inside the block raise RuntimeError.
        """
        self._refuse_inside_edit("edit_state")
        await self._until_loaded()
        async with self._lock:
            draft = edit_copy(self._state)
            _owner[id(self._lock)] = asyncio.current_task()
            try:
                yield cast(MODEL_T, draft.model)
            finally:
                _owner.pop(id(self._lock), None)
            old, self._state = self._state, draft.finish()
            keys = draft.touched()
            self._changed(keys, reads=keys, assigned=draft.assigned, undo=lambda: setattr(self, "_state", old))

    def to_dict(self, serializer: Any = None) -> dict[str, Any]:
        """The state in upstream's ``ctx.to_dict()`` layout.

        A ``DictState`` gives ``{"_data": {key: serializer.serialize(value)}}``
        (each value a JSON string), a typed state ``serializer.serialize(state)``
        (a JSON string holding the model's envelope); ``state_type`` and
        ``state_module`` name its class. ``serializer`` defaults to the
        workflow's, else ``JsonSerializer()``.
        """
        ser = _dict_serializer(self._ctx, serializer)
        state = self._state
        if isinstance(state, DictState):
            data: Any = {"_data": {key: ser.serialize(value) for key, value in state.to_dict().items()}}
        else:
            data = ser.serialize(state)
        return {
            "store_type": "in_memory",
            "state_data": data,
            "state_type": type(state).__name__,
            "state_module": type(state).__module__,
        }

    # -- journaling ------------------------------------------------------------------

    async def _until_loaded(self) -> None:
        """A resumed run's state comes from its journal: wait until it is there."""
        loop = self._ctx._run_loop
        if loop is not None and not loop.state_ready.is_set():
            await loop.state_ready.wait()

    def _refuse_inside_edit(self, what: str) -> None:
        if self._lock.locked() and _holds(self._lock):
            raise RuntimeError(f"store.{what}() cannot be called inside edit_state(); edit the state object")

    def _read(self, keys: tuple[str, ...]) -> None:
        loop = self._ctx._run_loop
        if loop is not None and loop.order.pending:
            scope = current_scope.get()
            if scope is not None and scope.ctx is self._ctx:
                loop.state_touched(scope, keys, (), None, None)

    def _changed(
        self,
        keys: Collection[str] | None,
        reads: Collection[str] | None = None,
        assigned: Any = (),
        undo: Any = None,
    ) -> None:
        """Journal a change made to the live state just now.

        ``keys``: the top-level keys to compare with the image (None: all);
        ``reads``: the keys the change read (None: all); ``assigned``: keys
        written even if their value stayed the same (an overwrite still
        depends on whoever wrote the key before).
        """
        loop = self._ctx._run_loop
        if loop is None:  # before a run: the state seeds the next run; fail here, not at start
            try:
                self._ctx._codec().dump_state(self._state)
            except Exception:
                if undo is not None:
                    undo()
                raise
            self._image = None
            return
        image = self._image_now()
        try:
            if image.whole:
                whole, ops, changed = image.dump_whole(self._state), None, {"*"}
            else:
                whole = None
                ops, changed = image.change(self._state, keys)
        except Exception:
            if undo is not None:
                undo()  # a value that cannot be journaled does not stay in the live state
            raise
        read_keys = (ALL_STATE,) if reads is None or whole is not None else tuple(state_key(k) for k in reads)
        written = changed | set(assigned)
        write_keys = (ALL_STATE,) if "*" in written else tuple(state_key(k) for k in written)
        scope = current_scope.get()
        if scope is None or scope.ctx is not self._ctx:
            scope = None
        loop.state_touched(scope, read_keys, write_keys, ops, whole)

    def _image_now(self) -> StateImage:
        if self._image is None:  # not started by run()/resume(): the image is the state as it is
            self._image = StateImage(self._ctx._codec(), self._ctx._codec().dump_state(self._state))
        return self._image

    def _set_image(self, doc: Any) -> None:
        """The run journaled ``doc`` as its state (the seed of a new run)."""
        self._image = StateImage(self._ctx._codec(), doc)

    def _replace(self, state: MODEL_T, doc: Any = None) -> None:
        """Install a state loaded from the journal (``doc``: its JSON document)."""
        self._state = state
        self._image = StateImage(self._ctx._codec(), doc if doc is not None else MISSING)


def _restore(state: Any, key: str, found: bool, before: Any) -> None:
    if found:
        _assign(state, key, before)
    elif isinstance(state, DictLikeModel):
        state._data.pop(key, None)


_owner: dict[int, Any] = {}


def _holds(lock: asyncio.Lock) -> bool:
    try:
        return _owner.get(id(lock)) is asyncio.current_task()
    except RuntimeError:
        return False


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


class _NoRun:
    """Stands in for the Context of a store used on its own, outside any run."""

    _run_loop = None
    _workflow = None

    def __init__(self) -> None:
        from ..codec.journal import Codec

        self._codec_obj = Codec()

    def _codec(self) -> Any:
        return self._codec_obj


class InMemoryStateStore(StateStore[MODEL_T]):
    """The store a run's context holds (``ctx.store``), under upstream's name.

    ``InMemoryStateStore(DictState())`` (or any pydantic state) also works on its
    own, outside any run, as upstream's: nothing is journaled then.
    """

    def __init__(self, state: MODEL_T | None = None, ctx: Context[Any] | None = None) -> None:
        super().__init__(ctx if ctx is not None else cast(Any, _NoRun()), cast(MODEL_T, state if state is not None else DictState()))

    @classmethod
    def from_dict(cls, serialized_state: dict[str, Any], serializer: Any) -> InMemoryStateStore[Any]:
        """A store (outside any run) holding the state of a :meth:`to_dict` payload.

        Raises:
            ValueError: The payload is another store's (``store_type`` not
                ``"in_memory"``) or cannot be decoded.
        """
        if not serialized_state:
            return cls(cast(Any, DictState()))
        parse_in_memory_state(serialized_state)
        return cls(cast(Any, deserialize_state_from_dict(serialized_state, serializer)))


def _dict_serializer(ctx: Any, serializer: Any) -> Any:
    """The serializer ``to_dict``/``from_dict`` use: the given one, the workflow's, or JSON."""
    from ..codec.serializers import BaseSerializer, JsonSerializer

    if isinstance(serializer, BaseSerializer):
        return serializer
    own = getattr(ctx._workflow, "_serializer", None)
    return own if isinstance(own, BaseSerializer) else JsonSerializer()


def load_dict_state(ctx: Any, raw: dict[str, Any], serializer: Any, state_type: type[BaseModel]) -> Any:
    """The state of a ``to_dict()`` payload (upstream's layout, or durable_flows' older one).

    Raises:
        ValueError: the payload does not hold a ``state_type``.
    """
    data = raw.get("state_data")
    if "state_module" not in raw:  # durable_flows' older layout: the journal's own encoding
        return ctx._codec().load_state(data, state_type)
    ser = _dict_serializer(ctx, serializer)
    if isinstance(data, dict) and isinstance(data.get("_data"), dict):
        values = {key: ser.deserialize(value) for key, value in data["_data"].items()}
        if issubclass(state_type, DictState):
            return state_type(**values)
        return state_type.model_validate(values)
    value = ser.deserialize(data) if isinstance(data, str) else data
    if isinstance(value, state_type):
        return value
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if isinstance(value, dict) and not isinstance(data, str):
        return state_type.model_validate(value)
    raise ValueError(f"the payload holds a {type(value).__name__}, not a {state_type.__name__}")

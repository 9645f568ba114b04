"""The isolated copy an ``edit_state`` block edits, and what the block touched.

A dict-like state (``DictState``) is copied lazily: each key's value is
deep-copied the first time the block reads it, and every read and write is
recorded, so the block journals only the keys it touched and depends only on
the uncommitted writers of those keys. A block that lists the whole state
(iteration, ``keys()``, ``items()``, ``len``...) touches every key. A typed
state is deep-copied whole and counts as touching every field (attribute
reads of a pydantic model cannot be observed cheaply).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from ..codec.dict_like import DictLikeModel

_NOTHING: Any = object()


class _TrackedExtras(dict):  # type: ignore[type-arg]
    """Extras of a dict-like copy: values deep-copied on first access, accesses recorded."""

    def __init__(self, live: dict[str, Any]) -> None:
        super().__init__(live)
        self.fresh: set[str] = set()
        self.read: set[str] | None = set()
        self.assigned: set[str] = set()

    def _own(self, key: Any) -> None:
        if self.read is not None:
            self.read.add(key)
        if key not in self.fresh and dict.__contains__(self, key):
            dict.__setitem__(self, key, copy.deepcopy(dict.__getitem__(self, key)))
        self.fresh.add(key)

    def _own_all(self) -> None:
        for key in list(dict.keys(self)):
            self._own(key)
        self.read = None

    def __getitem__(self, key: Any) -> Any:
        self._own(key)
        return dict.__getitem__(self, key)

    def get(self, key: Any, default: Any = None) -> Any:
        self._own(key)
        return dict.get(self, key, default)

    def __contains__(self, key: object) -> bool:
        self._own(key)
        return dict.__contains__(self, key)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._own(key)
        self.assigned.add(key)
        dict.__setitem__(self, key, value)

    def __delitem__(self, key: Any) -> None:
        self._own(key)
        self.assigned.add(key)
        dict.__delitem__(self, key)

    def pop(self, key: Any, default: Any = _NOTHING) -> Any:
        self._own(key)
        self.assigned.add(key)
        return dict.pop(self, key) if default is _NOTHING else dict.pop(self, key, default)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        self._own(key)
        self.assigned.add(key)
        return dict.setdefault(self, key, default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    # Whole-state views: every key is read (and may be changed through the values).
    def keys(self) -> Any:
        self._own_all()
        return dict.keys(self)

    def values(self) -> Any:
        self._own_all()
        return dict.values(self)

    def items(self) -> Any:
        self._own_all()
        return dict.items(self)

    def __iter__(self) -> Iterator[Any]:
        self._own_all()
        return dict.__iter__(self)

    def __len__(self) -> int:
        self._own_all()
        return dict.__len__(self)

    def copy(self) -> dict[str, Any]:
        self._own_all()
        return dict(dict.items(self))

    def popitem(self) -> tuple[Any, Any]:
        self._own_all()
        return dict.popitem(self)

    def clear(self) -> None:
        self._own_all()
        dict.clear(self)

    def __eq__(self, other: object) -> bool:
        self._own_all()
        return dict.__eq__(self, other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        self._own_all()
        return dict.__repr__(self)


class EditDraft:
    """A state copy being edited, and how to read what the block touched."""

    def __init__(self, model: BaseModel, extras: _TrackedExtras | None) -> None:
        self.model = model
        self._extras = extras

    def touched(self) -> set[str] | None:
        """Keys the block read or wrote (None: possibly any)."""
        if self._extras is None or self._extras.read is None:
            return None
        return set(self._extras.read) | self._extras.assigned

    @property
    def assigned(self) -> set[str]:
        return set() if self._extras is None else set(self._extras.assigned)

    def finish(self) -> Any:
        """The edited state as a plain model (its extras a plain dict again)."""
        if self._extras is not None:
            private = object.__getattribute__(self.model, "__pydantic_private__")
            private["_data"] = dict(dict.items(self._extras))
        return self.model


def edit_copy(state: Any) -> EditDraft:
    """An isolated copy of ``state`` for an ``edit_state`` block."""
    if isinstance(state, DictLikeModel) and not type(state).model_fields:
        model = state.model_copy()  # its own extras dict (DictLikeModel.__copy__), values shared
        private = object.__getattribute__(model, "__pydantic_private__")
        extras = _TrackedExtras(private["_data"])
        private["_data"] = extras
        return EditDraft(model, extras)
    try:
        return EditDraft(state.model_copy(deep=True), None)
    except Exception:  # noqa: BLE001 - a live handle that cannot be copied is shared, as upstream
        return EditDraft(state.model_copy(), None)

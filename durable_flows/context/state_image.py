"""The live state's JSON image, and the patch operations each change journals.

:class:`StateImage` keeps the JSON document the journal would hold if every
change made so far were committed. A change names the top-level keys it
touched; only those are dumped again and compared with the image, so a change
costs the size of what it touched, and the operations it journals (see
``runtime/state_patch.py``) the size of what changed. A state the codec can
only write whole (jsonpickle) is journaled whole.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from ..codec.dict_like import DictLikeModel
from ..codec.events import _JSON
from ..codec.serializers import _MARKERS
from ..errors import SerializationError
from ..runtime.state_patch import MISSING, apply_ops, diff, get_at

if TYPE_CHECKING:
    from ..codec.journal import Codec


class StateImage:
    """The JSON document of the live state, kept in step with its changes."""

    def __init__(self, codec: Codec, doc: Any = MISSING) -> None:
        self.codec = codec
        self.doc = doc
        #: Lists this image built itself, by path: only its own document holds them.
        self._owned: dict[tuple[Any, ...], list[Any]] = {}

    @property
    def whole(self) -> bool:
        """True when the state is journaled whole (a pickling serializer)."""
        return self.codec.pickler is not None

    def change(self, state: BaseModel, keys: Iterable[str] | None) -> tuple[list[Any], set[str]]:
        """Operations for a change of ``keys`` (None: any key) and the keys that changed.

        Raises:
            SerializationError: a changed value cannot be stored.
        """
        extras = extras_of(state)
        if self.doc is MISSING or keys is None or not self._keyed(extras):
            new = self.codec.dump_state(state)
            old = {} if self.doc is MISSING else self.doc
            ops = diff(old, new)
            self.doc = new  # shares values with ``ops``: nothing in it may be changed in place
            self._owned.clear()
            return ops, _changed_keys(ops)
        fields = field_names(type(state))
        ops = []
        for key in keys:
            own = extras if extras is not None and key not in fields else None  # a dict-like state's own key
            path = ("_data", key) if own is not None else (key,)
            old = get_at(self.doc, path)
            appended = None if own is None else self._appended(state, own, key, old)
            if appended is None:
                ops.extend(diff(old, self._dump_key(state, own, key, fields), path))
            elif appended:
                ops.append(["append", list(path), appended])
        if ops:
            _check_json(ops)
            self._apply(ops)
            if self.doc.get("_data") == {}:  # a dict-like state without keys dumps without "_data"
                ops.append(["del", ["_data"]])
                self._apply(ops[-1:])
        return ops, _changed_keys(ops)

    def dump_whole(self, state: BaseModel) -> Any:
        """The whole state as the codec writes it (jsonpickle states)."""
        dumped = self.codec.dump_state(state)
        self.doc = dumped
        self._owned.clear()
        return dumped

    # -- appends in O(appended) --------------------------------------------------------

    def _appended(self, state: BaseModel, extras: dict[str, Any], key: str, old: Any) -> list[Any] | None:
        """The dumped items a dict-like state's list key gained at its end ([]:
        unchanged), or None when the change is anything else (the caller dumps the
        key and diffs).

        A dict-like state's dump leaves JSON scalars as they are and builds a list
        item by item: so a live list whose first ``len(old)`` items equal the
        image's (a C-level comparison that stops at identical objects: a history
        of strings costs a pointer compare per item and no dumping) gained exactly
        its extra items. Typed fields may have their own serializers and are
        always dumped.
        """
        if type(old) is not list:
            return None
        value = extras.get(key, MISSING)
        if type(value) is not list:
            return None
        n = len(old)
        if len(value) < n or (n and value[:n] != old):
            return None
        if len(value) == n:
            return []
        return self._dump_items(state, value[n:])

    def _dump_items(self, state: BaseModel, items: list[Any]) -> list[Any]:
        try:
            dumped: list[Any] = _dump_value(items)
        except SerializationError:
            raise
        except Exception:  # noqa: BLE001 - let the codec say what is wrong, as for a whole state
            self.codec.dump_state(state)
            raise
        return dumped

    def _apply(self, ops: list[Any]) -> None:
        """Apply ``ops`` to the image; an append to a list the image made itself
        extends it in place (no copy of the history per message).

        Lists the image made are referenced by nothing but its own document
        (operations carry their own item lists; the document handed in at
        start is never changed in place), so extending one cannot change a
        journaled record, a snapshot or the reducer's state.
        """
        owned = self._owned
        for op in ops:
            path = tuple(op[1])
            if op[0] == "append" and path:
                mine = owned.get(path)
                if mine is not None and get_at(self.doc, path) is mine:
                    mine.extend(op[2])
                    continue
                self.doc = apply_ops(self.doc, [op])
                made = get_at(self.doc, path)
                if type(made) is list:
                    owned[path] = made
                continue
            self.doc = apply_ops(self.doc, [op])
            for p in [p for p in owned if p[: len(path)] == path]:
                del owned[p]

    # -- keys ---------------------------------------------------------------------

    def _keyed(self, extras: dict[str, Any] | None) -> bool:
        """Whether changes can be journaled per key (else the state is diffed whole)."""
        if not isinstance(self.doc, dict):
            return False
        return extras is None or not _MARKERS.intersection(extras)

    def _dump_key(self, state: BaseModel, extras: dict[str, Any] | None, key: str, fields: frozenset[str]) -> Any:
        """The dump of one key: a dict-like state's own key (``extras`` given) or a field."""
        try:
            if extras is not None:
                if key not in extras:
                    return MISSING
                return _dump_value(extras[key])
            if key not in fields:
                return MISSING
            return state.model_dump(mode="json", include={key}).get(key, MISSING)
        except SerializationError:
            raise
        except Exception:  # noqa: BLE001 - let the codec say what is wrong, as for a whole state
            self.codec.dump_state(state)
            raise


_FIELDS: dict[type[BaseModel], frozenset[str]] = {}


def field_names(cls: type[BaseModel]) -> frozenset[str]:
    """A state class's declared fields (read once per class: pydantic's lookup is slow)."""
    found = _FIELDS.get(cls)
    if found is None:
        found = _FIELDS[cls] = frozenset(cls.model_fields)
    return found


def extras_of(state: BaseModel) -> dict[str, Any] | None:
    """A dict-like state's extras (None for a typed state)."""
    if not isinstance(state, DictLikeModel):
        return None
    private = object.__getattribute__(state, "__pydantic_private__")
    return None if private is None else private.get("_data")


def _changed_keys(ops: list[Any]) -> set[str]:
    """Top-level state keys an operation list changes ("*" for the whole state)."""
    out: set[str] = set()
    for op in ops:
        path = op[1]
        if not path:
            out.add("*")
        elif path[0] == "_data" and len(path) > 1:
            out.add(str(path[1]))
        elif path[0] == "_data":
            out.add("*")
        else:
            out.add(str(path[0]))
    return out


_ATOMIC = frozenset({str, int, float, bool, type(None)})


def _dump_value(value: Any) -> Any:
    """A dict-like state's value as its dump holds it (fast for scalars and flat lists, as chat histories)."""
    if type(value) in _ATOMIC:
        return value
    if type(value) is list and set(map(type, value)) <= _ATOMIC:
        return list(value)
    return _JSON.serialize_value(value)


_SCALARS = (str, int, bool, type(None))


def _check_json(ops: list[Any]) -> None:
    """The changed values must be JSON (finite floats, JSON types): checked on the change only."""
    if all(len(op) < 3 or type(op[2]) in _SCALARS for op in ops):
        return  # the common small change: nothing to check
    from ..codec.journal import _NON_FINITE

    try:
        json.dumps(ops, allow_nan=False)
    except (ValueError, TypeError) as exc:
        reason = _NON_FINITE if isinstance(exc, ValueError) else str(exc)
        keys = ", ".join(sorted(_changed_keys(ops)))
        raise SerializationError(
            f"state field {keys!r} cannot be stored as JSON ({reason}). Store JSON-compatible "
            "values or pydantic models, or create the workflow with "
            "serializer=JsonPickleSerializer(allowed=[...])."
        ) from exc

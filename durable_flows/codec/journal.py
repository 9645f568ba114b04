"""The one place where records become journal rows and back.

Events are written as pydantic JSON under their qualified type name; with a
:class:`~durable_flows.context.serializers.JsonPickleSerializer` chosen, event
and state payloads go through jsonpickle instead and decode only the types the
user allowed. Every row records which codec wrote it, so a journal can mix
both and still be read.
"""

from __future__ import annotations

import copy
import json
import math
import weakref
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticSerializationError, to_jsonable_python

from ..errors import (
    EventNotSerializableError,
    SerializationError,
)
from .event_base import Event
from .jsonpickle_serializer import JsonPickleSerializer
from .names import import_qualified, qualified_name
from .serializers import BaseSerializer

JSON = "json"
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def _no_default(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# ``JSONEncoder.encode`` builds a new C encoder on every call; records are
# encoded on the hot path, so build the same one (compact, no ASCII escaping,
# no circular-reference check: payloads are trees made by our code) once.
_c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
if _c_make_encoder is not None:
    _C_ENCODE = _c_make_encoder(
        None, _no_default, json.encoder.encode_basestring, None, ":", ",", False, False, True
    )

    def to_json(value: Any) -> str:
        return "".join(_C_ENCODE(value, 0))

else:  # pragma: no cover - an interpreter without the C accelerator

    def to_json(value: Any) -> str:
        return _ENCODER.encode(value)
JSONPICKLE = "jsonpickle"
#: The key a JSON codec wraps a jsonpickle-written state in when it reads one.
PICKLED_STATE = "py/jsonpickle-state"


class Codec:
    """Encodes records, events and state for one workflow's serializer choice."""

    def __init__(self, serializer: BaseSerializer | None = None) -> None:
        self.pickler = serializer if isinstance(serializer, JsonPickleSerializer) else None
        self.name = JSONPICKLE if self.pickler is not None else JSON
        self._types: dict[str, type[Event]] = {}
        #: id -> weak reference of each event this JSON codec loaded from a
        #: jsonpickle payload (a run journaled before its serializer changed).
        self._pickled: dict[int, weakref.ref[Event]] = {}

    # -- events ------------------------------------------------------------------

    def dump_event(self, event: Event) -> Any:
        """The event as a JSON-compatible value (a dict, or a jsonpickle string)."""
        if self.pickler is not None:
            return self.pickler.serialize(event)
        try:
            dumped = event.model_dump(mode="json")
        except (PydanticSerializationError, TypeError, ValueError) as exc:
            field, reason = _find_bad_field(event, exc)
            raise EventNotSerializableError(
                qualified_name(type(event)), field, reason, _bad_type_name(event, field)
            ) from exc
        bad = _non_finite_float(event, "")
        if bad is not None:
            raise EventNotSerializableError(qualified_name(type(event)), bad, _NON_FINITE)
        return dumped

    def redump_event(self, event: Event) -> Any:
        """:meth:`dump_event` of an event this codec journaled before, without its checks.

        For snapshots, which dump again the events a run holds: each of them
        was checked when it was first journaled (or was read back from the journal).

        Raises:
            SerializationError: the codec is JSON and the event was read back
                from a jsonpickle payload (the run's serializer changed):
                JSON might not give it back as the journal does.
        """
        if self.pickler is not None:
            return self.pickler.serialize(event)
        ref = self._pickled.get(id(event))
        if ref is not None and ref() is event:
            # JSON may not give it back as jsonpickle does (a set comes back a
            # list), so a resume from this snapshot would differ from a full replay.
            raise SerializationError(
                f"{qualified_name(type(event))} was journaled by jsonpickle and the workflow's "
                "serializer is JSON now: a snapshot cannot hold it as the journal does"
            )
        return event.model_dump(mode="json")

    def _remember_pickled(self, event: Event) -> None:
        key = id(event)

        def forget(_: object) -> None:
            self._pickled.pop(key, None)

        self._pickled[key] = weakref.ref(event, forget)

    def load_event(self, type_name: str, data: Any, codec: str) -> Event:
        """Rebuild an event written by :meth:`dump_event` under ``codec``."""
        if codec == JSONPICKLE:
            pickler = self.pickler or JsonPickleSerializer()
            value = pickler.deserialize(data)
            if not isinstance(value, Event):
                raise SerializationError(f"jsonpickle payload is a {type(value)}, not an Event")
            if self.pickler is None:
                self._remember_pickled(value)
            return value
        cls = self._types.get(type_name)
        if cls is None:
            found = import_qualified(type_name)
            if not (isinstance(found, type) and issubclass(found, Event)):
                raise NotAnEvent(f"{type_name} names a {type(found).__name__}, not an Event class")
            cls = self._types[type_name] = found
        return cls.model_validate(data)

    # -- state ---------------------------------------------------------------------

    def dump_state(self, state: Any) -> Any:
        """A state object (pydantic model) as a JSON-compatible value."""
        if self.pickler is not None:
            return self.pickler.serialize(state)
        bad = None
        try:
            if isinstance(state, BaseModel):
                dumped = state.model_dump(mode="json")
            else:
                dumped = to_jsonable_python(state)
            bad = _non_finite_float(state, "")
            if bad is not None:
                raise ValueError(_NON_FINITE)
        except (PydanticSerializationError, TypeError, ValueError) as exc:
            field, reason = (bad, _NON_FINITE) if bad is not None else _find_bad_field(state, exc)
            raise SerializationError(
                f"state field {field!r} cannot be stored as JSON ({reason}). Store JSON-compatible "
                "values or pydantic models, or create the workflow with "
                "serializer=JsonPickleSerializer(allowed=[...])."
            ) from exc
        return dumped

    def load_state(self, data: Any, state_type: type[BaseModel]) -> Any:
        """Rebuild a state object written by :meth:`dump_state`.

        The result never shares containers with ``data``: a dict-like state
        keeps the dicts it is given, and ``data`` is often the folded state of
        a run, which later edits of the live state must not change.
        """
        if isinstance(data, dict) and len(data) == 1 and PICKLED_STATE in data:
            value = (self.pickler or JsonPickleSerializer()).deserialize(data[PICKLED_STATE])
            if not isinstance(value, state_type):
                raise SerializationError(
                    f"the journaled state is a {type(value).__name__}, not a {state_type.__name__}"
                )
            return value
        if isinstance(data, str) and self.pickler is not None:
            return self.pickler.deserialize(data)
        return state_type.model_validate(copy.deepcopy(data))


class NotAnEvent(SerializationError):
    """A stored event type name resolves to something that is not an Event class."""


def first_error(exc: ValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return str(exc)
    first = errors[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "?"
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first.get('msg', '')}{more}"


#: Pydantic writes inf/nan as null: a resumed run would see None where the live run saw the float.
_NON_FINITE = "an inf/nan float has no JSON form and would come back as None"


def _non_finite_float(value: Any, path: str, depth: int = 0) -> str | None:
    """The path of the first ``inf``/``nan`` float inside ``value``, or None.

    Walks model fields, dict-like extras (``_data``) and other private values
    (a StopEvent's result), dicts, lists and tuples.
    """
    if isinstance(value, float):
        return None if math.isfinite(value) else (path or "?")
    if depth > 64:
        return None
    children: list[tuple[str, Any]] = []
    if isinstance(value, BaseModel):
        children.extend(value.__dict__.items())
        children.extend((value.__pydantic_extra__ or {}).items())
        for name, private in (getattr(value, "__pydantic_private__", None) or {}).items():
            if name == "_data" and isinstance(private, dict):
                children.extend(private.items())
            else:
                children.append((name.lstrip("_"), private))
    elif isinstance(value, dict):
        children.extend((str(k), v) for k, v in value.items())
    elif isinstance(value, (list, tuple)):
        children.extend((str(i), v) for i, v in enumerate(value))
    for name, child in children:
        found = _non_finite_float(child, f"{path}.{name}" if path else name, depth + 1)
        if found is not None:
            return found
    return None


def _bad_type_name(event: Event, field: str) -> str | None:
    """The class name of the value in ``field`` of ``event`` (for the error's advice)."""
    for name, value in getattr(event, "_private_repr_args", lambda: iter(()))():
        if name == field:
            return type(value).__name__
    value = getattr(event, field, None) if field in type(event).model_fields else None
    if value is None:
        extras = getattr(event, "_data", None)
        value = extras.get(field) if isinstance(extras, dict) else None
    return None if value is None else type(value).__name__


def _find_bad_field(obj: Any, exc: BaseException) -> tuple[str, str]:
    """Name the first field of ``obj`` that does not serialize to JSON."""
    items: list[tuple[str, Any]] = []
    if isinstance(obj, BaseModel):
        items.extend((name, getattr(obj, name, None)) for name in type(obj).model_fields)
        private = getattr(obj, "_private_repr_args", None)  # a StopEvent's result
        if callable(private):
            items.extend(private())
        extras = getattr(obj, "_data", None)
        if isinstance(extras, dict):
            items.extend(extras.items())
    for name, value in items:
        try:
            if isinstance(value, BaseModel):
                value.model_dump(mode="json")
            else:
                to_jsonable_python(value)
        except (PydanticSerializationError, TypeError, ValueError) as inner:
            return str(name), f"{type(value).__name__} is not JSON-serializable: {inner}"
    return "?", str(exc)


_JSON_SCALARS = (str, int, float, bool, type(None))


def error_info(exc: BaseException) -> dict[str, Any]:
    """An exception as JSON: its qualified type, message, formatted traceback and args.

    ``args`` is kept when it differs from ``[message]`` and holds only JSON
    scalars (``KeyError('k')`` has message ``"'k'"`` but args ``['k']``; an
    exception whose constructor takes several arguments needs them all).
    """
    import traceback

    info: dict[str, Any] = {
        "type": f"{type(exc).__module__}.{type(exc).__qualname__}",
        "message": str(exc),
        "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
    }
    args = list(exc.args)
    if args != [info["message"]] and all(isinstance(a, _JSON_SCALARS) for a in args):
        info["args"] = args
    return info


def rebuild_error(info: dict[str, Any] | None, fallback: type[Exception]) -> Exception:
    """The exception described by :func:`error_info`, as close to the original as possible.

    The original class is used when it can be imported and built from the
    recorded args (else from the message); otherwise ``fallback`` carries the
    type name and message.
    """
    info = info or {}
    message = str(info.get("message", ""))
    type_name = str(info.get("type", ""))
    stored = info.get("args")
    attempts: list[tuple[Any, ...]] = [(message,)]
    if isinstance(stored, list):
        attempts.insert(0, tuple(stored))
    try:
        cls = import_qualified(type_name)
    except Exception:  # noqa: BLE001 - any failure means we can't rebuild it
        cls = None
    if isinstance(cls, type) and issubclass(cls, Exception):
        for args in attempts:
            try:
                return cls(*args)
            except Exception:  # noqa: BLE001 - the constructor wants other arguments
                continue
    return fallback(f"{type_name}: {message}" if type_name else message)

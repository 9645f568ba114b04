"""The one place where records become journal rows and back.

Events are written as pydantic JSON under their qualified type name; with a
:class:`~durable_flows.context.serializers.JsonPickleSerializer` chosen, event
and state payloads go through jsonpickle instead and decode only the types the
user allowed. Every row records which codec wrote it, so a journal can mix
both and still be read.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticSerializationError, to_jsonable_python

from ._imports import import_qualified
from .context.serializers import BaseSerializer, JsonPickleSerializer
from .errors import EventNotSerializableError, JournalDecodeError, SerializationError
from .events import Event, qualified_name
from .runtime.records import Record
from .storage.base import JournalEntry

JSON = "json"
JSONPICKLE = "jsonpickle"


class Codec:
    """Encodes records, events and state for one workflow's serializer choice."""

    def __init__(self, serializer: BaseSerializer | None = None) -> None:
        self.pickler = serializer if isinstance(serializer, JsonPickleSerializer) else None
        self.name = JSONPICKLE if self.pickler is not None else JSON
        self._types: dict[str, type[Event]] = {}

    # -- events ------------------------------------------------------------------

    def dump_event(self, event: Event) -> Any:
        """The event as a JSON-compatible value (a dict, or a jsonpickle string)."""
        if self.pickler is not None:
            return self.pickler.serialize(event)
        try:
            return event.model_dump(mode="json")
        except (PydanticSerializationError, TypeError, ValueError) as exc:
            field, reason = _find_bad_field(event, exc)
            raise EventNotSerializableError(qualified_name(type(event)), field, reason) from exc

    def load_event(self, type_name: str, data: Any, codec: str) -> Event:
        """Rebuild an event written by :meth:`dump_event` under ``codec``."""
        if codec == JSONPICKLE:
            pickler = self.pickler or JsonPickleSerializer()
            value = pickler.deserialize(data)
            if not isinstance(value, Event):
                raise SerializationError(f"jsonpickle payload is a {type(value)}, not an Event")
            return value
        cls = self._types.get(type_name)
        if cls is None:
            found = import_qualified(type_name)
            if not (isinstance(found, type) and issubclass(found, Event)):
                raise SerializationError(f"{type_name} is not an Event class")
            cls = self._types[type_name] = found
        return cls.model_validate(data)

    # -- state ---------------------------------------------------------------------

    def dump_state(self, state: Any) -> Any:
        """A state object (pydantic model) as a JSON-compatible value."""
        if self.pickler is not None:
            return self.pickler.serialize(state)
        try:
            if isinstance(state, BaseModel):
                return state.model_dump(mode="json")
            return to_jsonable_python(state)
        except (PydanticSerializationError, TypeError, ValueError) as exc:
            field, reason = _find_bad_field(state, exc)
            raise SerializationError(
                f"state field {field!r} cannot be stored as JSON ({reason}). Store JSON-compatible "
                "values or pydantic models, or create the workflow with "
                "serializer=JsonPickleSerializer(allowed=[...])."
            ) from exc

    def load_state(self, data: Any, state_type: type[BaseModel]) -> Any:
        """Rebuild a state object written by :meth:`dump_state`."""
        if isinstance(data, str) and self.pickler is not None:
            return self.pickler.deserialize(data)
        return state_type.model_validate(data)

    # -- records -------------------------------------------------------------------

    def encode(self, run_id: str, seq: int, record: Record) -> JournalEntry:
        """A record as the row the store appends."""
        payload = dict(record.data)
        event_type = None
        if record.event is not None:
            payload["event"] = self.dump_event(record.event)
            event_type = qualified_name(type(record.event))
        return JournalEntry(
            run_id=run_id,
            seq=seq,
            kind=record.kind,
            step=record.step,
            event_type=event_type,
            payload=json.dumps(payload, separators=(",", ":"), ensure_ascii=False),
            ts=record.ts,
            codec=self.name,
        )

    def decode(self, entry: JournalEntry) -> Record:
        """A journal row as the record it was written from.

        Raises:
            JournalDecodeError: the payload is damaged or its type can't be loaded.
        """
        try:
            data = json.loads(entry.payload)
        except ValueError as exc:
            raise JournalDecodeError(entry.run_id, entry.seq, f"payload is not JSON ({exc})") from exc
        if not isinstance(data, dict):
            raise JournalDecodeError(entry.run_id, entry.seq, "payload is not a JSON object")
        event = None
        if "event" in data:
            raw = data.pop("event")
            try:
                event = self.load_event(entry.event_type or "", raw, entry.codec)
            except Exception as exc:  # import errors, validation errors, refused types
                raise JournalDecodeError(
                    entry.run_id,
                    entry.seq,
                    f"cannot decode event of type {entry.event_type} ({type(exc).__name__}: {exc})",
                ) from exc
        return Record(
            kind=entry.kind, ts=entry.ts, step=entry.step, event=event, data=data, seq=entry.seq
        )


def _find_bad_field(obj: Any, exc: BaseException) -> tuple[str, str]:
    """Name the first field of ``obj`` that does not serialize to JSON."""
    items: list[tuple[str, Any]] = []
    if isinstance(obj, BaseModel):
        items.extend((name, getattr(obj, name, None)) for name in type(obj).model_fields)
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


def error_info(exc: BaseException) -> dict[str, Any]:
    """An exception as JSON: its qualified type, message and formatted traceback."""
    import traceback

    return {
        "type": f"{type(exc).__module__}.{type(exc).__qualname__}",
        "message": str(exc),
        "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
    }


def rebuild_error(info: dict[str, Any] | None, fallback: type[Exception]) -> Exception:
    """The exception described by :func:`error_info`, as close to the original as possible.

    The original class is used when it can be imported and built from the
    message; otherwise ``fallback`` carries the type name and message.
    """
    info = info or {}
    message = str(info.get("message", ""))
    type_name = str(info.get("type", ""))
    try:
        cls = import_qualified(type_name)
        if isinstance(cls, type) and issubclass(cls, Exception):
            return cls(message)
    except Exception:  # noqa: BLE001 - any failure means we can't rebuild it
        pass
    return fallback(f"{type_name}: {message}" if type_name else message)

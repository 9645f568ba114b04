"""Records <-> journal rows: the one place the runtime's records meet the store's rows.

:func:`encode_record` turns a :class:`~.records.Record` into the
:class:`~durable_flows.storage.rows.JournalEntry` a store appends, with its
event dumped by the run's :class:`~durable_flows.codec.journal.Codec`;
:func:`decode_entry` reads one back. The codec itself (events, state, errors
as JSON) knows neither records nor rows.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from ..codec.journal import JSONPICKLE, PICKLED_STATE, Codec, NotAnEvent, first_error, to_json
from ..codec.names import qualified_name
from ..errors import JournalDecodeError, NonDeterminismError, TypeNotAllowedError
from ..storage.rows import JournalEntry
from .records import Record


def encode_record(
    codec: Codec, run_id: str, seq: int, record: Record, dumped_event: Any = None
) -> JournalEntry:
    """A record as the row the store appends (``dumped_event``: its event, already dumped)."""
    payload = dict(record.data)
    event_type = None
    if record.event is not None:
        payload["event"] = dumped_event if dumped_event is not None else codec.dump_event(record.event)
        event_type = qualified_name(type(record.event))
    return JournalEntry(
        run_id=run_id,
        seq=seq,
        kind=record.kind,
        step=record.step,
        event_type=event_type,
        payload=to_json(payload),
        ts=record.ts,
        codec=codec.name,
    )


def decode_entry(codec: Codec, entry: JournalEntry) -> Record:
    """A journal row as the record it was written from.

    Raises:
        JournalDecodeError: the payload is damaged, or its serializer refuses it.
        NonDeterminismError: the payload is fine but the code changed: the
            event's type is gone (renamed, moved, removed), no longer an
            Event class, or rejects the stored fields.
    """
    try:
        data = json.loads(entry.payload)
    except ValueError as exc:
        raise JournalDecodeError(entry.run_id, entry.seq, f"payload is not JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise JournalDecodeError(entry.run_id, entry.seq, "payload is not a JSON object")
    if entry.codec == JSONPICKLE and codec.pickler is None and isinstance(data.get("state"), str):
        # A state jsonpickle wrote, read by JSON code: marked, so that
        # load_state knows it from a state JSON wrote as a string.
        data["state"] = {PICKLED_STATE: data["state"]}
    event = None
    if "event" in data:
        raw = data.pop("event")
        try:
            event = codec.load_event(entry.event_type or "", raw, entry.codec)
        except (ImportError, AttributeError) as exc:
            raise NonDeterminismError(
                entry.run_id,
                entry.seq,
                f"event type {entry.event_type}",
                f"no importable class of that name ({type(exc).__name__}: {exc})",
            ) from exc
        except ValidationError as exc:
            raise NonDeterminismError(
                entry.run_id,
                entry.seq,
                f"an event class {entry.event_type} that loads the stored fields "
                f"{sorted(raw) if isinstance(raw, dict) else raw!r}",
                f"a class that rejects them ({first_error(exc)})",
            ) from exc
        except NotAnEvent as exc:
            raise NonDeterminismError(
                entry.run_id, entry.seq, f"event type {entry.event_type}", str(exc)
            ) from exc
        except TypeNotAllowedError as exc:  # the serializer's allowed list changed, not the journal
            raise NonDeterminismError(
                entry.run_id,
                entry.seq,
                f"a serializer that decodes the {entry.codec} payload of {entry.event_type}",
                f"one that refuses it ({exc})",
            ) from exc
        except Exception as exc:  # damaged jsonpickle payloads, and whatever else a payload breaks
            raise JournalDecodeError(
                entry.run_id,
                entry.seq,
                f"cannot decode event of type {entry.event_type} ({type(exc).__name__}: {exc})",
            ) from exc
    return Record(
        kind=entry.kind, ts=entry.ts, step=entry.step, event=event, data=data, seq=entry.seq
    )

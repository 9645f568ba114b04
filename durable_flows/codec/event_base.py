"""The :class:`Event` base class and the field types that hold events.

Their public home is :mod:`durable_flows.events`, which re-exports them with
every framework event. They are defined here, below the journal codec, so
that the codec can tell an event class from anything else without importing
the events face (which imports the codec). :data:`SerializableEvent` and
:data:`SerializableEventType` keep the concrete class of an event (or event
class) held in a field when it goes through the journal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import PlainSerializer, PlainValidator

from .dict_like import DictLikeModel
from .events import _JSON, _decoder
from .names import qualified_name


class Event(DictLikeModel):
    """Base class of every event a step takes or returns.

    Declare typed fields on subclasses; pass anything else as keyword
    arguments and read it back as attributes or items::

        class Scored(Event):
            score: int

        ev = Scored(score=3, note="first")
        ev.score, ev.note, ev["note"]   # 3, "first", "first"
    """

    # Journals, pickles and type names say durable_flows.events.Event: defining
    # it here must not rename it.
    __module__ = "durable_flows.events"

    if TYPE_CHECKING:  # type checkers would otherwise derive __init__ from the fields only

        def __init__(self, /, **params: Any) -> None: ...


def _dump_event(event: Event) -> Any:
    return _JSON.serialize_value(event)


def _load_event(data: Any) -> Event:
    event = data if isinstance(data, Event) else _decoder().deserialize_value(data)
    if not isinstance(event, Event):
        raise ValueError(f"expected an Event or an encoded Event, got {type(event).__name__}")
    return event


def _dump_optional_event(event: Event | None) -> Any:
    return None if event is None else _dump_event(event)


def _load_optional_event(data: Any) -> Event | None:
    return None if data is None else _load_event(data)


#: A field holding any event; JSON keeps its concrete class name so it decodes
#: back to that subclass.
SerializableEvent = Annotated[
    Event,
    PlainSerializer(_dump_event, return_type=Any),
    PlainValidator(_load_event),
]

#: Like :data:`SerializableEvent`, also allowing ``None``.
SerializableOptionalEvent = Annotated[
    Event | None,
    PlainSerializer(_dump_optional_event, return_type=Any),
    PlainValidator(_load_optional_event),
]


def _dump_event_type(event_type: type[Event]) -> str:
    return qualified_name(event_type)


def _load_event_type(data: Any) -> type[Event]:
    found = data if isinstance(data, type) else _decoder().resolve_class(str(data))
    if not (isinstance(found, type) and issubclass(found, Event)):
        raise ValueError(f"{data!r} does not name an Event class")
    return found


#: A field holding an event class, stored as its qualified name.
SerializableEventType = Annotated[
    type[Event],
    PlainSerializer(_dump_event_type, return_type=str),
    PlainValidator(_load_event_type),
]

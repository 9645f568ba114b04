"""Events as upstream's HTTP protocol carries them: envelopes with type names.

An envelope is ``{"value": {...fields}, "type": "ClassName", "types": [base
names] or None, "qualified_name": "module.ClassName"}``. durable_flows' own
event classes live in ``durable_flows.events``; clients written for
llama-index-workflows know them as ``workflows.events``, so that is the
module name envelopes carry for them, and either spelling is accepted back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from ..errors import EventEnvelopeError
from ..events import (
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StopEvent,
)

OUR_MODULE = "durable_flows.events"
UPSTREAM_MODULE = "workflows.events"

#: Event classes every workflow understands, whatever its steps declare.
FRAMEWORK_EVENTS: tuple[type[Event], ...] = (StartEvent, StopEvent, InputRequiredEvent, HumanResponseEvent)


def client_qualified_name(cls: type) -> str:
    """``module.Class`` as an upstream client names it (``workflows.events`` for ours)."""
    module = UPSTREAM_MODULE if cls.__module__ == OUR_MODULE else cls.__module__
    return f"{module}.{cls.__qualname__}"


def _base_names(cls: type[Event]) -> list[str] | None:
    names: list[str] = []
    for base in cls.__mro__[1:]:
        if base is Event:
            break
        if isinstance(base, type) and issubclass(base, Event):
            names.append(base.__name__)
    return names or None


def to_envelope(event: Event, include_qualified_name: bool = True) -> dict[str, Any]:
    """The envelope a client reads for ``event``."""
    cls = type(event)
    return {
        "value": event.model_dump(mode="json"),
        "qualified_name": client_qualified_name(cls) if include_qualified_name else None,
        "type": cls.__name__,
        "types": _base_names(cls),
    }


class EventRegistry:
    """The event classes one served workflow accepts from clients, by name.

    Args:
        workflow: The name the workflow is served under (for messages).
        classes: Its event classes; the framework events are always added.
    """

    def __init__(self, workflow: str, classes: Iterable[type[Event]]) -> None:
        self.workflow = workflow
        self.by_name: dict[str, type[Event]] = {c.__name__: c for c in FRAMEWORK_EVENTS}
        for cls in classes:
            self.by_name[cls.__name__] = cls
        self.by_qualified: dict[str, type[Event]] = {}
        for cls in self.by_name.values():
            self.by_qualified[client_qualified_name(cls)] = cls
            self.by_qualified[f"{cls.__module__}.{cls.__qualname__}"] = cls

    def _fail(self, reason: str) -> EventEnvelopeError:
        return EventEnvelopeError(self.workflow, reason, list(self.by_name))

    def parse(self, data: Any, bare_as: type[Event] | None = None) -> Event:
        """The event an envelope (dict or JSON text) describes.

        Args:
            data: ``{"type", "value"}`` / ``{"qualified_name", "value"}`` (legacy
                ``"data"`` for ``"value"``), or, with ``bare_as``, the fields alone.
            bare_as: Read a dict without envelope keys as this class's fields.

        Raises:
            EventEnvelopeError: not JSON, unknown type, or fields the class refuses.
        """
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except ValueError as exc:
                raise self._fail(f"the event is not JSON ({exc})") from exc
        if not isinstance(data, dict):
            raise self._fail(f"the event must be a JSON object, got {type(data).__name__}")
        if "value" not in data and "data" in data:
            data = {**data, "value": data["data"]}
        cls: type[Event] | None = None
        if "value" not in data:
            if bare_as is None:
                raise self._fail('the event has no "value"')
            cls, value = bare_as, data
        else:
            value = data.get("value") or {}
            type_name, qualified = data.get("type"), data.get("qualified_name")
            if type_name:
                cls = self.by_name.get(str(type_name))
            if cls is None and qualified:
                cls = self.by_qualified.get(str(qualified))
            if cls is None:
                raise self._fail(f"unknown event type {type_name or qualified!r}")
        if not isinstance(value, dict):
            raise self._fail(f'the event\'s "value" must be an object, got {type(value).__name__}')
        try:
            return cls.model_validate(value)
        except (TypeError, ValueError) as exc:
            first = str(exc).splitlines()
            raise self._fail(f"{cls.__name__} refused the fields: {' '.join(first[:3])}") from exc

"""Errors about values crossing the journal: events and state that cannot be
serialized or decoded, types not allowed, and events sent from outside that no
step of the run takes (wrong type, wrong envelope, missing fields)."""

from __future__ import annotations

from .root import DurableFlowsError


class SerializationError(DurableFlowsError, TypeError):
    """A value cannot be stored in the journal with the chosen serializer."""


class EventNotSerializableError(SerializationError):
    """An event field cannot be written as JSON."""

    def __init__(self, event_type: str, field: str, reason: str, value_type: str | None = None) -> None:
        self.event_type = event_type
        self.field = field
        allowed = value_type or "..."
        super().__init__(
            f"event {event_type} field {field!r} cannot be stored as JSON ({reason}). "
            "Make the value JSON-compatible or a pydantic model, or create the "
            f"workflow with serializer=JsonPickleSerializer(allowed=[{allowed}]) naming the "
            "types that may be decoded."
        )


class ValueNotSerializableError(SerializationError, ValueError):
    """A serializer cannot encode a value (also a ``ValueError``, as upstream raised)."""

    def __init__(self, type_name: str, serializer: str, reason: str) -> None:
        self.type_name = type_name
        self.serializer = serializer
        self.reason = reason
        super().__init__(
            f"the {serializer} serializer cannot encode a value of type {type_name} "
            f"({reason}). Store JSON-compatible values or pydantic models, or choose "
            "a serializer that handles this type (JsonPickleSerializer(allowed=[...]))."
        )


class TypeNotAllowedError(SerializationError, ValueError):
    """A payload names a class the serializer was not allowed to rebuild."""

    def __init__(self, type_name: str, serializer: str, option: str) -> None:
        self.type_name = type_name
        self.serializer = serializer
        self.option = option
        super().__init__(
            f"{serializer} does not allow {type_name}: it is not in the serializer's "
            f"{option} list, so a payload naming it is neither written nor decoded and no "
            f"object of it is built. If the type is trusted, add it: "
            f"{serializer}({option}=[..., {type_name}])."
        )


class EventNotAcceptedError(DurableFlowsError):
    """An event sent into a run is of a type no step of the workflow accepts."""

    def __init__(self, run_id: str, event_type: str) -> None:
        self.run_id = run_id
        self.event_type = event_type
        super().__init__(
            f"run {run_id!r}: no step and no waiter accepts events of type {event_type}; "
            "the event was not delivered. Send an event type one of its steps takes."
        )


class EventEnvelopeError(DurableFlowsError, ValueError):
    """An event sent over HTTP could not be turned into one of the workflow's event types."""

    def __init__(self, workflow: str, reason: str, known: list[str]) -> None:
        self.workflow = workflow
        self.reason = reason
        names = ", ".join(sorted(known)) or "none"
        super().__init__(
            f"workflow {workflow!r}: {reason}; nothing was sent. Send "
            f'{{"type": NAME, "value": {{...fields}}}} with NAME one of: {names}'
        )


class EventFieldsError(DurableFlowsError, ValueError):
    """An event sent from outside lacks fields (or has unknown ones) the run can accept."""

    def __init__(self, run_id: str, event_type: str, problems: list[str]) -> None:
        self.run_id = run_id
        self.event_type = event_type
        self.problems = problems
        super().__init__(
            f"run {run_id!r}: the {event_type.rpartition('.')[2]} event does not fit: "
            f"{'; '.join(problems)}. Nothing was delivered; send it again with the fields fixed."
        )

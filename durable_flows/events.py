"""The events steps exchange, with upstream's names, fields and behaviour.

An :class:`Event` is a pydantic model whose declared fields are validated as
usual and whose undeclared keyword arguments ("extras") are kept in a private
dict, reachable both as attributes (``ev.k``) and as items (``ev["k"]``).

The journal stores events as ``model_dump(mode="json")`` under their
qualified type name and rebuilds them with ``model_validate``. That round trip
is exact for declared fields, extras and a :class:`StopEvent`'s result:

* extras are written under the key ``"_data"``; pydantic models inside them
  (events included) are wrapped in a typed envelope so they come back as the
  same class;
* a stop event's result is written under ``"result"`` when it is plain JSON
  (as upstream), and under ``"_result"`` when it needed envelopes, so a user
  value passed as ``result=`` is never mistaken for an envelope;
* fields typed :data:`SerializableEvent` (such as
  :attr:`StepFailedEvent.input_event`) keep the concrete event class;
* fields typed :data:`SerializableException` store the exception's type name,
  message and (when they differ from the message) its arguments, and come
  back as that exception class, or as :class:`UnreconstructedException` when
  the class cannot be imported or built.

Values JSON has no exact form for follow pydantic's JSON rules: tuples and
sets come back as lists, ``datetime`` in extras as strings, and non-finite
floats (``inf``, ``nan``) as ``None``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

from pydantic import (
    Field,
    PrivateAttr,
)

from .codec.dict_like import DictLikeModel, _extras_of
from .codec.event_base import (
    Event,
    SerializableEvent,
    SerializableEventType,
    SerializableOptionalEvent,
)
from .codec.events import (
    _JSON,
    SerializableException,
    SerializableOptionalException,
    UnreconstructedException,
    _decoder,
    _equal_comparing_exceptions,
    _has_envelope,
)
from .codec.names import qualified_name
from .codec.serializers import _register_framework_types

__all__ = [
    "CollectionReleaseEvent",
    "DictLikeModel",
    "Event",
    "EventType",
    "HumanResponseEvent",
    "IdleReleasedEvent",
    "InputRequiredEvent",
    "InternalDispatchEvent",
    "SerializableEvent",
    "SerializableEventType",
    "SerializableException",
    "SerializableOptionalEvent",
    "SerializableOptionalException",
    "StartEvent",
    "StepFailedEvent",
    "StepState",
    "StepStateChanged",
    "StopEvent",
    "UnhandledEvent",
    "UnreconstructedException",
    "WorkflowCancelledEvent",
    "WorkflowFailedEvent",
    "WorkflowIdleEvent",
    "WorkflowTimedOutEvent",
    "qualified_name",
]


class StartEvent(Event):
    """The event a run starts with: ``Workflow.run(**kwargs)`` sends ``StartEvent(**kwargs)``."""

    if TYPE_CHECKING:  # type checkers would otherwise derive __init__ from the fields only

        def __init__(self, /, **params: Any) -> None: ...


class StopEvent(Event):
    """The event that ends a run; its ``result`` is what the run returns.

    ``StopEvent(result=value)`` ends the run with ``value``. A subclass ends
    the run with the subclass instance itself, and may override
    :meth:`_get_result` to compute :attr:`result` from its fields. Extra
    keyword arguments become extras as on any event. ``str(ev)`` is
    ``str()`` of the stored result.

    Args:
        result: The run's return value.
        **kwargs: Declared fields of a subclass, and extras.
    """

    _result: Any = PrivateAttr(default=None)

    def __init__(self, /, result: Any = None, **kwargs: Any) -> None:
        if "_result" in kwargs:  # written by a JSON dump: decode its envelopes
            kwargs["_result"] = _decoder().deserialize_value(kwargs["_result"])
        else:
            kwargs["_result"] = result
        super().__init__(**kwargs)

    def _get_result(self) -> Any:
        """The value :attr:`result` returns; subclasses may override it."""
        return self._result

    @property
    def result(self) -> Any:
        """The run's return value (by default, the ``result`` passed in)."""
        return self._get_result()

    def _dump_private(self, data: dict[str, Any], json_mode: bool) -> None:
        super()._dump_private(data, json_mode)
        if self._result is None:
            return
        if not json_mode:
            data["result"] = self._result
            return
        encoded = _JSON.serialize_value(self._result)
        data["_result" if _has_envelope(encoded) else "result"] = encoded

    def _private_repr_args(self) -> Iterator[tuple[str, Any]]:
        if self._result is not None:
            yield "result", self._result

    def __repr_args__(self) -> Any:
        # upstream's order: extras, then fields, then the result
        yield from (_extras_of(self) or {}).items()
        for name, field in type(self).model_fields.items():
            if field.repr:
                yield name, getattr(self, name)
        yield from self._private_repr_args()

    def __str__(self) -> str:
        return str(self._result)


class WorkflowTimedOutEvent(StopEvent):
    """Ends a run that exceeded its timeout; streamed before ``WorkflowTimeoutError`` is raised.

    Attributes:
        timeout: The timeout, in seconds, that was exceeded.
        active_steps: Names of the steps still running when it expired.
    """

    timeout: float
    active_steps: list[str]


class WorkflowCancelledEvent(StopEvent):
    """Ends a cancelled run; streamed before ``WorkflowCancelledByUser`` is raised."""


class IdleReleasedEvent(StopEvent):
    """Returned as the result of a run released while idle (kept for upstream parity)."""


class WorkflowFailedEvent(StopEvent):
    """Ends a run whose step failed for good (retries exhausted, no handler).

    Attributes:
        step_name: The step that failed.
        exception: What it raised. After a round trip through the journal it
            is rebuilt from its type and arguments, without a traceback.
        attempts: How many attempts were made, or None when the failure was
            not a step attempt.
        elapsed_seconds: Seconds from the first attempt to the final failure,
            or None.
    """

    step_name: str
    exception: SerializableException
    attempts: int | None = None
    elapsed_seconds: float | None = None

    def __eq__(self, other: object) -> bool:
        return _equal_comparing_exceptions(self, other)

    __hash__ = None  # type: ignore[assignment]


class CollectionReleaseEvent(Event):
    """A released batch of collected events (kept for upstream parity).

    Attributes:
        events: The events of the batch, each keeping its own class.
        stream_id: Which collection stream the batch came from.
        binding_id: Which binding released it.
    """

    events: list[SerializableEvent] = Field(default_factory=list)
    stream_id: str = ""
    binding_id: str = ""


class StepFailedEvent(Event):
    """Given to a ``@catch_error`` handler when a step has exhausted its retries.

    Returning a ``StopEvent`` from the handler ends the run successfully;
    raising from it fails the run.

    Attributes:
        step_name: The step that failed.
        input_event: The event the failing step was given (its own class).
        exception: What the last attempt raised. After a round trip through
            the journal it is rebuilt from its type and arguments, without a
            traceback.
        attempts: How many attempts were made.
        elapsed_seconds: Seconds from the first attempt to the final failure.
        failed_at: When the last attempt failed (timezone-aware, UTC).
    """

    step_name: str
    input_event: SerializableEvent
    exception: SerializableException
    attempts: int
    elapsed_seconds: float
    failed_at: datetime

    def __eq__(self, other: object) -> bool:
        return _equal_comparing_exceptions(self, other)

    __hash__ = None  # type: ignore[assignment]


class InputRequiredEvent(Event):
    """Asks a human for input; written to the event stream when a step returns it.

    No step has to accept it. The caller answers by sending a
    :class:`HumanResponseEvent` (or a subclass) into the run. Use it as is or
    subclass it.
    """

    if TYPE_CHECKING:  # type checkers would otherwise derive __init__ from the fields only

        def __init__(self, /, **params: Any) -> None: ...


class HumanResponseEvent(Event):
    """A human's answer to an :class:`InputRequiredEvent`; no step has to produce it."""

    if TYPE_CHECKING:  # type checkers would otherwise derive __init__ from the fields only

        def __init__(self, /, **params: Any) -> None: ...


class InternalDispatchEvent(Event):
    """Base of the engine's own progress events, streamed only with ``expose_internal=True``."""

    if TYPE_CHECKING:  # type checkers would otherwise derive __init__ from the fields only

        def __init__(self, /, **params: Any) -> None: ...


class WorkflowIdleEvent(InternalDispatchEvent):
    """The run is idle: nothing queued or running, and a step waits for an outside event."""

    if TYPE_CHECKING:  # type checkers would otherwise derive __init__ from the fields only

        def __init__(self, /, **params: Any) -> None: ...


class UnhandledEvent(InternalDispatchEvent):
    """An event sent into the run that no step or waiter accepted.

    Attributes:
        event_type: Class name of the event.
        qualified_name: Qualified name of the event's class.
        step_name: The step it was addressed to, if any.
        idle: Whether the run is idle after it was dropped.
    """

    event_type: str = Field(description="Class name of the unhandled event.")
    qualified_name: str = Field(description="Fully qualified name of the event type.")
    step_name: str | None = Field(
        default=None, description="Target step name if the event was addressed to a step."
    )
    idle: bool = Field(description="Whether the workflow is idle after processing.")


class StepState(Enum):
    """Where a step's work item is."""

    #: Queued, waiting for a free worker.
    PREPARING = "preparing"
    #: Executing on a worker.
    RUNNING = "running"
    #: Finished (or never started).
    NOT_RUNNING = "not_running"


class StepStateChanged(InternalDispatchEvent):
    """A step's work item changed state (streamed with ``expose_internal=True``).

    Attributes:
        name: The step.
        step_state: Its new state.
        worker_id: The worker executing it.
        input_event_name: Name of the event it was given.
        output_event_name: Name of the event it produced, if any.
    """

    name: str = Field(description="Name of the step")
    step_state: StepState = Field(description="State of the step")
    worker_id: str = Field(description="ID of the worker that the step is running on")
    input_event_name: str = Field(description="Name of the input event")
    output_event_name: str | None = Field(default=None, description="Name of the output event")


#: The type of an event class.
EventType = type[Event]

_register_framework_types(
    DictLikeModel,
    Event,
    StartEvent,
    StopEvent,
    WorkflowTimedOutEvent,
    WorkflowCancelledEvent,
    IdleReleasedEvent,
    WorkflowFailedEvent,
    CollectionReleaseEvent,
    StepFailedEvent,
    InputRequiredEvent,
    HumanResponseEvent,
    InternalDispatchEvent,
    WorkflowIdleEvent,
    UnhandledEvent,
    StepState,
    StepStateChanged,
    UnreconstructedException,
)

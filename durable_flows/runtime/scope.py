"""What one step execution does, gathered until it commits.

Each running step has an :class:`ExecScope` in a context variable. Context
methods called inside the step (``send_event``, ``write_event_to_stream``,
``store.set``, ``collect_events``, resource creation, ``wait_for_event``)
record their effect here; the loop turns the scope into journal records that
commit in one transaction with the step's completion. A step that is in flight
when the process dies therefore leaves no partial effect in the journal.
"""

from __future__ import annotations

import contextvars
import time
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..events import Event
from .state import Exec

E = TypeVar("E", bound=Event)


#: Values a step cannot change in place: an event holding only these needs no deep copy.
_SCALARS = frozenset({str, int, float, bool, type(None), bytes})


def _flat(values: Any) -> bool:
    return all(type(value) in _SCALARS for value in values)


def _copied_by_shallow_copy(event: Event) -> bool:
    """Whether a shallow copy of ``event`` shares nothing a step could change in place."""
    if not _flat(event.__dict__.values()):
        return False
    extra = event.__pydantic_extra__
    if extra and not _flat(extra.values()):
        return False
    for name, value in (event.__pydantic_private__ or {}).items():
        if name == "_data" and type(value) is dict:  # the extras: Event.__copy__ copies the dict
            if not _flat(value.values()):
                return False
        elif type(value) not in _SCALARS:
            return False
    return True


def handed_out(event: E) -> E:
    """A copy of a journaled event for step code to have.

    The run's state keeps the events it holds (queued, in flight, buffered,
    answering a waiter) as the journal has them; a step that changed the very
    object it was given would change them too: other steps given the same
    event, an in-process retry and a snapshot would then see what a replay of
    the journal never shows. An event holding only scalars (the common case) is
    copied shallowly, anything else deeply; an event that cannot be deep-copied
    is handed out as it is.
    """
    try:
        if _copied_by_shallow_copy(event):
            return event.model_copy()
        return event.model_copy(deep=True)
    except Exception:  # noqa: BLE001 - e.g. a jsonpickled event holding an uncopyable object
        return event


class WaitingForEvent(Exception):  # noqa: N818 - control flow, never reaches users
    """Raised by ``wait_for_event`` to park the step until the event arrives."""

    def __init__(
        self,
        waiter_id: str,
        event_type: type,
        requirements: dict[str, Any],
        timeout: float | None,
        waiter_event: Event | None,
    ) -> None:
        super().__init__(waiter_id)
        self.waiter_id = waiter_id
        self.event_type = event_type
        self.requirements = requirements
        self.timeout = timeout
        self.waiter_event = waiter_event


@dataclass
class ExecScope:
    """Effects of one attempt of one execution, in the order they happened."""

    ex: Exec
    ctx: Any  # the run's Context
    started: float = field(default_factory=time.monotonic)
    sent: list[tuple[Event, str | None]] = field(default_factory=list)
    stream: list[Event] = field(default_factory=list)
    #: (op "add"/"clear", buffer, event added, live op number, events a clear removed)
    collect: list[tuple[str, str, Event | None, int, list[Event] | None]] = field(default_factory=list)
    resources: list[tuple[str, bool]] = field(default_factory=list)


class _Slot:
    """What the context variable holds: the scope while its step runs, then None.

    asyncio copies the context variables into every callback and task a step
    schedules (``loop.call_later`` keeps its copy until the timer fires). Through
    the slot such a copy holds nothing once the step is over, so a long timer
    does not keep the scope, the Context and the workflow alive (issue 14 item 6).
    """

    __slots__ = ("scope",)

    def __init__(self, scope: ExecScope | None) -> None:
        self.scope = scope


class ScopeVar:
    """The running step's :class:`ExecScope` (``get``/``set`` like a ContextVar)."""

    def __init__(self) -> None:
        self._var: contextvars.ContextVar[_Slot | None] = contextvars.ContextVar(
            "durable_flows_exec_scope", default=None
        )

    def get(self) -> ExecScope | None:
        slot = self._var.get()
        return None if slot is None else slot.scope

    def set(self, scope: ExecScope | None) -> _Slot:
        """Make ``scope`` current in this task; empty the returned slot when it ends."""
        slot = _Slot(scope)
        self._var.set(slot)
        return slot


current_scope = ScopeVar()

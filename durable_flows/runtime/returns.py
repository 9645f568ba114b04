"""What a finished step returned, as the events to journal.

A step returns one event, ``None``, or (when its return annotation has a
``list[E]`` member) a list of events: each is dispatched on its own, as
llama-index-workflows 2.26 does, and each becomes a ``produced`` record of
the step's completion, so the whole list commits in the same append as the
completion or not at all.
"""

from __future__ import annotations

from typing import Any

from ..errors import WorkflowRuntimeError
from ..events import Event


def returned_events(step: str, value: Any, cfg: Any) -> tuple[list[Event], bool]:
    """The events ``value`` (a step's return value) emits, in order, and whether it was a list.

    A returned list (even empty) opens a collection stream (``streams.py``).

    Args:
        step: The step's name, for messages.
        value: What the step function returned.
        cfg: The step's ``StepConfig`` (``is_fan_out``, ``bare_return_types``).

    Raises:
        WorkflowRuntimeError: not an event, a list where the annotation has
            none, a list holding a non-event, or a bare event that the
            annotation declares only inside a list.
    """
    if value is None:
        return [], False
    fan_out = bool(getattr(cfg, "is_fan_out", False))
    if isinstance(value, list) and fan_out:
        for item in value:
            if not isinstance(item, Event):
                raise WorkflowRuntimeError(
                    f"Step function {step} returned a list containing {type(item).__name__} "
                    "instead of an Event instance."
                )
        return list(value), True
    if not isinstance(value, Event):
        raise WorkflowRuntimeError(
            f"Step function {step} returned {type(value).__name__} instead of an Event instance."
        )
    if fan_out and not any(isinstance(value, t) for t in cfg.bare_return_types if isinstance(t, type)):
        raise WorkflowRuntimeError(
            f"Step function {step} returned a bare {type(value).__name__} but its return "
            "annotation declares that type only inside a list. Return a one-element list, "
            "or add the bare type to the annotation (-> list[A] | B)."
        )
    return [value], False

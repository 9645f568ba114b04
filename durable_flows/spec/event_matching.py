"""Which event types reach which steps, and how types are named in messages.

A step receives an event when its type is one the step accepts: the same class,
or a subclass when the step set ``accept_event_subclasses``. Validation and the
graph checks both judge a workflow by this rule.
"""

from __future__ import annotations

from typing import Any

from .step_config import StepConfig

_NONE_TYPE = type(None)


def is_subclass(candidate: Any, parents: type | tuple[type, ...]) -> bool:
    """``issubclass`` that answers False for non-classes (``list[str]``, ``Any``...)."""
    return isinstance(candidate, type) and issubclass(candidate, parents)


def type_matches(produced: Any, accepted: Any, *, allow_subclasses: bool) -> bool:
    """Whether events of type ``produced`` route to a step declaring ``accepted``.

    Exact type identity by default; subclasses too when ``allow_subclasses``.
    """
    if allow_subclasses:
        return isinstance(accepted, type) and is_subclass(produced, accepted)
    return produced is accepted


def accepts_event_type(config: StepConfig, event_type: Any) -> bool:
    """Whether a step with ``config`` takes events of type ``event_type``.

    This is the routing rule too: the runtime should deliver an event to a
    step exactly when this is true for ``type(event)``.
    """
    return any(
        type_matches(event_type, accepted, allow_subclasses=config.accept_event_subclasses)
        for accepted in config.accepted_events
    )


def _type_name(t: Any) -> str:
    return str(getattr(t, "__name__", None) or t)

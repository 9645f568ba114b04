"""The start event of a run, from ``run()``'s arguments (as upstream builds it)."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError

from ..errors import WorkflowRuntimeError
from ..events import StartEvent

# The logger this warning went to when it lived in workflow.py, kept for log filters.
logger = logging.getLogger("durable_flows.workflow")


def start_event_for(
    start_event_class: type[StartEvent], start_event: StartEvent | None, kwargs: dict[str, Any]
) -> StartEvent:
    """``start_event`` (after checking it is one, ignoring ``kwargs`` with a warning),
    else ``start_event_class(**kwargs)``.

    Raises:
        ValueError: ``start_event`` is not a ``StartEvent``.
        WorkflowRuntimeError: ``kwargs`` do not build a ``start_event_class``.
    """
    if start_event is not None:
        if not isinstance(start_event, StartEvent):
            raise ValueError("The 'start_event' argument must be an instance of 'StartEvent'.")
        if kwargs:
            logger.warning(
                "Keyword arguments are not supported when 'run()' is invoked with the "
                "'start_event' parameter. These keyword arguments will be ignored: %s",
                kwargs,
            )
        return start_event
    try:
        return start_event_class(**kwargs)
    except ValidationError as exc:
        raise WorkflowRuntimeError(
            f"Failed creating a start event of type '{start_event_class.__name__}' "
            f"with the keyword arguments: {kwargs}"
        ) from exc

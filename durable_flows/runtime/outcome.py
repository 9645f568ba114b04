"""How a finished run looks to its caller: the final stop event and what awaiting raises."""

from __future__ import annotations

from typing import Any

from ..codec.journal import rebuild_error
from ..errors import WorkflowCancelledByUser, WorkflowRuntimeError, WorkflowTimeoutError
from ..events import (
    Event,
    StopEvent,
    WorkflowCancelledEvent,
    WorkflowFailedEvent,
    WorkflowTimedOutEvent,
)


def final_outcome(
    status: str,
    result: Event | None,
    error: dict[str, Any] | None,
    live_exc: BaseException | None = None,
) -> tuple[StopEvent, BaseException | None]:
    """The stop event a finished run publishes, and the exception awaiting it raises (or None).

    ``live_exc`` is the step's own exception when the failure happened in this
    process; otherwise the exception is rebuilt from the journaled ``error``.
    """
    err = error or {}
    if status == "completed" and isinstance(result, StopEvent):
        return result, None
    if status == "timed_out":
        timeout = float(err.get("timeout") or 0.0)
        active = [str(s) for s in err.get("active_steps") or []]
        info = "Currently active steps: " + ", ".join(active) if active else "No steps active"
        return (
            WorkflowTimedOutEvent(timeout=timeout, active_steps=active),
            WorkflowTimeoutError(f"Operation timed out after {timeout} seconds. {info}"),
        )
    if status == "cancelled":
        return WorkflowCancelledEvent(), WorkflowCancelledByUser()
    exc = live_exc or rebuild_error(err, WorkflowRuntimeError)
    final = WorkflowFailedEvent(
        step_name=str(err.get("step", "")),
        exception=exc if isinstance(exc, Exception) else WorkflowRuntimeError(str(exc)),
        attempts=err.get("attempts"),
        elapsed_seconds=err.get("elapsed_seconds"),
    )
    return final, exc

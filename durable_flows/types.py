"""Type aliases for what a run returns (upstream's ``workflows.types``)."""

from __future__ import annotations

from typing import Any, TypeVar

from .events import StopEvent

#: A StopEvent subclass a workflow ends with.
StopEventT = TypeVar("StopEventT", bound=StopEvent)
#: What awaiting a handler gives: a StopEvent subclass instance, or any result value.
RunResultT = StopEventT | Any  # type: ignore[misc]

__all__ = ["RunResultT", "StopEventT"]

"""The instrumentation events durable_flows dispatches besides spans, named as upstream names them.

Handlers tell them apart by ``class_name()``: ``SpanCancelledEvent`` (a run or
step span ended by cancellation: not an error), ``step.output`` (what a step
returned, summarized) and ``workflow.output`` (what a run returned).
"""

from __future__ import annotations

from llama_index_instrumentation.base import BaseEvent


class SpanCancelledEvent(BaseEvent):
    """A span ended because its run or step was cancelled (``reason`` says which)."""

    reason: str

    @classmethod
    def class_name(cls) -> str:
        return "SpanCancelledEvent"


class StepOutputEvent(BaseEvent):
    """A step returned an event; ``output`` is its summary."""

    output: str

    @classmethod
    def class_name(cls) -> str:
        return "step.output"


class RunOutputEvent(BaseEvent):
    """A run ended with a stop event; ``output`` is its summary."""

    output: str

    @classmethod
    def class_name(cls) -> str:
        return "workflow.output"

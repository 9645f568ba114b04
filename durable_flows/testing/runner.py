"""``WorkflowTestRunner``: run a workflow end to end and collect what it streamed."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..events import Event, StartEvent

if TYPE_CHECKING:
    from ..context import Context
    from ..workflow import Workflow


@dataclass
class WorkflowTestResult:
    """What a test run streamed and returned.

    Attributes:
        collected: The streamed events, in order (the final stop event included).
        event_types: How many events of each type were collected.
        result: What awaiting the handler returned.
        ctx: The run's Context.
    """

    collected: list[Event]
    event_types: dict[type[Event], int]
    result: Any
    ctx: Context[Any]


class WorkflowTestRunner:
    """Runs a workflow and collects its stream, for end-to-end tests."""

    def __init__(self, workflow: Workflow) -> None:
        self._workflow = workflow

    async def run(
        self,
        start_event: StartEvent | None = None,
        ctx: Context[Any] | None = None,
        expose_internal: bool = True,
        exclude_events: list[type[Event]] | None = None,
    ) -> WorkflowTestResult:
        """Run to the end, collecting streamed events except ``exclude_events``."""
        handler = self._workflow.run(start_event=start_event or StartEvent(), ctx=ctx)
        collected: list[Event] = []
        async for event in handler.stream_events(expose_internal=expose_internal):
            if exclude_events and type(event) in exclude_events:
                continue
            collected.append(event)
        result = await handler
        return WorkflowTestResult(
            collected=collected,
            event_types=dict(Counter(type(e) for e in collected)),
            result=result,
            ctx=handler.ctx,
        )

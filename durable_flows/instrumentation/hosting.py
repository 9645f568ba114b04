"""The span around a run while this process hosts it (llama-index-instrumentation).

Upstream wraps each run in a span named ``<Workflow class>.run-<uuid>``; the
step spans of the run are its children (they start in tasks created inside
it). A durable run may be hosted by several processes one after the other (a
crash, a resume days later): each hosting is one span, entered when the
process starts driving the run and left when it stops:

- the run ended with a stop event: a ``workflow.output`` event with its
  summary, then the span exits with the stop event as its result;
- the run was cancelled by its user: a ``SpanCancelledEvent``, then a normal
  exit (cancelling is not an error, as upstream);
- the run failed (or timed out): the span is dropped with the error, after a
  ``SpanDropEvent``;
- the process stopped hosting an unfinished run (it waits for input and was
  dropped or parked): a normal exit without result.
"""

from __future__ import annotations

import asyncio
import inspect
import uuid
from types import TracebackType
from typing import Any

from llama_index_instrumentation import get_dispatcher
from llama_index_instrumentation.dispatcher import active_instrument_tags, instrument_tags
from llama_index_instrumentation.events.span import SpanDropEvent
from llama_index_instrumentation.span import active_span_id

from .span_events import RunOutputEvent, SpanCancelledEvent
from .summary import summarize_event

_dispatcher = get_dispatcher("durable_flows.workflow")


def _hosting(start_event: Any) -> None:
    """What the span's bound arguments describe: the start event, when this hosting started the run."""


class RunSpan:
    """One hosting of a run, as a span; use as a context manager, then :meth:`end`.

    Args:
        workflow: The Workflow instance (the span's ``instance``).
        run_id: Tagged as ``llamaindex.run_id``.
        start_event: The run's start event when this hosting starts the run
            (tagged as ``llamaindex.start_event``, summarized); None on a resume.
        cancelled: Exception types that mean "cancelled by the user".
    """

    def __init__(
        self, workflow: Any, run_id: str, start_event: Any, cancelled: tuple[type[BaseException], ...]
    ) -> None:
        self.id = f"{type(workflow).__name__}.run-{uuid.uuid4()}"
        self._workflow = workflow
        self._run_id = run_id
        self._start_event = start_event
        self._cancelled = cancelled
        self._bound = inspect.signature(_hosting).bind(start_event)
        self._token: Any = None
        self._open = False

    def __enter__(self) -> RunSpan:
        parent = active_span_id.get()
        self._token = active_span_id.set(self.id)
        tags = {**active_instrument_tags.get(), "llamaindex.run_id": self._run_id}
        if self._start_event is not None:
            tags["llamaindex.start_event"] = summarize_event(self._start_event)
        with instrument_tags(tags):
            _dispatcher.span_enter(
                id_=self.id, bound_args=self._bound, instance=self._workflow, parent_id=parent, tags=tags
            )
        self._open = True
        return self

    def end(self, outcome: asyncio.Future[Any]) -> None:
        """Leave the span as the run's ``outcome`` says (see the module docstring)."""
        if not self._open:
            return
        self._open = False
        if not outcome.done():
            self._exit(None)
        elif outcome.cancelled():
            _dispatcher.event(SpanCancelledEvent(reason="workflow cancelled"))
            self._exit(None)
        elif (err := outcome.exception()) is None:
            result = outcome.result()
            _dispatcher.event(RunOutputEvent(output=summarize_event(result)))
            self._exit(result)
        elif isinstance(err, self._cancelled):
            _dispatcher.event(SpanCancelledEvent(reason="workflow cancelled by user"))
            self._exit(None)
        else:
            self._drop(err)

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._open:  # left without end(): by an exception of the driver itself
            self._open = False
            if exc is None:
                self._exit(None)
            else:
                self._drop(exc)
        try:
            active_span_id.reset(self._token)
        except ValueError:  # reset from another context: nothing to restore
            pass

    def _exit(self, result: Any) -> None:
        _dispatcher.span_exit(id_=self.id, bound_args=self._bound, instance=self._workflow, result=result)

    def _drop(self, err: BaseException) -> None:
        _dispatcher.event(SpanDropEvent(span_id=self.id, err_str=str(err)))
        _dispatcher.span_drop(id_=self.id, bound_args=self._bound, instance=self._workflow, err=err)

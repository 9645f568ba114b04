"""Optional observability: llama-index-instrumentation spans and tags around steps.

When ``llama-index-instrumentation`` is installed (``pip install
durable_flows[instrumentation]``), every step execution runs inside a dispatcher
span named like upstream's (``<Workflow class>.<step>-<uuid>``) with the instrument
tags ``llamaindex.run_id`` and ``llamaindex.step.input_event``, so span and event
handlers registered on the root dispatcher (Arize, Langfuse, OpenTelemetry
integrations) see durable_flows runs as they see llama-index-workflows runs.
Each run is wrapped too, while a process hosts it (:func:`run_span`, see
``hosting.py``), and the span events upstream dispatches are dispatched
(``span_events.py``): a cancelled run or step, a step's and a run's output
summarized (``summary.py``). Without the package, :func:`wrap_step` returns
the step function unchanged and :func:`run_span` a span that does nothing.

Owns: the wrapping. Imports nothing from durable_flows (the runtime passes in the
control-flow exception types that must not count as step errors).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from types import TracebackType
from typing import Any

try:
    from llama_index_instrumentation import get_dispatcher
    from llama_index_instrumentation.dispatcher import active_instrument_tags, instrument_tags
except ImportError:  # the optional extra is not installed
    get_dispatcher = None  # type: ignore[assignment]

_dispatcher = get_dispatcher("durable_flows.workflow") if get_dispatcher is not None else None


class _Passed:
    """A control-flow exception carried out of the span as a value (not a span error)."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def enabled() -> bool:
    """Whether llama-index-instrumentation is installed."""
    return _dispatcher is not None


class _NoSpan:
    """:func:`run_span` without llama-index-instrumentation: does nothing."""

    def __enter__(self) -> _NoSpan:
        return self

    def end(self, outcome: asyncio.Future[Any]) -> None:
        """Nothing to end."""

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None


def run_span(
    workflow: Any, run_id: str, start_event: Any, cancelled: tuple[type[BaseException], ...]
) -> Any:
    """A context manager: the span of one hosting of a run; call ``.end(outcome)`` inside it.

    ``outcome`` is the future the run's result or error is set on (see
    ``hosting.py``); ``start_event`` is None on a resume; ``cancelled`` are the
    exception types that mean "cancelled by the user" (not an error).
    """
    if _dispatcher is None:
        return _NoSpan()
    from .hosting import RunSpan

    return RunSpan(workflow, run_id, start_event, cancelled)


def _step_output(result: Any) -> None:
    """Dispatch a ``step.output`` event for an event a step returned."""
    if result is None or isinstance(result, _Passed) or not hasattr(type(result), "model_fields"):
        return
    from .span_events import StepOutputEvent
    from .summary import summarize_event

    assert _dispatcher is not None
    try:
        _dispatcher.event(StepOutputEvent(output=summarize_event(result)))
    except Exception:  # noqa: BLE001, S110 - tracing never fails a step
        pass


def _step_cancelled() -> None:
    from .span_events import SpanCancelledEvent

    assert _dispatcher is not None
    _dispatcher.event(SpanCancelledEvent(reason="step cancelled"))


def wrap_step(
    fn: Callable[..., Any],
    workflow_class: str,
    step: str,
    run_id: str,
    input_event: Any,
    is_coroutine: bool,
    passthrough: tuple[type[BaseException], ...],
) -> Callable[..., Any]:
    """``fn`` run inside a span with the run's instrument tags (``fn`` itself when disabled).

    ``input_event`` is the event the step runs on (its type name and a summary
    become the tags ``llamaindex.step.input_event`` and ``.input_summary``).
    Exceptions of the ``passthrough`` types (a step parking on ``wait_for_event``)
    and a cancellation (after a ``SpanCancelledEvent``) leave the span as a
    normal exit and are raised again outside it. A returned event is
    dispatched as a ``step.output`` event, summarized.
    """
    if _dispatcher is None:
        return fn
    from .summary import summarize_event

    dispatcher = _dispatcher
    tags = {
        "llamaindex.run_id": run_id,
        "llamaindex.step.input_event": type(input_event).__name__,
        "llamaindex.step.input_summary": summarize_event(input_event),
    }

    if is_coroutine:

        async def run_async(**kwargs: Any) -> Any:
            try:
                result = await fn(**kwargs)
            except passthrough as exc:
                return _Passed(exc)
            except asyncio.CancelledError as exc:
                _step_cancelled()
                return _Passed(exc)
            _step_output(result)
            return result

        target: Callable[..., Any] = run_async
    else:

        def run_sync(**kwargs: Any) -> Any:
            try:
                result = fn(**kwargs)
            except passthrough as exc:
                return _Passed(exc)
            _step_output(result)
            return result

        target = run_sync
    target.__qualname__ = f"{workflow_class}.{step}"
    target.__name__ = step
    spanned = dispatcher.span(target)

    def unwrap(result: Any) -> Any:
        if isinstance(result, _Passed):
            raise result.exc
        return result

    if is_coroutine:

        @functools.wraps(fn)
        async def call_async(**kwargs: Any) -> Any:
            with instrument_tags({**active_instrument_tags.get(), **tags}):
                return unwrap(await spanned(**kwargs))

        return call_async

    @functools.wraps(fn)
    def call_sync(**kwargs: Any) -> Any:
        with instrument_tags({**active_instrument_tags.get(), **tags}):
            return unwrap(spanned(**kwargs))

    return call_sync


__all__ = ["enabled", "run_span", "wrap_step"]

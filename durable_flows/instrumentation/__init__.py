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
summarized (``summary.py``). Without the package, :func:`enabled` is false (the runtime
calls steps directly) and :func:`run_span` gives a span that does nothing.
While no handler but the library's null ones is registered, spans, span events
and summaries are skipped (nobody could see them, and they cost more than a
short step); the run-id and input-event tags are set either way, and a handler
added during a run sees the next step.

Owns: the wrapping. Imports nothing from durable_flows (the runtime passes in the
control-flow exception types that must not count as step errors).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from types import TracebackType
from typing import Any

try:
    from llama_index_instrumentation import get_dispatcher
    from llama_index_instrumentation.dispatcher import active_instrument_tags, instrument_tags
    from llama_index_instrumentation.event_handlers import NullEventHandler
    from llama_index_instrumentation.span_handlers import NullSpanHandler
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
    if _dispatcher is None or not listened(_dispatcher):
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


def step_tags(run_id: str, input_event: Any, summarized: bool) -> dict[str, str]:
    """The instrument tags of one step execution (the summary only when ``summarized``)."""
    tags = {"llamaindex.run_id": run_id, "llamaindex.step.input_event": type(input_event).__name__}
    if summarized:
        from .summary import summarize_event

        tags["llamaindex.step.input_summary"] = summarize_event(input_event)
    return tags


def span_step(
    fn: Callable[..., Any],
    workflow_class: str,
    step: str,
    is_coroutine: bool,
    passthrough: tuple[type[BaseException], ...],
) -> Callable[..., Any]:
    """``call(run_id, input_event, **kwargs)``: ``fn(**kwargs)`` in a span, with the step's tags.

    Built once per step and reused for every execution (building the dispatcher's
    decorator per call cost more than the span itself). Call only when
    :func:`enabled`; the runtime builds one per step and run.
    """
    assert _dispatcher is not None
    dispatcher = _dispatcher
    made: list[Callable[..., Any]] = []  # the spanned target, built when first needed

    def spanned() -> Callable[..., Any]:
        if not made:
            made.append(_spanned_target(dispatcher, fn, workflow_class, step, is_coroutine, passthrough))
        return made[0]

    if is_coroutine:

        async def call_async(run_id: str, input_event: Any, /, **kwargs: Any) -> Any:
            seen = listened(dispatcher)
            with instrument_tags({**active_instrument_tags.get(), **step_tags(run_id, input_event, seen)}):
                if not seen:
                    return await fn(**kwargs)
                return _unwrap(await spanned()(**kwargs))

        return call_async

    def call_sync(run_id: str, input_event: Any, /, **kwargs: Any) -> Any:
        seen = listened(dispatcher)
        with instrument_tags({**active_instrument_tags.get(), **step_tags(run_id, input_event, seen)}):
            if not seen:
                return fn(**kwargs)
            return _unwrap(spanned()(**kwargs))

    return call_sync


def _spanned_target(
    dispatcher: Any,
    fn: Callable[..., Any],
    workflow_class: str,
    step: str,
    is_coroutine: bool,
    passthrough: tuple[type[BaseException], ...],
) -> Callable[..., Any]:
    """``fn`` wrapped by the dispatcher's span decorator, under the step's span name."""
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
    # The dispatcher binds the call's arguments to inspect.signature(target) on
    # every call; a stored __signature__ spares it reading the function each time.
    target.__signature__ = inspect.signature(target)  # type: ignore[attr-defined]
    return dispatcher.span(target)  # type: ignore[no-any-return]


def _unwrap(result: Any) -> Any:
    if isinstance(result, _Passed):
        raise result.exc
    return result


def listened(dispatcher: Any) -> bool:
    """Whether any handler other than the library's null ones would see a span or event.

    Checked per call, so a handler added while a run is going sees the next
    step. With nothing listening a span is invisible but costs more than a
    short step (argument binding, a uuid, the handler walk), so it is skipped;
    the instrument tags are set either way.
    """
    seen = 0
    current = dispatcher
    while current is not None and seen < 16:  # (a dispatcher tree is shallow; never loop)
        for handler in current.span_handlers:
            if type(handler) is not NullSpanHandler:
                return True
        for handler in current.event_handlers:
            if type(handler) is not NullEventHandler:
                return True
        if not current.propagate:
            break
        parent = current.parent
        current = None if parent is current else parent
        seen += 1
    return False


__all__ = ["enabled", "listened", "run_span", "span_step", "step_tags"]

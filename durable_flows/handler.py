"""``WorkflowHandler``: await a run's result, stream its events, send to it, cancel it."""

from __future__ import annotations

import asyncio
import types
import warnings
from collections.abc import AsyncGenerator, Generator
from typing import TYPE_CHECKING, Any

from .errors import WorkflowCancelledByUser, WorkflowRuntimeError
from .events import Event, InternalDispatchEvent, StopEvent, WorkflowCancelledEvent

if TYPE_CHECKING:
    from .context.context import Context
    from .drive.hosted import HostedWorkflow
    from .runtime.loop import RunLoop


class WorkflowHandler:
    """The caller's side of one run.

    ``await handler`` gives the result: ``StopEvent.result`` for a plain
    StopEvent, the stop event itself for a subclass; a failed run raises the
    step's exception, a timed-out one ``WorkflowTimeoutError``, a cancelled
    one ``WorkflowCancelledByUser``.
    """

    # ``WorkflowHandler[str]`` in annotations, as upstream's generic handler
    def __class_getitem__(cls, item: Any) -> types.GenericAlias:
        return types.GenericAlias(cls, item)

    def __init__(self, workflow: HostedWorkflow, ctx: Context[Any], loop: RunLoop, task: asyncio.Task[None]) -> None:
        self._workflow = workflow
        self._ctx = ctx
        self._loop = loop
        self._task = task  # keeps the run's driver alive
        self.run_id = loop.run_id
        self._all_events_consumed = False
        loop.result.add_done_callback(_mark_retrieved)

    def __await__(self) -> Generator[Any, Any, Any]:
        return self._await_result().__await__()

    async def _await_result(self) -> Any:
        stop = await self.stop_event_result()
        return stop.result if type(stop) is StopEvent else stop

    async def stop_event_result(self) -> StopEvent:
        """The run's stop event (raises what the run raised)."""
        return await asyncio.shield(self._loop.result)

    @property
    def ctx(self) -> Context[Any]:
        """The run's Context."""
        return self._ctx

    def get_stop_event(self) -> StopEvent | None:
        """The stop event once the run ended successfully, else None."""
        fut = self._loop.result
        if fut.done() and not fut.cancelled() and fut.exception() is None:
            return fut.result()
        if fut.done() and isinstance(_exc(fut), WorkflowCancelledByUser):
            return WorkflowCancelledEvent()
        return None

    def is_done(self) -> bool:
        """True once the run has ended (in any way)."""
        return self._loop.result.done()

    def __str__(self) -> str:
        return f"WorkflowHandler(workflow={self._workflow.workflow_name}, run_id={self.run_id}, result={self.get_stop_event()})"

    def stream_position(self, event: Event) -> int | None:
        """The committed stream position of an event this handler streamed.

        ``ctx.write_event_to_stream`` events reach ``stream_events`` live, as the
        step writes them, before the step commits. Once it commits, the event has a
        position (the ``N`` that ``stream_events(after=N)`` resumes after). An event
        whose position stays None after the run ended or stopped belongs to an
        execution that was interrupted (process death, cancel, timeout): a resumed
        run executes it again and writes its events again, with new positions.
        """
        return self._loop.position_of(event)

    async def stream_events(
        self, expose_internal: bool = False, *, after: int | None = None
    ) -> AsyncGenerator[Event, None]:
        """Yield the run's stream events as they commit, ending with its stop event.

        Args:
            expose_internal: Also yield internal dispatch events.
            after: A stream position (the ``n`` of a journaled stream entry).
                When given, committed stream events after it are read from the
                journal first, so a consumer that reconnects after a restart
                sees each one once, in order. When omitted, the stream starts
                where this handler started (the whole stream for a new run).

        Raises:
            WorkflowRuntimeError: the stream was already consumed by this handler.
        """
        if self._all_events_consumed:
            raise WorkflowRuntimeError("All the streamed events have already been consumed.")
        # closed here, not left to the event loop's finalizer: an unfinished inner
        # generator would keep the run (and its workflow) alive one more turn
        events = self._loop.stream(after, expose_internal)
        try:
            async for ev in events:
                if isinstance(ev, InternalDispatchEvent) and not expose_internal:
                    continue
                yield ev
                if isinstance(ev, StopEvent):
                    self._all_events_consumed = True
                    break
        finally:
            await events.aclose()

    async def cancel_run(self, *, timeout: float = 5.0) -> None:
        """Journal a cancellation and wait (up to ``timeout``) for the run to stop."""
        if not self._loop.result.done():
            self._loop.post("cancel")
        try:
            await asyncio.wait_for(asyncio.shield(self._loop.result), timeout=timeout)
        except BaseException:  # noqa: BLE001 - cancel_run never raises the run's outcome
            pass

    async def send_event(self, event: Event, step: str | None = None) -> None:
        """Send an event into the run (journaled before any step sees it)."""
        self._ctx.send_event(event, step)

    # -- deprecated upstream spellings ------------------------------------------------

    def done(self) -> bool:
        warnings.warn("handler.done() is deprecated; use is_done()", DeprecationWarning, stacklevel=2)
        return self.is_done()

    def exception(self) -> BaseException | None:
        warnings.warn("handler.exception() is deprecated; await the handler", DeprecationWarning, stacklevel=2)
        return _exc(self._loop.result) if self._loop.result.done() else None

    def cancelled(self) -> bool:
        warnings.warn("handler.cancelled() is deprecated", DeprecationWarning, stacklevel=2)
        fut = self._loop.result
        return fut.cancelled() or (fut.done() and isinstance(_exc(fut), WorkflowCancelledByUser))

    def cancel(self) -> None:
        warnings.warn("handler.cancel() is deprecated; use await cancel_run()", DeprecationWarning, stacklevel=2)
        self._loop.post("cancel")


def _exc(fut: asyncio.Future[Any]) -> BaseException | None:
    if fut.cancelled():
        return None
    return fut.exception()


def _mark_retrieved(fut: asyncio.Future[Any]) -> None:
    """Nobody may await a failed run; don't warn about an unretrieved exception."""
    if not fut.cancelled():
        fut.exception()

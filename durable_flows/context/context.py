"""``Context``: the face a run shows to its steps and to the code that started it.

Inside a step, methods record their effect in the execution's scope, so it is
journaled with the step's completion. Outside a step (the handler's code),
``send_event`` and state edits are posted to the run's loop, which journals
them before they take effect.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from pydantic import BaseModel

from ..errors import (
    ContextSerdeError,
    ContextStateError,
    WorkflowCancelledByUser,
    WorkflowRuntimeError,
)
from ..events import Event, qualified_name
from ..runtime.collect import LiveBuffer, collect
from ..runtime.scope import WaitingForEvent, current_scope, handed_out
from ..runtime.seed import seed_payload
from .state_store import DictState, InMemoryStateStore, StateStore, load_dict_state

if TYPE_CHECKING:
    from ..codec.journal import Codec
    from ..codec.serializers import BaseSerializer
    from ..drive.hosted import HostedWorkflow
    from ..retry_policy import RetryInfo
    from ..runtime.loop import RunLoop

MODEL_T = TypeVar("MODEL_T", bound=BaseModel)
T = TypeVar("T", bound=Event)


class Context(Generic[MODEL_T]):
    """Per-run context: state store, event sending, collecting, waiting and streaming.

    Create one yourself to seed state or to carry state across runs
    (``ctx = Context(wf); await wf.run(ctx=ctx)``), or let ``run`` create it.
    Type the state with ``Context[MyState]`` in step signatures.
    """

    def __init__(
        self,
        workflow: HostedWorkflow,
        previous_context: dict[str, Any] | None = None,
        serializer: BaseSerializer | None = None,
    ) -> None:
        self._workflow = workflow
        self._serializer = serializer
        self._run_loop: RunLoop | None = None
        self._run_id: str | None = None
        self._was_running = bool(previous_context and previous_context.get("is_running"))
        #: journal position the dict was taken at (a restore forks the source run there)
        self._restore_seq: int | None = previous_context.get("journal_seq") if previous_context else None
        #: the source run's folded state (runtime/seed.py): restores into a store without the source run
        self._restore_snapshot: dict[str, Any] | None = (
            previous_context.get("snapshot") if previous_context else None
        )
        state_type = workflow._state_type()
        state: Any = state_type()
        if previous_context:
            try:
                self._run_id = previous_context.get("run_id")
                raw = previous_context["state"]
            except (KeyError, AttributeError) as exc:
                raise ContextSerdeError(
                    "Error creating a Context instance: the provided payload has a wrong or old format."
                ) from exc
            if raw:
                try:
                    if isinstance(raw, dict) and "state_data" in raw:
                        state = load_dict_state(self, raw, serializer, state_type)
                    else:
                        state = workflow._codec().load_state(raw, state_type)
                except Exception as exc:  # noqa: BLE001
                    raise ContextSerdeError(f"Error restoring context state: {exc}") from exc
        self._store: StateStore[Any] = InMemoryStateStore(state, ctx=self)

    # -- faces -------------------------------------------------------------------

    @staticmethod
    def get_step_context() -> Context[Any]:
        """The Context of the step running in this task.

        Raises:
            WorkflowRuntimeError: called outside a step function.
        """
        scope = current_scope.get()
        if scope is None:
            raise WorkflowRuntimeError(
                "Context.get_step_context() may only be called from within a step function"
            )
        return cast(Context[Any], scope.ctx)

    @property
    def is_running(self) -> bool:
        """Whether a run of this context is in progress in this process."""
        loop = self._run_loop
        return loop is not None and not loop.result.done()

    @property
    def store(self) -> StateStore[MODEL_T]:
        """The run's state store (typed by ``Context[MyState]``, else a ``DictState``)."""
        return self._store

    @property
    def run_id(self) -> str | None:
        """The id of the run this context belongs to, once started."""
        return self._run_id

    def _codec(self) -> Codec:
        return self._workflow._codec()

    def _bind(self, loop: RunLoop) -> None:
        self._run_loop = loop
        self._run_id = loop.run_id

    def _require_loop(self, fn: str) -> RunLoop:
        """The run this context belongs to (upstream's message before a run)."""
        if self._run_loop is None:
            if fn == "send_event":
                raise ContextStateError("send_event() called before workflow started. Call workflow.run() first.")
            raise ContextStateError(f"{fn} requires a running workflow. Call workflow.run() first.")
        return self._run_loop

    # -- events ------------------------------------------------------------------

    def send_event(self, message: Event, step: str | None = None) -> None:
        """Send an event to every step that accepts it, or to ``step`` only.

        Raises:
            WorkflowRuntimeError: ``step`` does not exist or does not accept the event.
        """
        if step is not None:
            self._workflow._validate_valid_step_message(step, message)
        scope = current_scope.get()
        if scope is not None and scope.ctx is self:
            scope.sent.append((message, step))
            return
        loop = self._require_loop("send_event")
        loop.post("send", message, step)

    def collect_events(
        self, ev: Event, expected: list[type[Event]], buffer_id: str | None = None
    ) -> list[Event] | None:
        """Buffer ``ev`` until one event of each ``expected`` type is there, then return them.

        Returns the events ordered as ``expected`` once complete (clearing the
        buffer), else None. The buffer belongs to the calling step.
        """
        scope = self._require_scope("collect_events")
        if not expected:
            return []
        loop = self._require_loop("collect_events")
        buffer = buffer_id or "default"
        # The live buffer is shared by the step's workers; no await below, so
        # concurrent executions see each other's events (as upstream's do).
        live = loop.buffers.setdefault(scope.ex.step, {}).get(buffer)
        if live is None:
            live = loop.buffers[scope.ex.step][buffer] = LiveBuffer()
        added, total = collect(live, ev, expected)
        # The buffer is shared live: what this execution saw or took may come from
        # adds that have not committed yet; its completion must not commit before them.
        me = scope.ex.id
        if live.uncommitted and (len(live.uncommitted) > 1 or me not in live.uncommitted):
            loop.order.depend(me, scope.ex.step, live.uncommitted)
        if added:
            live.uncommitted.add(me)
            scope.collect.append(("add", buffer, ev, loop.next_op(), None))
        if total is not None:
            scope.collect.append(("clear", buffer, None, loop.next_op(), live.take_all()))
            return [handed_out(e) for e in total]
        return total

    async def wait_for_event(
        self,
        event_type: type[T],
        waiter_event: Event | None = None,
        waiter_id: str | None = None,
        requirements: dict[str, Any] | None = None,
        timeout: float | None = 2000,
    ) -> T:
        """Wait for an event of ``event_type`` (matching ``requirements``) sent into the run.

        The step is parked and the wait journaled; when the event arrives (live,
        or through the store while no process runs the run) the step runs again
        from its start and this call returns the event. Keep it near the top of
        the step: work before it runs again. ``waiter_event`` is written to the
        stream once per ``waiter_id``; ``timeout`` counts run time (see README).

        Raises:
            asyncio.TimeoutError: the timeout elapsed.
        """
        scope = self._require_scope("wait_for_event")
        loop = self._require_loop("wait_for_event")
        try:  # journaled with the waiter: JSON values only, and a copy the caller can't change
            requirements = json.loads(json.dumps(dict(requirements or {})))
        except (TypeError, ValueError) as exc:
            raise WorkflowRuntimeError(
                f"wait_for_event() requirements must be JSON values (str, number, bool, None, "
                f"lists and dicts of them): {exc}"
            ) from exc
        if waiter_id is None:
            reqs = json.dumps(requirements, sort_keys=True, default=str)
            waiter_id = f"waiter_{qualified_name(event_type)}_{reqs}_{scope.ex.id}"
        waiter = loop.state.waiters.get(waiter_id)
        if waiter is not None and waiter.exec_id == scope.ex.id:
            if waiter.timed_out:
                raise asyncio.TimeoutError(f"Timed out waiting for {event_type.__name__}")
            if waiter.resolved is not None:
                return cast(T, handed_out(waiter.resolved))
        raise WaitingForEvent(waiter_id, event_type, requirements, timeout, waiter_event)

    def write_event_to_stream(self, ev: Event | None) -> None:
        """Publish ``ev`` to the run's stream: live consumers get it now, and it is
        journaled with a stream position when the step commits (see README, Streams)."""
        if ev is None:
            return
        scope = current_scope.get()
        if scope is not None and scope.ctx is self:
            scope.stream.append(ev)
            if self._run_loop is not None:
                self._run_loop.publish_live(ev)  # journaled with the step's completion
            return
        self._require_loop("write_event_to_stream")
        raise ContextStateError("write_event_to_stream is only available from within step functions.")

    def retry_info(self) -> RetryInfo:
        """The running step's retry state: retry number (0 first), elapsed time, last error."""
        from datetime import datetime, timezone

        from ..codec.journal import rebuild_error
        from ..retry_policy import RetryInfo

        scope = self._require_scope("retry_info")
        ex = scope.ex
        loop = self._require_loop("retry_info")
        err = ex.last_error
        return RetryInfo(
            retry_number=ex.attempt - 1,
            elapsed_seconds=max(0.0, loop.state.last_ts - ex.first_ts) if ex.attempt > 1 else 0.0,
            last_exception=rebuild_error(err, WorkflowRuntimeError) if err else None,
            last_failed_at=datetime.fromtimestamp(loop.state.last_ts, tz=timezone.utc) if err else None,
        )

    async def running_steps(self) -> list[str]:
        """Names of steps with an execution in progress."""
        loop = self._require_handler_code("running_steps")
        return loop.state.active_steps()

    def _require_handler_code(self, fn: str) -> RunLoop:
        """The run, for methods upstream 2.26 allows only outside steps (its message inside one)."""
        loop = self._require_loop(fn)
        scope = current_scope.get()
        if scope is not None and scope.ctx is self:
            hint = ""
            if fn == "to_dict":
                # a dict taken mid-step would restore to before the step, without what the step did
                hint = (
                    " A durable run keeps each completed step in its journal: to keep progress across a"
                    " crash, handle one item per step execution and continue with wf.resume(run_id)."
                )
            raise ContextStateError(f"{fn} is only available from handler code, not from within steps.{hint}")
        return loop

    def _require_scope(self, fn: str) -> Any:
        scope = current_scope.get()
        if scope is None or scope.ctx is not self:
            self._require_loop(fn)
            raise ContextStateError(f"{fn} is only available from within step functions.")
        return scope

    # -- streaming (deprecated upstream spellings) -----------------------------------

    def stream_events(self) -> AsyncIterator[Event]:
        """The run's stream events; prefer ``handler.stream_events()``.

        Raises:
            ContextStateError: at call time, before the workflow runs.
        """
        loop = self._require_handler_code("stream_events")

        async def events() -> AsyncIterator[Event]:
            async for ev in loop.stream():
                yield ev

        return events()

    def get_result(self) -> Any:
        """Deprecated upstream spelling: the run's result once it finished (use ``await handler``)."""
        import warnings

        warnings.warn("Context.get_result() is deprecated; await the handler", DeprecationWarning, stacklevel=2)
        loop = self._require_handler_code("get_result")
        stop = loop.result.result()
        return stop.result if type(stop).__name__ == "StopEvent" else stop

    @property
    def streaming_queue(self) -> asyncio.Queue[Event]:
        """Deprecated upstream spelling: a queue fed with the stream (use ``handler.stream_events()``)."""
        import warnings

        warnings.warn("Context.streaming_queue is deprecated; use handler.stream_events()", DeprecationWarning, stacklevel=2)
        loop = self._require_handler_code("streaming_queue")
        queue: asyncio.Queue[Event] = asyncio.Queue()

        async def feed() -> None:
            async for ev in loop.stream():
                queue.put_nowait(ev)

        self._feeder = asyncio.get_running_loop().create_task(feed())
        return queue

    # -- serialization ---------------------------------------------------------------

    def to_dict(self, serializer: BaseSerializer | None = None, *, include_state: bool = True) -> dict[str, Any]:
        """A JSON-compatible snapshot of the run: upstream's layout plus the folded run.

        ``state`` is upstream's; ``run_id``, ``is_running`` and ``journal_seq``
        (the run's journal position) name where it was taken. Taken mid-run, it
        also holds under ``snapshot`` the run's whole folded state (queued
        events, waiters, collect buffers, attempts, stream position), so that
        ``wf.run(ctx=Context.from_dict(wf, d))`` continues it in any store and
        any process (README, "Stop now, resume later").

        Raises:
            ContextStateError: before the workflow runs, or called from within a
                step (both as upstream 2.26).
        """
        if self._run_loop is None:
            self._require_loop("to_dict")
        self._require_handler_code("to_dict")
        loop = self._run_loop
        running = self.is_running or _cancelled(loop)
        return {
            "run_id": self._run_id,
            "workflow": self._workflow.workflow_name,
            "is_running": running,
            # where the run's journal stood: run(ctx=Context.from_dict(...)) continues from here
            "journal_seq": loop.state.last_seq if loop is not None else None,
            "state": self._store.to_dict(serializer) if include_state else {},
            "snapshot": seed_payload(loop.state, self._codec()) if running and loop is not None else None,
        }

    @classmethod
    def from_dict(
        cls, workflow: HostedWorkflow, data: dict[str, Any], serializer: BaseSerializer | None = None
    ) -> Context[Any]:
        """Rebuild a Context from :meth:`to_dict` output.

        Raises:
            ContextSerdeError: the payload has a wrong or old format.
        """
        if not isinstance(data, dict) or "state" not in data:
            raise ContextSerdeError(
                "Error creating a Context instance: the provided payload has a wrong or old format."
            )
        return cls(workflow, previous_context=data, serializer=serializer)

    def _replace_state(self, state_json: Any) -> None:
        """Load committed state from the journal (resume)."""
        if state_json is None:
            return
        self._store._replace(self._codec().load_state(state_json, self._workflow._state_type()), state_json)


def _cancelled(loop: RunLoop | None) -> bool:
    """The run was cancelled: its dict still counts as taken mid-run (as upstream's)."""
    if loop is None or not loop.result.done() or loop.result.cancelled():
        return False
    return isinstance(loop.result.exception(), WorkflowCancelledByUser)


__all__ = ["Context", "DictState"]

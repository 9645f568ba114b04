"""Running step functions: tasks, arguments, resources."""

from __future__ import annotations

import asyncio
import functools
import inspect
from typing import Any

from .. import instrumentation
from ..events import StopEvent
from ..resource import descriptors_by_key
from ._loop_base import LoopBase, _Batch
from .faults import fault
from .scope import ExecScope, WaitingForEvent, current_scope, handed_out
from .state import EXEC_RUNNING


class StepsMixin(LoopBase):
    """Running step functions: tasks, arguments, resources."""

    # -- resources ------------------------------------------------------------------------

    def _on_resource(self, key: str, cache: bool) -> None:
        scope = current_scope.get()
        if scope is not None:
            scope.resources.append((key, cache))
        else:
            self._loose_resources.append((key, cache))

    async def _recreate_resources(self, batch: _Batch) -> None:
        """Rebuild the run's resource cache: each cached key the journal names, once."""
        known = descriptors_by_key(self.plan.resources())
        for key in sorted(self.state.resources):
            descriptor = known.get(key)
            if descriptor is not None and descriptor.cache:
                await self.resources.get(descriptor)

    # -- steps ------------------------------------------------------------------------------

    def _start_step(self, exec_id: int) -> None:
        ex = self.state.execs.get(exec_id)
        if ex is None or ex.status != EXEC_RUNNING:
            return
        old = self.tasks.pop(exec_id, None)
        if old is not None:
            old.cancel()
        scope = ExecScope(ex=ex, ctx=self.ctx)
        self.tasks[exec_id] = asyncio.get_running_loop().create_task(
            self._run_step(scope), name=f"{self.run_id}:{ex.step}:{ex.id}"
        )

    async def _run_step(self, scope: ExecScope) -> None:
        slot = current_scope.set(scope)
        fault("step_started")
        try:
            value = await self._invoke(scope)
            outcome = "ok"
        except WaitingForEvent as wait:
            outcome, value = "wait", wait
        except Exception as exc:  # noqa: BLE001 - a step's failure is data
            outcome, value = "error", exc
        finally:
            slot.scope = None  # timers the step left behind keep no reference to the run
        if outcome == "ok" and isinstance(value, StopEvent):
            self.stopping = True  # what other steps write from now on is never streamed live
        fault("step_finished")
        self.post("done", scope, outcome, value)

    async def _invoke(self, scope: ExecScope) -> Any:
        ex = scope.ex
        fn, cfg, is_coroutine = self.plan.step_call(ex.step)
        if instrumentation.enabled():  # llama-index-instrumentation spans, as upstream
            spanned = self._spanned.get(ex.step)
            if spanned is None or spanned[0] is not fn:
                call = instrumentation.span_step(
                    fn, self.plan.name.rsplit(".", 1)[-1], ex.step, is_coroutine, (WaitingForEvent,)
                )
                spanned = self._spanned[ex.step] = (fn, call)
            fn = functools.partial(spanned[1], self.run_id, ex.event)
        kwargs: dict[str, Any] = {cfg.event_name: handed_out(ex.event)}
        if ex.bound is not None:  # a join step (one event per parameter) or a collect step (a list)
            kwargs = {
                param: [handed_out(e) for e in ev] if isinstance(ev, list) else handed_out(ev)
                for param, ev in ex.bound.items()
            }
        if cfg.context_parameter:
            kwargs[cfg.context_parameter] = self.ctx
        if cfg.resources:
            with self.resources.resolution_scope():  # one value per cache=False resource per call
                for rd in cfg.resources:
                    kwargs[rd.name] = await self.resources.get(rd.resource)
        if is_coroutine:
            return await fn(**kwargs)
        result = await asyncio.to_thread(fn, **kwargs)
        if inspect.isawaitable(result):
            return await result
        return result


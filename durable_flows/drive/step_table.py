"""A workflow's steps as the runtime reads them: the step table of a ``Workflow``.

:class:`WorkflowMeta` gives every workflow class its own registry of
free-function steps (``Workflow.add_step``). :class:`StepTable`, a base of
``Workflow``, collects the steps of the class and its bases, binds them to the
instance, and builds from them what the runtime takes as plain inputs: the
:class:`~durable_flows.runtime.spec.RunSpec` (fingerprinted, replayed) and the
:class:`~durable_flows.runtime.plan.RunPlan` (calls, retry policies, limits).
The runtime never sees the ``Workflow``.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from ..codec.journal import Codec
from ..decorators import FROM_WORKFLOW, StepConfig
from ..errors import WorkflowRuntimeError
from ..events import Event
from ..runtime.plan import RunPlan
from ..runtime.spec import RunSpec, StepSpec, accepts

if TYPE_CHECKING:
    from pydantic import BaseModel


class WorkflowMeta(type):
    """Gives every workflow class its own registry of free-function steps."""

    def __init__(cls, name: str, bases: tuple[type, ...], dct: dict[str, Any]) -> None:
        super().__init__(name, bases, dct)
        cls._step_functions: dict[str, Any] = {}
        cls._step_functions_version = 0


class StepTable:
    """Mixed into ``Workflow``, whose ``__init__`` sets the fields below."""

    _step_functions: dict[str, Any]
    _step_functions_version: int
    _max_recoveries: int | None
    _timeout: float | None
    _verbose: bool
    _snapshot_every: int
    _spec: RunSpec | None
    _bound: dict[str, Any]
    _calls: dict[str, tuple[Any, StepConfig, bool]]
    _spec_version: int
    _codec_obj: Codec

    @property
    def workflow_name(self) -> str:
        raise NotImplementedError

    def _state_type(self) -> type[BaseModel]:
        raise NotImplementedError

    @classmethod
    def _class_steps(cls) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for klass in reversed(cls.__mro__):
            for name, attr in vars(klass).items():
                if getattr(attr, "_step_config", None) is not None:
                    found[name] = attr
            found.update(getattr(klass, "_step_functions", {}) if isinstance(klass, WorkflowMeta) else {})
        return found

    def _get_steps(self) -> dict[str, Any]:
        """Step name -> callable (bound methods for method steps)."""
        steps: dict[str, Any] = {}
        for name, attr in self._class_steps().items():
            bound = getattr(self, name, None)
            steps[name] = bound if getattr(bound, "_step_config", None) is not None else attr
        return steps

    def _plan(self) -> RunPlan:
        """What the run loop needs of this workflow (the runtime never sees the Workflow)."""
        return RunPlan(
            name=self.workflow_name,
            spec=self._run_spec(),
            codec=self._codec(),
            timeout=self._timeout,
            verbose=self._verbose,
            snapshot_every=self._snapshot_every,
            step_call=self._step_call,
            retry_policy=lambda step: self._step_config(step).retry_policy,
            recovery_limit=self._recovery_limit,
            resources=lambda: [rd for cfg in self._step_configs().values() for rd in cfg.resources],
        )

    def _recovery_limit(self, step: str) -> int | None:
        """Process deaths an execution of ``step`` may be in flight for (None: no limit)."""
        own = self._step_config(step).max_recoveries if step in self._step_configs() else FROM_WORKFLOW
        return self._max_recoveries if own == FROM_WORKFLOW else own  # type: ignore[return-value]

    def _step_configs(self) -> dict[str, StepConfig]:
        return {name: fn._step_config for name, fn in self._get_steps().items()}

    def _step_function(self, name: str) -> Any:
        """The callable of step ``name`` (bound for method steps), from the spec's cache."""
        self._run_spec()
        return self._bound[name]

    def _step_call(self, name: str) -> tuple[Any, StepConfig, bool]:
        """(callable, config, is it a coroutine function) of step ``name``, cached."""
        found = self._calls.get(name)
        if found is None or self._spec_version != type(self)._step_functions_version:
            fn = self._step_function(name)
            found = self._calls[name] = (fn, fn._step_config, inspect.iscoroutinefunction(fn))
        return found

    def _step_config(self, name: str) -> StepConfig:
        return self._step_function(name)._step_config  # type: ignore[no-any-return]

    def _validate_valid_step_message(self, step: str, message: Event) -> None:
        configs = self._step_configs()
        if step not in configs:
            raise WorkflowRuntimeError(f"Step {step} does not exist")
        if not accepts(self._run_spec().steps[step], type(message)):
            raise WorkflowRuntimeError(f"Step {step} does not accept event of type {type(message)}")

    def _codec(self) -> Codec:
        return self._codec_obj

    def _run_spec(self) -> RunSpec:
        version = type(self)._step_functions_version
        if self._spec is None or self._spec_version != version:
            steps = {}
            self._bound = self._get_steps()
            for name, fn in self._bound.items():
                steps[name] = StepSpec.from_config(name, fn._step_config)
            st = self._state_type()
            self._spec = RunSpec(steps=steps, state_type=f"{st.__module__}.{st.__qualname__}")
            self._spec_version = version
        return self._spec

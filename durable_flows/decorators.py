"""``@step`` and ``@catch_error``: turn functions into workflow steps.

Both decorators read the function's signature once, store the result as
``func._step_config`` (a :class:`StepConfig`) and return the function itself,
so decorated methods stay ordinary methods. The runtime and the validator only
ever look at the :class:`StepConfig`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, ParamSpec, Protocol, TypeVar, cast, overload

from .errors import WorkflowValidationError
from .events import StepFailedEvent
from .retry_policy import RetryPolicy
from .spec.joins import join_params
from .spec.signature import caller_namespace, check_step_signature, inspect_step_signature
from .spec.signature import is_free_function as is_free_function
from .spec.step_config import FROM_WORKFLOW as FROM_WORKFLOW
from .spec.step_config import CatchErrorHandler as CatchErrorHandler
from .spec.step_config import StepConfig as StepConfig
from .spec.step_config import StepGraphCheck as StepGraphCheck
from .spec.step_config import StepRole as StepRole
from .spec.step_config import WorkflowGraphCheck as WorkflowGraphCheck

P = ParamSpec("P")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)


class StepFunction(Protocol, Generic[P, R_co]):
    """A function decorated with ``@step`` or ``@catch_error``."""

    _step_config: StepConfig
    __name__: str
    __qualname__: str

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R_co: ...


class _StepRegistry(Protocol):
    """What ``@step(workflow=...)`` needs from a workflow class."""

    @classmethod
    def add_step(cls, func: Any) -> None: ...


def make_step_function(
    func: Callable[P, R],
    *,
    num_workers: int = 4,
    retry_policy: RetryPolicy | None = None,
    localns: dict[str, Any] | None = None,
    skip_graph_checks: list[str] | None = None,
    accept_event_subclasses: bool = False,
) -> StepFunction[P, R]:
    """Attach a :class:`StepConfig` built from ``func``'s signature and return ``func``.

    Args:
        func: The step function or method.
        num_workers: Concurrency limit stored in the config (not checked here).
        retry_policy: Stored in the config.
        localns: Names visible where the decorator was applied, for string annotations.
        skip_graph_checks: Stored in the config.
        accept_event_subclasses: Stored in the config.

    Raises:
        WorkflowValidationError: The signature has no (or several) event
            parameters, no return annotation, unresolvable annotations, or an
            unsupported shape.
    """
    name = getattr(func, "__qualname__", repr(func))
    spec = inspect_step_signature(func, localns)
    event_name, accepted = check_step_signature(name, spec)
    step_fn = cast("StepFunction[P, R]", func)
    step_fn._step_config = StepConfig(
        accepted_events=list(accepted),
        event_name=event_name,
        return_types=spec.return_types,
        context_parameter=spec.context_parameter,
        context_state_type=spec.context_state_type,
        num_workers=num_workers,
        retry_policy=retry_policy,
        resources=spec.resources,
        skip_graph_checks=list(skip_graph_checks or []),
        accept_event_subclasses=accept_event_subclasses,
        collect_params=join_params(name, spec.event_params),
        is_fan_out=spec.fan_out,
        bare_return_types=tuple(spec.bare_return_types) if spec.fan_out else (),
        collection_param=spec.collection[:2] if spec.collection else None,
        collection_take=spec.collection[2] if spec.collection else 0,
    )
    return step_fn


def _apply_step(
    func: Callable[P, R],
    localns: dict[str, Any],
    *,
    workflow: type[Any] | None,
    num_workers: int,
    retry_policy: RetryPolicy | None,
    skip_graph_checks: list[str] | None,
    accept_event_subclasses: bool,
    max_recoveries: int | str | None = FROM_WORKFLOW,
) -> StepFunction[P, R]:
    if not isinstance(num_workers, int) or num_workers <= 0:
        raise WorkflowValidationError("num_workers must be an integer greater than 0")
    if max_recoveries != FROM_WORKFLOW:
        check_max_recoveries(max_recoveries)
    step_fn = make_step_function(
        func,
        num_workers=num_workers,
        retry_policy=retry_policy,
        localns=localns,
        skip_graph_checks=skip_graph_checks,
        accept_event_subclasses=accept_event_subclasses,
    )
    if is_free_function(step_fn.__qualname__):
        if workflow is None:
            raise WorkflowValidationError(
                f"To decorate {step_fn.__name__} please pass a workflow class to the "
                "@step decorator."
            )
        cast("_StepRegistry", workflow).add_step(step_fn)
    step_fn._step_config.max_recoveries = max_recoveries
    return step_fn


def check_max_recoveries(value: Any) -> None:
    """``max_recoveries`` must be a non-negative int or None.

    Raises:
        WorkflowValidationError: it is not.
    """
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise WorkflowValidationError(
            f"max_recoveries must be an integer >= 0 or None (no limit), got {value!r}"
        )


@overload
def step(func: Callable[P, R]) -> StepFunction[P, R]: ...


@overload
def step(
    *,
    workflow: type[Any] | None = None,
    num_workers: int = 4,
    retry_policy: RetryPolicy | None = None,
    skip_graph_checks: list[StepGraphCheck] | None = None,
    accept_event_subclasses: bool = False,
    max_recoveries: int | str | None = FROM_WORKFLOW,
) -> Callable[[Callable[P, R]], StepFunction[P, R]]: ...


def step(
    func: Callable[P, R] | None = None,
    *,
    workflow: type[Any] | None = None,
    num_workers: int = 4,
    retry_policy: RetryPolicy | None = None,
    skip_graph_checks: list[StepGraphCheck] | None = None,
    accept_event_subclasses: bool = False,
    max_recoveries: int | str | None = FROM_WORKFLOW,
) -> Callable[[Callable[P, R]], StepFunction[P, R]] | StepFunction[P, R]:
    """Declare a function or method as a workflow step.

    Usable bare (``@step``) or with options (``@step(num_workers=2)``). The
    event parameter is the one annotated with an ``Event`` subclass (or a
    Union of them); a ``Context`` / ``Context[State]`` parameter receives the
    run context; ``Annotated[T, Resource(...)]`` parameters receive resources.
    String annotations (``from __future__ import annotations``) are resolved
    against the function's module and the scope the decorator is applied in.

    Args:
        func: The function, when used bare.
        workflow: Workflow class a free function is added to (through its
            ``add_step`` classmethod). Ignored for methods, which their class
            discovers itself.
        num_workers: Maximum concurrent executions of the step; a positive int.
        retry_policy: Policy deciding whether and when a failed execution is retried.
        skip_graph_checks: Graph checks this step opts out of
            (``"reachability"``, ``"dead_end"``).
        accept_event_subclasses: Also route subclasses of the accepted events.
        max_recoveries: How many process deaths one execution of this step may
            be in flight for before the run is marked failed (``None``: no
            limit); by default the workflow's ``max_recoveries``.

    Returns:
        The function itself, carrying ``_step_config``; or, with options, a
        decorator doing that.

    Raises:
        WorkflowValidationError: ``num_workers`` is not a positive int, the
            signature is not a valid step, or a free function is decorated
            without ``workflow=``.
    """
    if func is not None:
        return _apply_step(
            func,
            caller_namespace(0),
            workflow=workflow,
            num_workers=num_workers,
            retry_policy=retry_policy,
            skip_graph_checks=list(skip_graph_checks or []),
            accept_event_subclasses=accept_event_subclasses,
            max_recoveries=max_recoveries,
        )

    def decorator(inner: Callable[P, R]) -> StepFunction[P, R]:
        return _apply_step(
            inner,
            caller_namespace(0),
            workflow=workflow,
            num_workers=num_workers,
            retry_policy=retry_policy,
            skip_graph_checks=list(skip_graph_checks or []),
            accept_event_subclasses=accept_event_subclasses,
            max_recoveries=max_recoveries,
        )

    return decorator


def _apply_catch_error(
    func: Callable[P, R],
    localns: dict[str, Any],
    for_steps: list[str] | None,
    max_recoveries: int,
) -> StepFunction[P, R]:
    step_fn = make_step_function(func, num_workers=1, retry_policy=None, localns=localns)
    config = step_fn._step_config
    if len(config.accepted_events) != 1 or config.accepted_events[0] is not StepFailedEvent:
        name = getattr(func, "__name__", repr(func))
        raise WorkflowValidationError(
            f"@catch_error handler '{name}' must accept StepFailedEvent as its event parameter."
        )
    config.role = "catch_error"
    config.catch_error_for_steps = list(for_steps) if for_steps is not None else None
    config.catch_error_max_recoveries = max_recoveries
    return step_fn


@overload
def catch_error(func: Callable[P, R]) -> StepFunction[P, R]: ...


@overload
def catch_error(
    *,
    for_steps: list[str] | None = None,
    max_recoveries: int = 1,
) -> Callable[[Callable[P, R]], StepFunction[P, R]]: ...


def catch_error(
    func: Callable[P, R] | None = None,
    *,
    for_steps: list[str] | None = None,
    max_recoveries: int = 1,
) -> Callable[[Callable[P, R]], StepFunction[P, R]] | StepFunction[P, R]:
    """Declare a method as the handler of steps that failed for good.

    The handler's event parameter must be ``StepFailedEvent``. It runs, with
    one worker, when a covered step raised and its retry policy (if any) gave
    up; whatever it returns continues the run (a ``StopEvent`` ends it).

    Args:
        func: The method, when used bare (``@catch_error``).
        for_steps: Names of the steps covered; None makes this the wildcard
            handler covering every step no scoped handler claims.
        max_recoveries: How many times the handler may run per lineage before
            the run fails instead; an int >= 1.

    Returns:
        The method itself carrying ``_step_config`` (role ``"catch_error"``);
        or, with options, a decorator doing that.

    Raises:
        WorkflowValidationError: Invalid options, or the event parameter is
            not ``StepFailedEvent``.
    """
    if not isinstance(max_recoveries, int) or max_recoveries < 1:
        raise WorkflowValidationError("@catch_error max_recoveries must be an integer >= 1")
    if for_steps is not None and (
        not isinstance(for_steps, list) or not all(isinstance(s, str) for s in for_steps)
    ):
        raise WorkflowValidationError(
            "@catch_error for_steps must be None or a list of step name strings"
        )
    if func is not None:
        return _apply_catch_error(func, caller_namespace(0), for_steps, max_recoveries)

    def decorator(inner: Callable[P, R]) -> StepFunction[P, R]:
        return _apply_catch_error(inner, caller_namespace(0), for_steps, max_recoveries)

    return decorator

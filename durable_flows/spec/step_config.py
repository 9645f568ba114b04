"""What a decorated step is, as data: :class:`StepConfig` and the handler view.

``@step`` and ``@catch_error`` (:mod:`durable_flows.decorators`, where users
import these names) build a :class:`StepConfig` from a function's signature;
the validator, the run spec and the runtime read only this.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from ..resource import ResourceDefinition
    from ..retry_policy import RetryPolicy

WorkflowGraphCheck = Literal["reachability", "terminal_event", "dead_end"]
"""Names of the graph checks a workflow may skip (``Workflow(skip_graph_checks=...)``)."""

StepGraphCheck = Literal["reachability", "dead_end"]
"""Names of the graph checks one step may opt out of (``@step(skip_graph_checks=...)``)."""

StepRole = Literal["step", "catch_error"]

#: ``StepConfig.max_recoveries`` when the step does not set its own.
FROM_WORKFLOW = "workflow"


@dataclasses.dataclass
class StepConfig:
    """Everything the runtime and the validator know about one step.

    Attributes:
        accepted_events: Event classes the event parameter accepts (Union expanded).
        event_name: Name of the event parameter.
        return_types: Types from the return annotation, Union expanded;
            ``type(None)`` stands for ``None``/``Optional``.
        context_parameter: Name of the ``Context`` parameter, or None.
        num_workers: How many executions of this step may run at once.
        retry_policy: Policy consulted when the step raises, or None.
        resources: Resources injected into the step, one per parameter.
        context_state_type: ``S`` from a ``ctx: Context[S]`` annotation.
        skip_graph_checks: Graph checks this step opts out of.
        role: ``"catch_error"`` for ``@catch_error`` handlers.
        catch_error_for_steps: Steps a handler covers; None for a wildcard handler.
        catch_error_max_recoveries: Times a handler may run per lineage.
        accept_event_subclasses: Route subclasses of the accepted events here too.
        collect_params: For a join step (several event parameters): its
            ``(parameter, event class)`` slots in declaration order; else None.
        is_fan_out: The return annotation has a ``list[E]`` member.
        bare_return_types: Return members outside lists, for a fan-out step.
        collection_param: For a collect step (one ``list[E]`` parameter): its
            name and element types; else None.
        collection_take: ``n`` of ``Collect(Take(n))``; 0 for ``All`` (release at stream close).
    """

    accepted_events: list[Any]
    event_name: str
    return_types: list[Any]
    context_parameter: str | None
    num_workers: int
    retry_policy: RetryPolicy | None
    resources: list[ResourceDefinition]
    context_state_type: Any | None = None
    skip_graph_checks: list[str] = dataclasses.field(default_factory=list)
    role: StepRole = "step"
    catch_error_for_steps: list[str] | None = None
    catch_error_max_recoveries: int = 1
    accept_event_subclasses: bool = False
    #: Process deaths one execution may be in flight for before the run fails;
    #: ``None``: no limit; :data:`FROM_WORKFLOW`: the workflow's ``max_recoveries``.
    max_recoveries: int | str | None = "workflow"
    collect_params: list[tuple[str, Any]] | None = None
    is_fan_out: bool = False
    bare_return_types: tuple[Any, ...] = ()
    collection_param: tuple[str, tuple[Any, ...]] | None = None
    collection_take: int = 0


@dataclasses.dataclass(frozen=True)
class CatchErrorHandler:
    """A ``@catch_error`` handler as the failure router sees it.

    Attributes:
        step_name: Name of the handler step.
        for_steps: Steps it covers; None for the wildcard handler.
        max_recoveries: Times it may run per lineage.
    """

    step_name: str
    for_steps: list[str] | None
    max_recoveries: int

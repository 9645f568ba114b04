"""The errors llama-index-workflows raises, under the same names, so ``except``
clauses written for upstream keep working (all under :class:`DurableFlowsError`)."""

from __future__ import annotations

from .root import DurableFlowsError


class WorkflowValidationError(DurableFlowsError):
    """Raised when the workflow configuration or step signatures are invalid."""


class StateTypeError(DurableFlowsError, ValueError):
    """State types that cannot go together (a ValueError, as upstream raises).

    Steps annotated ``Context[A]`` and ``Context[B]`` where neither type
    derives from the other, or ``set_state`` with a type that is neither the
    state's type, a subclass of it, nor a parent type of it.
    """


class WorkflowTimeoutError(DurableFlowsError):
    """Raised when a workflow run exceeds the configured timeout."""


class WorkflowRuntimeError(DurableFlowsError):
    """Raised for runtime errors during step execution or event routing."""


class WorkflowDone(DurableFlowsError):
    """Internal control-flow exception used to stop workers at run end."""


class WorkflowCancelledByUser(DurableFlowsError):
    """Raised when a run is cancelled via the handler, the store or the CLI."""


class WorkflowStepDoesNotExistError(DurableFlowsError):
    """Raised when addressing a step that does not exist in the workflow."""


class WorkflowConfigurationError(DurableFlowsError):
    """Raised when a logical configuration error is detected before a run."""


class ContextSerdeError(DurableFlowsError):
    """Raised when serializing or deserializing a ``Context`` fails."""


class ContextStateError(WorkflowRuntimeError):
    """Raised when a context method is called in the wrong state: before a run
    (``requires a running workflow``), outside a step (``only available from within
    step functions``), or a second run on a context that is running. A
    WorkflowRuntimeError, which these misuses raised before."""

"""The graph checks run when a workflow is defined, at upstream's path.

``workflows.representation.validate`` in llama-index-workflows. The checks
themselves live in :mod:`durable_flows.spec.graph_checks`:
:func:`build_step_graph` gives the step/event graph (:class:`StepGraph`),
:func:`validate_graph` every failed check as a :class:`GraphValidationError`
(``check``, ``message``, ``hint``, ``step_names``).
"""

from __future__ import annotations

from ..spec.graph_checks import (
    GraphValidationError,
    StepGraph,
    build_step_graph,
    validate_graph,
)

__all__ = ["GraphValidationError", "StepGraph", "build_step_graph", "validate_graph"]

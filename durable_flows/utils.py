"""Step-inspection helpers at upstream's path (``workflows.utils``).

Thin face over :mod:`durable_flows.spec.step_inspection` and
:mod:`durable_flows.spec.signature`: read and check a step function's
signature, list the ``@step`` methods of a class or instance, tell a free
function from a method by its ``__qualname__``. ``_nanoid``,
``_get_param_types`` and ``_get_return_types`` keep upstream's private
spellings because upstream's sibling packages and tests import them.
"""

from __future__ import annotations

from .spec.signature import is_free_function
from .spec.step_inspection import (
    StepSignatureSpec,
    get_steps_from_class,
    get_steps_from_instance,
    inspect_signature,
    validate_step_signature,
)
from .spec.step_inspection import nanoid as _nanoid  # noqa: F401
from .spec.step_inspection import param_types as _get_param_types  # noqa: F401
from .spec.step_inspection import return_types as _get_return_types  # noqa: F401

__all__ = [
    "StepSignatureSpec",
    "get_steps_from_class",
    "get_steps_from_instance",
    "inspect_signature",
    "is_free_function",
    "validate_step_signature",
]

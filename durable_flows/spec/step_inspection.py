"""Upstream's step-inspection helpers (``workflows.utils``) over :mod:`.signature`.

:func:`inspect_signature` reads a step function's signature into a
:class:`~.signature.StepSignature` (upstream calls it ``StepSignatureSpec``);
:func:`validate_step_signature` checks it has one event parameter and a return
annotation; :func:`get_steps_from_class` and :func:`get_steps_from_instance`
list the ``@step`` methods of a class or object. ``durable_flows.utils``
re-exports them at upstream's path.
"""

from __future__ import annotations

import inspect
import secrets
import string
from collections.abc import Callable
from typing import Any

from ..errors import WorkflowValidationError
from .signature import (
    _NONE_TYPE,
    StepSignature,
    _strip_annotated,
    _union_members,
    inspect_step_signature,
    resolve_type_hints,
)

#: Upstream's name for what :func:`inspect_signature` returns.
StepSignatureSpec = StepSignature


def inspect_signature(fn: Callable[..., Any], localns: dict[str, Any] | None = None) -> StepSignature:
    """Read what ``fn``'s signature declares: event parameters, context, resources, returns.

    Args:
        fn: A step function or method (unbound).
        localns: Names visible where the function is defined, for string annotations.

    Raises:
        TypeError: ``fn`` is not callable.
        WorkflowValidationError: An annotation cannot be resolved, or ``fn``
            has a shape durable_flows does not run (``list[E]`` fan-in or
            fan-out, async-iterator returns).
    """
    return inspect_step_signature(fn, localns)


def validate_step_signature(spec: StepSignature) -> None:
    """Require exactly one event parameter and a return annotation, as upstream does.

    Raises:
        WorkflowValidationError: No event parameter, more than one, or no
            return annotation.
    """
    found = len(spec.event_params)
    if found == 0:
        raise WorkflowValidationError(
            "Step signature must have at least one parameter annotated as type Event"
        )
    if found > 1:
        raise WorkflowValidationError(
            f"Step signature must contain exactly one parameter of type Event but found {found}."
        )
    if not spec.return_types:
        raise WorkflowValidationError(
            "Return types of workflows step functions must be annotated with their type."
        )


def _steps_among(members: list[tuple[str, Any]]) -> dict[str, Any]:
    return {name: m for name, m in members if getattr(m, "_step_config", None) is not None}


def get_steps_from_class(_class: object) -> dict[str, Any]:
    """The class's ``@step`` functions (inherited ones included), by name."""
    return _steps_among(inspect.getmembers(_class, predicate=inspect.isfunction))


def get_steps_from_instance(workflow: object) -> dict[str, Any]:
    """The object's ``@step`` methods, bound to it, by name."""
    return _steps_among(inspect.getmembers(workflow, predicate=inspect.ismethod))


def param_types(param: inspect.Parameter, type_hints: dict[str, Any]) -> list[Any]:
    """The types a parameter's annotation allows: union members without ``None``;
    ``[Any]`` when it has no annotation."""
    hint = type_hints.get(param.name, param.annotation)
    if hint is inspect.Parameter.empty:
        return [Any]
    return [t for t in _union_members(hint) if t is not _NONE_TYPE]


def return_types(func: Callable[..., Any], localns: dict[str, Any] | None = None) -> list[Any]:
    """The types ``func``'s return annotation allows: union members without ``None``
    (``list[E]`` stays whole); empty when it has no return annotation.

    Raises:
        WorkflowValidationError: The annotations cannot be resolved.
    """
    hint = resolve_type_hints(func, localns).get("return")
    if hint is None:
        return []
    members = [_strip_annotated(t) for t in _union_members(_strip_annotated(hint))]
    return [t for t in members if t is not _NONE_TYPE and t is not None]


_ID_ALPHABET = string.ascii_letters + string.digits


def nanoid(size: int = 10) -> str:
    """A random id of ``size`` letters and digits (``secrets``-grade), e.g. ``kY2xP9hTnQ``."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(size))


__all__ = [
    "StepSignatureSpec",
    "get_steps_from_class",
    "get_steps_from_instance",
    "inspect_signature",
    "nanoid",
    "param_types",
    "return_types",
    "validate_step_signature",
]

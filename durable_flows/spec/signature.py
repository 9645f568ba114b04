"""Reading a step's signature: its event parameter, context, resources and return types.

Only :mod:`durable_flows.decorators` uses this module. It never imports the
context or workflow modules: a ``Context`` parameter is recognised by the name
of its annotation, so steps can be declared before those modules are loaded.
"""

from __future__ import annotations

import collections.abc as cabc
import inspect
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin, get_type_hints

from ..collect import Collect
from ..errors import WorkflowValidationError
from ..events import Event
from ..resource import ResourceDefinition, ResourceDescriptor
from .collection import (
    check_collect_step,
    check_marker,
    list_param_elements,
    second_collection,
    take_count,
)
from .joins import join_params, split_returns

_NONE_TYPE = type(None)
_UNION_ORIGINS: tuple[Any, ...] = (Union, types.UnionType)
_ASYNC_ITERATOR_ORIGINS: tuple[Any, ...] = (
    cabc.AsyncIterator,
    cabc.AsyncIterable,
    cabc.AsyncGenerator,
)
# Frames searched for names used in string annotations: the one applying the
# decorator (a class body, a module or a function) and the two enclosing it,
# which covers classes defined inside test functions and nested classes.
_CALLER_FRAMES = 3


@dataclass
class StepSignature:
    """What a step function's signature declares.

    Attributes:
        event_params: Event parameter name -> accepted event classes (Union
            members expanded, ``None`` dropped), in declaration order.
        return_types: Returned types, Union members expanded, ``type(None)``
            kept for ``None``/``Optional``; empty when there is no annotation.
        context_parameter: Name of the ``Context`` parameter, if any.
        context_state_type: ``S`` of ``Context[S]``, if given.
        resources: One definition per ``Annotated[T, <descriptor>]`` parameter.
        fan_out: The return annotation has a ``list[E]`` member.
        bare_return_types: Return members outside lists (``-> list[A] | B``: ``[B]``).
        collection: For a ``list[E]`` parameter: (name, element types, ``n`` of
            ``Take(n)`` or 0 for ``All``).
    """

    event_params: dict[str, list[Any]] = field(default_factory=dict)
    return_types: list[Any] = field(default_factory=list)
    context_parameter: str | None = None
    context_state_type: Any | None = None
    resources: list[ResourceDefinition] = field(default_factory=list)
    fan_out: bool = False
    bare_return_types: list[Any] = field(default_factory=list)
    collection: tuple[str, tuple[Any, ...], int] | None = None

    @property
    def accepted_events(self) -> dict[str, list[Any]]:
        """Upstream's name (``StepSignatureSpec.accepted_events``) for :attr:`event_params`."""
        return self.event_params


def caller_namespace(skip: int) -> dict[str, Any]:
    """Merge the local variables of the frames around a decorator's call site.

    Args:
        skip: Frames between the decorator and its call site: 0 when the
            function calling ``caller_namespace`` was itself called from the
            call site (``@step`` bare, or the inner decorator of ``@step()``).

    Returns:
        The locals of the call-site frame and of its enclosing frames, nearer
        frames winning, for resolving string annotations that name local classes.
    """
    try:
        frame: Any = sys._getframe(skip + 2)
    except ValueError:
        return {}
    frames: list[Any] = []
    while frame is not None and len(frames) < _CALLER_FRAMES:
        frames.append(frame)
        frame = frame.f_back
    namespace: dict[str, Any] = {}
    for fr in reversed(frames):
        namespace.update(fr.f_locals)
    del frame, frames
    return namespace


def resolve_type_hints(func: Callable[..., Any], localns: dict[str, Any] | None) -> dict[str, Any]:
    """Evaluate ``func``'s annotations, keeping ``Annotated`` metadata.

    Raises:
        WorkflowValidationError: An annotation names something not visible
            from the function's module or the decorating scope.
    """
    try:
        return get_type_hints(func, localns=localns, include_extras=True)
    except NameError as exc:
        missing = getattr(exc, "name", None)
        missing_msg = f" Missing name: {missing}." if missing else ""
        func_name = getattr(func, "__qualname__", type(func).__name__)
        raise WorkflowValidationError(
            f"Failed to resolve type annotations for {func_name}.{missing_msg} "
            "If you are using 'from __future__ import annotations' or string "
            "annotations, ensure referenced names are available in module scope "
            "or in the scope where the @step decorator is applied."
        ) from exc


def is_free_function(qualname: str) -> bool:
    """Tell a module-level or function-local function from a method, by ``__qualname__``.

    ``f`` and ``outer.<locals>.f`` are free; ``C.f`` and ``outer.<locals>.C.f`` are methods.

    Raises:
        ValueError: ``qualname`` is empty.
    """
    if not qualname:
        raise ValueError("The qualified name cannot be empty")
    parts = qualname.split(".")
    return len(parts) == 1 or parts[-2] == "<locals>"


def is_event_class(candidate: Any) -> bool:
    """True for ``Event`` and its subclasses, False for anything else (never raises)."""
    return isinstance(candidate, type) and issubclass(candidate, Event)


def _strip_annotated(hint: Any) -> Any:
    while get_origin(hint) is Annotated:
        hint = get_args(hint)[0]
    return hint


def _is_context_annotation(hint: Any) -> bool:
    target = get_origin(hint) or hint
    return getattr(target, "__name__", None) == "Context" and not is_event_class(target)


def _union_members(hint: Any) -> list[Any]:
    """Flatten nested unions into their members, in order, without duplicates."""
    if get_origin(hint) not in _UNION_ORIGINS:
        return [hint]
    members: list[Any] = []
    for arg in get_args(hint):
        for member in _union_members(arg):
            if member not in members:
                members.append(member)
    return members


def flatten_return_types(func_name: str, hint: Any) -> tuple[list[Any], bool, list[Any]]:
    """Expand a return annotation: (emitted types, fans out, bare types).

    The emitted types are what ``StepConfig.return_types`` stores: Union
    members expanded, ``list[E]`` unwrapped to ``E``, ``type(None)`` kept.

    Raises:
        WorkflowValidationError: The step returns an async iterator, which
            durable_flows does not run (nor does upstream).
    """
    hint = _strip_annotated(hint)
    members = [_strip_annotated(m) for m in _union_members(hint)]
    if any((get_origin(m) or m) in _ASYNC_ITERATOR_ORIGINS for m in members):
        raise WorkflowValidationError(
            "Async-iterator fan-out (AsyncIterator[E] / AsyncGenerator[E, None] / "
            "async generator steps) is not supported. Return list[E] for a "
            "static collection, or emit incrementally with ctx.send_event."
        )
    return split_returns(members)


def inspect_step_signature(
    func: Callable[..., Any], localns: dict[str, Any] | None = None
) -> StepSignature:
    """Read the parts of ``func``'s signature that make it a step.

    Parameters named ``self`` or ``cls`` and parameters that are neither a
    ``Context``, a resource nor an event are ignored (they keep their defaults).
    Resource descriptors receive their annotated type and ``localns`` here,
    so they can later be resolved without the step.

    Args:
        func: The step function or method (unbound).
        localns: Names visible where the decorator was applied.

    Returns:
        The signature, not yet checked for completeness (see
        :func:`check_step_signature`).

    Raises:
        WorkflowValidationError: Annotations cannot be resolved, the step
            returns an async iterator, or a ``Collect`` marker or ``list[E]``
            parameter is misplaced.
    """
    if not callable(func):
        raise TypeError(f"Expected a callable object, got {type(func).__name__}")
    name = getattr(func, "__qualname__", repr(func))
    hints = resolve_type_hints(func, localns)
    if inspect.isasyncgenfunction(func):
        flatten_return_types(name, cabc.AsyncGenerator)  # raises the upstream message
    spec = StepSignature()
    if "return" in hints:
        spec.return_types, spec.fan_out, spec.bare_return_types = flatten_return_types(
            name, hints["return"]
        )

    for param in inspect.signature(func).parameters.values():
        if param.name in ("self", "cls"):
            continue
        hint = hints.get(param.name, param.annotation)
        if hint is inspect.Parameter.empty:
            continue
        marker = None
        if get_origin(hint) is Annotated:
            inner, *metadata = get_args(hint)
            marker = next((m for m in metadata if isinstance(m, Collect)), None)
            descriptor = next((m for m in metadata if isinstance(m, ResourceDescriptor)), None)
            if descriptor is not None:
                descriptor.set_type_annotation(inner)
                descriptor.set_localns(localns)
                spec.resources.append(
                    ResourceDefinition(name=param.name, resource=descriptor, type_annotation=inner)
                )
                continue
            hint = _strip_annotated(inner)
        if _is_context_annotation(hint):
            spec.context_parameter = param.name
            args = get_args(hint)
            if args and not isinstance(args[0], TypeVar):
                spec.context_state_type = args[0]
            continue
        elements = list_param_elements(hint)
        check_marker(name, param.name, marker, elements is not None)
        if elements is not None:  # a collect step (collection streams)
            if spec.collection is not None:
                raise second_collection(name, spec.collection[0], param.name)
            spec.collection = (param.name, tuple(elements), take_count(marker))
            spec.event_params[param.name] = elements
            continue
        members = [m for m in _union_members(hint) if m is not _NONE_TYPE and m is not None]
        if members and all(is_event_class(m) for m in members):
            spec.event_params[param.name] = members
    return spec


def check_step_signature(func_name: str, spec: StepSignature) -> tuple[str, list[Any]]:
    """Require at least one event parameter and a return annotation.

    Returns:
        ``(first event parameter name, accepted event classes)``; a join step
        (several event parameters) accepts the type of each parameter.

    Raises:
        WorkflowValidationError: No event parameter, a join parameter with a
            Union of types, or no return annotation.
    """
    if not spec.event_params:
        raise WorkflowValidationError(
            "Step signature must have at least one parameter annotated as type Event"
        )
    check_collect_step(func_name, spec.collection and spec.collection[0], spec.event_params)
    slots = join_params(func_name, spec.event_params)
    if not spec.return_types:
        raise WorkflowValidationError(
            "Return types of workflows step functions must be annotated with their type."
        )
    event_name, accepted = next(iter(spec.event_params.items()))
    if slots is not None:
        accepted = [t for _, t in slots]
    return event_name, accepted

"""Collection fan-in parameters: ``events: list[E]`` and ``Annotated[list[E], Collect(...)]``.

A step with one ``list[E]`` parameter is a *collect* step (llama-index-workflows
2.26's collection streams): it receives, as one list, the members that reach it
from a collection stream, the events of one ``list[...]`` return and what
steps make of them, when that stream closes (``All``, the default) or at the
``n``-th member (``Take(n)``). The runtime side is ``runtime/streams.py``.
"""

from __future__ import annotations

from typing import Any, Union, get_args, get_origin

from ..collect import All, Collect, Take
from ..errors import WorkflowValidationError

_NONE_TYPE = type(None)


def _is_event_class(t: Any) -> bool:
    from ..events import Event

    return isinstance(t, type) and issubclass(t, Event)


def _union_args(hint: Any) -> list[Any] | None:
    if get_origin(hint) is Union or type(hint).__name__ == "UnionType":
        return list(get_args(hint))
    return None


def list_param_elements(hint: Any) -> list[Any] | None:
    """Element event types of a ``list[E]`` parameter annotation, or None if it is not one.

    ``list[A | B]`` -> ``[A, B]``; ``list[E] | None`` is read as ``list[E]``.
    """
    args = _union_args(hint)
    if args is not None:
        members = [a for a in args if a is not _NONE_TYPE]
        if len(members) == 1 and get_origin(members[0]) is list:
            hint = members[0]
    if get_origin(hint) is not list or not get_args(hint):
        return None
    out: list[Any] = []
    inner = get_args(hint)[0]
    for m in _union_args(inner) or [inner]:
        if m is not _NONE_TYPE and m not in out:
            out.append(m)
    if out and all(_is_event_class(m) for m in out):
        return out
    return None


def take_count(marker: Collect | None) -> int:
    """0 for ``All`` (release at stream close), ``n`` for ``Take(n)``."""
    if marker is None or isinstance(marker.cardinality, All):
        return 0
    assert isinstance(marker.cardinality, Take)
    return marker.cardinality.n


def check_marker(func_name: str, param: str, marker: Collect | None, is_list: bool) -> None:
    """Refuse a ``Collect`` marker that is misplaced or has an unknown cardinality.

    Raises:
        WorkflowValidationError: the marker is on a parameter that is not
            ``list[E]``, or its cardinality is neither ``All()`` nor ``Take(n)``.
    """
    if marker is None:
        return
    if not is_list:
        raise WorkflowValidationError(
            f"Step {func_name} parameter {param!r} carries a Collect marker but is not "
            "annotated as list[E] of an Event subclass. Collect markers apply only to "
            "collection fan-in (list[Event]) parameters."
        )
    if not isinstance(marker.cardinality, (All, Take)):
        raise WorkflowValidationError(
            f"Collect cardinality on {param!r} must be All() or Take(n). "
            "Other cardinalities are not supported."
        )


def check_collect_step(func_name: str, collection: str | None, event_params: dict[str, list[Any]]) -> None:
    """One ``list[E]`` parameter, and no other event parameter beside it.

    Raises:
        WorkflowValidationError: naming the parameters and what to declare instead.
    """
    if collection is not None and len(event_params) > 1:
        raise WorkflowValidationError(
            f"Step {func_name}: a list[E] collection parameter ({collection!r}) cannot be "
            "combined with other event parameters. Use a single list[E] parameter, or "
            "several single-event parameters for a join."
        )


def second_collection(func_name: str, first: str, second: str) -> WorkflowValidationError:
    """The error for a step with two ``list[E]`` parameters."""
    return WorkflowValidationError(
        f"Step {func_name}: a step may declare at most one list[E] collection parameter, "
        f"but found both {first!r} and {second!r}."
    )


def check_collect_producers(steps: dict[str, Any]) -> None:
    """Every element type of a collect step must come out of some ``list[...]`` return's stream.

    Reachability is followed from each fan-out step's returns through the steps
    that are neither collect steps nor fan-out steps (upstream's same-level walk,
    without entering nested streams: what those lead to is not checked).

    Raises:
        WorkflowValidationError: one line per collect step whose types no stream carries.
    """
    collects = {n: c for n, c in steps.items() if c.collection_param is not None}
    if not collects:
        return
    reachable: set[Any] = set()
    for cfg in steps.values():
        if cfg.is_fan_out:
            reachable |= _same_level(steps, cfg.return_types)
    errors = []
    for name, cfg in collects.items():
        param, element_types = cfg.collection_param
        missing = [
            t for t in element_types
            if not any(r is t or (cfg.accept_event_subclasses and isinstance(r, type) and issubclass(r, t)) for r in reachable)
        ]
        if missing:
            names = ", ".join(sorted(t.__name__ for t in missing))
            errors.append(
                f"Step '{name}' parameter '{param}' collects list[{names}], but no returned-list "
                "producer creates a stream for those event types. list[E] fan-in only consumes "
                "events from steps annotated as returning list[E]; use ctx.collect_events for "
                "unstreamed ctx.send_event flows."
            )
    if errors:
        raise WorkflowValidationError("\n".join(errors))


def _same_level(steps: dict[str, Any], seeds: Any, guard: frozenset[str] = frozenset()) -> set[Any]:
    """Types reachable from ``seeds`` in one stream; a nested list return adds what its collect steps return."""
    seen: set[Any] = set()
    frontier = [t for t in seeds if _is_event_class(t)]
    while frontier:
        t = frontier.pop()
        if t in seen:
            continue
        seen.add(t)
        for name, cfg in steps.items():
            if cfg.collection_param is not None or cfg.role == "catch_error" or not _takes(cfg, t):
                continue
            if not cfg.is_fan_out:
                frontier.extend(r for r in cfg.return_types if _is_event_class(r))
            elif name not in guard:
                child = _same_level(steps, cfg.return_types, guard | {name})
                for c in steps.values():
                    if c.collection_param is not None and any(_takes(c, x) for x in child):
                        frontier.extend(r for r in c.return_types if _is_event_class(r))
    return seen


def _takes(cfg: Any, t: Any) -> bool:
    return t in cfg.accepted_events or (
        cfg.accept_event_subclasses and any(isinstance(a, type) and issubclass(t, a) for a in cfg.accepted_events)
    )

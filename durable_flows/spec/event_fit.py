"""Whether an event sent into a run from outside fits the code that will take it.

An event's class may declare no fields at all (``HumanResponseEvent`` takes
any keyword), so a misspelled field (``answer`` for ``response``) builds a
valid event that the step then fails on, for good, after it was journaled.
This module finds, by reading the workflow's source, which fields each
consumer of the event reads: steps whose event parameter accepts its type
(``ev.name`` and ``ev["name"]``; ``ev.get("name")`` and ``getattr(ev,
"name", default)`` are optional reads) and variables assigned from ``await
ctx.wait_for_event(Type, ...)``. An event that lacks a field every one of
its consumers reads does not fit. A step whose source cannot be read adds
nothing: the check only refuses what it can prove.
"""

from __future__ import annotations

import ast
import inspect
import logging
import textwrap
from functools import lru_cache
from typing import Any

from ..errors import EventFieldsError

logger = logging.getLogger(__name__)


def _fn_source(fn: Any) -> ast.AST | None:
    try:
        return ast.parse(textwrap.dedent(inspect.getsource(inspect.unwrap(fn))))
    except (OSError, TypeError, SyntaxError):
        return None


def _resolve(node: ast.AST, scope: dict[str, Any]) -> Any:
    """The object a ``Name`` or dotted ``Attribute`` node names in ``scope``, or None."""
    if isinstance(node, ast.Name):
        return scope.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _resolve(node.value, scope)
        return getattr(base, node.attr, None) if base is not None else None
    return None


def _reads_of(tree: ast.AST, names: set[str]) -> set[str]:
    """Fields certainly read from the variables ``names`` in ``tree``."""
    found: set[str] = set()
    optional_calls: set[int] = set()
    for node in ast.walk(tree):
        # ev.get("x") / getattr(ev, "x", default): the code copes with a missing field.
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr == "get" and isinstance(func.value, ast.Name):
                if func.value.id in names:
                    optional_calls.add(id(func))
            if isinstance(func, ast.Name) and func.id == "getattr" and len(node.args) >= 2:
                target, attr = node.args[0], node.args[1]
                if isinstance(target, ast.Name) and target.id in names and isinstance(attr, ast.Constant):
                    if len(node.args) == 2 and isinstance(attr.value, str):
                        found.add(attr.value)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in names:
            if id(node) not in optional_calls and isinstance(node.ctx, ast.Load):
                found.add(node.attr)
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id in names:
            key = node.slice
            if isinstance(key, ast.Constant) and isinstance(key.value, str) and isinstance(node.ctx, ast.Load):
                found.add(key.value)
    return found


def _waited_names(tree: ast.AST, event_cls: type, scope: dict[str, Any]) -> set[str]:
    """Variables assigned ``await ctx.wait_for_event(T, ...)`` where ``event_cls`` is a ``T``."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Assign, ast.AnnAssign)) or not isinstance(node.value, ast.Await):
            continue
        call = node.value.value
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
            continue
        if call.func.attr != "wait_for_event" or not call.args:
            continue
        waited = _resolve(call.args[0], scope)
        if not (isinstance(waited, type) and issubclass(event_cls, waited)):
            continue
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def consumers_reads(workflow_cls: type, event_cls: type) -> dict[str, set[str]]:
    """Per consumer (``step`` or ``step (wait_for_event)``), the fields it reads from an ``event_cls``."""
    out: dict[str, set[str]] = {}
    for name, fn in workflow_cls._class_steps().items():  # type: ignore[attr-defined]
        cfg = fn._step_config
        tree = _fn_source(fn)
        if tree is None:
            continue
        scope = dict(getattr(inspect.unwrap(fn), "__globals__", {}))
        if any(isinstance(a, type) and issubclass(event_cls, a) for a in cfg.accepted_events):
            out[name] = _reads_of(tree, {cfg.event_name})
        waited = _waited_names(tree, event_cls, scope)
        if waited:
            out[f"{name} (wait_for_event)"] = _reads_of(tree, waited)
    return out


@lru_cache(maxsize=64)
def _workflow_class(name: str) -> type | None:
    from ..codec.names import import_qualified

    if name.startswith("__main__."):
        return None
    try:
        found = import_qualified(name)
    except Exception as exc:  # noqa: BLE001 - a run of code this process can't import: no check
        logger.debug("cannot import workflow %r to check an outside event: %s", name, exc)
        return None
    # a Workflow subclass, known by its step table (importing Workflow here would
    # point an arrow from the journal, which calls this check, up to the faces)
    return found if isinstance(found, type) and callable(getattr(found, "_class_steps", None)) else None


def _has(event: Any, field: str) -> bool:
    missing = object()
    try:
        return getattr(event, field, missing) is not missing
    except Exception:  # noqa: BLE001 - a property that raises: treat as present
        return True


def check_outside_event(run_id: str, workflow_name: str, event: Any) -> None:
    """Refuse ``event`` when every consumer in the run's workflow reads a field it lacks.

    The workflow is imported by the name the run is stored under; when that
    fails (a script's ``__main__``, a custom ``workflow_name``) nothing is checked.

    Raises:
        EventFieldsError: naming each consumer and the fields it would miss.
    """
    cls = _workflow_class(workflow_name)
    if cls is None:
        return
    reads = consumers_reads(cls, type(event))
    if not reads:
        return
    problems = []
    for consumer, fields in sorted(reads.items()):
        lacking = sorted(f for f in fields if not _has(event, f))
        if not lacking:
            return  # at least one consumer can take it as it is
        problems.append(f"step {consumer} reads {', '.join(repr(f) for f in lacking)}, which it does not have")
    given = sorted({*getattr(type(event), "model_fields", {}), *getattr(event, "_data", {})})
    if given:
        problems.append(f"it has {', '.join(repr(g) for g in given)}")
    raise EventFieldsError(run_id, f"{type(event).__module__}.{type(event).__qualname__}", problems)

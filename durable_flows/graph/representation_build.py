"""Build upstream's :class:`~.representation_types.WorkflowGraph` from a workflow's steps.

Called by :func:`durable_flows.representation.get_workflow_representation`,
which hands over the workflow class's name, docstring and step functions (each
carrying its ``_step_config``), so this module needs no workflow import.

Node ids follow upstream: a step's name, an event class's bare name,
``external_step`` for the human answering an ``InputRequiredEvent``,
``resource_<hash>`` and ``resource_config_<hash>`` for resources. A resource
node is shared by every step using the same factory; a config node by every
use of the same file and section. Resource dependencies (a factory taking
another ``Resource`` or a ``ResourceConfig``) become edges between resource
nodes, labelled with the factory's parameter.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic import BaseModel

from ..events import Event, HumanResponseEvent, InputRequiredEvent
from ..resource import _Resource
from ..resource.config import _load_json_section, _ResourceConfig
from .representation_types import (
    WorkflowEventNode,
    WorkflowExternalNode,
    WorkflowGraph,
    WorkflowGraphEdge,
    WorkflowGraphNode,
    WorkflowResourceConfigNode,
    WorkflowResourceNode,
    WorkflowStepNode,
)

EXTERNAL_STEP_ID = "external_step"


def build_representation(
    name: str, description: str | None, steps: Mapping[str, Callable[..., Any]]
) -> WorkflowGraph:
    """The graph of a workflow whose ``@step`` functions are ``steps`` (name -> function)."""
    builder = _Builder()
    for step_name, fn in steps.items():
        builder.add_step(step_name, fn)
    builder.connect_human()
    return WorkflowGraph(name=name, nodes=builder.nodes, edges=builder.edges, description=description)


def _event_classes(types: Iterable[Any]) -> list[type[Event]]:
    return [t for t in types if isinstance(t, type) and issubclass(t, Event)]


def _type_chain(cls: type) -> list[str]:
    """The class name, then its Event bases' names nearest first (``Event`` left out)."""
    return [c.__name__ for c in cls.__mro__ if issubclass(c, Event) and c is not Event]


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _type_name(annotation: Any) -> str | None:
    if annotation is None:
        return None
    return str(getattr(annotation, "__name__", annotation))


class _Builder:
    def __init__(self) -> None:
        self.nodes: list[WorkflowGraphNode] = []
        self.edges: list[WorkflowGraphEdge] = []
        self._ids: set[str] = set()
        self._edge_keys: set[tuple[str, str, str | None]] = set()
        self._resources: dict[str, str] = {}  # resource key -> node id
        self._expanded: set[str] = set()
        self._asks_human = False
        self._human_answers: list[str] = []

    def _node(self, node: WorkflowGraphNode) -> None:
        if node.id not in self._ids:
            self._ids.add(node.id)
            self.nodes.append(node)

    def _edge(self, source: str, target: str, label: str | None = None, unique: bool = False) -> None:
        key = (source, target, label)
        if unique and key in self._edge_keys:
            return
        self._edge_keys.add(key)
        self.edges.append(WorkflowGraphEdge(source=source, target=target, label=label))

    def _event(self, cls: type[Event]) -> str:
        if cls.__name__ not in self._ids:
            try:
                schema: dict[str, Any] | None = cls.model_json_schema()
            except Exception:  # a field type pydantic cannot describe
                schema = None
            self._node(
                WorkflowEventNode(
                    id=cls.__name__,
                    label=cls.__name__,
                    event_type=cls.__name__,
                    event_types=_type_chain(cls),
                    event_schema=schema,
                )
            )
        return cls.__name__

    def add_step(self, step_name: str, fn: Callable[..., Any]) -> None:
        cfg = fn._step_config  # type: ignore[attr-defined]
        self._node(WorkflowStepNode(id=step_name, label=step_name, description=inspect.getdoc(fn)))
        for cls in _event_classes(cfg.accepted_events):
            self._edge(self._event(cls), step_name)
            if issubclass(cls, HumanResponseEvent):
                self._human_answers.append(cls.__name__)
        for cls in _event_classes(cfg.return_types):
            self._edge(step_name, self._event(cls))
            if issubclass(cls, InputRequiredEvent):
                self._node(WorkflowExternalNode(id=EXTERNAL_STEP_ID, label=EXTERNAL_STEP_ID))
                self._edge(cls.__name__, EXTERNAL_STEP_ID, unique=True)
                self._asks_human = True
        for definition in cfg.resources:
            node_id = self._descriptor(definition.resource, definition.type_annotation)
            self._edge(step_name, node_id, definition.name)

    def connect_human(self) -> None:
        """Edges from the human to the HumanResponseEvents steps accept, when a step asks."""
        if self._asks_human:
            for name in self._human_answers:
                self._edge(EXTERNAL_STEP_ID, name, unique=True)

    def _descriptor(self, descriptor: Any, annotation: Any) -> str:
        if isinstance(descriptor, _ResourceConfig):
            return self._config(descriptor, annotation)
        if isinstance(descriptor, _Resource):
            return self._resource(descriptor, annotation)
        raise TypeError(f"Unsupported resource descriptor type: {type(descriptor).__name__}")

    def _resource(self, resource: _Resource[Any], annotation: Any) -> str:
        key = resource.name
        if key not in self._resources:
            factory: Any = resource.factory
            while isinstance(factory, functools.partial):
                factory = factory.func
            source_file: str | None = None
            source_line: int | None = None
            try:
                source_file = inspect.getfile(factory)
                source_line = inspect.getsourcelines(factory)[1]
            except (OSError, TypeError):  # built-ins, callables defined in a REPL
                pass
            getter = getattr(factory, "__qualname__", None) or type(factory).__qualname__
            type_name = _type_name(annotation)
            node_id = "resource_" + _short_hash(f"{key}:{source_file or 'unknown'}")
            self._resources[key] = node_id
            self._node(
                WorkflowResourceNode(
                    id=node_id,
                    label=type_name or getter,
                    type_name=type_name,
                    getter_name=getter,
                    source_file=source_file,
                    source_line=source_line,
                    description=inspect.getdoc(factory),
                )
            )
        node_id = self._resources[key]
        if key not in self._expanded:
            self._expanded.add(key)  # before recursing: a cycle stops here
            for param, dep, dep_type in resource.get_dependencies():
                self._edge(node_id, self._descriptor(dep, dep_type), param, unique=True)
        return node_id

    def _config(self, config: _ResourceConfig[Any], annotation: Any) -> str:
        try:
            path = config.config_file
        except FileNotFoundError:
            path = config._original_config_file
        key = f"{path}:{config.path_selector or ''}"
        if key in self._resources:
            return self._resources[key]
        node_id = f"resource_config_{_short_hash(key)}"
        self._resources[key] = node_id
        model = annotation if annotation is not None else config.cls_factory
        schema = None
        if isinstance(model, type) and issubclass(model, BaseModel):
            schema = model.model_json_schema()
        try:
            value: dict[str, Any] | None = _load_json_section(path, config.path_selector)
        except (OSError, ValueError):
            value = None
        type_name = _type_name(model)
        self._node(
            WorkflowResourceConfigNode(
                id=node_id,
                label=config.label or type_name or path,
                type_name=type_name,
                config_file=path,
                path_selector=config.path_selector,
                config_schema=schema,
                config_value=value,
                description=config.description,
            )
        )
        return node_id

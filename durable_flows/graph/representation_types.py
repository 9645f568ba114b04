"""Upstream's graph of a workflow as pydantic models: nodes, edges, the graph.

The shape ``workflows.representation`` 2.x gives (and the HTTP API of
upstream's server serves): a node per step, per event type, per resource and
resource config, an ``external_step`` node standing for the human who answers
an ``InputRequiredEvent``; edges ``source -> target`` between node ids with an
optional label (a resource's parameter name). Each node class carries a
``node_type`` literal, so a dumped graph validates back to the same classes.
Built by :mod:`.representation_build`; simplified by :mod:`.node_filter`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class WorkflowNodeBase(BaseModel):
    """What every node has: an id unique in its graph and a label to show."""

    id: str = Field(description="Unique identifier of the node in its graph")
    label: str = Field(description="Text to show for the node")

    def truncated_label(self, max_length: int) -> str:
        """The label cut to ``max_length`` characters, the last one replaced by ``*``."""
        if len(self.label) > max_length:
            return self.label[: max_length - 1] + "*"
        return self.label


class WorkflowStepNode(WorkflowNodeBase):
    """A ``@step`` function; ``description`` is its docstring."""

    node_type: Literal["step"] = Field(default="step", description="Node kind")
    description: str | None = Field(default=None, description="The step's docstring")


def _in_chain(chain: list[str] | None, names: tuple[str, ...]) -> bool:
    return bool(chain) and any(n in chain for n in names)  # type: ignore[operator]


class WorkflowEventNode(WorkflowNodeBase):
    """An Event class that steps accept or return.

    ``event_types`` is the class name followed by the names of its Event base
    classes (nearest first, ``Event`` itself left out), so a consumer can test
    subclassing by name with :meth:`is_subclass_of`.
    """

    node_type: Literal["event"] = Field(default="event", description="Node kind")
    event_type: str = Field(description="The event class name")
    event_types: list[str] = Field(description="The class name, then its Event bases' names")
    event_schema: dict[str, Any] | None = Field(
        default=None, description="The event class's JSON schema"
    )

    def is_subclass_of(self, *type_names: str) -> bool:
        """Whether the event class is (a subclass of) one of the named classes."""
        return _in_chain(self.event_types, type_names)


class WorkflowExternalNode(WorkflowNodeBase):
    """Something outside the workflow: the human answering an ``InputRequiredEvent``."""

    node_type: Literal["external"] = Field(default="external", description="Node kind")


class WorkflowResourceNode(WorkflowNodeBase):
    """A ``Resource(factory)`` a step (or another resource) takes.

    Attributes:
        type_name: Name of the annotated type.
        getter_name: The factory's key (module-qualified name).
        source_file: File defining the factory.
        source_line: Line where the factory is defined.
        description: The factory's docstring.
    """

    node_type: Literal["resource"] = Field(default="resource", description="Node kind")
    type_name: str | None = Field(default=None, description="Name of the annotated type")
    getter_name: str | None = Field(default=None, description="The factory's name")
    source_file: str | None = Field(default=None, description="File defining the factory")
    source_line: int | None = Field(default=None, description="Line defining the factory")
    description: str | None = Field(default=None, description="The factory's docstring")


class WorkflowResourceConfigNode(WorkflowNodeBase):
    """A ``ResourceConfig(config_file=...)``: a JSON file read into a pydantic model.

    Attributes:
        type_name: Name of the model class.
        config_file: Absolute path of the JSON file.
        path_selector: Dotted path of the section read, if any.
        config_schema: The model's JSON schema.
        config_value: The section read from the file, when it could be read.
        description: The description given to ``ResourceConfig``.
    """

    node_type: Literal["resource_config"] = Field(
        default="resource_config", description="Node kind"
    )
    type_name: str | None = Field(default=None, description="Name of the model class")
    config_file: str | None = Field(default=None, description="Path of the JSON file")
    path_selector: str | None = Field(default=None, description="Section read from the file")
    config_schema: dict[str, Any] | None = Field(default=None, description="The model's schema")
    config_value: dict[str, Any] | None = Field(default=None, description="The section's value")
    description: str | None = Field(default=None, description="What the config is for")


class WorkflowGenericNode(WorkflowNodeBase):
    """Any other kind of node (agents, tools, ...), with an optional type chain."""

    node_type: str = Field(description="Node kind")
    event_type: str | None = Field(default=None, description="Type name, when it has one")
    event_types: list[str] | None = Field(
        default=None, description="The type name, then its bases' names"
    )

    def is_subclass_of(self, *type_names: str) -> bool:
        """Whether the node's type is (a subclass of) one of the named types."""
        return _in_chain(self.event_types, type_names)


# Validation tries the members in order; the generic node, whose node_type is
# any string, comes last so it only takes what no literal matched.
WorkflowGraphNode = (
    WorkflowStepNode
    | WorkflowEventNode
    | WorkflowExternalNode
    | WorkflowResourceNode
    | WorkflowResourceConfigNode
    | WorkflowGenericNode
)


class WorkflowGraphEdge(BaseModel):
    """A directed edge between two node ids; resource edges are labelled with the parameter."""

    source: str = Field(description="Id of the node the edge leaves")
    target: str = Field(description="Id of the node the edge enters")
    label: str | None = Field(default=None, description="Optional text on the edge")


class WorkflowGraph(BaseModel):
    """A workflow's nodes and edges; ``description`` is the workflow class's docstring."""

    name: str = Field(description="Name of the workflow class")
    nodes: list[WorkflowGraphNode] = Field(description="Every node")
    edges: list[WorkflowGraphEdge] = Field(description="Every edge")
    description: str | None = Field(default=None, description="The workflow's docstring")

    def filter_by_node_type(self, *node_types: str) -> WorkflowGraph:
        """A copy without the nodes of the given ``node_type`` values.

        An edge path that ran through removed nodes becomes one edge between
        the kept nodes at its ends (``a -> removed -> b`` gives ``a -> b``),
        labelled with the first removed node's label; a direct edge keeps its
        own label. Duplicate edges are dropped.
        """
        from .node_filter import without_node_types

        return without_node_types(self, set(node_types))


__all__ = [
    "WorkflowEventNode",
    "WorkflowExternalNode",
    "WorkflowGenericNode",
    "WorkflowGraph",
    "WorkflowGraphEdge",
    "WorkflowGraphNode",
    "WorkflowNodeBase",
    "WorkflowResourceConfigNode",
    "WorkflowResourceNode",
    "WorkflowStepNode",
]

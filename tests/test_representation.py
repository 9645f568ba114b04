"""Upstream's graph types: ``get_workflow_representation``, ``filter_by_node_type``, ``validate``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import pytest
from pydantic import BaseModel

from durable_flows import Context, Workflow, step
from durable_flows.events import (
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StopEvent,
)
from durable_flows.representation import (
    WorkflowEventNode,
    WorkflowExternalNode,
    WorkflowGenericNode,
    WorkflowGraph,
    WorkflowGraphEdge,
    WorkflowResourceConfigNode,
    WorkflowResourceNode,
    WorkflowStepNode,
    get_workflow_representation,
)
from durable_flows.representation.validate import (
    GraphValidationError,
    StepGraph,
    build_step_graph,
    validate_graph,
)
from durable_flows.resource import Resource, ResourceConfig

pytestmark = pytest.mark.timeout(30)


class Asked(InputRequiredEvent):
    pass


class Answered(HumanResponseEvent):
    pass


class Middle(Event):
    count: int = 0


class Special(Middle):
    pass


class Client:
    pass


class Settings(BaseModel):
    level: int


def make_client() -> Client:
    """Connects to the service."""
    return Client()


class Shop(Workflow):
    """Takes an order, asks a human, ships."""

    @step
    async def take(self, ev: StartEvent, client: Annotated[Client, Resource(make_client)]) -> Special:
        """Takes the order."""
        return Special()

    @step
    async def ask(self, ev: Special, client: Annotated[Client, Resource(make_client)]) -> Asked:
        return Asked()

    @step
    async def ship(self, ev: Answered) -> StopEvent:
        return StopEvent()


def edges(graph: WorkflowGraph) -> set[tuple[str, str, str | None]]:
    return {(e.source, e.target, e.label) for e in graph.edges}


def test_representation_has_upstream_ids_kinds_and_edges() -> None:
    graph = get_workflow_representation(Shop())
    assert graph.name == "Shop"
    assert graph.description == "Takes an order, asks a human, ships."
    kinds = {n.id: n.node_type for n in graph.nodes}
    resource_id = next(i for i, k in kinds.items() if k == "resource")
    assert kinds == {
        "take": "step",
        "ask": "step",
        "ship": "step",
        "StartEvent": "event",
        "Special": "event",
        "Asked": "event",
        "Answered": "event",
        "StopEvent": "event",
        "external_step": "external",
        resource_id: "resource",
    }
    assert resource_id.startswith("resource_")
    assert edges(graph) == {
        ("StartEvent", "take", None),
        ("take", "Special", None),
        ("take", resource_id, "client"),
        ("Special", "ask", None),
        ("ask", "Asked", None),
        ("Asked", "external_step", None),
        ("ask", resource_id, "client"),
        ("Answered", "ship", None),
        ("external_step", "Answered", None),
        ("ship", "StopEvent", None),
    }
    step_node = next(n for n in graph.nodes if n.id == "take")
    assert isinstance(step_node, WorkflowStepNode)
    assert step_node.description == "Takes the order."
    special = next(n for n in graph.nodes if n.id == "Special")
    assert isinstance(special, WorkflowEventNode)
    assert special.event_types == ["Special", "Middle"]
    assert special.is_subclass_of("Middle") and not special.is_subclass_of("StopEvent")
    assert special.event_schema is not None and "count" in special.event_schema["properties"]
    resource = next(n for n in graph.nodes if isinstance(n, WorkflowResourceNode))
    assert (resource.type_name, resource.getter_name) == ("Client", "make_client")
    assert resource.description == "Connects to the service."
    assert resource.source_file == __file__ and resource.source_line is not None


def test_representation_of_the_class_equals_that_of_an_instance() -> None:
    assert get_workflow_representation(Shop) == get_workflow_representation(Shop())


def test_representation_refuses_what_is_not_a_workflow() -> None:
    with pytest.raises(TypeError, match="expected a Workflow class or instance"):
        get_workflow_representation(object())


def test_resource_configs_and_dependencies_are_nodes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "conf.json").write_text(json.dumps({"db": {"level": 3}}))

    def connect(
        settings: Annotated[Settings, ResourceConfig(config_file="conf.json", path_selector="db", label="DB settings")],
    ) -> Client:
        return Client()

    class Configured(Workflow):
        @step
        async def go(
            self,
            ev: StartEvent,
            client: Annotated[Client, Resource(connect)],
            settings: Annotated[Settings, ResourceConfig(config_file="conf.json", path_selector="db")],
        ) -> StopEvent:
            return StopEvent()

    graph = get_workflow_representation(Configured)
    configs = [n for n in graph.nodes if isinstance(n, WorkflowResourceConfigNode)]
    assert len(configs) == 1, "the same file and section is one node"
    config = configs[0]
    assert config.id.startswith("resource_config_")
    assert config.config_file == str(tmp_path / "conf.json")
    assert (config.path_selector, config.config_value, config.type_name) == ("db", {"level": 3}, "Settings")
    assert config.label == "DB settings"
    assert config.config_schema is not None and "level" in config.config_schema["properties"]
    resource = next(n for n in graph.nodes if isinstance(n, WorkflowResourceNode))
    assert edges(graph) >= {
        ("go", resource.id, "client"),
        ("go", config.id, "settings"),
        (resource.id, config.id, "settings"),
    }


def test_a_missing_config_file_gives_a_node_without_value(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    class Missing(Workflow):
        @step
        async def go(self, ev: StartEvent, s: Annotated[Settings, ResourceConfig(config_file="nope.json")]) -> StopEvent:
            return StopEvent()

    config = next(n for n in get_workflow_representation(Missing).nodes if n.node_type == "resource_config")
    assert isinstance(config, WorkflowResourceConfigNode)
    assert (config.config_file, config.config_value) == ("nope.json", None)


def test_graph_round_trips_through_json_with_its_node_classes() -> None:
    graph = get_workflow_representation(Shop)
    graph.nodes.append(WorkflowGenericNode(id="agent1", label="agent", node_type="agent"))
    back = WorkflowGraph.model_validate_json(graph.model_dump_json())
    assert back == graph
    assert [type(n) for n in back.nodes] == [type(n) for n in graph.nodes]
    assert any(isinstance(n, WorkflowExternalNode) for n in back.nodes)


def test_truncated_label() -> None:
    node = WorkflowStepNode(id="s", label="abcdef")
    assert (node.truncated_label(6), node.truncated_label(4)) == ("abcdef", "abc*")


def test_filter_by_node_type_joins_paths_through_removed_nodes() -> None:
    graph = get_workflow_representation(Shop).filter_by_node_type("event", "external", "resource")
    assert {n.id for n in graph.nodes} == {"take", "ask", "ship"}
    assert edges(graph) == {("take", "ask", "Special"), ("ask", "ship", "Asked")}
    assert graph.description == "Takes an order, asks a human, ships."


def test_filter_by_node_type_keeps_direct_labels_and_drops_duplicates() -> None:
    graph = WorkflowGraph(
        name="g",
        nodes=[
            WorkflowStepNode(id="a", label="a"),
            WorkflowStepNode(id="b", label="b"),
            WorkflowEventNode(id="E1", label="E1", event_type="E1", event_types=["E1"]),
            WorkflowEventNode(id="E2", label="E2", event_type="E2", event_types=["E2"]),
            WorkflowResourceNode(id="r", label="r"),
        ],
        edges=[
            WorkflowGraphEdge(source="a", target="E1"),
            WorkflowGraphEdge(source="a", target="E2"),
            WorkflowGraphEdge(source="E1", target="b"),
            WorkflowGraphEdge(source="E2", target="b"),
            WorkflowGraphEdge(source="E2", target="E1"),
            WorkflowGraphEdge(source="E1", target="E2"),
            WorkflowGraphEdge(source="b", target="r", label="db"),
        ],
    )
    filtered = graph.filter_by_node_type("event")
    assert [(e.source, e.target, e.label) for e in filtered.edges] == [("a", "b", "E1"), ("b", "r", "db")]
    unfiltered = graph.filter_by_node_type("nothing")
    assert unfiltered.nodes == graph.nodes and edges(unfiltered) == edges(graph)


class Looping(Workflow):
    @step
    async def start(self, ev: StartEvent) -> Middle | StopEvent:
        return StopEvent()

    @step
    async def spin(self, ev: Middle) -> Special:
        return Special()

    @step
    async def spin_more(self, ev: Special, ctx: Context) -> Middle | StopEvent:
        return StopEvent()


def test_build_step_graph_and_validate_graph() -> None:
    configs = {name: fn._step_config for name, fn in Looping._class_steps().items()}
    graph = build_step_graph(configs, StartEvent)
    assert isinstance(graph, StepGraph)
    assert graph.step_names == {"start", "spin", "spin_more"}
    assert graph.event_types == {StartEvent, Middle, StopEvent, Special}
    assert set(graph.outgoing["start"]) == {Middle, StopEvent}
    assert {"start", "spin", "spin_more"} <= graph.forward_reachable
    assert {"start", "spin", "spin_more", Special} <= graph.reverse_reachable
    assert validate_graph(configs, StartEvent) == []
    assert build_step_graph({}, StartEvent).event_types == set()


def test_validate_graph_reports_dead_ends_unless_skipped() -> None:
    class Dead(Workflow):
        @step
        async def start(self, ev: StartEvent) -> Middle | StopEvent:
            return StopEvent()

        @step
        async def spin(self, ev: Middle) -> Special:
            return Special()

        @step
        async def spin_more(self, ev: Special) -> Middle:
            return Middle()

    configs = {name: fn._step_config for name, fn in Dead._class_steps().items()}
    errors = validate_graph(configs, StartEvent)
    assert errors == [
        GraphValidationError(
            check="dead_end",
            message="Dead-end steps: spin, spin_more",
            hint="Steps must have a path to StopEvent or InputRequiredEvent.",
            step_names=["spin", "spin_more"],
        )
    ]
    assert validate_graph(configs, StartEvent, skip_checks={"dead_end"}) == []

"""``draw`` and ``report``: the graph representation and the self-contained HTML report."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import flows
import pytest
from cli_helpers import Journal
from click.testing import CliRunner

from durable_flows.cli import main
from durable_flows.representation import get_workflow_graph, graph_from_fingerprint

pytestmark = pytest.mark.timeout(60)

EXTERNAL = re.compile(r"https?://|//cdn|<script[^>]*src|<link|@import|url\((?!#)", re.IGNORECASE)


def draw(*args: str) -> Any:
    return CliRunner().invoke(main, ["draw", *args], catch_exceptions=False)


# -- representation ---------------------------------------------------------------------


def test_graph_of_a_fan_out() -> None:
    graph = get_workflow_graph(flows.FanOut)
    kinds = {n.id: n.kind for n in graph.nodes}
    assert kinds == {
        "step:split": "step",
        "step:work": "step",
        "step:gather": "step",
        "event:durable_flows.events.StartEvent": "start",
        "event:flows.Item": "event",
        "event:flows.Squared": "event",
        "event:durable_flows.events.StopEvent": "stop",
    }
    edges = {(e.source, e.target, e.kind) for e in graph.edges}
    assert ("event:durable_flows.events.StartEvent", "step:split", "accepts") in edges
    assert ("step:split", "event:flows.Item", "returns") in edges
    assert ("step:gather", "event:durable_flows.events.StopEvent", "returns") in edges
    assert graph.node("step:work").detail["num_workers"] == 4  # type: ignore[union-attr]


def test_graph_shows_human_input_resources_and_error_handlers() -> None:
    asking = get_workflow_graph(flows.AskName())
    edges = {(e.source, e.target, e.kind) for e in asking.edges}
    assert ("event:durable_flows.events.InputRequiredEvent", "human", "asks") in edges
    assert ("human", "event:durable_flows.events.HumanResponseEvent", "answers") in edges
    tools = get_workflow_graph(flows.Tools)
    resource = next(n for n in tools.nodes if n.kind == "resource")
    assert (resource.label, resource.detail["parameter"]) == ("make_client", "client")
    edges = {(e.source, e.target, e.kind) for e in tools.edges}
    assert (resource.id, "step:call", "uses") in edges
    assert ("step:call", "event:durable_flows.events.StepFailedEvent", "fails") in edges
    assert ("event:durable_flows.events.StepFailedEvent", "step:recover", "accepts") in edges
    assert tools.node("step:recover").detail["catch_error_for"] == "all steps"  # type: ignore[union-attr]
    with pytest.raises(TypeError):
        get_workflow_graph(flows.Item)


def test_graph_from_a_journaled_fingerprint_needs_no_code() -> None:
    fingerprint = {
        "steps": {
            "ask": {"accepts": ["app.Start"], "returns": ["app.Prompt"], "num_workers": 4},
            "answer": {"accepts": ["app.Reply", "app.Nudge"], "returns": ["app.Done"], "num_workers": 1},
        }
    }
    graph = graph_from_fingerprint("app.Flow", fingerprint, {"app.Start": "start", "app.Reply": "human_response"})
    kinds = {n.id: n.kind for n in graph.nodes}
    assert kinds["event:app.Start"] == "start" and kinds["event:app.Done"] == "stop"
    assert kinds["event:app.Prompt"] == "stop"  # returned, accepted by nobody, kind unknown
    assert kinds["event:app.Reply"] == "human_response" and kinds["event:app.Nudge"] == "event"
    edges = {(e.source, e.target, e.kind) for e in graph.edges}
    assert ("human", "event:app.Reply", "answers") in edges
    assert ("outside", "event:app.Nudge", "sends") in edges


# -- draw ---------------------------------------------------------------------------------


def test_draw_mermaid() -> None:
    result = draw("flows:FanOut")
    assert result.exit_code == 0
    text = result.output
    assert text.startswith("%% flows.FanOut\nflowchart TD\n")
    assert 'n0["split"]' in text and '(["StartEvent"])' in text and "classDef step" in text
    assert len(re.findall(r"^    n\d+ --> n\d+$", text, re.MULTILINE)) == 6


def test_draw_json_svg_and_html(tmp_path: Path) -> None:
    graph = json.loads(draw("flows.AskName", "--json").output)
    assert {n["kind"] for n in graph["nodes"]} >= {"start", "step", "input_required", "human", "human_response", "stop"}
    svg = draw("flows:Tools", "--format", "svg").output
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"') and svg.rstrip().endswith("</svg>")
    for label in ("call", "recover", "make_client", "StepFailedEvent", "StopEvent"):
        assert f">{label}</text>" in svg
    out = tmp_path / "g.html"
    assert draw("flows:Approval", "--format", "html", "--direction", "TB", "-o", str(out)).exit_code == 0
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>") and "<svg " in html and "Mermaid source" in html
    assert not EXTERNAL.search(html)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("flows:Missing", "Error: cannot import workflow 'flows:Missing'"),
        ("no_such_module:Flow", "Error: cannot import workflow 'no_such_module:Flow'"),
        ("flows:Item", "Error: 'flows:Item' is not a durable_flows Workflow class or instance"),
    ],
)
def test_draw_bad_spec(spec: str, message: str) -> None:
    result = CliRunner().invoke(main, ["draw", spec])
    assert result.exit_code == 1 and result.output.strip().startswith(message)
    assert len(result.output.strip().splitlines()) == 1


# -- report -------------------------------------------------------------------------------


def report(cli: Any, run_id: str, out: Path, *extra: str) -> str:
    result = cli("report", run_id, "-o", str(out), *extra)
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"wrote {out}")
    return out.read_text(encoding="utf-8")


@pytest.mark.parametrize("run_id", ["fanout", "broken", "approval", "to-cancel", "chain-fork", "tools", "flaky", "interrupted"])
def test_report_is_self_contained_and_names_every_step_and_event(
    cli: Any, journal: Journal, tmp_path: Path, run_id: str
) -> None:
    html = report(cli, run_id, tmp_path / "run.html")
    assert not EXTERNAL.search(html), EXTERNAL.search(html)
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    shown = json.loads(cli("show", run_id, "--json").output)
    for step in {e["step"] for e in shown["entries"] if e["kind"] == "accepted"}:
        assert f">{step}</text>" in html, step  # in the graph and the timeline
        assert f"<td>{step}</td>" in html, step  # in the steps table
    for event_type in {e["event_type"] for e in shown["entries"] if e["event_type"]}:
        assert f"<code>{event_type.rsplit('.', 1)[-1]}</code>" in html, event_type  # event list
    assert f"Run {run_id} " in html and f'class="badge {shown["run"]["status"]}"' in html


def test_report_of_a_fan_out_counts_the_path_taken(cli: Any, tmp_path: Path) -> None:
    html = report(cli, "fanout", tmp_path / "fan.html")
    assert html.count("×24") >= 6  # split->Item->work->Squared->gather, nodes and edges
    assert "Events (50)" in html
    assert html.count('<rect x="') > 49 * 1  # a bar per step execution


def test_report_shows_errors_waits_and_lineage(cli: Any, tmp_path: Path) -> None:
    broken = report(cli, "broken", tmp_path / "b.html")
    assert "step parse failed after 2 attempt(s): ValueError: cannot parse &#x27;oops&#x27;" in broken
    assert "Traceback (most recent call last)" in broken and "failed, retried" in broken
    waiting = report(cli, "approval", tmp_path / "w.html")
    assert "<b>Waiting for</b> <code>HumanResponseEvent</code> (step review, waiter approval" in waiting
    assert "waiting for an event" in waiting
    fork = report(cli, "chain-fork", tmp_path / "f.html")
    assert "forked from run <code>chain</code> at seq 6" in fork


def test_report_with_the_workflow_code_draws_resources(cli: Any, tmp_path: Path) -> None:
    html = report(cli, "tools", tmp_path / "t.html", "--workflow", "flows:Tools")
    assert ">make_client</text>" in html and "catches errors" not in html


def test_report_escapes_urls_in_user_data(cli: Any, journal: Journal, tmp_path: Path) -> None:
    result = cli("send", "asking", "durable_flows.events.HumanResponseEvent", "--data", '{"response": "see https://example.com"}')
    assert result.exit_code == 0
    assert cli("resume", "asking", "--workflow", "flows:AskName").exit_code == 0
    html = report(cli, "asking", tmp_path / "u.html")
    assert "example.com" in html and not EXTERNAL.search(html)

"""The protocol's edges and the web view's actions, over HTTP against a real
``durable-flows serve`` subprocess on a SQLite journal."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from server_harness import Http, ServerProcess

from durable_flows.cli import main


@pytest.fixture
def db(server: ServerProcess) -> str:
    return server.db


@pytest.fixture
def client(server: ServerProcess) -> Http:
    return Http(server.url)


def _finished(client: Http, hid: str) -> dict[str, Any]:
    for _ in range(400):
        data = client.get(f"/handlers/{hid}").json()
        if data["status"] != "running":
            return dict(data)
        time.sleep(0.025)
    raise AssertionError(f"handler {hid} did not finish")


def _waiting(db: str, hid: str) -> None:
    for _ in range(400):
        with sqlite3.connect(db) as conn:
            row = conn.execute("select status from runs where run_id=?", (hid,)).fetchone()
        if row and row[0] == "waiting":
            return
        time.sleep(0.025)
    raise AssertionError(f"run {hid} did not wait")


def _inbox(db: str, hid: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("select count(*) from inbox where run_id=?", (hid,)).fetchone()[0])


def test_bad_event_is_refused_in_one_line_and_nothing_is_sent(client: Http, db: str) -> None:
    hid = client.post("/workflows/approval/run-nowait", json={"start_event": {"item": "x"}}).json()["handler_id"]
    _waiting(db, hid)
    resp = client.post(f"/events/{hid}", json={"event": {"type": "NoSuchEvent", "value": {}}})
    assert resp.status_code == 400
    detail = resp.json()["detail"]
    assert "unknown event type 'NoSuchEvent'" in detail and "HumanResponseEvent" in detail
    assert "\n" not in detail
    assert client.post(f"/events/{hid}", json={"event": {"type": "HumanResponseEvent", "value": {}},
                                                "step": "decide"}).status_code == 400
    assert client.post(f"/events/{hid}", content=b"{not json").status_code == 400
    assert _inbox(db, hid) == 0
    # upstream's legacy spelling: the qualified name, under either module
    sent = client.post(f"/events/{hid}", json={"event": json.dumps(
        {"qualified_name": "workflows.events.HumanResponseEvent", "value": {"response": "ok"}})})
    assert sent.json() == {"status": "sent"}
    assert _finished(client, hid)["result"]["value"] == {"result": "x: ok"}
    assert _inbox(db, hid) == 1


def test_unknown_handler_and_workflow_are_404(client: Http) -> None:
    assert client.get("/handlers/nope").status_code == 404
    assert client.get("/events/nope").status_code == 404
    assert client.post("/events/nope", json={"event": {"type": "StartEvent", "value": {}}}).status_code == 404
    assert client.post("/handlers/nope/cancel").status_code == 404
    assert client.post("/workflows/nope/run-nowait", json={}).status_code == 404
    assert client.get("/workflows/nope/schema").json() == {"detail": "Workflow 'nope' not found"}


def test_representation_is_upstreams_workflow_graph(client: Http) -> None:
    """Pins the served graph's shape: it was durable_flows' drawing graph recast by hand
    (ids like ``step:ask``); it is now upstream's ``WorkflowGraph`` dump."""
    from durable_flows.representation import WorkflowEventNode, WorkflowGraph, WorkflowStepNode

    body = client.get("/workflows/approval/representation").json()
    graph = WorkflowGraph.model_validate(body["graph"])
    assert graph.name == "Approval"
    assert {n.id for n in graph.nodes if isinstance(n, WorkflowStepNode)} == {"ask", "decide"}
    events = {n.id: n for n in graph.nodes if isinstance(n, WorkflowEventNode)}
    assert set(events) == {"StartEvent", "InputRequiredEvent", "HumanResponseEvent", "StopEvent"}
    edges = {(e.source, e.target) for e in graph.edges}
    assert {("InputRequiredEvent", "external_step"), ("external_step", "HumanResponseEvent")} <= edges


def test_run_body_checks(client: Http, db: str) -> None:
    done = client.post("/workflows/greet/run", json={"start_event": {"name": "Al"}, "handler_id": "h-1"})
    assert done.status_code == 200 and done.json()["handler_id"] == "h-1"
    again = client.post("/workflows/greet/run-nowait", json={"start_event": {"name": "Al"}, "handler_id": "h-1"})
    assert again.status_code == 409
    ctx = client.post("/workflows/greet/run-nowait", json={"context": {"state": {}}})
    assert ctx.status_code == 400 and "context" in ctx.json()["detail"]
    bad = client.post("/workflows/greet/run-nowait", json={"start_event": {"type": "Nope", "value": {}}})
    assert bad.status_code == 400
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from runs").fetchone()[0] == 1


def test_event_stream_cursor_ndjson_and_204(client: Http) -> None:
    hid = client.post("/workflows/greet/run", json={"start_event": {"name": "Eve"}}).json()["handler_id"]
    lines = client.get(f"/events/{hid}", params={"sse": "false", "after_sequence": "-1"}).text.splitlines()
    types = [json.loads(line)["type"] for line in lines]
    assert types == ["Progress"] * 3 + ["StopEvent"]
    sse = client.get(f"/events/{hid}", params={"after_sequence": "-1"}).text
    ids = [int(line[3:]) for line in sse.splitlines() if line.startswith("id:")]
    assert len(ids) == 4 and ids == sorted(ids)
    # Last-Event-ID wins over after_sequence, as upstream
    tail = client.get(f"/events/{hid}", params={"after_sequence": "-1"}, headers={"Last-Event-ID": str(ids[2])})
    assert [line for line in tail.text.splitlines() if line.startswith("id:")] == [f"id: {ids[3]}"]
    assert client.get(f"/events/{hid}", params={"after_sequence": str(ids[3])}).status_code == 204
    assert client.get(f"/events/{hid}", params={"after_sequence": "soon"}).status_code == 400
    assert client.get(f"/results/{hid}").json()["result"] == {"greeting": "Hello, Eve!"}


def test_web_fork_send_and_cancel(client: Http, db: str) -> None:
    hid = client.post("/workflows/greet/run", json={"start_event": {"name": "Fo"}}).json()["handler_id"]
    forked = client.post(f"/ui/runs/{hid}/fork", json={"at": 3})
    assert forked.status_code == 200
    new_id = forked.json()["run_id"]
    assert _finished(client, new_id)["result"]["value"] == {"result": {"greeting": "Hello, Fo!"}}
    assert client.post(f"/ui/runs/{hid}/fork", json={"at": 999}).status_code == 400
    assert client.post(f"/ui/runs/{hid}/cancel").status_code == 409

    wait_id = client.post("/workflows/approval/run-nowait", json={"start_event": {"item": "y"}}).json()["handler_id"]
    _waiting(db, wait_id)
    page = client.get(f"/runs/{wait_id}").text
    assert 'class="send-form" data-type="durable_flows.events.HumanResponseEvent"' in page
    bad = client.post(f"/ui/runs/{wait_id}/send", json={"type": "durable_flows.events.HumanResponseEvent",
                                                         "value": "{oops"})
    assert bad.status_code == 400 and _inbox(db, wait_id) == 0
    assert client.post(f"/ui/runs/{wait_id}/cancel").json() == {"status": "cancelled"}
    assert 'class="send-form"' not in client.get(f"/ui/fragments/runs/{wait_id}").text
    assert client.get("/runs/nope").status_code == 404


def test_runs_list_filters_and_pages(client: Http) -> None:
    ids = [client.post("/workflows/greet/run", json={"start_event": {"name": f"n{i}"}}).json()["handler_id"]
           for i in range(3)]
    wait_id = client.post("/workflows/approval/run-nowait", json={"start_event": {"item": "z"}}).json()["handler_id"]
    first = client.get("/ui/fragments/runs", params={"workflow": "greet", "per": "2"}).text
    second = client.get("/ui/fragments/runs", params={"workflow": "greet", "per": "2", "page": "2"}).text
    shown = [i for i in ids if i in first], [i for i in ids if i in second]
    assert len(shown[0]) == 2 and len(shown[1]) == 1 and set(shown[0] + shown[1]) == set(ids)
    assert "page 1 of 2 · 3 run(s)" in first and wait_id not in first + second
    waiting = client.get("/", params={"workflow": "approval", "status": "bogus"}).text
    assert wait_id in waiting  # a bad filter value is dropped, not an error


def test_serve_refuses_bad_workflow_options(tmp_path: Path) -> None:
    runner = CliRunner()
    out = runner.invoke(main, ["serve", "--workflow", "a=served_flows:Greet", "--workflow", "a=served_flows:Approval",
                               "--db", str(tmp_path / "x.db")])
    assert out.exit_code == 1 and "given twice" in out.output and len(out.output.strip().splitlines()) == 1
    out = runner.invoke(main, ["serve", "--workflow", "=x", "--db", str(tmp_path / "x.db")])
    assert out.exit_code == 1 and "NAME=module:Class" in out.output

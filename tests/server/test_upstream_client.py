"""Upstream's unmodified WorkflowClient (llama-agents-client, in its own
virtualenv) against a real ``durable-flows serve`` subprocess."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from server_harness import ServerProcess, run_client


def _kinds(db: str, run_id: str) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [r[0] for r in conn.execute("select kind from journal where run_id=? order by seq", (run_id,))]


def test_list_run_stream_and_read_handlers(server: ServerProcess, upstream_client: str) -> None:
    seen = run_client(upstream_client, server.url, "basics")
    assert seen["health"] == "healthy"
    assert seen["workflows"] == ["greet", "approval", "slow"]
    assert seen["run"]["status"] == "completed"
    assert seen["run"]["result"]["qualified_name"] == "workflows.events.StopEvent"
    assert seen["loaded_result"] == {"greeting": "Hello, Ada!"}  # the client rebuilt upstream's StopEvent
    assert seen["nowait"]["status"] == "running" and seen["nowait"]["result"] is None
    events = seen["events"]
    assert [e["type"] for e in events] == ["Progress", "Progress", "Progress", "StopEvent"]
    assert [e["value"].get("n") for e in events[:3]] == [0, 1, 2]
    assert events[-1]["value"] == {"result": {"greeting": "Hello, Bob!"}}
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == 4
    # from a given sequence: exactly what came after it
    assert [e["value"] for e in seen["after_first"]] == [e["value"] for e in events[1:]]
    assert seen["handler"]["status"] == "completed"
    assert seen["result"]["result"]["value"] == {"result": {"greeting": "Hello, Bob!"}}
    assert seen["listed"] == sorted([seen["run"]["handler_id"], seen["nowait"]["handler_id"]])
    assert seen["schema_keys"] == ["start", "stop"]
    assert seen["graph_nodes"] >= 3
    # a handler id is a run id: the journal has the run, finished by its step
    assert _kinds(server.db, seen["nowait"]["handler_id"])[-1] == "completed"


def test_human_in_the_loop_over_http(server: ServerProcess, upstream_client: str) -> None:
    seen = run_client(upstream_client, server.url, "hitl")
    assert [e["type"] for e in seen["events"]] == ["InputRequiredEvent", "StopEvent"]
    assert seen["events"][0]["value"] == {"_data": {"prefix": "Approve laptop?"}}
    assert seen["waiting"]["status"] == "running"  # waiting is "running" in upstream's terms
    assert seen["sent"] == "sent"
    assert seen["handler"]["status"] == "completed"
    assert seen["handler"]["result"]["value"] == {"result": "laptop: yes"}
    kinds = _kinds(server.db, seen["handler_id"])
    assert "waiter" in kinds or "sent" in kinds
    with sqlite3.connect(server.db) as conn:
        (taken,) = conn.execute(
            "select count(*) from inbox where run_id=? and event_type like '%HumanResponseEvent'",
            (seen["handler_id"],),
        ).fetchone()
    assert taken == 1  # journaled once, through the inbox


def test_cancel_and_list_by_status(server: ServerProcess, upstream_client: str) -> None:
    seen = run_client(upstream_client, server.url, "cancel")
    assert seen["cancel"] == "cancelled"
    assert seen["handler_code"] == 500  # upstream answers 500 for a handler that did not complete
    assert seen["handler"]["status"] == "cancelled"
    assert seen["handler"]["error"].startswith("cancelled")
    assert seen["late_send"] == 409
    assert seen["listed"] == [seen["handler"]["handler_id"]]
    assert _kinds(server.db, seen["handler"]["handler_id"])[-1] == "cancelled"


def test_sigkill_mid_run_then_restart_continues_the_same_handler(
    tmp_path: Path, upstream_client: str
) -> None:
    log = tmp_path / "steps.log"
    server = ServerProcess(str(tmp_path / "served.db"), tmp_path / "server.log", env={"SLOW_LOG": str(log)})
    server.start()
    try:
        hid = run_client(upstream_client, server.url, "start-slow", "8", "0.3")["handler_id"]
        first = run_client(upstream_client, server.url, "events-until", hid, "3")
        assert [e["value"]["n"] for e in first["events"]] == [0, 1, 2]
        server.kill()  # SIGKILL mid-run: ticks 3.. are not done
        with sqlite3.connect(server.db) as conn:
            (status,) = conn.execute("select status from runs where run_id=?", (hid,)).fetchone()
        assert status == "running"
        server.start()
        rest = run_client(upstream_client, server.url, "finish", hid, str(first["last_sequence"]))
    finally:
        server.stop()
    # the stream picks up right after the last event seen before the kill, each once
    assert [e["value"].get("n") for e in rest["events"][:-1]] == [3, 4, 5, 6, 7]
    assert rest["events"][-1]["type"] == "StopEvent"
    assert rest["handler"]["status"] == "completed"
    assert rest["handler"]["result"]["value"] == {"result": 8}
    assert rest["stop_is_stop"]
    # completed ticks were not run again: at most the one in flight at the kill ran twice
    ran = [int(x) for x in log.read_text().split()]
    assert sorted(set(ran)) == list(range(8))
    assert len(ran) <= 9

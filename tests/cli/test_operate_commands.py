"""``send``, ``resume``, ``recover``, ``cancel``, ``fork`` and ``gc`` through click's runner."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from cli_helpers import Journal

from durable_flows.storage import CANCEL_REQUEST_TYPE, SqliteStore

pytestmark = pytest.mark.timeout(60)

HUMAN = "durable_flows.events.HumanResponseEvent"


def as_json(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def one_line_error(result: Any) -> str:
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: ")
    return lines[0]


def inbox(journal: Journal, run_id: str) -> list[Any]:
    async def read() -> list[Any]:
        async with SqliteStore(journal.path) as store:
            return await store.read_inbox(run_id)

    return asyncio.run(read())


# -- send + resume --------------------------------------------------------------------


def test_send_then_resume_answers_a_waiting_run(cli: Any, journal: Journal) -> None:
    sent = as_json(cli("send", "asking", HUMAN, "--data", '{"response": "ann"}', "--json"))
    assert (sent["run_id"], sent["event_type"], sent["status"], sent["owned"]) == ("asking", HUMAN, "waiting", False)
    [item] = inbox(journal, "asking")
    assert (item.id, item.event_type) == (sent["inbox_id"], HUMAN)
    resumed = as_json(cli("resume", "asking", "--workflow", "flows:AskName", "--json"))
    assert resumed["status"] == "completed"
    assert resumed["outcome"]["event"] == {"result": "hello ann"}
    text = cli("show", "asking").output
    assert 'outcome: "hello ann"' in text


def test_send_accepts_module_dot_class_and_says_the_run_is_parked(cli: Any) -> None:
    result = cli("send", "approval", "durable_flows.events:HumanResponseEvent", "--data", '{"response": "ok"}')
    assert result.exit_code == 0
    assert "sent HumanResponseEvent to run approval (inbox #" in result.output
    assert "no process runs it now: continue it with `durable-flows resume approval" in result.output
    resumed = cli("resume", "approval", "--workflow", "flows.Approval")
    assert resumed.exit_code == 0
    assert resumed.output.strip() == 'run approval completed: "approved: ok"'


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["asking", HUMAN, "--data", "{not json"], "Error: --data is not valid JSON (Expecting property name"),
        (["asking", HUMAN, "--data", "[1, 2]"], "Error: --data must be a JSON object with the event's fields, not list"),
        (["asking", "nosuchmodule:Event"], "Error: cannot import event type 'nosuchmodule:Event'"),
        (["asking", "flows:Nope"], "Error: cannot import event type 'flows:Nope'"),
        (["asking", "Nope"], "Error: cannot import event type 'Nope': expected module:Name or module.Name"),
        (["asking", "flows:Chain"], "Error: 'flows:Chain' is not an Event class"),
        (["asking", "flows:Item", "--data", '{"i": "x"}'], "Error: --data does not fit Item: i: Input should be a valid integer"),
        (["chain", HUMAN, "--data", "{}"], "Error: run 'chain' is already completed; it accepts no more events."),
        (["asking", "flows:Item", "--data", '{"i": 1}'], "Error: run 'asking': no step and no waiter accepts events of type flows.Item"),
        (["nope", HUMAN], "Error: no run with id 'nope' in this journal."),
    ],
)
def test_send_bad_input_is_one_line(cli: Any, journal: Journal, args: list[str], message: str) -> None:
    assert one_line_error(cli("send", *args)).startswith(message)
    assert inbox(journal, "asking") == []


def test_resume_with_a_bad_workflow_spec_is_one_line(cli: Any) -> None:
    assert one_line_error(cli("resume", "asking", "--workflow", "flows:nothing")).startswith(
        "Error: cannot import workflow 'flows:nothing'"
    )
    assert one_line_error(cli("resume", "asking", "--workflow", "flows:Item")).startswith(
        "Error: 'flows:Item' is not a durable_flows Workflow class or instance"
    )
    assert one_line_error(cli("resume", "nope", "--workflow", "flows:AskName")) == (
        "Error: no run with id 'nope' in this journal. `durable-flows runs` lists them"
    )


def test_resume_a_waiting_run_without_an_answer_lets_it_wait(cli: Any, journal: Journal) -> None:
    result = as_json(cli("resume", "approval", "--workflow", "flows:Approval", "--json"))
    assert (result["status"], result["owner"]) == ("waiting", None)  # the lease was given back
    assert cli("runs", "--status", "parked", "--json").output.count('"run_id"') == 2


def test_resume_a_finished_failed_run_exits_3(cli: Any) -> None:
    result = cli("resume", "broken", "--workflow", "flows:Broken")
    assert result.exit_code == 3
    assert result.output.strip() == "run broken failed: step parse failed after 2 attempt(s): ValueError: cannot parse 'oops'"


def test_recover_finishes_the_interrupted_run_and_parks_the_waiting_ones(cli: Any) -> None:
    recovered = as_json(cli("recover", "--workflow", "flows:Slow", "--json"))
    assert [(r["run_id"], r["status"], r["outcome"]["event"]) for r in recovered] == [
        ("interrupted", "completed", {"result": "woke up"})
    ]
    shown = as_json(cli("show", "interrupted", "--json"))
    kinds = [e["kind"] for e in shown["entries"]]
    assert kinds.count("resumed") == 1 and kinds.count("accepted") == 2  # the nap ran again
    table = cli("recover", "--workflow", "flows:Approval").output
    assert table.splitlines()[0].split() == ["ID", "STATUS", "RESULT"]
    assert "approval  waiting  waiting for HumanResponseEvent" in table
    again = cli("recover", "--workflow", "flows:Slow")
    assert again.output.strip().startswith("nothing to recover")


# -- cancel ------------------------------------------------------------------------------


def test_cancel_a_parked_run(cli: Any, journal: Journal) -> None:
    result = as_json(cli("cancel", "asking", "--reason", "customer left", "--json"))
    assert result == {"run_id": "asking", "action": "cancelled", "status": "cancelled", "state": "cancelled"}
    shown = as_json(cli("show", "asking", "--json"))
    assert shown["entries"][-1]["kind"] == "cancelled"
    assert shown["entries"][-1]["payload"] == {"reason": "customer left"}
    assert shown["run"]["error"] == {"kind": "cancelled", "reason": "customer left"}
    assert one_line_error(cli("cancel", "asking")).startswith("Error: run 'asking' is already cancelled")


def test_cancel_a_live_run_asks_its_owner(cli: Any, journal: Journal) -> None:
    """While another store holds the run's lease, cancel only queues a request."""

    async def hold() -> Any:
        store = SqliteStore(journal.path)
        return store, await store.claim_lease("approval")

    loop = asyncio.new_event_loop()
    try:
        store, _lease = loop.run_until_complete(hold())
        result = as_json(cli("cancel", "approval", "--wait", "0.3", "--json"))
        assert result == {"run_id": "approval", "action": "requested", "status": "waiting", "state": "waiting"}
        text = cli("cancel", "approval", "--wait", "0").output
        assert text.startswith("cancellation requested for run approval; its owner")
        loop.run_until_complete(store.close())
    finally:
        loop.close()
    assert [i.event_type for i in inbox(journal, "approval")] == [CANCEL_REQUEST_TYPE] * 2


# -- fork ---------------------------------------------------------------------------------


def test_fork_and_resume_give_the_original_result(cli: Any) -> None:
    original = as_json(cli("show", "fanout", "--json"))
    forked = as_json(cli("fork", "fanout", "--at", "30", "--new-id", "fan-2", "--json"))
    assert (forked["run_id"], forked["parent_run_id"], forked["status"]) == ("fan-2", "fanout", "running")
    assert forked["forked_at_seq"] <= 30 and forked["requested_seq"] == 30
    resumed = as_json(cli("resume", "fan-2", "--workflow", "flows:FanOut", "--json"))
    assert resumed["outcome"] == original["run"]["outcome"]
    assert as_json(cli("show", "fanout", "--json"))["entries"] == original["entries"]
    text = cli("fork", "chain", "--at", "5").output
    assert "forked run chain at seq" in text and "continue it with: durable-flows resume" in text
    assert "--workflow flows:Chain" in text


def test_fork_inside_a_completion_says_where_it_cut(cli: Any) -> None:
    shown = as_json(cli("show", "chain", "--json"))
    produced = next(e["seq"] for e in shown["entries"] if e["kind"] == "produced")
    result = cli("fork", "chain", "--at", str(produced), "--new-id", "cut")
    assert result.exit_code == 0
    assert f"seq {produced} is inside a step's completion" in result.output
    assert as_json(cli("show", "cut", "--json"))["run"]["forked_at_seq"] < produced


def test_fork_bad_input(cli: Any) -> None:
    assert one_line_error(cli("fork", "chain", "--at", "99")).startswith(
        "Error: run 'chain' cannot be forked at seq=99: its journal has entries 1..13."
    )
    assert one_line_error(cli("fork", "chain", "--at", "3", "--new-id", "fanout")).startswith(
        "Error: a run with id 'fanout' already exists"
    )


# -- gc ----------------------------------------------------------------------------------


def test_gc_deletes_only_finished_runs(cli: Any) -> None:
    assert as_json(cli("gc", "--finished-before", "7d", "--json"))["count"] == 0
    dry = as_json(cli("gc", "--finished-before", "2999-01-01", "--dry-run", "--json"))
    finished = ["broken", "chain", "fanout", "flaky", "to-cancel", "tools"]
    assert (sorted(dry["run_ids"]), dry["dry_run"]) == (finished, True)
    assert len(as_json(cli("runs", "--json"))) == 10
    done = as_json(cli("gc", "--finished-before", "2999-01-01T00:00Z", "--batch-size", "4", "--json"))
    assert sorted(done["run_ids"]) == finished
    left = sorted(r["run_id"] for r in as_json(cli("runs", "--json")))
    assert left == ["approval", "asking", "chain-fork", "interrupted"]
    assert as_json(cli("show", "chain-fork", "--json"))["run"]["parent_run_id"] == "chain"
    assert one_line_error(cli("show", "chain")).startswith("Error: no run with id 'chain'")


def test_gc_text_and_bad_when(cli: Any) -> None:
    text = cli("gc", "--finished-before", "2999-01-01", "--dry-run").output
    assert text.startswith("would delete 6 run(s) finished before 2999-01-01 00:00:00")
    assert "\n  chain\n" in text
    bad = cli("gc", "--finished-before", "last tuesday")
    assert bad.exit_code == 2 and "cannot read 'last tuesday' as a time" in bad.output

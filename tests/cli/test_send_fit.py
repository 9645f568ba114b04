"""An outside event that does not fit is refused before it is journaled (issue 15, item 5).

Before: ``send RUN HumanResponseEvent --data '{"answer": "yes"}'`` (the step
reads ``response``) was journaled, and the resume failed the run for good
with ``AttributeError``; only a fork could help.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from cli_helpers import Journal

from durable_flows import HumanResponseEvent, SqliteStore
from durable_flows.errors import EventFieldsError

pytestmark = pytest.mark.timeout(60)

HUMAN = "durable_flows.events.HumanResponseEvent"


def inbox(journal: Journal, run_id: str) -> list[Any]:
    async def read() -> list[Any]:
        store = SqliteStore(str(journal.path), read_only=True)
        try:
            return await store.read_inbox(run_id)
        finally:
            await store.close()

    return asyncio.run(read())


@pytest.mark.parametrize(
    ("run_id", "consumer"),
    [("asking", "step greet reads 'response'"), ("approval", "step review (wait_for_event) reads 'response'")],
)
def test_a_misspelled_field_is_refused_with_one_line(cli: Any, journal: Journal, run_id: str, consumer: str) -> None:
    before = journal.path.read_bytes()
    result = cli("send", run_id, HUMAN, "--data", '{"answer": "yes"}')
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1
    assert f"Error: run '{run_id}': the HumanResponseEvent event does not fit: {consumer}" in result.output
    assert "it has 'answer'" in result.output and "Nothing was delivered" in result.output
    assert inbox(journal, run_id) == []
    assert journal.path.read_bytes() == before


def test_a_fitting_event_is_delivered_and_finishes_the_run(cli: Any, journal: Journal) -> None:
    sent = cli("send", "asking", HUMAN, "--data", '{"response": "ada"}')
    assert sent.exit_code == 0, sent.output
    resumed = json.loads(cli("resume", "asking", "--workflow", "flows:AskName", "--json").output)
    assert (resumed["status"], resumed["outcome"]["event"]["result"]) == ("completed", "hello ada")


def test_no_check_delivers_it_anyway(cli: Any, journal: Journal) -> None:
    sent = cli("send", "asking", HUMAN, "--data", '{"answer": "yes"}', "--no-check")
    assert sent.exit_code == 0, sent.output
    assert [item.event_type for item in inbox(journal, "asking")] == [HUMAN]


def test_store_send_event_checks_the_fields_too(journal: Journal) -> None:
    async def scenario() -> None:
        store = SqliteStore(str(journal.path))
        try:
            with pytest.raises(EventFieldsError, match="step greet reads 'response'"):
                await store.send_event("asking", HumanResponseEvent(answer="yes"))
            assert await store.read_inbox("asking") == []
            await store.send_event("asking", HumanResponseEvent(response="yes"))
            assert len(await store.read_inbox("asking")) == 1
        finally:
            await store.close()

    asyncio.run(scenario())


def test_a_run_failed_by_an_outside_event_names_it_and_the_way_on(cli: Any, journal: Journal) -> None:
    assert cli("send", "asking", HUMAN, "--data", '{"answer": "yes"}', "--no-check").exit_code == 0
    failed = cli("resume", "asking", "--workflow", "flows:AskName")
    assert failed.exit_code == 3
    assert "it failed on the HumanResponseEvent sent from outside at seq" in failed.output
    shown = json.loads(cli("show", "asking", "--json").output)
    blamed = shown["failed_on_outside_event"]
    assert (blamed["kind"], blamed["payload"]["source"], blamed["event_type"]) == ("sent", "inbox", HUMAN)
    text = cli("show", "asking").output
    inbox_id = blamed["payload"]["inbox"]
    advice = f"`durable-flows resume asking --skip-event {inbox_id} --workflow MODULE:CLASS`"
    assert f"it failed on the HumanResponseEvent sent from outside at seq {blamed['seq']}" in text
    assert advice in text
    # Following the advice continues the same run, no fork: the failed execution and
    # its event are dropped, the run waits again, and a fitting answer finishes it.
    went_on = cli("resume", "asking", "--workflow", "flows:AskName", "--skip-event", str(inbox_id), "--json")
    assert went_on.exit_code == 0, went_on.output
    assert f"goes on without inbox #{inbox_id}, which its failed step took" in went_on.output
    doc = json.loads(went_on.output[went_on.output.index("{"):])
    assert doc["status"] == "waiting" and not doc.get("error")
    assert cli("send", "asking", HUMAN, "--data", '{"response": "ada"}').exit_code == 0
    resumed = json.loads(cli("resume", "asking", "--workflow", "flows:AskName", "--json").output)
    assert (resumed["status"], resumed["outcome"]["event"]["result"]) == ("completed", "hello ada")
    kinds = [e["kind"] for e in json.loads(cli("show", "asking", "--json").output)["entries"]]
    assert kinds.count("failed") == 1 and kinds[-1] == "completed"


def test_resume_skip_event_drops_a_bad_pending_event_and_continues(cli: Any, journal: Journal) -> None:
    assert cli("send", "asking", HUMAN, "--data", '{"answer": "yes"}', "--no-check").exit_code == 0
    assert cli("send", "asking", HUMAN, "--data", '{"response": "ada"}').exit_code == 0
    bad, good = (item.id for item in inbox(journal, "asking"))
    shown = cli("show", "asking").output
    assert f"inbox: 2 event(s) not yet taken in: #{bad} HumanResponseEvent, #{good} HumanResponseEvent" in shown
    assert f"--skip-event {bad}" in shown
    wrong = cli("resume", "asking", "--workflow", "flows:AskName", "--skip-event", "424242")
    assert wrong.exit_code == 1 and "inbox #424242 is not an event waiting to be taken in by run asking" in wrong.output
    resumed = cli("resume", "asking", "--workflow", "flows:AskName", "--skip-event", str(bad), "--json")
    assert resumed.exit_code == 0, resumed.output
    assert f"dropped inbox #{bad} (HumanResponseEvent) of run asking" in resumed.output
    doc = json.loads(resumed.output[resumed.output.index("{"):])
    assert (doc["status"], doc["outcome"]["event"]["result"]) == ("completed", "hello ada")
    history = json.loads(cli("show", "asking", "--json").output)["entries"]
    assert [e["payload"].get("inbox") for e in history if e["kind"] == "sent" and e["payload"]["source"] == "inbox"] == [good]

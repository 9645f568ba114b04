"""Driving generated runs: answering the questions they ask, and reading what they did.

A run of a generated workflow (see ``wfgen.py``) asks for outside input in two
ways: a step returns an ``AskQ*`` (an InputRequiredEvent) or waits for a
``WaitAnswer`` with ``wait_for_event`` (announcing it with a ``WaitAsk`` on the
stream). :func:`drive` answers each question exactly once, deterministically,
also across restarts (questions asked and answers given before the restart
are found in the journal and the inbox).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from wfgen import ASKS, REPLIES, WaitAnswer, WaitAsk, streams

from durable_flows import Event, HumanResponseEvent, StopEvent
from durable_flows.codec.journal import Codec
from durable_flows.events import qualified_name
from durable_flows.runtime import records as k
from durable_flows.runtime.journal_codec import decode_entry
from durable_flows.runtime.records import Record
from durable_flows.runtime.replay import decode_journal
from durable_flows.storage import JournalStore
from durable_flows.storage.rows import JournalEntry

# --- answering questions ----------------------------------------------------------


def answer_for(ev: Event) -> tuple[str, Event] | None:
    """The deterministic answer to a question the run asks, keyed by the question."""
    for k_, ask in enumerate(ASKS):
        if type(ev) is ask:
            v = int(str(ev.prefix).rsplit(":", 1)[1])
            return f"hitl:{ev.prefix}", REPLIES[k_](response=str(v * 3 + 1))
    if isinstance(ev, WaitAsk):
        return f"wait:{ev.key}", WaitAnswer(key=ev.key, v=ev.v * 5 + 2)
    return None


async def drive(handler: Any, store: JournalStore, plan: dict[str, Any], resumed: bool) -> Any:
    """Answer every question the run asks (once), then return the handler's result.

    After a resume, questions asked before the restart are found in the journal;
    answers already journaled or waiting in the inbox are not sent again.
    """
    answered: set[str] = set()
    run_id = handler.run_id
    via = plan.get("via", "handler")
    pending: list[tuple[str, Event]] = []

    async def send(key: str, answer: Event) -> None:
        if key in answered:
            return
        answered.add(key)
        if via == "inbox" and isinstance(answer, WaitAnswer):
            # store.send_event refuses waiter answers while other steps run
            # (test_outside_events.py pins that); the inbox itself is what we exercise.
            payload = json.dumps(Codec().dump_event(answer), separators=(",", ":"))
            await store.send_to_inbox(run_id, qualified_name(type(answer)), payload)
        elif via == "inbox":
            await store.send_event(run_id, answer)
        else:
            await handler.send_event(answer)

    # Changes from outside any step, made while steps run: OUTSIDE_BUMP is added to
    # the state's ``total`` (which "edit" steps change too) once at the start and,
    # when the run streams, once more at its first stream event; a resumed run makes
    # the bumps its journal does not hold yet.
    bumps = 2 if streams(plan) else 1
    bumped = await outside_bumps_in_journal(store, run_id) if resumed else 0

    async def bump() -> None:
        nonlocal bumped
        if bumped < bumps:
            bumped += 1
            total = await handler.ctx.store.get("total", 0)
            await handler.ctx.store.set("total", total + OUTSIDE_BUMP)

    await bump()
    if resumed:
        while bumped < bumps:
            await bump()

    if resumed:
        codec = Codec()
        # Inbox first: an item the resumed run takes in meanwhile is then in the journal.
        queued = [
            codec.load_event(item.event_type, json.loads(item.payload), item.codec)
            for item in await store.read_inbox(run_id)
        ]
        asked, given = await questions_in_journal(store, run_id, codec)
        given.update(_given_key(ev) for ev in queued)
        for q in asked:
            found = answer_for(q)
            if found is not None and _answer_given_key(found) not in given:
                pending.append(found)
            elif found is not None:
                answered.add(found[0])

    stream = handler.stream_events()
    for key, answer in pending:
        await send(key, answer)
    async for ev in stream:
        if not isinstance(ev, StopEvent):
            await bump()
        found = answer_for(ev)
        if found is not None:
            await send(*found)
    return await handler


#: What one change from outside any step adds to ``total`` (see :func:`drive`).
OUTSIDE_BUMP = 1000


async def outside_bumps_in_journal(store: JournalStore, run_id: str) -> int:
    """How many changes from outside any step the run's journal holds."""
    count = 0
    for entry in await store.read(run_id):
        if entry.kind != k.STATE:
            continue
        data = json.loads(entry.payload)
        writers = data["execs"] if "execs" in data else [data.get("exec")]
        count += sum(1 for w in writers if w is None)
    return count


def _given_key(ev: Event) -> str:
    if isinstance(ev, WaitAnswer):
        return f"wait:{ev.key}"
    return f"{qualified_name(type(ev))}:{ev.get('response')}"


def _answer_given_key(found: tuple[str, Event]) -> str:
    return _given_key(found[1])


async def questions_in_journal(
    store: JournalStore, run_id: str, codec: Codec
) -> tuple[list[Event], set[str]]:
    """Questions written to the run's stream, and answers delivered into it."""
    asked: list[Event] = []
    given: set[str] = set()
    for entry in await store.read(run_id):
        if entry.kind not in (k.STREAM, k.SENT) or entry.event_type is None:
            continue
        rec = decode_entry(codec, entry)
        if rec.event is None:
            continue
        if rec.kind == k.STREAM and answer_for(rec.event) is not None:
            asked.append(rec.event)
        elif rec.kind == k.SENT and isinstance(rec.event, (HumanResponseEvent, WaitAnswer)):
            given.add(_given_key(rec.event))
    return asked, given


# --- what a run did, from its journal ------------------------------------------------


def canon(value: Any) -> Any:
    """A JSON round trip: a canonical form for comparisons (int keys become strings)."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def event_key(ev: Event) -> str:
    return json.dumps([qualified_name(type(ev)), ev.model_dump(mode="json")], sort_keys=True)


def journal_outcome(run_id: str, entries: list[JournalEntry]) -> dict[str, Any]:
    """Produced events of completed executions and stream events, as multisets."""
    records: list[Record] = decode_journal(run_id, entries, Codec())
    completed = {r.get("exec") for r in records if r.kind == k.COMPLETED}
    produced = Counter(
        event_key(r.event)
        for r in records
        if r.kind == k.PRODUCED and r.event is not None and r.get("exec") in completed
    )
    stream = Counter(event_key(r.event) for r in records if r.kind == k.STREAM and r.event is not None)
    return {"produced": dict(produced), "stream": dict(stream)}

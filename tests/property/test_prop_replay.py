"""Live versus replay: after every journal append, folding the journal so far gives the live state.

The live loop's state only changes through ``reduce`` right after a record is
appended; the test hooks ``RunLoop._append`` to snapshot ``state.summary()``
(queues, executions, buffers, waiters, state, counters) after each record, then
folds every prefix of the stored journal and compares. Workflows are generated
(see ``wfgen.py``); runs go to the in-memory store and to SQLite, several at
once so that SQLite's group commit interleaves them.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import wfgen
from driving import canon
from hypothesis import given, settings
from hypothesis import strategies as st
from proptools import (
    RUN_TIMEOUT,
    baseline,
    check_every_prefix,
    finish,
    fresh_store,
    live_snapshots,
)
from soak import examples, time_budget

from durable_flows.storage import JournalStore


async def _run_and_check(plan: dict[str, Any], store: JournalStore, runs: int) -> list[Any]:
    wf = wfgen.make(plan, store)
    spec = wf._run_spec()
    with live_snapshots() as snaps:
        outcomes = await asyncio.wait_for(
            asyncio.gather(
                *(
                    finish({**plan, "start": plan["start"] + i}, store, f"run{i}", resumed=False)
                    for i in range(runs)
                )
            ),
            RUN_TIMEOUT,
        )
    for i, outcome in enumerate(outcomes):
        run_id = f"run{i}"
        final = check_every_prefix(run_id, outcome.entries, spec, snaps[run_id])
        assert final.status == "completed", final.error
        assert canon(final.state) is not None
    return outcomes


@pytest.mark.timeout(time_budget(60))
@pytest.mark.parametrize("kind", ["memory", "sqlite"])
@settings(max_examples=examples(40))
@given(plan=wfgen.plans(), runs=st.integers(1, 3))
def test_live_state_equals_replay_at_every_prefix(kind: str, plan: dict[str, Any], runs: int) -> None:
    async def go() -> None:
        async with fresh_store(kind) as store:
            await _run_and_check(plan, store, runs)

    asyncio.run(go())


@pytest.mark.timeout(time_budget(60))
@settings(max_examples=examples(20))
@given(plan=wfgen.plans())
def test_generated_runs_are_deterministic(plan: dict[str, Any]) -> None:
    """Two uninterrupted runs of one plan end alike (the precondition of the crash tests)."""

    async def go() -> None:
        first = await baseline(plan)
        second = await baseline(plan)
        assert first.comparable() == second.comparable()
        assert first.result == {"v": first.result["v"]}

    asyncio.run(go())


def died_notes() -> st.SearchStrategy[dict[str, Any]]:
    """What a resume may journal of the previous owner's end (drive/deaths.py)."""
    text = st.text(max_size=40)
    return st.fixed_dictionaries(
        {"owner": text},
        optional={
            "signal": st.sampled_from(["SIGKILL", "SIGSEGV", "SIGABRT", "SIGBUS"]),
            "exit_code": st.integers(-255, 255),
            "step": text,
            "traceback": text,
            "source": st.sampled_from(["supervisor", "faulthandler"]),
            "alive": st.booleans(),
        },
    )


@pytest.mark.timeout(time_budget(60))
@settings(max_examples=examples(30))
@given(plan=wfgen.plans(), where=st.floats(0, 1), died=died_notes())
def test_a_resumed_records_died_note_changes_nothing_in_replay(plan: dict[str, Any], where: float, died: dict[str, Any]) -> None:
    """Replay ignores ``resumed.died``: the same journal with and without it folds alike."""
    from state_views import full_view

    from durable_flows.codec.journal import Codec
    from durable_flows.runtime import records as k
    from durable_flows.runtime.records import Record
    from durable_flows.runtime.replay import decode_journal, replay

    async def go() -> None:
        async with fresh_store("memory") as store:
            outcome = await finish(plan, store, "r", resumed=False)
            spec = wfgen.make(plan, store)._run_spec()
        records = decode_journal("r", outcome.entries, Codec())
        prefix = records[: 1 + int(where * (len(records) - 1))]  # a crash after this prefix ...
        plain = {"owner": "h:1:x", "token": 2, "rerun": []}

        def with_resume(data: dict[str, Any]) -> list[Record]:  # ... then a resume
            return [*prefix, Record(k.RESUMED, prefix[-1].ts + 1, data=data, seq=prefix[-1].seq + 1)]

        bare = full_view(replay("r", with_resume(plain), spec))
        noted = full_view(replay("r", with_resume({**plain, "died": died}), spec))
        assert noted == bare

    asyncio.run(go())

"""Joins, ``list[E]`` returns and collect steps under crashes: partial joins and open streams are rebuilt by replay.

Plans made only of ``join``, ``listfan`` and ``collect`` stages (``wfgen_joins``), around
chains: a run crashed at generated points and resumed must end as the
uninterrupted run does, its live state after every append must equal the
replay of that prefix, and at every prefix each event a join consumed is
counted once and each collect step released once (``check_exactly_once``). One fixed plan is also killed after
each of its appends in turn, in process, and a sample with SIGKILL.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import wfgen
import wfgen_joins
from hypothesis import event, given, settings
from hypothesis import strategies as st
from proptools import (
    baseline,
    check_every_prefix,
    check_every_snapshot,
    check_exactly_once,
    count_journal_writes,
    crash_and_resume,
    db_in,
    draw_crash_points,
    fold_crash_points,
    frequent_snapshots,
    live_snapshots,
    temp_db,
)
from soak import examples, time_budget
from test_prop_crash import kill_then_finish

EFFECT = st.sampled_from(["none", "edit", "stream", "set", "hit_edit", "hit_set"])
MODE = st.sampled_from(["async", "sleep", "stagger"])
CHAIN = st.fixed_dictionaries(
    {"kind": st.just("chain"), "a": st.integers(1, 9), "b": st.integers(0, 99), "effect": EFFECT, "mode": MODE}
)


def join_plans() -> st.SearchStrategy[dict[str, Any]]:
    """Plans of 1..3 stages, each a join, a list fan-out or a chain (joins twice as likely)."""
    stage = st.one_of(*wfgen_joins.strategies(EFFECT, MODE), *wfgen_joins.strategies(EFFECT, MODE), CHAIN)
    return st.fixed_dictionaries(
        {
            "typed": st.booleans(),
            "start": st.integers(0, 1000),
            "via": st.sampled_from(["handler", "inbox"]),
            "stages": st.lists(stage, min_size=1, max_size=3).filter(
                lambda stages: any(s["kind"] != "chain" for s in stages)
            ),
        }
    )


FIXED = {
    "typed": False,
    "start": 7,
    "via": "handler",
    "stages": [
        {"kind": "join", "pairs": 2, "effect": "hit_edit", "mode": "stagger"},
        {"kind": "listfan", "width": 3, "workers": 2, "effect": "hit_set", "mode": "stagger"},
        {"kind": "collect", "width": 3, "workers": 2, "take": 0, "effect": "hit_edit", "mode": "stagger"},
    ],
}


async def _crash_then_check(plan: dict[str, Any], crashes: list[Any], expected: Any) -> int:
    with temp_db() as folder:
        with live_snapshots() as snaps:
            outcome, happened = await crash_and_resume(plan, db_in(folder), crashes)
        assert outcome.comparable() == expected.comparable(), crashes
        wf = wfgen.make(plan, store=None)
        spec = wf._run_spec()
        final = check_every_prefix("r", outcome.entries, spec, snaps["r"])
        assert final.status == "completed"
        assert not final.joins and not final.bound, "a join was left half-consumed"
        assert not final.streams and not final.scope, "a collection stream was left open"
        check_exactly_once("r", outcome.entries, spec, type(wf).__name__)
        if wfgen.SNAPSHOT_EVERY is not None:  # partial joins must survive in snapshots too
            assert check_every_snapshot("r", outcome.entries, spec) > 0
        return happened


@pytest.mark.timeout(time_budget(90))
@settings(max_examples=examples(40))
@given(plan=join_plans(), data=st.data())
def test_joins_crash_anywhere_then_resume(plan: dict[str, Any], data: st.DataObject) -> None:
    points = draw_crash_points(data)
    snapshots = data.draw(st.booleans(), label="snapshot after every batch")
    expected = asyncio.run(baseline(plan))
    crashes = fold_crash_points(points, count_journal_writes(plan))
    if snapshots:
        with frequent_snapshots(1):
            happened = asyncio.run(_crash_then_check(plan, crashes, expected))
    else:
        happened = asyncio.run(_crash_then_check(plan, crashes, expected))
    event(f"crashes={happened} snapshots={snapshots}")


@pytest.mark.timeout(time_budget(180))
@pytest.mark.parametrize("when", ["before", "after"])
def test_fixed_join_plan_killed_at_every_append(when: str) -> None:
    """Every write of the run, before and after its commit, in turn: the resumed run ends the same."""
    expected = asyncio.run(baseline(FIXED))
    writes = count_journal_writes(FIXED)
    assert writes > 10
    for at in range(1, writes + 1):
        asyncio.run(_crash_then_check(FIXED, [(at, when)], expected))


@pytest.mark.timeout(time_budget(120))
@settings(max_examples=examples(3))
@given(plan=join_plans(), data=st.data())
def test_joins_sigkill_then_resume_in_subprocesses(plan: dict[str, Any], data: st.DataObject) -> None:
    point = data.draw(st.integers(0, 10**6), label="after_append")
    expected = asyncio.run(baseline(plan))
    kill_at = 1 + point % count_journal_writes(plan)
    with temp_db() as folder:
        run = kill_then_finish(plan, folder, kill_at)
    assert run.got == expected.comparable(), (kill_at, run.first.stderr[-2000:])
    wf = wfgen.make(plan, store=None)
    check_exactly_once("r", run.entries, wf._run_spec(), type(wf).__name__)

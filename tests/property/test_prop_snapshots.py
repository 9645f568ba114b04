"""Snapshots on generated workflows: replaying from any of them is replaying in full.

With :func:`proptools.frequent_snapshots` every batch but a run's first and
last ends with a snapshot. For generated plans (see ``wfgen.py``):

- each snapshot holds exactly the state the journal folds to just before it
  (every field, not only ``summary()``), and the event types before it;
- replaying from each snapshot plus the entries after it gives the state of
  the full replay, which equals the live state (``check_every_prefix``);
- runs crashed at a generated point and resumed (from their latest snapshot)
  end as uninterrupted runs do, in-process and in SIGKILLed subprocesses.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import wfgen
from hypothesis import event, given, settings
from hypothesis import strategies as st
from proptools import (
    RUN_TIMEOUT,
    baseline,
    check_every_prefix,
    check_every_snapshot,
    count_journal_writes,
    crash_and_resume,
    db_in,
    draw_crash_points,
    finish,
    fold_crash_points,
    frequent_snapshots,
    fresh_store,
    live_snapshots,
    temp_db,
)
from soak import examples, time_budget
from test_prop_crash import kill_then_finish

from durable_flows.storage import JournalStore


class _Warnings(logging.Handler):
    """Collects what ``rebuild`` logs when it cannot use a snapshot (it never should here)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _no_fallbacks() -> _Warnings:
    handler = _Warnings()
    logging.getLogger("durable_flows.runtime.rebuild").addHandler(handler)
    return handler


@pytest.mark.timeout(time_budget(60))
@pytest.mark.parametrize("kind", ["memory", "sqlite"])
@settings(max_examples=examples(30))
@given(plan=wfgen.plans())
def test_replay_from_every_snapshot_equals_the_full_replay_and_the_live_state(
    kind: str, plan: dict[str, Any]
) -> None:
    async def go(store: JournalStore) -> None:
        spec = wfgen.make(plan, store=None)._run_spec()
        with frequent_snapshots(), live_snapshots() as snaps:
            outcome = await asyncio.wait_for(finish(plan, store, "r", resumed=False), RUN_TIMEOUT)
        final = check_every_prefix("r", outcome.entries, spec, snaps["r"])
        assert final.status == "completed", final.error
        seen = check_every_snapshot("r", outcome.entries, spec)
        event(f"snapshots={min(seen, 5)}{'+' if seen > 5 else ''}")
        assert outcome.comparable() == (await baseline(plan)).comparable()

    async def main() -> None:
        async with fresh_store(kind) as store:
            await go(store)

    asyncio.run(main())


@pytest.mark.timeout(time_budget(90))
@settings(max_examples=examples(40))
@given(plan=wfgen.plans(), data=st.data())
def test_crash_anywhere_then_resume_from_the_latest_snapshot(plan: dict[str, Any], data: st.DataObject) -> None:
    points = draw_crash_points(data)
    expected = asyncio.run(baseline(plan))
    with frequent_snapshots():
        writes = count_journal_writes(plan)
    crashes = fold_crash_points(points, writes)

    async def go() -> None:
        warnings = _no_fallbacks()
        try:
            with temp_db() as folder:
                with frequent_snapshots(), live_snapshots() as snaps:
                    outcome, happened = await crash_and_resume(plan, db_in(folder), crashes)
                event(f"crashes={happened}")
                got, want = outcome.comparable(), expected.comparable()
                assert got == want, crashes
                spec = wfgen.make(plan, store=None)._run_spec()
                final = check_every_prefix("r", outcome.entries, spec, snaps["r"])
                assert final.status == "completed"
                check_every_snapshot("r", outcome.entries, spec)
        finally:
            logging.getLogger("durable_flows.runtime.rebuild").removeHandler(warnings)
        assert warnings.messages == []  # every resume could start from its snapshot

    asyncio.run(go())


@pytest.mark.timeout(time_budget(120))
@settings(max_examples=examples(3))
@given(plan=wfgen.plans(max_stages=4), data=st.data())
def test_sigkill_then_resume_from_the_latest_snapshot_in_subprocesses(
    plan: dict[str, Any], data: st.DataObject
) -> None:
    point = data.draw(st.integers(0, 10**6), label="after_append")
    expected = asyncio.run(baseline(plan))
    with frequent_snapshots():
        kill_at = 1 + point % count_journal_writes(plan)
    with temp_db() as folder, _frequent_snapshots_in_subprocesses():
        run = kill_then_finish(plan, folder, kill_at)
    if run.unfinished:
        assert "replaying the whole journal" not in run.final.stderr
    assert run.got == expected.comparable(), kill_at
    check_every_snapshot("r", run.entries, wfgen.make(plan, store=None)._run_spec())


@contextmanager
def _frequent_snapshots_in_subprocesses() -> Iterator[None]:
    """``gen_driver.py`` subprocesses snapshot as often as the in-process runs."""
    before = os.environ.get("FREQUENT_SNAPSHOTS")
    os.environ["FREQUENT_SNAPSHOTS"] = "1"
    try:
        yield
    finally:
        if before is None:
            del os.environ["FREQUENT_SNAPSHOTS"]
        else:
            os.environ["FREQUENT_SNAPSHOTS"] = before

"""Damaged journals stay honest: history names the damaged entry, a finished run keeps its status."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from durable_flows import Context, Event, SqliteStore, StartEvent, StopEvent, Workflow, step
from durable_flows.errors import JournalCorruptError, JournalDecodeError


class Half(Event):
    n: int


class TwoSteps(Workflow):
    @step
    async def first(self, ctx: Context, ev: StartEvent) -> Half:
        await ctx.store.set("n", 1)
        return Half(n=1)

    @step
    async def second(self, ev: Half) -> StopEvent:
        return StopEvent(result=ev.n + 1)


async def _finished_run(path: Path) -> int:
    store = SqliteStore(path)
    try:
        assert await TwoSteps(store=store).run(run_id="r") == 2
        return len(await store.read("r"))
    finally:
        await store.close()


def _sql(path: Path, statement: str, *params: object) -> None:
    con = sqlite3.connect(path)
    try:
        con.execute(statement, params)
        con.commit()
    finally:
        con.close()


async def test_history_names_the_run_and_seq_of_a_damaged_payload(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    await _finished_run(path)
    _sql(path, "UPDATE journal SET payload = '{\"exec\": 1, trunc' WHERE run_id = 'r' AND seq = 4")
    store = SqliteStore(path)
    try:
        with pytest.raises(JournalDecodeError) as caught:
            await store.history("r")
        assert caught.value.run_id == "r" and caught.value.seq == 4
        assert "'r'" in str(caught.value) and "seq=4" in str(caught.value)
    finally:
        await store.close()


async def test_history_refuses_a_gap_instead_of_skipping_it(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    await _finished_run(path)
    _sql(path, "DELETE FROM journal WHERE run_id = 'r' AND seq = 3")
    store = SqliteStore(path)
    try:
        with pytest.raises(JournalCorruptError) as caught:
            await store.history("r")
        assert caught.value.seq == 3 and "entry 3 is missing" in str(caught.value)
    finally:
        await store.close()


async def test_a_damaged_entry_does_not_flip_a_completed_run_to_failed(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    await _finished_run(path)
    _sql(path, "UPDATE journal SET payload = 'not json' WHERE run_id = 'r' AND seq = 2")
    store = SqliteStore(path)
    try:
        with pytest.raises(JournalDecodeError):
            await TwoSteps(store=store).resume("r")
        info = await store.get_run("r")
        assert info is not None and info.status == "completed" and not info.error
    finally:
        await store.close()

"""Forking a run at any seq and resuming the fork gives the original's result.

The steps of ``flows.Chain`` and ``flows.FanOut`` are deterministic, so every
fork, whatever its cut (between steps, after a step was accepted but before
it finished, inside a fan-out's collect), must end with the same result, and
neither the original's journal nor the fork's copied prefix may change.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import flows
import pytest

from durable_flows.storage import JournalStore, MemoryStore, SqliteStore

pytestmark = pytest.mark.timeout(120)


def rows(entries: list[Any]) -> list[tuple[Any, ...]]:
    return [(e.seq, e.kind, e.step, e.event_type, e.payload, e.ts, e.codec) for e in entries]


@pytest.fixture(params=["sqlite", "memory"])
async def fork_store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    store: JournalStore = SqliteStore(tmp_path / "fork.db") if request.param == "sqlite" else MemoryStore()
    try:
        yield store
    finally:
        await store.close()


@pytest.mark.parametrize(
    ("workflow", "kwargs"),
    [(flows.Chain, {"n": 7}), (flows.FanOut, {"count": 6})],
    ids=["chain", "fan_out"],
)
async def test_resuming_a_fork_from_any_seq_gives_the_same_result(
    fork_store: JournalStore, workflow: Any, kwargs: dict[str, Any]
) -> None:
    store = fork_store
    original = workflow(store=store).run(run_id="original", **kwargs)
    expected = await original
    journal = rows(await store.read("original"))
    last = len(journal)
    cuts = set()
    for seq in range(2, last + 1):  # seq 1 holds no start event: nothing to resume from
        fork_id = await store.fork("original", seq, f"fork-{seq}")
        info = await store.get_run(fork_id)
        assert info is not None and info.parent_run_id == "original"
        cut = info.forked_at_seq
        assert cut is not None and cut <= seq
        cuts.add(cut)
        assert rows(await store.read(fork_id)) == journal[:cut]
        result = await asyncio.wait_for(workflow(store=store).resume(fork_id), timeout=10)
        assert result == expected, f"fork at seq {seq} (cut {cut}) gave {result!r}"
        assert rows(await store.read(fork_id))[:cut] == journal[:cut]  # the prefix stayed as it was
        done = await store.get_run(fork_id)
        assert done is not None and done.status == "completed"
    assert rows(await store.read("original")) == journal
    assert (await store.get_run("original")).status == "completed"  # type: ignore[union-attr]
    assert len(cuts) > 3


async def test_a_fork_inside_a_fan_out_reruns_the_split_once(tmp_path: Path) -> None:
    """Regression guard: a cut between the events ``split`` sent and its ``completed``
    record would, if taken literally, send them twice and break the collect."""
    async with SqliteStore(tmp_path / "j.db") as store:
        assert await flows.FanOut(store=store).run(run_id="o", count=5) == 30
        entries = await store.read("o")
        middle = next(e.seq for e in entries if e.kind == "sent" and e.event_type == "flows.Item") + 1
        fork_id = await store.fork("o", middle)
        info = await store.get_run(fork_id)
        assert info is not None and info.forked_at_seq is not None and info.forked_at_seq < middle - 1
        assert await asyncio.wait_for(flows.FanOut(store=store).resume(fork_id), 10) == 30
        sent = [e for e in await store.read(fork_id) if e.kind == "sent" and e.event_type == "flows.Item"]
        assert len(sent) == 5

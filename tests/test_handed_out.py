"""A step gets its own copy of the event: changing it changes nothing the run keeps.

Events holding only scalars are copied shallowly (fast), others deeply; either
way a retry in the same process, and the journal, see the event as it was sent.
"""

from __future__ import annotations

from pathlib import Path

from durable_flows import Context, Event, SqliteStore, StartEvent, StopEvent, Workflow, step
from durable_flows.retry_policy import retry_policy, stop_after_attempt, wait_fixed


class Flat(Event):
    n: int
    label: str = "a"


class Nested(Event):
    xs: list[int]


class MutatesItsEvents(Workflow):
    seen: list[tuple[str, object]] = []

    @step
    async def begin(self, ctx: Context, ev: StartEvent) -> Flat | Nested | None:
        ctx.send_event(Flat(n=0, note="kept"))
        ctx.send_event(Nested(xs=[1]))
        return None

    @step(retry_policy=retry_policy(stop=stop_after_attempt(2), wait=wait_fixed(0.01)))
    async def flat(self, ctx: Context, ev: Flat) -> StopEvent | None:
        MutatesItsEvents.seen.append(("flat", (ev.n, ev.label, ev.get("note"))))
        ev.n += 1
        ev.label = "changed"
        ev["note"] = "changed"
        if len([s for s in MutatesItsEvents.seen if s[0] == "flat"]) == 1:
            raise RuntimeError("first attempt fails after changing its event")
        await ctx.store.set("flat_done", True)
        return StopEvent(result="done") if await ctx.store.get("nested_done", default=False) else None

    @step(retry_policy=retry_policy(stop=stop_after_attempt(2), wait=wait_fixed(0.01)))
    async def nested(self, ctx: Context, ev: Nested) -> StopEvent | None:
        MutatesItsEvents.seen.append(("nested", list(ev.xs)))
        ev.xs.append(99)
        if len([s for s in MutatesItsEvents.seen if s[0] == "nested"]) == 1:
            raise RuntimeError("first attempt fails after changing its event")
        await ctx.store.set("nested_done", True)
        return StopEvent(result="done") if await ctx.store.get("flat_done", default=False) else None


async def test_a_retry_sees_the_event_as_sent_whatever_the_first_attempt_changed(tmp_path: Path) -> None:
    MutatesItsEvents.seen = []
    store = SqliteStore(tmp_path / "j.db")
    try:
        assert await MutatesItsEvents(store=store, timeout=10).run(run_id="r") == "done"
        flat = [v for k, v in MutatesItsEvents.seen if k == "flat"]
        nested = [v for k, v in MutatesItsEvents.seen if k == "nested"]
        assert flat == [(0, "a", "kept"), (0, "a", "kept")]
        assert nested == [[1], [1]]
        # The journal holds the events as sent, too.
        payloads = [e.payload for e in await store.read("r") if e.event_type and e.event_type.endswith(("Flat", "Nested"))]
        assert payloads and not any("changed" in p or "99" in p for p in payloads)
    finally:
        await store.close()

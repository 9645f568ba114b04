"""Stop now, resume later: the cost of a self-contained ``to_dict()`` and of each restore path.

    python bench/restore.py            # 10, 1,000 and 10,000 events waiting in a collect buffer
    python bench/restore.py --quick    # tiny sizes (smoke run)

A run whose collector has buffered N events (N-1 of N arrived) and whose other
step waits for a human answer. For each N, side by side (median of ``--reps``):

* ``to_dict``: seconds for ``ctx.to_dict()`` and the dict's JSON size (the
  ``snapshot`` carries the N buffered events);
* ``fork``: seconds from ``wf.run(ctx=restored)`` until the restored run waits,
  in the store that holds the source run (its journal is copied);
* ``seed``: the same into an empty SQLite file (the run is seeded from the dict).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from durable_flows import Context, StartEvent, StopEvent, Workflow, step  # noqa: E402
from durable_flows.errors import WorkflowCancelledByUser  # noqa: E402
from durable_flows.events import Event, HumanResponseEvent, InputRequiredEvent  # noqa: E402
from durable_flows.storage import SqliteStore  # noqa: E402


class Item(Event):
    i: int


class Ask(Event):
    pass


class Buffered(Workflow):
    """begin sends ``n - 1`` Items (the collector needs n) and an Ask the asker waits on."""

    @step
    async def begin(self, ctx: Context, ev: StartEvent) -> Item | Ask | None:
        for i in range(ev.get("n") - 1):
            ctx.send_event(Item(i=i))
        ctx.send_event(Ask())
        return None

    @step(num_workers=1)
    async def gather(self, ctx: Context, ev: Item) -> StopEvent | None:
        got = ctx.collect_events(ev, [Item] * await ctx.store.get("n"))
        return None if got is None else StopEvent(result=len(got))

    @step
    async def ask(self, ctx: Context, ev: Ask) -> None:
        await ctx.wait_for_event(HumanResponseEvent, waiter_event=InputRequiredEvent(prefix="?"))


async def _waiting(store: SqliteStore, run_id: str) -> None:
    # polls the run's row: the figure is "until another process could see it waiting"
    while (info := await store.get_run(run_id)) is None or info.status != "waiting":  # noqa: ASYNC110
        await asyncio.sleep(0.001)


async def case(n: int, folder: Path, rep: int) -> dict[str, float]:
    source = SqliteStore(str(folder / f"src-{n}-{rep}.db"))
    ctx = Context(Buffered(store=source))
    await ctx.store.set("n", n)
    handler = Buffered(store=source).run(ctx=ctx, n=n)
    await _waiting(source, handler.run_id)
    t = time.perf_counter()
    ctx_dict = handler.ctx.to_dict()
    to_dict_s = time.perf_counter() - t
    size = len(json.dumps(ctx_dict))
    await handler.cancel_run()
    try:
        await handler
    except WorkflowCancelledByUser:
        pass
    out = {"to_dict_s": to_dict_s, "dict_kb": size / 1024}
    empty = SqliteStore(str(folder / f"dst-{n}-{rep}.db"))
    await empty.open()  # creating the file and its schema is not the restore's cost
    for name, store in (("fork", source), ("seed", empty)):
        wf = Buffered(store=store)
        t = time.perf_counter()
        restored = wf.run(ctx=Context.from_dict(wf, ctx_dict))
        await _waiting(store, restored.run_id)
        out[f"{name}_s"] = time.perf_counter() - t
        await restored.cancel_run()
        try:
            await restored
        except WorkflowCancelledByUser:
            pass
        if store is not source:
            await store.close()
    await source.close()
    return out


async def main_async(sizes: list[int], reps: int) -> None:
    print(f"{'buffered':>9} {'to_dict s':>10} {'dict KB':>9} {'fork s':>8} {'seed s':>8} {'seed/fork':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            runs = [await case(n, Path(tmp), rep) for rep in range(reps)]
            med: dict[str, Any] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            print(
                f"{n - 1:>9} {med['to_dict_s']:>10.4f} {med['dict_kb']:>9.1f} {med['fork_s']:>8.3f} "
                f"{med['seed_s']:>8.3f} {med['seed_s'] / med['fork_s']:>9.2f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    sizes = [3, 11] if args.quick else [11, 1001, 10001]
    asyncio.run(main_async(sizes, 1 if args.quick else args.reps))


if __name__ == "__main__":
    main()

"""Where durable_flows spends a workload's time: counters and a profile.

    python bench/hotspots.py chain            # 200 chain runs
    python bench/hotspots.py fanout --size 10000 --cprofile --top 25
    python bench/hotspots.py loop --pyinstrument
    python bench/hotspots.py loop --synchronous NORMAL

Counters, per run and per event: commits and writer jobs, time the writer
thread spent in its transactions, aiosqlite reads, asyncio callbacks run,
tasks created, records encoded and pydantic ``model_dump`` calls. The profile
(cProfile or pyinstrument) covers the event loop thread only; the writer
thread shows up in the counters.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))

from bench.harness import TIMEOUT  # noqa: E402
from bench.workloads import define  # noqa: E402

SIZES = {"chain": 200, "fanout": 1000, "loop": 5000, "concurrent": 100}


class Counters:
    """Counts by wrapping (on instances, or on classes for the duration of a run)."""

    def __init__(self) -> None:
        self.n: dict[str, float] = {}
        self._undo: list[Any] = []

    def bump(self, key: str, by: float = 1) -> None:
        self.n[key] = self.n.get(key, 0) + by

    def wrap(self, owner: Any, name: str, key: str, timed: bool = False) -> None:
        inner = getattr(owner, name)
        had = name in vars(owner) if isinstance(owner, type) else False

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.bump(key)
            if not timed:
                return inner(*args, **kwargs)
            t0 = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.bump(key + " seconds", time.perf_counter() - t0)

        setattr(owner, name, counted)
        self._undo.append((owner, name, inner, had))

    def restore(self) -> None:
        for owner, name, inner, had in reversed(self._undo):
            if isinstance(owner, type) and not had:
                delattr(owner, name)
            else:
                setattr(owner, name, inner)


async def workload(name: str, size: int, ns: Any, store: Any) -> int:
    """Run the workload once; returns the number of events (or steps) it processed."""
    if name == "chain":
        wf = ns.ChainFlow(timeout=TIMEOUT, store=store)
        for _ in range(size):
            await wf.run()
        return size * 10
    if name == "concurrent":
        wf = ns.ChainFlow(timeout=TIMEOUT, store=store)
        await asyncio.gather(*(wf.run() for _ in range(size)))
        return size * 10
    if name == "fanout":
        await ns.FanFlow(timeout=TIMEOUT, store=store).run(start_event=ns.FanStart(n=size))
        return size
    await ns.LoopFlow(timeout=TIMEOUT, store=store).run(start_event=ns.LoopStart(n=size))
    return size


def instrument(c: Counters, store: Any) -> None:
    import aiosqlite
    import pydantic

    from durable_flows.codec.journal import Codec

    writer = getattr(store, "_writer", None)
    if writer is not None:
        from durable_flows.storage.sqlite.jobs import WriteJobs

        c.wrap(writer, "_run_batch", "writer transactions", timed=True)
        c.wrap(writer, "submit", "writer jobs")
        c.wrap(WriteJobs, "append", "writer append jobs (SQL)", timed=True)
    c.wrap(aiosqlite.Connection, "execute_fetchall", "aiosqlite reads")
    c.wrap(Codec, "encode", "records encoded", timed=True)
    c.wrap(pydantic.BaseModel, "model_dump", "pydantic model_dump")
    c.wrap(asyncio.events.Handle, "_run", "asyncio callbacks")
    loop = asyncio.get_running_loop()

    def factory(lp: Any, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        c.bump("tasks created")
        return asyncio.Task(coro, loop=lp, **kwargs)

    loop.set_task_factory(factory)


async def main(args: argparse.Namespace) -> None:
    ns = define("durable_flows")
    size = args.size or SIZES[args.workload]
    with tempfile.TemporaryDirectory(prefix="durable_flows-profile-") as tmp:
        if args.memory:
            store = ns.api.MemoryStore()
        else:
            store = ns.api.SqliteStore(str(Path(tmp) / "p.db"), synchronous=args.synchronous)
        await store.open()
        await workload(args.workload, 5, ns, store)  # warm
        c = Counters()
        if not args.no_counters:
            instrument(c, store)
        runs = 1 if args.workload in ("fanout", "loop") else size
        profiler: Any = None
        if args.cprofile:
            profiler = cProfile.Profile()
            profiler.enable()
        elif args.pyinstrument:
            import pyinstrument

            profiler = pyinstrument.Profiler(async_mode="enabled")
            profiler.start()
        t0, cpu0 = time.perf_counter(), time.process_time()
        events = await workload(args.workload, size, ns, store)
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        if args.cprofile:
            profiler.disable()
        elif args.pyinstrument:
            profiler.stop()
        if not args.no_counters:
            asyncio.get_running_loop().set_task_factory(None)
        c.restore()
        await store.close()
    where = "MemoryStore" if args.memory else f"SQLite synchronous={args.synchronous}"
    print(f"{args.workload} size={size} {where}: {wall:.3f} s, "
          f"{events / wall:,.0f} events(steps)/s, {wall / events * 1e6:,.0f} µs each, "
          f"process CPU {cpu / events * 1e6:,.0f} µs each")  # fmt: skip
    print(f"{'counter':32} {'total':>12} {'per run':>10} {'per event':>10}")
    for key, value in sorted(c.n.items()):
        print(f"{key:32} {value:12,.3f} {value / runs:10,.3f} {value / events:10,.4f}")
    if args.cprofile:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).strip_dirs()
        stats.sort_stats("tottime").print_stats(args.top)
        stats.sort_stats("cumulative").print_stats(args.top)
        print(out.getvalue())
    elif args.pyinstrument:
        print(profiler.output_text(unicode=True, color=False, show_all=False))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("workload", choices=sorted(SIZES))
    parser.add_argument("--size", type=int)
    parser.add_argument("--synchronous", default="FULL", choices=["FULL", "NORMAL"])
    parser.add_argument("--memory", action="store_true", help="MemoryStore: engine CPU only")
    parser.add_argument("--cprofile", action="store_true")
    parser.add_argument("--pyinstrument", action="store_true")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument(
        "--no-counters", action="store_true", help="time only (counters cost ~10%%)"
    )
    asyncio.run(main(parser.parse_args()))

"""Workloads run on both engines: chain, fan-out, loop, concurrent.

Each repetition runs every engine once, engines interleaved, so slow phases of
the machine hit both. Each engine first runs a small untimed warm-up (imports,
pydantic schema caches, the first SQLite pages).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from .harness import Config, Results, Session, need
from .workloads import CHAIN_STEPS

FULL = {
    "chain": 200,
    "fan_durable_flows": (1000, 2000, 10000),
    "fan_upstream": (1000, 2000),
    "loop": 5000,
    "concurrent": 100,
}
QUICK = {
    "chain": 5,
    "fan_durable_flows": (20, 40, 200),
    "fan_upstream": (20, 40),
    "loop": 50,
    "concurrent": 10,
}


def sizes(cfg: Config) -> dict[str, Any]:
    return QUICK if cfg.quick else FULL


def _durable_extras(res: Results, workload: str, s: Session, runs: int) -> None:
    """Journal entries and commits of a durable_flows session, per run (sizes: ``journal``)."""
    if not s.durable or not s.journal:
        return
    res.add(
        workload,
        "journal entries per run",
        s.engine,
        s.journal["entries"] / runs,
        higher=False,
        ratio=False,
    )
    if s.commits is not None:
        res.add(
            workload,
            "commits per run",
            s.engine,
            s.commits / runs,
            higher=False,
            ratio=False,
        )
    if s.syncs is not None:  # FULL: the sync thread's fsyncs, shared by many commits
        res.add(
            workload,
            "fsyncs per run",
            s.engine,
            s.syncs / runs,
            higher=False,
            ratio=False,
        )


async def chain(cfg: Config, res: Results) -> None:
    """CHAIN_STEPS sequential steps, N runs one after another."""
    n = sizes(cfg)["chain"]
    name = f"chain {CHAIN_STEPS} steps x {n} runs"
    for engine in cfg.engines:
        async with Session(engine, cfg, "warm") as s:
            wf = s.workflow(s.ns.ChainFlow)
            for _ in range(3):
                await wf.run()
    for _ in range(cfg.reps):
        for engine in cfg.engines:
            async with Session(engine, cfg, "chain") as s:
                wf = s.workflow(s.ns.ChainFlow)
                t0 = time.perf_counter()
                for _ in range(n):
                    result = await wf.run()
                    assert result == "done", result
                dt = time.perf_counter() - t0
            res.add(
                name,
                "runs/s",
                engine,
                n / dt,
                target="df >= 1.0x upstream; >= 170 runs/s (5x DBOS)",
                check=need(ratio=1.0, minimum=170),
            )
            res.add(
                name, "µs per step", engine, dt / (n * CHAIN_STEPS) * 1e6, higher=False, ratio=False
            )
            _durable_extras(res, name, s, n)


async def fanout(cfg: Config, res: Results) -> None:
    """One step sends N events, 4 workers, a collector waits for all N."""
    for engine in cfg.engines:
        async with Session(engine, cfg, "warm") as s:
            await s.workflow(s.ns.FanFlow).run(start_event=s.ns.FanStart(n=10))
    per_engine = {e: sizes(cfg)[f"fan_{e}"] for e in cfg.engines}
    base = min(min(v) for v in per_engine.values())
    for _ in range(cfg.reps):
        for engine in cfg.engines:
            times: dict[int, float] = {}
            for n in per_engine[engine]:
                async with Session(engine, cfg, f"fan{n}") as s:
                    wf = s.workflow(s.ns.FanFlow)
                    t0 = time.perf_counter()
                    result = await wf.run(start_event=s.ns.FanStart(n=n))
                    times[n] = time.perf_counter() - t0
                    assert result == n, result
                first = n == base
                res.add(
                    f"fan-out {n}",
                    "events/s",
                    engine,
                    n / times[n],
                    target="df >= 10x upstream" if first else "",
                    check=need(ratio=10.0) if first else None,
                )
                _durable_extras(res, f"fan-out {n}", s, 1)
            for n in per_engine[engine]:
                if n == base:
                    continue
                tenfold = n == 10 * base
                target = "<= ~10 (linear)" if tenfold else f"linear: {n / base:g}"
                res.add(
                    f"fan-out {n} vs {base}",
                    f"time ratio ({n / base:g}x events)",
                    engine,
                    times[n] / times[base],
                    higher=False,
                    ratio=False,
                    target=target,
                    check=need(maximum=10.5) if tenfold else None,
                )


async def loop(cfg: Config, res: Results) -> None:
    """A step that returns to itself N times."""
    n = sizes(cfg)["loop"]
    name = f"loop {n} events"
    for engine in cfg.engines:
        async with Session(engine, cfg, "warm") as s:
            await s.workflow(s.ns.LoopFlow).run(start_event=s.ns.LoopStart(n=20))
    for _ in range(cfg.reps):
        for engine in cfg.engines:
            async with Session(engine, cfg, "loop") as s:
                wf = s.workflow(s.ns.LoopFlow)
                t0 = time.perf_counter()
                result = await wf.run(start_event=s.ns.LoopStart(n=n))
                dt = time.perf_counter() - t0
                assert result == n, result
            res.add(
                name,
                "events/s",
                engine,
                n / dt,
                target="df >= 1.0x upstream; >= 1925/s (5x DBOS)",
                check=need(ratio=1.0, minimum=1925),
            )
            _durable_extras(res, name, s, 1)


async def concurrent(cfg: Config, res: Results) -> None:
    """N chain runs started at once on one workflow object."""
    n = sizes(cfg)["concurrent"]
    name = f"concurrent {n} chain runs"
    for engine in cfg.engines:
        async with Session(engine, cfg, "warm") as s:
            wf = s.workflow(s.ns.ChainFlow)
            await asyncio.gather(*(wf.run() for _ in range(5)))
    for _ in range(cfg.reps):
        for engine in cfg.engines:
            async with Session(engine, cfg, "concurrent") as s:
                wf = s.workflow(s.ns.ChainFlow)
                t0 = time.perf_counter()
                results = await asyncio.gather(*(wf.run() for _ in range(n)))
                dt = time.perf_counter() - t0
                assert results == ["done"] * n, results[:3]
            res.add(
                name, "runs/s", engine, n / dt, target="df >= 2x upstream", check=need(ratio=2.0)
            )
            _durable_extras(res, name, s, n)

"""What every workload shares: series of samples, engine sessions, journal statistics."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .workloads import define

DF = "durable_flows"
UP = "upstream"

#: Run timeout used for both engines (large: a benchmark run must not time out).
TIMEOUT = 3600.0


@dataclass
class Series:
    """One figure of one workload: samples per engine and how to read them.

    ``higher`` says whether a larger value is better (throughput) or worse
    (time, bytes). ``target`` is the issue's bar in words; ``met`` is filled in
    by the report when it can judge the figure.
    """

    workload: str
    metric: str
    higher: bool = True
    samples: dict[str, list[float]] = field(default_factory=dict)
    target: str = ""
    met: bool | None = None
    ratio: bool = True  # show durable_flows/upstream for this row
    #: Judges the row against its target (None: nothing to judge).
    check: Callable[[Series], bool | None] | None = None

    def add(self, engine: str, value: float) -> None:
        self.samples.setdefault(engine, []).append(value)

    def median(self, engine: str) -> float | None:
        values = self.samples.get(engine)
        return statistics.median(values) if values else None

    def ratio_value(self) -> float | None:
        """durable_flows median / upstream median, when both ran."""
        df, up = self.median(DF), self.median(UP)
        return df / up if df is not None and up else None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "workload": self.workload,
            "metric": self.metric,
            "higher_is_better": self.higher,
            "target": self.target,
            "met": self.met,
        }
        for engine, values in self.samples.items():
            out[engine] = {
                "median": statistics.median(values),
                "min": min(values),
                "max": max(values),
                "samples": values,
            }
        return out


def need(
    ratio: float | None = None, minimum: float | None = None, maximum: float | None = None
) -> Callable[[Series], bool | None]:
    """A check: durable_flows' median is at least ``ratio`` x upstream's (when
    upstream ran), at least ``minimum`` and at most ``maximum``."""

    def check(s: Series) -> bool | None:
        value = s.median(DF)
        if value is None:
            return None
        verdicts = []
        if ratio is not None and s.ratio_value() is not None:
            verdicts.append(s.ratio_value() >= ratio)  # type: ignore[operator]
        if minimum is not None:
            verdicts.append(value >= minimum)
        if maximum is not None:
            verdicts.append(value <= maximum)
        return all(verdicts) if verdicts else None

    return check


class Results:
    """All series of one benchmark run, in the order they were first added."""

    def __init__(self) -> None:
        self.series: dict[tuple[str, str], Series] = {}
        self.notes: list[str] = []
        self.failed: list[str] = []

    def get(self, workload: str, metric: str, **kwargs: Any) -> Series:
        key = (workload, metric)
        if key not in self.series:
            self.series[key] = Series(workload, metric, **kwargs)
        return self.series[key]

    def add(self, workload: str, metric: str, engine: str, value: float, **kwargs: Any) -> None:
        self.get(workload, metric, **kwargs).add(engine, value)

    def note(self, text: str) -> None:
        self.notes.append(text)


@dataclass
class Config:
    """Command-line choices every workload sees."""

    reps: int
    quick: bool
    tmp: Path
    engines: list[str]
    synchronous: str = "FULL"


class Session:
    """One repetition of one workload on one engine.

    For durable_flows it opens a fresh SQLite file (default settings unless
    ``synchronous`` says otherwise) before the timed part and closes it after,
    then reads the file's journal statistics and the writer's commit count.
    """

    def __init__(self, engine: str, cfg: Config, label: str) -> None:
        self.engine = engine
        self.ns = define(engine)
        self.durable = engine == "durable_flows"
        self.path = cfg.tmp / f"{label}-{time.monotonic_ns()}.db"
        self.synchronous = cfg.synchronous
        self.store: Any = None
        self.journal: dict[str, float] = {}
        self.commits: int | None = None
        self.syncs: int | None = None

    async def __aenter__(self) -> Session:
        if self.durable:
            self.store = self.ns.api.SqliteStore(str(self.path), synchronous=self.synchronous)
            await self.store.open()
        return self

    def workflow(self, cls: Any) -> Any:
        if self.durable:
            return cls(timeout=TIMEOUT, store=self.store)
        return cls(timeout=TIMEOUT)

    async def __aexit__(self, *exc: object) -> None:
        if not self.durable:
            return
        writer = getattr(self.store, "_writer", None)
        self.commits = getattr(writer, "_commits", None)
        syncer = getattr(writer, "syncer", None)
        self.syncs = getattr(syncer, "syncs", None)
        await self.store.close()
        if exc[0] is None:
            self.journal = journal_stats(self.path)
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(f"{self.path}{suffix}")


def journal_stats(path: Path | str) -> dict[str, float]:
    """Entries, payload bytes and file bytes of a closed durable_flows journal file."""
    size = sum(os.path.getsize(f"{path}{s}") for s in ("", "-wal") if os.path.exists(f"{path}{s}"))
    conn = sqlite3.connect(str(path))
    try:
        entries, payload = conn.execute(
            "SELECT count(*), coalesce(sum(length(payload)), 0) FROM journal"
        ).fetchone()
        runs = conn.execute("SELECT count(*) FROM runs").fetchone()[0]
    finally:
        conn.close()
    return {
        "entries": entries,
        "runs": runs,
        "file_bytes": size,
        "payload_bytes": payload,
        "bytes_per_entry": size / entries if entries else 0.0,
        "payload_per_entry": payload / entries if entries else 0.0,
    }


def kind_sizes(path: Path | str) -> dict[str, list[float]]:
    """Per record kind: [count, average payload length] (for the diagnosis)."""
    conn = sqlite3.connect(str(path))
    try:
        rows = conn.execute(
            "SELECT kind, count(*), avg(length(payload)) FROM journal GROUP BY kind ORDER BY 2 DESC"
        ).fetchall()
    finally:
        conn.close()
    return {kind: [count, round(avg, 1)] for kind, count, avg in rows}


class CommitWatch:
    """Notes when each run's first append after ``arm()`` has committed.

    It wraps the store's ``append`` on the instance: the time taken is the
    moment the store call returned, i.e. the records are durable and the run's
    loop is about to act on them.
    """

    def __init__(self, store: Any) -> None:
        self.first: dict[str, float] = {}
        self.expected = 0
        self.all_done: Any = None
        inner = store.append

        async def append(lease: Any, *args: Any, **kwargs: Any) -> Any:
            value = await inner(lease, *args, **kwargs)
            run_id = lease.run_id
            if run_id not in self.first:
                self.first[run_id] = time.perf_counter()
                if self.all_done is not None and len(self.first) >= self.expected:
                    self.all_done.set()
            return value

        store.append = append

    def arm(self, expected: int) -> None:
        self.first.clear()
        self.expected = expected
        self.all_done = asyncio.Event()


def dump_json(results: Results, meta: dict[str, Any]) -> str:
    """The run as one JSON document."""
    return json.dumps(
        {
            "meta": meta,
            "series": [s.as_dict() for s in results.series.values()],
            "notes": results.notes,
        },
        indent=2,
    )

"""OpenTelemetry: spans and metrics from real runs on a SQLite journal, read
back with the SDK's in-memory exporters."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk", reason="opentelemetry-sdk is not installed")

from opentelemetry.sdk.metrics import MeterProvider  # noqa: E402
from opentelemetry.sdk.metrics.export import InMemoryMetricReader  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402

from durable_flows import (  # noqa: E402
    Context,
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StopEvent,
    Workflow,
    otel,  # noqa: E402
    step,
)
from durable_flows.events import WorkflowIdleEvent  # noqa: E402
from durable_flows.retry_policy import retry_policy, stop_after_attempt, wait_fixed  # noqa: E402
from durable_flows.storage import SqliteStore  # noqa: E402


class Middle(Event):
    n: int


class Flaky(Workflow):
    tries = 0

    @step
    async def first(self, ev: StartEvent) -> Middle:
        return Middle(n=ev.n)

    @step(retry_policy=retry_policy(wait=wait_fixed(0.01), stop=stop_after_attempt(3)))
    async def second(self, ev: Middle) -> StopEvent:
        Flaky.tries += 1
        if Flaky.tries < 2:
            raise ValueError("not yet")
        return StopEvent(result=ev.n * 2)


class Ask(Workflow):
    @step
    async def ask(self, ctx: Context, ev: StartEvent) -> InputRequiredEvent:
        return InputRequiredEvent(prefix="ok?")

    @step
    async def answer(self, ev: HumanResponseEvent) -> StopEvent:
        return StopEvent(result=ev.response)


@pytest.fixture
def telemetry() -> Iterator[tuple[InMemorySpanExporter, InMemoryMetricReader]]:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    otel.instrument(tracer_provider, MeterProvider(metric_readers=[reader]))
    try:
        yield spans, reader
    finally:
        otel.uninstrument()


def _metrics(reader: InMemoryMetricReader) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    data = reader.get_metrics_data()
    for rm in data.resource_metrics if data else []:
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                found.setdefault(m.name, []).extend(m.data.data_points)
    return found


async def test_run_is_a_trace_and_steps_are_spans(telemetry: Any, db_path: Path) -> None:
    spans, reader = telemetry
    Flaky.tries = 0
    store = SqliteStore(str(db_path))
    handler = Flaky(store=store).run(n=21)
    assert await handler == 42
    await store.close()
    finished = spans.get_finished_spans()
    runs = [s for s in finished if s.name == "run Flaky"]
    steps = [s for s in finished if s.name.startswith("step ")]
    assert len(runs) == 1
    root = runs[0]
    assert root.parent is None and root.attributes["durable_flows.run_id"] == handler.run_id
    assert root.attributes["durable_flows.outcome"] == "completed"
    assert {s.context.trace_id for s in steps} == {root.context.trace_id}
    assert all(s.parent.span_id == root.context.span_id for s in steps)
    by_outcome = sorted((s.attributes["durable_flows.step"], s.attributes["durable_flows.attempt"],
                         s.attributes["durable_flows.outcome"]) for s in steps)
    assert by_outcome == [("first", 1, "completed"), ("second", 1, "retry"), ("second", 2, "completed")]
    for s in steps:
        assert {"durable_flows.worker", "durable_flows.exec_id", "durable_flows.workflow"} <= set(s.attributes)
        assert s.start_time <= s.end_time
    failed = next(s for s in steps if s.attributes["durable_flows.outcome"] == "retry")
    assert failed.status.status_code.name == "ERROR" and failed.events[0].name == "exception"
    assert [e.name for e in root.events] == ["retry"]
    # the trace context is journaled with the run
    with sqlite3.connect(db_path) as conn:
        (payload,) = conn.execute("select payload from journal where run_id=? and seq=1", (handler.run_id,)).fetchone()
    assert json.loads(payload)["trace"]["traceparent"].split("-")[1] == f"{root.context.trace_id:032x}"

    m = _metrics(reader)
    assert sum(p.value for p in m["durable_flows.runs.started"]) == 1
    assert [(dict(p.attributes)["durable_flows.status"], p.value) for p in m["durable_flows.runs.finished"]] == [
        ("completed", 1)
    ]
    assert sum(p.count for p in m["durable_flows.step.duration"]) == 3
    with sqlite3.connect(db_path) as conn:
        (entries,) = conn.execute("select count(*) from journal where run_id=?", (handler.run_id,)).fetchone()
    assert sum(p.sum for p in m["durable_flows.commit.batch_size"]) == entries  # every entry counted once
    assert sum(p.count for p in m["durable_flows.commit.latency"]) == sum(p.count for p in m["durable_flows.commit.batch_size"])


async def test_resumed_run_links_to_the_earlier_trace(telemetry: Any, db_path: Path) -> None:
    spans, reader = telemetry
    store = SqliteStore(str(db_path))
    handler = Ask(store=store, timeout=None).run()
    async for ev in handler.stream_events(expose_internal=True):
        if isinstance(ev, WorkflowIdleEvent):
            break
    await store.close()  # the process lets the run go: it waits in the journal
    waiting = _metrics(reader)["durable_flows.runs.waiting"]
    assert sum(p.value for p in waiting) == 1

    store = SqliteStore(str(db_path))
    await store.send_event(handler.run_id, HumanResponseEvent(response="yes"))
    assert await Ask(store=store, timeout=None).resume(handler.run_id) == "yes"
    await store.close()
    runs = [s for s in spans.get_finished_spans() if s.name == "run Ask"]
    assert len(runs) == 2
    origin_ctx = _journaled_origin(db_path, handler.run_id)
    first, resumed = sorted(runs, key=lambda s: s.start_time)
    assert (first.context.trace_id, first.context.span_id) == origin_ctx
    assert resumed.context.trace_id != origin_ctx[0]  # a trace of its own ...
    links = [(lk.context.trace_id, lk.context.span_id) for lk in resumed.links]
    assert origin_ctx in links  # ... linked to the run's first span
    assert "resumed" in [e.name for e in resumed.events]
    answer = [s for s in spans.get_finished_spans() if s.name == "step answer"]
    assert len(answer) == 1 and answer[0].context.trace_id == resumed.context.trace_id


def _journaled_origin(db: Path, run_id: str) -> tuple[int, int]:
    with sqlite3.connect(db) as conn:
        (payload,) = conn.execute("select payload from journal where run_id=? and seq=1", (run_id,)).fetchone()
    _v, trace_id, span_id, _f = json.loads(payload)["trace"]["traceparent"].split("-")
    return int(trace_id, 16), int(span_id, 16)


def test_nothing_is_loaded_or_journaled_without_instrument(tmp_path: Path) -> None:
    """No cost when absent: running a workflow never imports opentelemetry."""
    code = (
        "import asyncio, sys, json\n"
        "from durable_flows import Workflow, StartEvent, StopEvent, step\n"
        "from durable_flows.storage import SqliteStore\n"
        "class W(Workflow):\n"
        "    @step\n"
        "    async def s(self, ev: StartEvent) -> StopEvent:\n"
        "        return StopEvent(result=1)\n"
        "async def main():\n"
        f"    store = SqliteStore({str(tmp_path / 'x.db')!r})\n"
        "    h = W(store=store).run()\n"
        "    await h\n"
        "    entries = await store.read(h.run_id)\n"
        "    await store.close()\n"
        "    print(json.dumps([any(m.startswith('opentelemetry') for m in sys.modules),\n"
        "                      'trace' in entries[0].decoded()]))\n"
        "asyncio.run(main())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [False, False]


async def test_submitted_run_executed_by_a_worker_links_to_its_submission(telemetry: Any, db_path: Path) -> None:
    import asyncio

    from durable_flows.ops.worker import Worker

    spans, _reader = telemetry
    Flaky.tries = 1  # no retry this time
    store = SqliteStore(str(db_path))
    wf = Flaky(store=store)
    handler = await wf.submit(n=2)
    stop = asyncio.Event()
    worker = asyncio.create_task(Worker([wf], store=store).run(stop))
    assert await asyncio.wait_for(handler, 30) == 4
    stop.set()
    await worker
    await store.close()
    finished = spans.get_finished_spans()
    (submit,) = [s for s in finished if s.name == "submit Flaky"]
    (run,) = [s for s in finished if s.name == "run Flaky"]
    assert submit.parent is None and run.context.trace_id != submit.context.trace_id
    assert (submit.context.trace_id, submit.context.span_id) in [
        (lk.context.trace_id, lk.context.span_id) for lk in run.links
    ]
    assert _journaled_origin(db_path, handler.run_id) == (submit.context.trace_id, submit.context.span_id)
    assert run.attributes["durable_flows.outcome"] == "completed"


def test_stable_export_leaves_the_trace_context_out(telemetry: Any, db_path: Path) -> None:
    """Two runs of the same story still diff cleanly with `export --stable` when traced."""
    import asyncio

    from click.testing import CliRunner

    from durable_flows.cli import main

    async def two_runs() -> list[str]:
        store = SqliteStore(str(db_path))
        ids = []
        for _ in range(2):
            h = Flaky(store=store).run(n=1)
            await h
            ids.append(h.run_id)
        await store.close()
        return ids

    Flaky.tries = 1
    ids = asyncio.run(two_runs())

    def export(*args: str) -> str:
        result = CliRunner().invoke(main, ["export", *args, "--db", str(db_path)])
        assert result.exit_code == 0, result.output
        return str(result.output)

    stable = [export("--stable", rid) for rid in ids]
    assert stable[0].count("\n") >= 5 and '"trace"' not in stable[0]
    assert [json.loads(x)["kind"] for x in stable[0].splitlines()] == [
        json.loads(x)["kind"] for x in stable[1].splitlines()
    ]
    assert '"trace"' in export(ids[0])  # the plain export keeps everything

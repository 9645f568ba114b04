"""Traces and metrics from a run's committed records.

Each process that hosts a run opens one span for it (``run <workflow>``):
the first one is the root of the run's trace; a process that resumes the run
opens a span in a trace of its own, linked to the run's first span, whose
context was journaled in ``run_started`` under ``"trace"``. Each step
execution attempt becomes a child span, built when its ``completed`` or
``failed`` record commits, with the times the journal gives. Retries, waits,
wait time-outs and resumes are span events. Everything is derived from
committed records, so what is traced is what is durable.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.trace import Link, SpanContext, Status, StatusCode, TraceFlags

from ..runtime import records as k

SCOPE = "durable_flows"
FAILED_STATUSES = {"failed", "timed_out"}
FINISHED = {"completed", "failed", "timed_out", "cancelled"}


def _ns(ts: float) -> int:
    return int(ts * 1e9)


def traceparent(ctx: SpanContext) -> str:
    """W3C ``traceparent`` text of a span context."""
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"


def parse_traceparent(text: Any) -> SpanContext | None:
    """The span context a ``traceparent`` names, or None when it is not one."""
    try:
        _version, trace_id, span_id, flags = str(text).split("-")
        return SpanContext(int(trace_id, 16), int(span_id, 16), is_remote=True, trace_flags=TraceFlags(int(flags, 16)))
    except (ValueError, TypeError):
        return None


class OtelObserver:
    """A :class:`~durable_flows.runtime.observe.RunObserver` that writes OpenTelemetry
    spans and metrics (through the given providers, or the global ones)."""

    def __init__(self, tracer_provider: Any = None, meter_provider: Any = None) -> None:
        self.tracer = trace.get_tracer(SCOPE, tracer_provider=tracer_provider)
        meter = metrics.get_meter(SCOPE, meter_provider=meter_provider)
        self.runs_started = meter.create_counter("durable_flows.runs.started", "{run}", "Runs started")
        self.runs_finished = meter.create_counter("durable_flows.runs.finished", "{run}", "Runs finished, by status")
        self.runs_waiting = meter.create_up_down_counter(
            "durable_flows.runs.waiting", "{run}", "Runs this process saw start or stop waiting for input"
        )
        self.step_duration = meter.create_histogram("durable_flows.step.duration", "s", "Step attempt duration")
        self.commit_latency = meter.create_histogram("durable_flows.commit.latency", "s", "Time to commit an append")
        self.commit_size = meter.create_histogram("durable_flows.commit.batch_size", "{entry}", "Entries per append")
        self.segments: dict[str, Any] = {}
        self.accepted: dict[tuple[str, int], Any] = {}
        self.waiting: set[str] = set()

    # -- RunObserver ---------------------------------------------------------------------

    async def journal_context(self, store: Any, run_id: str, workflow: str, kind: str) -> Any:
        caller = trace.get_current_span().get_span_context()
        links = [Link(caller, {"durable_flows.link": "caller"})] if caller.is_valid else []
        if kind == "resume":
            origin = await _run_origin(store, run_id)
            if origin is not None:
                links.append(Link(origin, {"durable_flows.link": "run started"}))
        attributes = {"durable_flows.run_id": run_id, "durable_flows.workflow": workflow, "durable_flows.kind": kind}
        name = f"{'submit' if kind == 'submit' else 'run'} {workflow.rsplit('.', 1)[-1]}"
        span = self.tracer.start_span(name, context=otel_context.Context(), links=links, attributes=attributes)
        if kind == "submit":
            span.end()
        else:
            old = self.segments.pop(run_id, None)
            if old is not None:
                old.end()
            self.segments[run_id] = span
        return {"traceparent": traceparent(span.get_span_context())}

    def committed(self, run_id: str, workflow: str, records: Sequence[Any], update: Any, seconds: float) -> None:
        base = {"durable_flows.workflow": workflow}
        self.commit_latency.record(seconds, base)
        self.commit_size.record(len(records), base)
        segment = self.segments.get(run_id)
        for rec in records:
            kind = rec.kind
            if kind == k.RUN_STARTED:
                self.runs_started.add(1, base)
            elif kind == k.ACCEPTED:
                self.accepted[(run_id, int(rec.get("exec")))] = rec
            elif kind in (k.COMPLETED, k.FAILED):
                self._step_span(run_id, workflow, rec, segment)
            elif segment is not None:
                self._segment_event(segment, rec)
        if update is not None:
            self._row_change(run_id, workflow, update, segment)

    # -- helpers -----------------------------------------------------------------------------

    def _step_span(self, run_id: str, workflow: str, rec: Any, segment: Any) -> None:
        exec_id = int(rec.get("exec"))
        started = self.accepted.pop((run_id, exec_id), None)
        start_ts = started.ts if started is not None else rec.ts - float(rec.get("duration") or 0.0)
        retry_in = rec.get("retry_in")
        outcome = "completed" if rec.kind == k.COMPLETED else ("retry" if retry_in is not None else "failed")
        attributes = {
            "durable_flows.run_id": run_id,
            "durable_flows.workflow": workflow,
            "durable_flows.step": rec.step or "",
            "durable_flows.attempt": int(rec.get("attempt") or 1),
            "durable_flows.worker": int(started.get("worker") or 0) if started is not None else 0,
            "durable_flows.exec_id": exec_id,
            "durable_flows.outcome": outcome,
        }
        parent = trace.set_span_in_context(segment) if segment is not None else otel_context.Context()
        span = self.tracer.start_span(
            f"step {rec.step}", context=parent, start_time=_ns(start_ts), attributes=attributes
        )
        if rec.kind == k.FAILED:
            error = rec.get("error") or {}
            span.add_event(
                "exception",
                {"exception.type": str(error.get("type", "")), "exception.message": str(error.get("message", ""))},
                timestamp=_ns(rec.ts),
            )
            span.set_status(Status(StatusCode.ERROR, str(error.get("message", ""))[:200]))
            if retry_in is not None and segment is not None:
                segment.add_event(
                    "retry",
                    {"durable_flows.step": rec.step or "", "durable_flows.attempt": attributes["durable_flows.attempt"],
                     "durable_flows.retry_in": float(retry_in)},
                    timestamp=_ns(rec.ts),
                )
        span.end(end_time=_ns(rec.ts))
        self.step_duration.record(
            max(0.0, rec.ts - start_ts),
            {"durable_flows.workflow": workflow, "durable_flows.step": rec.step or "", "durable_flows.outcome": outcome},
        )

    def _segment_event(self, segment: Any, rec: Any) -> None:
        kind = rec.kind
        if kind == k.WAITER:
            segment.add_event(
                "wait",
                {"durable_flows.step": rec.step or "", "durable_flows.event_type": str(rec.get("event_type", "")),
                 "durable_flows.waiter_id": str(rec.get("waiter_id", ""))},
                timestamp=_ns(rec.ts),
            )
        elif kind == k.WAITER_TIMEOUT:
            segment.add_event("wait timed out", {"durable_flows.waiter_id": str(rec.get("waiter_id", ""))},
                              timestamp=_ns(rec.ts))
        elif kind == k.RESUMED:
            segment.add_event(
                "resumed", {"durable_flows.owner": str(rec.get("owner", "")),
                            "durable_flows.rerun": len(rec.get("rerun") or [])}, timestamp=_ns(rec.ts),
            )
        elif kind in (k.TIMED_OUT, k.CANCELLED, k.RUN_FAILED):
            segment.add_event(kind, timestamp=_ns(rec.ts))

    def _row_change(self, run_id: str, workflow: str, update: Any, segment: Any) -> None:
        status = update.status
        base = {"durable_flows.workflow": workflow}
        if status == "waiting" and run_id not in self.waiting:
            self.waiting.add(run_id)
            self.runs_waiting.add(1, base)
        elif status is not None and status != "waiting" and run_id in self.waiting:
            self.waiting.discard(run_id)
            self.runs_waiting.add(-1, base)
        if status in FINISHED:
            self.runs_finished.add(1, {**base, "durable_flows.status": status})
        if segment is None or not (status in FINISHED or update.release_lease):
            return
        if status in FINISHED:
            segment.set_attribute("durable_flows.outcome", status)
            if status in FAILED_STATUSES:
                segment.set_status(Status(StatusCode.ERROR, status))
        else:
            segment.set_attribute("durable_flows.outcome", "released")  # parked while waiting
        segment.end(end_time=time.time_ns())
        del self.segments[run_id]
        for key in [key for key in self.accepted if key[0] == run_id]:
            del self.accepted[key]


async def _run_origin(store: Any, run_id: str) -> SpanContext | None:
    """The span context journaled with the run's ``run_started`` record, if any."""
    entries = await store.read(run_id, after_seq=0)
    if not entries or entries[0].kind != k.RUN_STARTED:
        return None
    trace_data = entries[0].decoded().get("trace") or {}
    return parse_traceparent(trace_data.get("traceparent")) if isinstance(trace_data, dict) else None

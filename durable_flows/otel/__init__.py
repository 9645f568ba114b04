"""OpenTelemetry for durable_flows: each run a trace, each step attempt a span, and metrics.

Owns: :func:`instrument` / :func:`uninstrument` and the observer that turns
committed journal records into spans and metric points. Needs the ``otel``
extra (``opentelemetry-api``; configure an SDK as usual to export).

May import: ``runtime.observe`` (the interface the live loop calls),
``runtime.records`` (record kinds), ``errors``. Nothing in durable_flows
imports this package: without :func:`instrument` it is never loaded and
observing costs one truth test per commit.

Spans: ``run <Workflow>`` per process hosting a run (attributes
``durable_flows.run_id``, ``.workflow``, ``.outcome``; events ``wait``,
``retry``, ``resumed``, ``wait timed out``, ``cancelled``, ...); a resumed
run's span starts a new trace linked to the run's first span (its context
is journaled with the run under ``"trace"``); ``step <name>`` per attempt
(``durable_flows.step``, ``.attempt``, ``.worker``, ``.exec_id``,
``.outcome``). Metrics: ``durable_flows.runs.started``, ``.runs.finished``
(by ``durable_flows.status``), ``.runs.waiting``, ``.step.duration``,
``.commit.latency``, ``.commit.batch_size``.
"""

from __future__ import annotations

from typing import Any

from ..errors import ExtraMissingError
from ..runtime import observe

__all__ = ["instrument", "uninstrument"]

_installed: list[Any] = []


def instrument(tracer_provider: Any = None, meter_provider: Any = None) -> Any:
    """Trace and measure every run this process executes from now on; returns the observer.

    Args:
        tracer_provider: Where spans go (default: OpenTelemetry's global provider).
        meter_provider: Where metrics go (default: the global one).

    Raises:
        ExtraMissingError: ``opentelemetry-api`` is not installed.
    """
    try:
        from ._observer import OtelObserver
    except ImportError as exc:
        raise ExtraMissingError("opentelemetry-api", "otel") from exc
    uninstrument()
    observer = OtelObserver(tracer_provider, meter_provider)
    observe.add_observer(observer)
    _installed.append(observer)
    return observer


def uninstrument() -> None:
    """Stop tracing runs (spans already open end when garbage collected, unexported)."""
    while _installed:
        observe.remove_observer(_installed.pop())

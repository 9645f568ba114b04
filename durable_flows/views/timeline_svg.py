"""The report's timeline: one lane per step, one row per worker, one bar per attempt.

Bars are coloured by how the attempt ended; a dashed line joins the attempts
of one execution (a retry), a striped band shows a step parked in
``wait_for_event``, ticks on the top lane mark events, and vertical lines mark
resumes and the run's end. Long idle stretches (a human answering hours
later, a long retry delay) are cut out of the time axis and drawn as a
labelled break, so the busy parts stay readable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise

from ..graph.svg import FONT, esc, text_width
from ..ops.timeline import Attempt, RunTimeline, short_type
from .format import duration

OUTCOME_COLOURS = {
    "completed": "#3b82f6",
    "retry": "#f59e0b",
    "failed": "#dc2626",
    "waiting": "#8b5cf6",
    "interrupted": "#94a3b8",
    "stopped": "#6b7280",
    "running": "#93c5fd",
}
OUTCOME_LABELS = {
    "completed": "completed",
    "retry": "failed, retried",
    "failed": "failed",
    "waiting": "parked (waits)",
    "interrupted": "interrupted (process died)",
    "stopped": "stopped with the run",
    "running": "running",
}
_EVENT_COLOURS = {"start": "#16a34a", "outside": "#8b5cf6", "step": "#d97706", "produced": "#b45309", "catch": "#dc2626"}
LABEL_W, ROW_H, ROW_GAP, LANE_PAD, EVENTS_H, AXIS_H, GAP_PX = 170.0, 14.0, 3.0, 10.0, 30.0, 46.0, 54.0


@dataclass
class _Segment:
    t0: float
    t1: float
    x0: float
    x1: float
    gap: bool


class TimeScale:
    """Maps run time to x, cutting idle gaps longer than ``max(1s, 12% of the span)``."""

    def __init__(self, start: float, end: float, busy: list[tuple[float, float]], x0: float, width: float) -> None:
        self.start, self.end = start, max(end, start)
        span = self.end - self.start
        merged: list[list[float]] = []
        for a, b in sorted((max(a, start), min(max(a, b), self.end)) for a, b in busy):
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        cut = max(1.0, 0.12 * span)
        gaps = [(p[1], q[0]) for p, q in pairwise(merged) if q[0] - p[1] > cut]
        active = span - sum(b - a for a, b in gaps)
        room = max(width - GAP_PX * len(gaps), width * 0.3)
        self.px_per_s = room / active if active > 0 else 0.0
        self.segments: list[_Segment] = []
        t, x = self.start, x0
        for a, b in gaps + [(self.end, self.end)]:
            w = (a - t) * self.px_per_s
            self.segments.append(_Segment(t, a, x, x + w, False))
            x += w
            if b > a:
                self.segments.append(_Segment(a, b, x, x + GAP_PX, True))
                x += GAP_PX
            t = b
        self.x_end = x

    def x(self, t: float) -> float:
        """The x of time ``t`` (clamped to the run)."""
        for seg in self.segments:
            if t <= seg.t1:
                if seg.t1 <= seg.t0:
                    return seg.x0
                return seg.x0 + (max(t, seg.t0) - seg.t0) / (seg.t1 - seg.t0) * (seg.x1 - seg.x0)
        return self.x_end

    def ticks(self) -> list[tuple[float, str]]:
        """(x, label) of round time offsets inside the busy segments, >= 80px apart.

        Offsets count from the run's start, and after an idle break (labelled
        with its length) from the break's end.
        """
        if self.px_per_s <= 0:
            return [(self.segments[0].x0, "+0s")]
        raw = 80.0 / self.px_per_s
        exp = math.floor(math.log10(raw))
        step = next(m * 10**exp for m in (1, 2, 5, 10) if m * 10**exp >= raw)
        out = []
        base = self.start  # after an idle break, offsets count from the break's end
        for seg in self.segments:
            if seg.gap:
                base = seg.t1
                continue
            k = math.ceil((seg.t0 - base) / step - 1e-9)
            while base + k * step <= seg.t1 + 1e-9:
                offset = k * step
                out.append((self.x(base + offset), _offset_label(offset, step)))
                k += 1
        return out


def _offset_label(offset: float, step: float) -> str:
    if step < 1:
        digits = max(0, -math.floor(math.log10(step)))
        return f"+{offset:.{digits}f}s"
    return "+" + (f"{offset:.0f}s" if offset < 60 else duration(offset))


def timeline_svg(tl: RunTimeline, step_order: list[str], width: float = 1240.0, end_status: str | None = None) -> str:
    """The timeline as one inline ``<svg>`` (no namespace: it lives in HTML)."""
    start, end = tl.started, tl.last
    busy = [(a.started, a.ended if a.ended is not None else end) for a in tl.attempts]
    busy += [(e.ts, e.ts) for e in tl.events] + [(t, t) for t in tl.resumes]
    scale = TimeScale(start, end, busy, LABEL_W, width - LABEL_W - 24)
    steps = [s for s in step_order if s in tl.steps] + [s for s in tl.steps if s not in step_order]
    rows: dict[tuple[str, int], float] = {}
    lanes = []
    y = EVENTS_H + 8
    for step in steps:
        workers = sorted(tl.steps[step].workers) or [0]
        top = y
        for i, w in enumerate(workers):
            rows[(step, w)] = top + LANE_PAD / 2 + i * (ROW_H + ROW_GAP)
        y = top + max(LANE_PAD + len(workers) * (ROW_H + ROW_GAP), 36.0)
        lanes.append((step, top, y))
    height = y + AXIS_H
    parts = [
        f'<svg width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'font-family="{FONT}" role="img" aria-label="timeline">',
        '<defs><pattern id="tl-wait" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#ede9fe"/>'
        '<rect width="2.5" height="6" fill="#c4b5fd"/></pattern></defs>',
    ]
    for i, (step, top, bottom) in enumerate(lanes):
        fill = "#f8fafc" if i % 2 == 0 else "#ffffff"
        st = tl.steps[step]
        facts = f"{st.executions} exec" + (f" · {st.failures} failed" if st.failures else "")
        parts.append(
            f'<rect x="0" y="{top:.1f}" width="{width:.0f}" height="{bottom - top:.1f}" fill="{fill}"/>'
            f'<text x="8" y="{top + 15:.1f}" font-size="12" font-weight="600" fill="#1f2937">{esc(_fit(step, 22))}</text>'
            f'<text x="8" y="{top + 28:.1f}" font-size="10" fill="#6b7280">{esc(facts)}</text>'
        )
    parts.append(f'<text x="8" y="{EVENTS_H / 2 + 8:.1f}" font-size="12" font-weight="600" fill="#1f2937">events</text>')
    parts.append(_grid(scale, height - AXIS_H))
    for seg in scale.segments:
        if seg.gap:
            parts.append(_gap(seg, height - AXIS_H))
    parts.extend(_event_ticks(tl, scale))
    for wait in tl.waits:
        row = rows.get((wait.step, _worker_of(tl, wait.exec)))
        if row is None:
            continue
        x0, x1 = scale.x(wait.since), scale.x(wait.until if wait.until is not None else end)
        state = "answered" if wait.until is not None and not wait.timed_out else ("timed out" if wait.timed_out else "still waiting")
        tip = f"{wait.step} waits for {short_type(wait.event_type)} (waiter {wait.waiter_id}): {state}"
        parts.append(
            f'<rect x="{x0:.1f}" y="{row + 2:.1f}" width="{max(x1 - x0, 2):.1f}" height="{ROW_H - 4:.1f}" '
            f'fill="url(#tl-wait)" stroke="#a78bfa" stroke-width="0.8"><title>{esc(tip)}</title></rect>'
        )
    for ex in tl.executions:
        for prev, nxt in pairwise(ex.attempts):
            if prev.outcome == "retry" and prev.ended is not None:
                ya, yb = rows[(ex.step, prev.worker)] + ROW_H / 2, rows[(ex.step, nxt.worker)] + ROW_H / 2
                parts.append(
                    f'<path d="M{scale.x(prev.ended):.1f},{ya:.1f} L{scale.x(nxt.started):.1f},{yb:.1f}" '
                    f'stroke="#f59e0b" stroke-width="1.2" stroke-dasharray="3 2" fill="none">'
                    f"<title>retry after {esc(duration(prev.retry_in))}</title></path>"
                )
    for att in tl.attempts:
        parts.append(_bar(att, rows[(att.step, att.worker)], scale, end))
    for ts in tl.resumes:
        parts.append(_marker_line(scale.x(ts), height - AXIS_H, "#475569", "resumed", width))
    if end_status and end_status not in ("running", "waiting"):
        colour = {"completed": "#16a34a", "cancelled": "#7c3aed"}.get(end_status, "#dc2626")
        parts.append(_marker_line(scale.x(end), height - AXIS_H, colour, end_status, width))
    parts.append(_axis(scale, height - AXIS_H, width))
    parts.append("</svg>")
    return "\n".join(parts)


def _fit(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _worker_of(tl: RunTimeline, exec_id: int) -> int:
    for att in tl.attempts:
        if att.exec == exec_id:
            return att.worker
    return 0


def _bar(att: Attempt, row: float, scale: TimeScale, end: float) -> str:
    x0 = scale.x(att.started)
    x1 = scale.x(att.ended if att.ended is not None else end)
    colour = OUTCOME_COLOURS.get(att.outcome, "#94a3b8")
    tip = (
        f"{att.step} · exec {att.exec} · attempt {att.attempt} · worker {att.worker}\n"
        f"{OUTCOME_LABELS.get(att.outcome, att.outcome)} after {duration(att.duration)} · "
        f"took {short_type(att.event_type)} (seq {att.accepted_seq})"
    )
    if att.error:
        tip += f"\n{short_type(att.error.get('type'))}: {att.error.get('message')}"
    return (
        f'<rect x="{x0:.1f}" y="{row:.1f}" width="{max(x1 - x0, 2.0):.1f}" height="{ROW_H:.1f}" rx="2" '
        f'fill="{colour}"><title>{esc(tip)}</title></rect>'
    )


def _event_ticks(tl: RunTimeline, scale: TimeScale) -> list[str]:
    out = []
    for ev in tl.events:
        if ev.kind == "stream":
            continue
        if ev.kind == "produced":
            kind = "produced"
        elif ev.source in ("inbox", "handler"):
            kind = "outside"
        else:
            kind = ev.source if ev.source in _EVENT_COLOURS else "step"
        x = scale.x(ev.ts)
        origin = ev.from_step or ev.source
        tip = f"#{ev.seq} {ev.kind} {short_type(ev.event_type)} from {origin}"
        out.append(
            f'<rect x="{x - 1:.1f}" y="10" width="2.5" height="{EVENTS_H - 12:.1f}" '
            f'fill="{_EVENT_COLOURS[kind]}" opacity="0.8"><title>{esc(tip)}</title></rect>'
        )
    return out


def _gap(seg: _Segment, bottom: float) -> str:
    mid = (seg.x0 + seg.x1) / 2
    label = duration(seg.t1 - seg.t0) + " idle"
    return (
        f'<rect x="{seg.x0 + 6:.1f}" y="4" width="{seg.x1 - seg.x0 - 12:.1f}" height="{bottom - 4:.1f}" '
        'fill="#f1f5f9" stroke="#cbd5e1" stroke-dasharray="2 3"/>'
        f'<text x="{mid:.1f}" y="{bottom + 27:.1f}" font-size="10" text-anchor="middle" fill="#64748b">'
        f"{esc(label)}</text>"
    )


def _marker_line(x: float, bottom: float, colour: str, label: str, width: float) -> str:
    w = text_width(label, 10, bold=True)
    left = min(max(x - w / 2, LABEL_W), width - w - 4)
    return (
        f'<line x1="{x:.1f}" y1="{EVENTS_H:.1f}" x2="{x:.1f}" y2="{bottom + 6:.1f}" stroke="{colour}" '
        f'stroke-width="1.4" stroke-dasharray="4 3"/><text x="{left:.1f}" y="{bottom + 40:.1f}" '
        f'font-size="10" font-weight="600" fill="{colour}">{esc(label)}</text>'
    )


def _grid(scale: TimeScale, y: float) -> str:
    return "".join(
        f'<line x1="{x:.1f}" y1="{EVENTS_H:.1f}" x2="{x:.1f}" y2="{y:.1f}" stroke="#e2e8f0" stroke-width="0.8"/>'
        for x, _ in scale.ticks()
    )


def _axis(scale: TimeScale, y: float, width: float) -> str:
    parts = [f'<line x1="{LABEL_W:.1f}" y1="{y:.1f}" x2="{width - 16:.1f}" y2="{y:.1f}" stroke="#94a3b8"/>']
    for x, label in scale.ticks():
        parts.append(
            f'<line x1="{x:.1f}" y1="{y:.1f}" x2="{x:.1f}" y2="{y + 4:.1f}" stroke="#94a3b8"/>'
            f'<text x="{x:.1f}" y="{y + 14:.1f}" font-size="10" text-anchor="middle" fill="#64748b">{esc(label)}</text>'
        )
    return "".join(parts)

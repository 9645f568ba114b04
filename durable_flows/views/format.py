"""Text for people: times, durations, tables, and one-line summaries of journal entries."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import click

from ..ops.timeline import short_type
from ..storage import RunInfo
from ..storage.origin import describe_origin

_AGE = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s*(s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?|w|weeks?)\s*$",
    re.IGNORECASE,
)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_when(text: str, now: float | None = None) -> float:
    """A point in time from an ISO date/time or an age (``7d``, ``12h``, ``30m``, ``2w``).

    Naive ISO times are local time; ``Z`` or an offset is honoured.

    Raises:
        click.BadParameter: neither form.
    """
    now = time.time() if now is None else now
    match = _AGE.match(text)
    if match:
        unit = match[2].lower()[0]
        return now - float(match[1]) * _UNIT_SECONDS[unit]
    if text.strip().lower() == "now":
        return now
    iso = text.strip()
    if iso.endswith(("Z", "z")):
        iso = iso[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(iso).timestamp()
    except ValueError:
        raise click.BadParameter(
            f"cannot read {text!r} as a time: use an ISO date or time (2024-05-01, "
            "2024-05-01T12:00, 2024-05-01T12:00Z) or an age like 7d, 12h, 30m, 2w"
        ) from None


def iso(ts: float | None) -> str | None:
    """``ts`` as ISO 8601 local time with its offset (None stays None)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts).astimezone().isoformat(timespec="milliseconds")


def clock(ts: float) -> str:
    """``YYYY-MM-DD HH:MM:SS`` in local time."""
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def time_of_day(ts: float, with_date: bool = False) -> str:
    """``HH:MM:SS.mmm`` (with ``MM-DD`` in front when asked) in local time."""
    moment = datetime.fromtimestamp(ts)
    text = moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
    return moment.strftime("%m-%d ") + text if with_date else text


def ago(ts: float, now: float | None = None) -> str:
    """How long ago ``ts`` was, roughly: ``12s ago``, ``5m ago``, ``3h ago``, ``2d ago``."""
    seconds = max(0.0, (time.time() if now is None else now) - ts)
    for limit, unit, size in ((60, "s", 1), (3600, "m", 60), (86400, "h", 3600)):
        if seconds < limit:
            return f"{int(seconds // size)}{unit} ago"
    return f"{int(seconds // 86400)}d ago"


def duration(seconds: float | None) -> str:
    """A duration for people: ``850µs``, ``12ms``, ``1.23s``, ``2m 03s``, ``1h 02m``, ``3d 4h``."""
    if seconds is None:
        return "-"
    if seconds < 0.001:
        return f"{seconds * 1e6:.0f}µs"
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.2f}s"
    whole = timedelta(seconds=int(seconds))
    days, rest = whole.days, whole.seconds
    hours, minutes, secs = rest // 3600, rest % 3600 // 60, rest % 60
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s"


def shorten(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters with an ellipsis."""
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    widths: Mapping[int, int] | None = None,
    styles: Mapping[int, Callable[[str], str]] | None = None,
) -> str:
    """Aligned columns separated by two spaces.

    Args:
        widths: Maximum width of chosen columns (longer cells are cut).
        styles: A function per column applied to each padded cell (colours).
    """
    widths, styles = widths or {}, styles or {}
    cells = [
        [shorten("" if c is None else str(c), widths.get(i, 10_000)) for i, c in enumerate(r)]
        for r in rows
    ]
    size = [len(h) for h in headers]
    for row in cells:
        for i, c in enumerate(row):
            size[i] = max(size[i], len(c))
    last = len(headers) - 1
    lines = [
        "  ".join(click.style(h if i == last else h.ljust(size[i]), bold=True) for i, h in enumerate(headers))
    ]
    for row in cells:
        padded = [c.ljust(size[i]) for i, c in enumerate(row)]
        lines.append("  ".join(styles[i](p) if i in styles else p for i, p in enumerate(padded)))
    return "\n".join(line.rstrip() for line in lines)


def status_text(status: str) -> str:
    """A run status (possibly padded), coloured on terminals."""
    colour = {
        "completed": "green",
        "running": "blue",
        "waiting": "yellow",
        "queued": "cyan",
        "parked": "yellow",
        "orphaned": "red",
        "failed": "red",
        "timed_out": "red",
        "cancelled": "magenta",
    }.get(status.strip())
    return click.style(status, fg=colour) if colour else status


def compact(value: Any, width: int = 70) -> str:
    """A value as short JSON; an event's ``_data`` extras are shown inline."""
    return shorten(json.dumps(event_view(value), separators=(",", ":"), ensure_ascii=False, default=str), width)


def event_view(value: Any) -> Any:
    """An encoded event with its dict-like extras (``_data``) merged into its fields."""
    if isinstance(value, dict) and isinstance(value.get("_data"), dict):
        merged = {k: v for k, v in value.items() if k != "_data"}
        merged.update(value["_data"])
        return merged
    return value


def parse_json_text(text: str | None) -> Any:
    """JSON text parsed, or the text itself when it is not JSON."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def run_dict(info: RunInfo, steps_run: int | None = None) -> dict[str, Any]:
    """A run's row as JSON-compatible data for ``--json`` output.

    ``status`` is the stored status, ``state`` where the run stands now
    (``queued``, ``orphaned`` and ``parked`` for unfinished runs no process
    holds) and ``how_to_continue`` what to do about it (None when finished).
    """
    from .state_text import how_to_continue

    state = info.state
    out: dict[str, Any] = {
        "run_id": info.run_id,
        "workflow": info.workflow,
        "status": info.status,
        "state": state,
        "how_to_continue": how_to_continue(info, state),
        "created_at": info.created_at,
        "started": iso(info.created_at),
        "updated_at": info.updated_at,
        "last_activity": iso(info.updated_at),
        "last_seq": info.last_seq,
        "owner": info.owner,
        "lease_expires": info.lease_expires,
        "waiting_for": list(info.waiting_for),
        "outcome": parse_json_text(info.outcome),
        "error": parse_json_text(info.error),
        "parent_run_id": info.parent_run_id,
        "forked_at_seq": info.forked_at_seq,
        "snapshot_seq": info.snapshot_seq,
    }
    if steps_run is not None:
        out["steps_run"] = steps_run
    return out


def outcome_text(info: RunInfo) -> str:
    """A one-line result of a completed run (the stop event's ``result``, or the event)."""
    outcome = parse_json_text(info.outcome)
    if not isinstance(outcome, dict):
        return str(outcome)
    event = event_view(outcome.get("event"))
    if isinstance(event, dict) and set(event) == {"result"}:
        return json.dumps(event["result"], ensure_ascii=False, default=str)
    return f"{short_type(outcome.get('type'))} {json.dumps(event, ensure_ascii=False, default=str)}"


def error_text(info: RunInfo) -> tuple[str, str | None]:
    """A failed/timed-out/cancelled run's error as (one line, traceback or None)."""
    error = parse_json_text(info.error)
    if not isinstance(error, dict):
        return (str(error) if error else info.status), None
    kind = error.get("kind")
    if kind == "cancelled":
        return f"cancelled: {error.get('reason', '')}", None
    if kind == "timed_out":
        active = ", ".join(error.get("active_steps") or []) or "none"
        return f"timed out after {error.get('timeout')}s (steps active: {active})", None
    line = f"{short_type(error.get('type')) or 'error'}: {error.get('message', '')}"
    if error.get("step"):
        attempts = error.get("attempts")
        line = f"step {error['step']} failed" + (f" after {attempts} attempt(s)" if attempts else "") + f": {line}"
    return line, error.get("traceback")


def entry_detail(entry: Mapping[str, Any], width: int = 70) -> str:
    """A short, readable summary of one journal entry's payload."""
    kind, p = entry["kind"], entry.get("payload") or {}
    text: str
    if kind == "run_started":
        text = f"workflow {p.get('workflow')} · timeout {p.get('timeout')}"
    elif kind == "sent":
        source = p.get("source") or "?"
        if p.get("inbox"):
            source += f" #{p['inbox']}"
        if p.get("origin"):  # who sent an outside event (send_event / send)
            source += f" ({describe_origin(p['origin'])})"
        target = f" → {p['target']}" if p.get("target") else ""
        if "undecodable" in p:
            text = f"{source}{target} · undecodable: {p['undecodable']}"
        else:
            text = f"{source}{target} {compact(p.get('event'), width)}"
    elif kind == "accepted":
        text = f"exec {p.get('exec')} · worker {p.get('worker')} · attempt {p.get('attempt')} · event #{p.get('event_seq')}"
    elif kind == "completed":
        text = f"exec {p.get('exec')} · attempt {p.get('attempt')} · {duration(p.get('duration'))}"
    elif kind == "failed":
        err = p.get("error") or {}
        then = "retry in " + duration(p["retry_in"]) if p.get("retry_in") is not None else "no retry"
        if p.get("catch"):
            then = f"handled by {p['catch']}"
        text = f"exec {p.get('exec')} · attempt {p.get('attempt')} · {then} · {short_type(err.get('type'))}: {err.get('message')}"
    elif kind == "waiter":
        text = f"exec {p.get('exec')} waits for {short_type(p.get('event_type'))} (waiter {p.get('waiter_id')})"
        if p.get("requirements"):
            text += f" where {compact(p['requirements'], 30)}"
    elif kind in ("produced", "stream", "collect"):
        head = f"exec {p.get('exec')}"
        if kind == "stream":
            head += f" · #{p.get('n')}"
        if kind == "collect":
            head += f" · {p.get('op')} {p.get('buffer')}"
        text = head + (f" {compact(p.get('event'), width)}" if "event" in p else "")
    elif kind == "state":
        who = "outside any step" if p.get("exec") is None and "execs" not in p else f"exec {p.get('exec')}"
        if p.get("execs"):
            who = "execs " + ", ".join("outside" if e is None else str(e) for e in p["execs"])
        body = _state_ops(p["ops"]) if "ops" in p else compact(p.get("state"), width)
        text = f"{who} · {body[:width] if isinstance(body, str) else compact(body, width)}"
    elif kind == "resource":
        text = f"{p.get('key')}" + ("" if p.get("cache", True) else " (not cached)")
    elif kind == "resumed":
        text = f"by {p.get('owner')} · token {p.get('token')}"
        if p.get("rerun"):
            text += f" · re-runs exec {', '.join(str(r) for r in p['rerun'])}"
        if p.get("delay"):
            text += " · delayed " + ", ".join(f"exec {e} {s:g} s" for e, s in p["delay"].items())
        if p.get("reset_recoveries"):
            text += " · death counts reset"
        if isinstance(p.get("died"), Mapping):
            text += f" · previous owner: {death_text(p['died'])}"
    elif kind == "timed_out":
        text = f"after {p.get('timeout')}s · active {', '.join(p.get('active_steps') or []) or 'none'}"
    elif kind == "cancelled":
        text = str(p.get("reason", ""))
    elif kind == "run_failed":
        text = f"{short_type(p.get('type'))}: {p.get('message', p.get('reason', ''))}"
    elif kind == "waiter_timeout":
        text = f"waiter {p.get('waiter_id')} timed out"
    elif kind == "snapshot":
        text = snapshot_detail(p)
    else:
        text = compact(p, width)
    return shorten(text, width)


def death_text(died: Mapping[str, Any]) -> str:
    """How a run's previous owner ended, from a ``resumed`` record's ``died``.

    ``killed by SIGKILL``, ``SIGSEGV in step X: <first traceback line>``,
    ``exited with status 1``, or ``unknown`` (with why, when the process lived on).
    """
    signal, step, frames = died.get("signal"), died.get("step"), str(died.get("traceback") or "")
    where = f" in step {step}" if step else ""
    if signal and frames:
        return f"{signal}{where}: {frames.splitlines()[0]}"
    if signal:
        return f"killed by {signal}{where}"
    if died.get("exit_code") is not None:
        return f"exited with status {died['exit_code']}{where}"
    if died.get("alive"):
        return "unknown (its lease lapsed while the process still ran)"
    return "unknown"


def resume_lines(history: Sequence[Mapping[str, Any]]) -> list[tuple[Mapping[str, Any], str]]:
    """Each ``resumed`` entry that took the run from an owner that never gave it back,
    with how that owner ended (:func:`death_text`)."""
    out = []
    for entry in history:
        payload = entry.get("payload")
        if entry.get("kind") == "resumed" and isinstance(payload, Mapping) and isinstance(payload.get("died"), Mapping):
            out.append((entry, death_text(payload["died"])))
    return out


def snapshot_detail(p: Mapping[str, Any]) -> str:
    """What a ``snapshot`` entry holds, in a few words (its payload is the whole run state)."""
    queued = sum(len(q) for q in (p.get("queues") or {}).values() if isinstance(q, list))
    buffered = sum(
        len(evs)
        for bufs in (p.get("buffers") or {}).values()
        if isinstance(bufs, dict)
        for evs in bufs.values()
        if isinstance(evs, list)
    )
    parts = [
        f"state up to #{p.get('last_seq')}",
        f"{queued} queued",
        f"{len(p.get('execs') or [])} executing",
        f"{len(p.get('waiters') or [])} waiters",
    ]
    if buffered:
        parts.append(f"{buffered} collected")
    return " · ".join(parts)


def _state_ops(ops: list[Any]) -> str:
    """A state change, one operation each: ``seen=3``, ``history+=[1 item]``, ``-draft``."""
    parts = []
    for op in ops:
        name = op[0]
        keys = op[1][1:] if op[1][:1] == ["_data"] else op[1]  # a dict state's keys live under _data
        where = ".".join(str(k) for k in keys) or "state"
        if name == "set":
            parts.append(f"{where}={json.dumps(op[2], separators=(',', ':'))}")
        elif name == "append":
            parts.append(f"{where}+=[{len(op[2])} item{'s' if len(op[2]) != 1 else ''}]")
        else:
            parts.append(f"-{where}")
    return " ".join(parts)

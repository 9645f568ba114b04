"""What the CLI says about a run's state: how to continue a run nobody is continuing."""

from __future__ import annotations

from typing import Any

from ..ops.timeline import short_type
from ..storage import RunInfo
from ..storage.run_state import ORPHANED, PARKED, QUEUED


def workflow_spec(name: str) -> str:
    """``module:Class`` for a stored workflow name; ``MODULE:Class`` when a script stored it as ``__main__``."""
    module, _, cls = name.rpartition(".")
    if module == "__main__":
        return f"MODULE:{cls}"
    return f"{module}:{cls}" if module else name


def how_to_continue(info: RunInfo, state: str | None = None) -> str | None:
    """One sentence saying who continues the run, and the command when nobody will; None when finished."""
    state = state or info.state
    resume = f"durable-flows resume {info.run_id} --workflow {workflow_spec(info.workflow)}"
    if state == QUEUED:
        return f"never started: a worker for {workflow_spec(info.workflow)} starts it, or run `{resume}`"
    if state == ORPHANED:
        return f"its owner is gone and nothing continues it: run `{resume}` (or `recover`, or start a worker)"
    if state == PARKED:
        wanted = ", ".join(short_type(t) for t in info.waiting_for) or "outside input"
        send = f"durable-flows send {info.run_id} {info.waiting_for[0] if info.waiting_for else 'EVENT'} --data '{{...}}'"
        return f"waiting for {wanted} with no process holding it: answer it with `{send}`, then `{resume}` or a worker continues it"
    if state == "waiting":
        return f"its owner {info.owner} waits for input: `durable-flows send` delivers it"
    if state == "running":
        return f"its owner {info.owner} is executing it"
    return None


def outside_event_blamed(history: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The event sent from outside that the run's last failed step execution took, if any.

    That is the ``sent`` entry (source ``inbox``) the execution's last
    attempt was started with, or, for a step waiting in ``wait_for_event``
    (re-run from its start when the answer came), the last such entry
    between its previous attempt and the failing one.
    """
    failed = next((e for e in reversed(history) if e["kind"] == "failed"), None)
    if failed is None or failed["payload"].get("retry_in") is not None:
        return None
    exec_id = failed["payload"].get("exec")
    starts = [e for e in history if e["kind"] == "accepted" and e["payload"].get("exec") == exec_id]
    if not starts:
        return None
    last, before = starts[-1], (starts[-2]["seq"] if len(starts) > 1 else 0)
    by_seq = {e["seq"]: e for e in history}
    took = by_seq.get(last["payload"].get("event_seq"))
    candidates = [took] if took is not None else []
    candidates += [e for e in reversed(history) if e["kind"] == "sent" and before < e["seq"] < last["seq"]]
    for entry in candidates:
        if entry["kind"] == "sent" and entry["payload"].get("source") == "inbox":
            return entry
    return None


def blame_text(run_id: str, entry: dict[str, Any]) -> str:
    """Says which outside event a failed run choked on, and how to go on without it."""
    inbox = entry["payload"].get("inbox")
    return (
        f"it failed on the {short_type(entry['event_type'])} sent from outside at seq {entry['seq']}"
        f" (inbox #{inbox}); to go on without it: `durable-flows resume {run_id} --skip-event {inbox} "
        "--workflow MODULE:CLASS`, then send a fitting event"
    )

"""What the CLI says about a run's state: how to continue a run nobody is continuing."""

from __future__ import annotations

from ..storage import RunInfo
from ..storage.run_state import ORPHANED, PARKED, QUEUED
from ..timeline import short_type


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

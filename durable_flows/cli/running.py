"""Running runs in the foreground: ``resume`` one run, ``recover`` every orphaned one.

Both follow each run's event stream (with internal events, so step starts
and ends and the moment a run goes idle are seen) until it finishes or waits
for outside input. A waiting run is then let go: its loop is stopped and
closing the store releases its lease, so a later `send` + `resume` (or any
other process) can continue it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import click

from ..events import StepState, StepStateChanged, StopEvent, WorkflowIdleEvent
from ..ops.timeline import short_type
from ..storage import FINISHED_STATUSES, JournalStore, RunInfo
from ..views.format import error_text, outcome_text, run_dict, status_text, table
from ..views.state_text import blame_text, outside_event_blamed
from ._common import (
    Progress,
    create_option,
    db_option,
    echo_json,
    json_option,
    load_workflow,
    run_with_store,
)
from ._errors import shell_message


@dataclass
class _Followed:
    """What the command saw of one run."""

    run_id: str
    steps_done: int = 0
    running: dict[str, int] = field(default_factory=dict)
    error: BaseException | None = None
    info: RunInfo | None = None
    #: The outside event the run's failed step took (a ``sent`` entry), if it failed on one.
    blamed: dict[str, Any] | None = None


async def follow(handler: Any, seen: _Followed, progress: Progress, redraw: Any) -> None:
    """Consume ``handler``'s stream until its run ends or goes idle; stop it if idle.

    Any exception is kept in ``seen.error``; the caller decides from the run's
    row whether it is the run's own outcome (a failed step) or a reason the
    run could not be resumed (unknown run, live owner, incompatible code).
    """
    idle = False
    try:
        async for ev in handler.stream_events(expose_internal=True):
            if isinstance(ev, StepStateChanged):
                if ev.step_state == StepState.RUNNING:
                    seen.running[ev.name] = seen.running.get(ev.name, 0) + 1
                else:
                    seen.running[ev.name] = max(0, seen.running.get(ev.name, 0) - 1)
                    seen.steps_done += 1
                redraw()
            elif isinstance(ev, WorkflowIdleEvent):
                idle = True
                break
            elif isinstance(ev, StopEvent):
                break
    except Exception as exc:  # noqa: BLE001 - judged by the caller
        seen.error = exc
    if idle:
        # Let the run go: the loop stops executing it here and gives its lease
        # back, so a `send` + `resume` here, or any other process, continues it.
        await handler._loop.detach()
        try:
            await asyncio.wait_for(asyncio.shield(handler._task), timeout=5)
        except asyncio.TimeoutError:
            handler._task.cancel()
        return
    try:
        await handler
    except Exception as exc:  # noqa: BLE001 - judged by the caller
        seen.error = exc


async def settle(store: JournalStore, seen: _Followed) -> None:
    """Read the run's row; an error of a run that ended is its outcome, not the command's."""
    seen.info = await store.get_run(seen.run_id)
    if seen.info is not None and seen.info.status in FINISHED_STATUSES:
        seen.error = None
    if seen.info is not None and seen.info.status == "failed":
        seen.blamed = outside_event_blamed(await store.history(seen.run_id))


def _status_line(label: str, seen: list[_Followed]) -> str:
    running: dict[str, int] = {}
    for s in seen:
        for step, n in s.running.items():
            if n:
                running[step] = running.get(step, 0) + n
    active = ", ".join(f"{step}×{n}" if n > 1 else step for step, n in sorted(running.items()))
    done = sum(s.steps_done for s in seen)
    return f"{label}: {done} step executions done" + (f" · running {active}" if active else "")


def _result(info: RunInfo) -> str:
    """What became of a run, without its id."""
    if info.status == "completed":
        return outcome_text(info)
    if info.status == "waiting":
        return "waiting for " + (", ".join(short_type(t) for t in info.waiting_for) or "outside input")
    if info.status in FINISHED_STATUSES:
        return error_text(info)[0]
    return info.status


def _describe(info: RunInfo) -> str:
    if info.status == "completed":
        return f"run {info.run_id} {status_text('completed')}: {_result(info)}"
    if info.status in FINISHED_STATUSES:
        return f"run {info.run_id} {status_text(info.status)}: {_result(info)}"
    return f"run {info.run_id} is {status_text(info.status)}" + (
        f" for {_result(info)[len('waiting for '):]}" if info.status == "waiting" else ""
    )


@click.command("recover")
@click.option("--workflow", "workflow_spec", required=True, metavar="MODULE:CLASS", help="Workflow whose runs to recover.")
@db_option
@create_option
@json_option
def recover_command(workflow_spec: str, db: str, create: bool, as_json: bool) -> None:
    """Resume every unfinished run of a workflow whose process is gone, in the
    foreground, until each finishes or waits (progress on a terminal). Runs a
    live process owns are left alone."""

    async def work(store: JournalStore) -> list[_Followed]:
        wf = load_workflow(workflow_spec, store)
        progress = Progress()
        progress.update(f"recover {wf.workflow_name}: claiming runs")
        return await follow_all(store, await wf.recover(), "recover", progress)

    seen = run_with_store(db, work, write=True, create=create)
    if not seen and not as_json:
        click.echo("nothing to recover: no unfinished run of this workflow is without a live owner")
        return
    show_followed(seen, as_json)


async def follow_all(store: JournalStore, handlers: list[Any], label: str, progress: Progress) -> list[_Followed]:
    """Follow every handler's run at once until each finishes or waits; what was seen of each."""
    seen = [_Followed(h.run_id) for h in handlers]

    def redraw() -> None:
        progress.update(_status_line(f"{label}: {len(seen)} runs", seen))

    async def one(handler: Any, s: _Followed) -> None:
        await follow(handler, s, progress, redraw)
        await settle(store, s)
        if s.info is not None:
            progress.note(f"  {s.run_id}: {s.info.status}")

    await asyncio.gather(*(one(h, s) for h, s in zip(handlers, seen, strict=True)))
    progress.close()
    return seen


def show_followed(seen: list[_Followed], as_json: bool) -> None:
    """Print what became of several runs: a table, or a JSON list."""
    if as_json:
        echo_json(
            [
                {**(run_dict(s.info) if s.info else {"run_id": s.run_id}), "error": shell_message(s.error) if s.error else None}
                for s in seen
            ]
        )
        return
    rows = []
    for s in seen:
        status = s.info.status if s.info else "?"
        note = shell_message(s.error) if s.error else (_result(s.info) if s.info else "")
        if s.blamed is not None:
            note += f" ({blame_text(s.run_id, s.blamed)})"
        rows.append([s.run_id, status, note])
    click.echo(table(["ID", "STATUS", "RESULT"], rows, widths={2: 80}, styles={1: status_text}))


COMMANDS = [recover_command]

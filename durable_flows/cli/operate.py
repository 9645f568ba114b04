"""Acting on runs: ``send`` an event, ``fork`` a run from a past point (``cancel``: cancel.py)."""

from __future__ import annotations

import json
import time
from typing import Any

import click
from pydantic import ValidationError

from ..errors import RunNotFoundError
from ..events import Event, qualified_name
from ..ops.timeline import short_type
from ..storage import FINISHED_STATUSES, JournalStore, RunInfo
from ..views.format import run_dict, status_text
from ..views.state_text import workflow_spec
from ._common import (
    CliError,
    db_option,
    echo_json,
    find_run,
    import_object,
    json_option,
    run_with_store,
)


def build_event(event_type: str, data: str) -> Event:
    """An event of ``event_type`` (``module:Class`` or ``module.Class``) from JSON ``data``.

    Raises:
        CliError: malformed JSON, not an object, not an Event class, or invalid fields.
    """
    try:
        fields = json.loads(data)
    except ValueError as exc:
        raise CliError(f"--data is not valid JSON ({exc}); pass an object like '{{\"response\": \"yes\"}}'") from exc
    if not isinstance(fields, dict):
        raise CliError(f"--data must be a JSON object with the event's fields, not {type(fields).__name__}")
    cls = import_object(event_type, "event type")
    if not (isinstance(cls, type) and issubclass(cls, Event)):
        raise CliError(f"{event_type!r} is not an Event class")
    try:
        return cls(**fields)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'event'}: {e['msg']}" for e in exc.errors())
        raise CliError(f"--data does not fit {cls.__name__}: {problems}") from exc
    except TypeError as exc:
        raise CliError(f"--data does not fit {cls.__name__}: {exc}") from exc


async def _require_run(store: JournalStore, run_id: str) -> RunInfo:
    info = await store.get_run(run_id)
    if info is None:
        raise RunNotFoundError(run_id)
    return info


def _owned(info: RunInfo) -> bool:
    return bool(info.owner and info.lease_expires and info.lease_expires > time.time())


@click.command("send")
@click.argument("run_id")
@click.argument("event_type")
@click.option("--data", default="{}", show_default=True, metavar="JSON", help="The event's fields as a JSON object.")
@click.option("--no-check", is_flag=True,
              help="Deliver it even if the steps that would take it read fields it lacks.")
@click.option("--actor", default=None, metavar="NAME",
              help="Who is sending, in your application's terms (journaled with host, pid and OS user).")
@db_option
@json_option
def send_command(
    run_id: str, event_type: str, data: str, no_check: bool, actor: str | None, db: str, as_json: bool
) -> None:
    """Deliver an event into a run, as store.send_event does.

    EVENT_TYPE is the event class as module:Class or module.Class, for example
    durable_flows.events.HumanResponseEvent. The event is queued durably in the
    run's inbox; the process that owns the run takes it in at once, or the next
    `resume` (or `recover`) does. An event the run cannot take (no step or
    waiter accepts its type, or those that would take it read fields it
    lacks, judged from the workflow's code when it can be imported) is
    refused before anything is journaled.
    """
    event = build_event(event_type, data)

    async def work(store: JournalStore) -> tuple[int, RunInfo]:
        info = await find_run(store, run_id)
        inbox_id = await store.send_event(info.run_id, event, check_fields=not no_check, actor=actor, via="cli")
        return inbox_id, await _require_run(store, info.run_id)

    inbox_id, info = run_with_store(db, work, write=True)
    run_id = info.run_id
    if as_json:
        echo_json({"run_id": run_id, "inbox_id": inbox_id, "event_type": qualified_name(type(event)), "status": info.status, "owned": _owned(info)})
        return
    click.echo(f"sent {short_type(qualified_name(type(event)))} to run {run_id} (inbox #{inbox_id})")
    if not _owned(info):
        click.echo(
            f"no process runs it now: continue it with `durable-flows resume {run_id} "
            f"--workflow {workflow_spec(info.workflow)}` (or a worker does)",
            err=True,
        )


@click.command("fork")
@click.argument("run_id")
@click.option("--at", "at_seq", type=int, required=True, metavar="SEQ", help="Last journal seq to copy.")
@click.option("--new-id", help="Id of the new run (default: a fresh uuid).")
@db_option
@json_option
def fork_command(run_id: str, at_seq: int, new_id: str | None, db: str, as_json: bool) -> None:
    """Copy a run's journal up to SEQ into a new run that can be resumed from
    there (time travel: retry from before a bad answer). The original run is
    untouched; the fork records where it came from. A SEQ inside a step's
    completion moves back to just before it."""

    async def work(store: JournalStore) -> tuple[RunInfo, RunInfo]:
        parent = await find_run(store, run_id)
        fork_id = await store.fork(parent.run_id, at_seq, new_id)
        return parent, await _require_run(store, fork_id)

    parent, fork = run_with_store(db, work, write=True)
    run_id = parent.run_id
    payload: dict[str, Any] = {**run_dict(fork), "requested_seq": at_seq}
    if as_json:
        echo_json(payload)
        return
    click.echo(f"forked run {run_id} at seq {fork.forked_at_seq} as {fork.run_id} ({status_text(fork.status)})")
    if fork.forked_at_seq != at_seq:
        click.echo(
            f"seq {at_seq} is inside a step's completion, whose effects commit together; "
            f"the fork ends at seq {fork.forked_at_seq}, before it",
            err=True,
        )
    if fork.status not in FINISHED_STATUSES:
        click.echo(f"continue it with: durable-flows resume {fork.run_id} --workflow {workflow_spec(parent.workflow)}")


COMMANDS = [send_command, fork_command]

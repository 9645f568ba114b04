"""Driving runs: the tasks behind run() and resume(), recovery claims, the default store.

Kept apart from ``workflow.py`` (the user-facing class) so each reads on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from .. import instrumentation
from ..errors import (
    ContextSerdeError,
    JournalCorruptError,
    JournalDecodeError,
    LeaseHeldError,
    RunNotFoundError,
    WorkflowCancelledByUser,
    WorkflowRuntimeError,
)
from ..events import Event
from ..runtime.rebuild import rebuild
from ..runtime.state import EXEC_RUNNING
from ..storage import JournalStore, open_store
from ..storage.crash_files import enable_fatal_error_file, fatal_error_file_pending
from ..storage.owners import owner_is_dead
from ..storage.rows import ACTIVE_STATUSES, FINISHED_STATUSES, Lease, NewRun, RunInfo
from .deaths import previous_owner_death
from .hosted import HostedWorkflow

if TYPE_CHECKING:
    from ..runtime.loop import RunLoop

logger = logging.getLogger("durable_flows")

_DEFAULT_STORES: weakref.WeakKeyDictionary[Any, dict[str, JournalStore]] = weakref.WeakKeyDictionary()


def default_store() -> JournalStore:
    """The store named by DURABLE_FLOWS_DB (else ./durable_flows.db), one per event loop.

    Sharing one store per loop lets every run in the process share one writer
    and so one commit per batch.
    """
    target = os.environ.get("DURABLE_FLOWS_DB") or "./durable_flows.db"
    try:
        loop: Any = asyncio.get_running_loop()
    except RuntimeError:
        return open_store(target)
    stores = _DEFAULT_STORES.setdefault(loop, {})
    if target not in stores:
        stores[target] = open_store(target)
    return stores[target]


async def hosted(
    wf: HostedWorkflow, loop: RunLoop, start_event: Event | None, body: Callable[[], Awaitable[None]]
) -> None:
    """Drive ``body()`` (one of the drive_* coroutines below) inside the run's
    llama-index-instrumentation span, when that package is installed (see
    ``instrumentation/hosting.py``); ``start_event`` when this starts the run."""
    with instrumentation.run_span(wf, loop.run_id, start_event, (WorkflowCancelledByUser,)) as span:
        await body()
        span.end(loop.result)


async def drive_new_run(wf: HostedWorkflow, loop: RunLoop, start: Event, seed: Any) -> None:
    """Journal and execute a new run; any failure reaches the handler."""
    async with wf._limit():
        try:
            await wf.store.open()
            if fatal_error_file_pending(wf.store):  # a fatal signal leaves a report for the resume
                await asyncio.to_thread(enable_fatal_error_file, wf.store)
            await loop.start(start, seed)
        except Exception as exc:  # noqa: BLE001 - reaches the handler
            loop._abort(exc)


async def drive_resume(
    wf: HostedWorkflow, loop: RunLoop, lease: Lease | None, reset_recoveries: bool = False, skip_failed: bool = False
) -> None:
    """Rebuild a run from its journal and continue it (or settle a finished one).

    ``reset_recoveries`` also continues a run that a recovery limit failed;
    ``skip_failed`` one that failed in a step, without that step's event.
    """
    store, run_id, ctx = wf.store, loop.run_id, loop.ctx
    async with wf._limit():
        try:
            await store.open()
            info = await store.get_run(run_id)
            if info is None:
                raise RunNotFoundError(run_id)
            held = lease
            again = info.status == "failed" and (
                (reset_recoveries and "RecoveryLimitError" in (info.error or "")) or skip_failed
            )
            if (info.status not in FINISHED_STATUSES or again) and held is None:
                held = await store.claim_lease(run_id)
            try:
                rebuilt = await rebuild(store, info, wf._codec(), wf._run_spec())
                ctx._replace_state(rebuilt.state.state)
                loop.state_ready.set()
            except Exception as exc:
                if info.status not in FINISHED_STATUSES:  # a finished run stays as it ended
                    await _mark_damaged(store, run_id, exc)
                if held is not None:  # let a process with compatible code take it
                    with contextlib.suppress(Exception):
                        await store.release_lease(held)
                raise
            state = loop.state = rebuilt.state
            loop.snapshots = rebuilt.tally
            loop._reported_status = "resuming"  # the first batch reports the status afresh
            if info.status in FINISHED_STATUSES and not state.finished:
                # Ended outside the journal: a damaged journal marks only the row failed.
                raise WorkflowRuntimeError(
                    f"run {run_id!r} was marked {info.status} without finishing: "
                    f"{info.error or 'no reason recorded'}"
                )
            if again and _continuable(state, reset_recoveries, skip_failed):
                pass  # continued below: the resumed record takes the failure back
            elif info.status in FINISHED_STATUSES or state.finished:
                await loop.finish_from_journal()
                if held is not None:
                    await store.release_lease(held)
                return
            assert held is not None  # unfinished runs were claimed above
            if fatal_error_file_pending(store):  # a fatal signal leaves a report for the next resume
                await asyncio.to_thread(enable_fatal_error_file, store)
            in_flight = {e.step for e in state.execs.values() if e.status == EXEC_RUNNING}
            died = await previous_owner_death(store, held, info.updated_at, in_flight)
            await loop.resume(held, state, reset_recoveries, skip_failed, died)
        except Exception as exc:  # noqa: BLE001 - reaches the handler
            loop._abort(exc)
        finally:
            loop.state_ready.set()  # nobody waits forever for a state that will not come


async def runs_of(wf: HostedWorkflow, store: JournalStore) -> list[RunInfo]:
    """Runs of ``wf`` in ``store``, newest first: by its name, by the name with
    leading packages dropped (``app.Class`` for ``examples.app.Class``), and
    by class name among runs stored as ``__main__.Class`` (with a warning)."""
    found = await store.list_runs(workflow=wf.workflow_name)
    for legacy in wf._legacy_names():
        old = await store.list_runs(workflow=legacy)
        if old and legacy.startswith("__main__."):
            logger.warning(
                "%d run(s) are stored under %r (started by a script, before durable_flows recorded "
                "the script's module); treating them as runs of %s by class name",
                len(old), legacy, wf.workflow_name,
            )  # fmt: skip
        if old:
            found = sorted([*found, *old], key=lambda i: (-i.created_at, i.run_id))
    return found


def _continuable(state: Any, reset_recoveries: bool, skip_failed: bool) -> bool:
    """A failed run the operator asked to continue: by a recovery limit, or in a step."""
    error = state.error or {}
    if state.status != "failed":
        return False
    if reset_recoveries and str(error.get("type", "")).endswith("RecoveryLimitError"):
        return True
    return skip_failed and "step" in error


async def drive_restore(
    wf: HostedWorkflow, loop: RunLoop, source: str, at_seq: int | None, snapshot: dict[str, Any] | None = None
) -> None:
    """Continue a context dict taken mid-run in ``loop``'s new run (see Workflow._restore).

    When the store holds ``source``, its journal is forked at ``at_seq``; else the
    run is seeded from the dict's ``snapshot`` (``runtime/seed.py``). Then resumed.
    """
    store = wf.store
    try:
        await store.open()
        info = await store.get_run(source)
        if info is None:
            if snapshot is None:
                raise RunNotFoundError(
                    source,
                    "this context dict carries no snapshot of the run (taken before the run's first "
                    "commit, or by an older version) and this store does not hold the run's journal: "
                    "restore with the store the run was journaled in",
                )
            await drive_resume(wf, loop, await _seed_run(wf, loop.run_id, source, snapshot))
            return
        entries = await store.read(source)
        if not at_seq:  # taken before the run's first commit: continue from its start event
            at_seq = next((e.seq for e in entries if e.kind == "sent"), info.last_seq)
        cut = min(at_seq, info.last_seq)
        kinds = {e.seq: e.kind for e in entries}
        while cut > 1 and kinds.get(cut) == "cancelled":  # a dict taken after cancel_run()
            cut -= 1
        await store.fork(source, cut, new_id=loop.run_id)
    except Exception as exc:  # noqa: BLE001 - reaches the handler
        loop._abort(exc)
        loop.state_ready.set()
        return
    await drive_resume(wf, loop, None)


async def _seed_run(wf: HostedWorkflow, run_id: str, source: str, snapshot: dict[str, Any]) -> Lease:
    """Journal a new run whose first record carries ``snapshot`` (a seeded run); it stays claimed.

    Raises:
        ContextSerdeError: the snapshot does not load (damaged, or events this code lacks).
    """
    from ..runtime import records as k
    from ..runtime.journal_codec import encode_record
    from ..runtime.records import Record
    from ..runtime.seed import RESTORED_FROM, SEED, seed_state

    codec, spec = wf._codec(), wf._run_spec()
    try:
        seeded = seed_state(snapshot, codec, run_id)
    except Exception as exc:  # noqa: BLE001 - every way a snapshot can be unusable
        raise ContextSerdeError(
            f"the context dict of run {source!r} cannot be restored: its snapshot does not load "
            f"({type(exc).__name__}: {exc}); pass the dict to_dict() gave, unchanged"
        ) from exc
    started = k.run_started_data(wf.workflow_name, spec.fingerprint(), wf._timeout, seeded.state)
    started.update({RESTORED_FROM: source, SEED: snapshot})
    entry = encode_record(codec, run_id, 1, Record(k.RUN_STARTED, time.time(), data=started, seq=1))
    return await wf.store.create_run(NewRun(run_id, wf.workflow_name, spec.fingerprint_json()), [entry])


async def claim_orphans(wf: HostedWorkflow) -> list[Lease]:
    """Claim every unfinished run of ``wf`` that no live process owns."""
    store = wf.store
    await store.open()
    now = time.time()
    candidates = []
    for info in await runs_of(wf, store):
        if info.status not in ACTIVE_STATUSES:
            continue
        live_owner = bool(info.owner) and (info.lease_expires or 0) > now and not owner_is_dead(info.owner or "")
        if live_owner and info.owner != store.owner_id:
            continue
        candidates.append(info.run_id)

    async def claim(run_id: str) -> Lease | None:
        try:
            return await store.claim_lease(run_id)
        except (LeaseHeldError, RunNotFoundError):
            return None

    # Claimed together, the claims share the store's group commits.
    leases = await asyncio.gather(*(claim(r) for r in candidates))
    return [lease for lease in leases if lease is not None]


async def _mark_damaged(store: JournalStore, run_id: str, exc: BaseException) -> None:
    """A journal that can't be read is marked failed with the reason; nothing is deleted."""
    if isinstance(exc, (JournalCorruptError, JournalDecodeError)):
        await store.set_failed(run_id, str(exc))

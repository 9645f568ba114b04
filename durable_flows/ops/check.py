"""Can the current code continue the stored runs? Replay them all and say.

:func:`check_runs` reads every run of a workflow from a store, decodes its
journal and replays it against the workflow's current steps and event types
(from its latest snapshot, as a resume does: see ``runtime/rebuild.py``),
without executing any step and without writing anything. Each run gets a
:class:`CheckResult`: ok, or the first mismatch (a step or event type the
journal needs that the code lacks, an undecodable entry, a gap). The
``durable-flows check`` command prints these and exits non-zero on any
mismatch, so a deploy pipeline can refuse code that would strand runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import DurableFlowsError, JournalCorruptError, JournalDecodeError, NonDeterminismError
from ..runtime.rebuild import rebuild
from ..storage.base import JournalStore
from ..storage.rows import FINISHED_STATUSES

if TYPE_CHECKING:
    from ..workflow import Workflow

#: CheckResult.problem values.
MISMATCH = "nondeterminism"
DAMAGED = "damaged"


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The verdict on one stored run.

    Attributes:
        run_id: The run.
        status: Its status in the store.
        entries: How many journal entries were replayed: those from the
            latest snapshot on, as a resume would (all of them when the run
            has no snapshot, or when the replay failed).
        ok: Whether the current code can replay (and, for an unfinished run,
            continue) it.
        problem: None when ok; ``"nondeterminism"`` when the code cannot honour
            the journal, ``"damaged"`` when the journal itself is broken.
        seq: The journal entry of the first mismatch, if any.
        message: What was expected and found, and what to do.
        snapshot_seq: The snapshot the replay started from, if it did.
    """

    run_id: str
    status: str
    entries: int
    ok: bool
    problem: str | None = None
    seq: int | None = None
    message: str = ""
    snapshot_seq: int | None = None


async def check_run(workflow: Workflow, store: JournalStore, run_id: str) -> CheckResult:
    """Replay one run against ``workflow``'s current code (nothing runs, nothing is written).

    Raises:
        RunNotFoundError: no such run.
    """
    from ..errors import RunNotFoundError

    info = await store.get_run(run_id)
    if info is None:
        raise RunNotFoundError(run_id)
    try:
        rebuilt = await rebuild(store, info, workflow._codec(), workflow._run_spec())
    except NonDeterminismError as exc:
        return CheckResult(run_id, info.status, info.last_seq, False, MISMATCH, exc.seq, str(exc))
    except (JournalCorruptError, JournalDecodeError) as exc:
        return CheckResult(run_id, info.status, info.last_seq, False, DAMAGED, exc.seq, str(exc))
    except DurableFlowsError as exc:  # anything else the engine refuses is a mismatch too
        return CheckResult(run_id, info.status, info.last_seq, False, MISMATCH, None, str(exc))
    return CheckResult(run_id, info.status, rebuilt.read, True, snapshot_seq=rebuilt.snapshot_seq)


async def check_runs(
    workflow: Workflow, store: JournalStore, *, active_only: bool = False
) -> list[CheckResult]:
    """Check every stored run of ``workflow`` (by its ``workflow_name``), newest first.

    Args:
        workflow: The workflow as the code defines it now.
        store: The journal to read.
        active_only: Only runs that are running or waiting (the ones a deploy
            must be able to continue); finished runs are skipped.
    """
    results = []
    from ..drive.drivers import runs_of

    for info in await runs_of(workflow, store):
        if active_only and info.status in FINISHED_STATUSES:
            continue
        results.append(await check_run(workflow, store, info.run_id))
    return results

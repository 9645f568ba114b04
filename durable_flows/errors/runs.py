"""Errors about runs and their ownership: unknown, existing, finished or ambiguous
runs, leases held by another process or taken over, replay that no longer matches
the code, runs that died too often, and fork points."""

from __future__ import annotations

from .root import DurableFlowsError


class RunNotFoundError(DurableFlowsError, KeyError):
    """No run with this id exists in the store."""

    def __init__(self, run_id: str, advice: str | None = None) -> None:
        self.run_id = run_id
        super().__init__(
            f"no run with id {run_id!r} in this journal. "
            + (
                f"{advice[0].upper()}{advice[1:]}."
                if advice
                else "List runs with `durable-flows runs` or store.list_runs() to find the right id."
            )
        )

    def __str__(self) -> str:  # KeyError would quote the message otherwise
        return str(self.args[0])


class RunExistsError(DurableFlowsError):
    """A run with this id already exists; run ids are unique per store."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(
            f"a run with id {run_id!r} already exists in this journal; its history was "
            "left as it was. Use wf.resume(run_id) to continue it, or pick another run_id."
        )


class RunFinishedError(DurableFlowsError):
    """The run already finished, so it cannot take new events."""

    def __init__(self, run_id: str, status: str) -> None:
        self.run_id = run_id
        self.status = status
        super().__init__(
            f"run {run_id!r} is already {status}; it accepts no more events. "
            "Start a new run, or fork this one from an earlier point."
        )


class AmbiguousRunIdError(DurableFlowsError, ValueError):
    """A run id prefix that starts several runs' ids."""

    def __init__(self, prefix: str, matches: list[str]) -> None:
        self.prefix = prefix
        shown = ", ".join(sorted(matches)[:5])
        super().__init__(f"{len(matches)} runs start with {prefix!r} ({shown}, ...): give more of the id")


class LeaseHeldError(DurableFlowsError):
    """Another live process owns the run."""

    def __init__(self, run_id: str, owner: str, expires_in: float) -> None:
        self.run_id = run_id
        self.owner = owner
        self.expires_in = expires_in
        super().__init__(
            f"run {run_id!r} is being executed by {owner!r} (lease valid for another "
            f"{expires_in:.1f}s). Only one process runs a run at a time: send events to it "
            "with store.send_event(), or resume it after that process stops."
        )


class StaleLeaseError(DurableFlowsError):
    """This process lost ownership of a run; its writes were refused."""

    def __init__(self, run_id: str, token: int) -> None:
        self.run_id = run_id
        self.token = token
        super().__init__(
            f"run {run_id!r}: append refused because fencing token {token} is stale; "
            "another process has taken the run over. This process stops executing it; "
            "nothing it wrote before losing the lease is lost."
        )


class NonDeterminismError(DurableFlowsError):
    """The current workflow code cannot honour a run's recorded history."""

    def __init__(self, run_id: str, seq: int | None, expected: str, found: str) -> None:
        self.run_id = run_id
        self.seq = seq
        self.expected = expected
        self.found = found
        where = f"journal entry seq={seq}" if seq is not None else "its fingerprint"
        super().__init__(
            f"run {run_id!r} cannot be resumed with this code: {where} expects {expected}, "
            f"but the workflow has {found}. Deploy code compatible with the run (restore the "
            "step or event type), or fork the run from before that entry, or cancel it."
        )


class RecoveryLimitError(DurableFlowsError):
    """A run crashed its process too many times while being resumed."""

    def __init__(self, run_id: str, step: str, restarts: int) -> None:
        self.run_id = run_id
        self.step = step
        self.restarts = restarts
        super().__init__(
            f"run {run_id!r}: step {step!r} was in flight when the process died "
            f"{restarts} times in a row, more than its max_recoveries allows; the run was "
            "marked failed instead of crash-looping. Fix what kills the process, then continue "
            "the run with wf.resume(run_id, reset_recoveries=True) "
            "(durable-flows resume RUN_ID --reset-recoveries)."
        )
        self._message = str(self.args[0])
        self.args = (run_id, step, restarts)  # journaled, so a resume raises the same error

    def __str__(self) -> str:
        return self._message


class ForkPointError(DurableFlowsError, ValueError):
    """A fork was asked for at a seq the run's journal does not have."""

    def __init__(self, run_id: str, seq: int, last_seq: int) -> None:
        self.run_id = run_id
        self.seq = seq
        self.last_seq = last_seq
        super().__init__(
            f"run {run_id!r} cannot be forked at seq={seq}: its journal has entries "
            f"1..{last_seq}. Pick a seq in that range (see `durable-flows show {run_id}`)."
        )

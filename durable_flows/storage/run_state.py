"""Where an unfinished run really stands: the ``state`` beside its stored ``status``.

The stored status says what the run's journal reached (``running`` or
``waiting`` until it finishes); it does not say whether any process is
working on it. The state does, from the row alone:

- ``running`` / ``waiting``: a live owner holds the run's lease (executing
  it, or waiting in memory for outside input);
- ``queued``: nobody holds it and it never started: submitted for a worker,
  or forked and not resumed yet;
- ``orphaned``: it started, but its owner is gone (dead, lease expired, or
  released it mid-run); nothing continues it until ``resume``, ``recover``
  or a worker does;
- ``parked``: waiting for outside input with no process holding it; an
  answer (``send``) lets a worker or ``resume`` continue it;
- the final statuses stay as they are.

The ``run_states`` view (migration 0004) computes the same from lease expiry
only; this module also sees at once that an owner on this host died.
"""

from __future__ import annotations

import time

from .owners import owner_is_dead
from .rows import FINISHED_STATUSES, WAITING, RunInfo

QUEUED = "queued"
ORPHANED = "orphaned"
PARKED = "parked"
#: Every value :func:`run_state` can give.
ALL_STATES = frozenset({"running", WAITING, QUEUED, ORPHANED, PARKED} | FINISHED_STATUSES)


def owner_alive(info: RunInfo, now: float | None = None) -> bool:
    """Whether a live process holds the run's lease."""
    if not info.owner or info.lease_expires is None:
        return False
    now = time.time() if now is None else now
    return info.lease_expires > now and not owner_is_dead(info.owner)


def never_started(info: RunInfo) -> bool:
    """Nothing was journaled since it was submitted (start records only) or forked."""
    if info.parent_run_id is not None and info.forked_at_seq is not None:
        return info.last_seq <= info.forked_at_seq
    return info.last_seq <= 2


def run_state(info: RunInfo, now: float | None = None) -> str:
    """The run's state (see the module docstring)."""
    if info.status in FINISHED_STATUSES:
        return info.status
    if owner_alive(info, now):
        return info.status
    if info.status == WAITING:
        return PARKED
    return QUEUED if never_started(info) else ORPHANED

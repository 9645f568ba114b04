"""What the run loop needs of a workflow, as plain values and callables.

The runtime never imports the ``Workflow`` face: ``Workflow._plan()`` builds a
:class:`RunPlan` and hands it to the loop with the store and the context.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..codec.journal import Codec
from .spec import RunSpec


@dataclass(frozen=True, slots=True)
class RunPlan:
    """One workflow's steps, settings and codec, as the run loop uses them.

    Attributes:
        name: The workflow name journaled with each run.
        spec: Steps and routing (what the reducer needs).
        codec: Encodes and decodes journal records, events and state.
        timeout: Seconds of hosted run time before the run times out (None: never).
        verbose: Print step progress.
        snapshot_every: Journal a snapshot at most every this many entries (0: never).
        step_call: Step name -> (callable, its config, is it a coroutine function).
        retry_policy: Step name -> its retry policy, or None.
        recovery_limit: Step name -> process deaths an execution may be in flight for (None: no limit).
        resources: Every step's resource descriptors (to re-create cached ones on resume).
    """

    name: str
    spec: RunSpec
    codec: Codec
    timeout: float | None
    verbose: bool
    snapshot_every: int
    step_call: Callable[[str], tuple[Any, Any, bool]]
    retry_policy: Callable[[str], Any]
    recovery_limit: Callable[[str], int | None]
    resources: Callable[[], list[Any]]

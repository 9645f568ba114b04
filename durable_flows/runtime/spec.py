"""The static shape of a workflow as the reducer sees it.

A :class:`RunSpec` is derived from the workflow's step configs once per
workflow object. It is plain data (names, event classes, worker counts), so the
reducer stays a function of the journal and this spec only.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from ..events import Event, StartEvent, StopEvent, qualified_name


@dataclass(frozen=True, slots=True)
class StepSpec:
    """What the reducer needs to know of one step."""

    name: str
    accepts: tuple[type, ...]
    returns: tuple[Any, ...]
    num_workers: int
    subclasses: bool = False
    #: For a ``@catch_error`` handler: the steps it covers (empty = every step).
    catch_for: tuple[str, ...] | None = None
    max_recoveries: int = 1


@dataclass(slots=True)
class RunSpec:
    """All steps, plus routing caches (filled lazily, deterministic)."""

    steps: dict[str, StepSpec]
    state_type: str = ""
    _routes: dict[type, tuple[str, ...]] = field(default_factory=dict)
    _index: dict[str, int] = field(default_factory=dict)

    def position(self, name: str) -> int:
        """Declaration index of a step (unknown names sort last)."""
        if not self._index:
            self._index.update({n: i for i, n in enumerate(self.steps)})
        return self._index.get(name, len(self._index))

    def routes(self, event_type: type) -> tuple[str, ...]:
        """Names of the steps an event of this type is delivered to, in step order."""
        found = self._routes.get(event_type)
        if found is None:
            found = tuple(
                s.name
                for s in self.steps.values()
                if s.catch_for is None and accepts(s, event_type)
            )
            self._routes[event_type] = found
        return found

    def catch_handler(self, step: str) -> StepSpec | None:
        """The ``@catch_error`` handler covering ``step``: a scoped one first, then a wildcard."""
        wildcard = None
        for s in self.steps.values():
            if s.catch_for is None or s.name == step:
                continue
            if step in s.catch_for:
                return s
            if not s.catch_for and wildcard is None:
                wildcard = s
        return wildcard

    def external_types(self) -> list[str]:
        """Types steps accept that no step returns: what input from outside looks like."""
        produced = {t for s in self.steps.values() for t in s.returns}
        out = []
        for s in self.steps.values():
            for t in s.accepts:
                if t in produced or (isinstance(t, type) and issubclass(t, StartEvent)):
                    continue
                name = qualified_name(t)
                if s.catch_for is None and name not in out:
                    out.append(name)
        return out

    def fingerprint(self) -> dict[str, Any]:
        """Steps with the event types each accepts and returns, and the state type."""
        return {
            "steps": {
                s.name: {
                    "accepts": sorted(qualified_name(t) for t in s.accepts),
                    "returns": sorted(
                        "None" if t is type(None) else qualified_name(t)
                        for t in s.returns
                        if isinstance(t, type)
                    ),
                    "num_workers": s.num_workers,
                }
                for s in self.steps.values()
            },
            "state_type": self.state_type,
        }

    def fingerprint_hash(self) -> str:
        """A short stable hash of :meth:`fingerprint`."""
        text = json.dumps(self.fingerprint(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def accepts(step: StepSpec, event_type: type) -> bool:
    """Whether ``step`` takes events of ``event_type`` (exact, or subclasses if enabled)."""
    if event_type in step.accepts:
        return True
    if step.subclasses:
        return any(isinstance(t, type) and issubclass(event_type, t) for t in step.accepts)
    return False


def is_stop(event: Event) -> bool:
    """Whether an event ends the run."""
    return isinstance(event, StopEvent)

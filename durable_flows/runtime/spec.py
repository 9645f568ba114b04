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

from ..codec.names import import_qualified
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
    #: For a join step: its (parameter, event class) slots, in declaration order.
    join: tuple[tuple[str, type], ...] = ()
    #: For a collect step (one ``list[E]`` parameter): (parameter, n of Take(n) or 0 for All).
    collect: tuple[str, int] | None = None
    #: The step may return a list (``-> list[E]``): each list it returns opens a collection stream.
    fan_out: bool = False

    @classmethod
    def from_config(cls, name: str, cfg: Any) -> StepSpec:
        """The reducer's view of a step's ``StepConfig``."""
        return cls(
            name=name,
            accepts=tuple(cfg.accepted_events),
            returns=tuple(cfg.return_types),
            num_workers=cfg.num_workers,
            subclasses=cfg.accept_event_subclasses,
            catch_for=tuple(cfg.catch_error_for_steps or ()) if cfg.role == "catch_error" else None,
            max_recoveries=cfg.catch_error_max_recoveries,
            join=tuple(cfg.collect_params or ()),
            collect=(cfg.collection_param[0], cfg.collection_take) if cfg.collection_param else None,
            fan_out=cfg.is_fan_out,
        )


@dataclass(slots=True)
class RunSpec:
    """All steps, plus routing caches (filled lazily, deterministic).

    ``recorded`` is set on the spec replay uses (:meth:`as_recorded`): the
    ``steps`` part of the fingerprint a run journaled when it started. Events
    are then routed to the steps that took them when they were delivered, not
    to the steps of the current code.
    """

    steps: dict[str, StepSpec]
    state_type: str = ""
    recorded: dict[str, Any] | None = None
    _routes: dict[type, tuple[str, ...]] = field(default_factory=dict)
    _index: dict[str, int] = field(default_factory=dict)
    _fingerprint: tuple[dict[str, Any], str] | None = None
    #: Producer step -> collect steps its streams release (``streams.bindings``, filled lazily).
    stream_bindings: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _has_streams: bool | None = None

    @property
    def has_streams(self) -> bool:
        """Whether any step returns lists (whose events then belong to collection streams)."""
        if self._has_streams is None:
            self._has_streams = any(s.fan_out for s in self.steps.values())
        return self._has_streams

    def position(self, name: str) -> int:
        """Declaration index of a step (unknown names sort last)."""
        if not self._index:
            self._index.update({n: i for i, n in enumerate(self.steps)})
        return self._index.get(name, len(self._index))

    def routes(self, event_type: type) -> tuple[str, ...]:
        """Names of the steps an event of this type is delivered to, in step order."""
        found = self._routes.get(event_type)
        if found is None:
            if self.recorded is not None:
                found = _recorded_routes(self.recorded, event_type)
            else:
                found = tuple(
                    s.name
                    for s in self.steps.values()
                    if s.catch_for is None and accepts(s, event_type)
                )
            self._routes[event_type] = found
        return found

    def as_recorded(self, fingerprint: Any) -> RunSpec:
        """This spec, routing events as the code described by ``fingerprint`` did.

        Journals written before fingerprints carried the routing flags
        (``subclasses``, ``catch_for``) are routed with the current code.
        """
        steps = fingerprint.get("steps") if isinstance(fingerprint, dict) else None
        if not isinstance(steps, dict) or not all(
            isinstance(info, dict) and "subclasses" in info and "catch_for" in info
            for info in steps.values()
        ):
            return self
        return RunSpec(steps=self.steps, state_type=self.state_type, recorded=steps)

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
        """Steps with the event types each accepts and returns, and the state type.

        Built once per spec (it is journaled with every run); callers must not change it.
        """
        if self._fingerprint is None:
            built = self._build_fingerprint()
            self._fingerprint = (built, json.dumps(built, sort_keys=True))
        return self._fingerprint[0]

    def fingerprint_json(self) -> str:
        """:meth:`fingerprint` as JSON text with sorted keys (the runs table's column)."""
        self.fingerprint()
        assert self._fingerprint is not None
        return self._fingerprint[1]

    def _build_fingerprint(self) -> dict[str, Any]:
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
                    "subclasses": s.subclasses,
                    "catch_for": None if s.catch_for is None else list(s.catch_for),
                    # only join steps carry the key: other fingerprints stay as they were
                    **({"join": [[p, qualified_name(t)] for p, t in s.join]} if s.join else {}),
                    **({"collect": list(s.collect)} if s.collect else {}),
                    **({"fan_out": True} if s.fan_out else {}),
                }
                for s in self.steps.values()
            },
            "state_type": self.state_type,
        }

    def fingerprint_hash(self) -> str:
        """A short stable hash of :meth:`fingerprint`."""
        return hashlib.sha256(self.fingerprint_json().encode()).hexdigest()[:16]


def accepts(step: StepSpec, event_type: type) -> bool:
    """Whether ``step`` takes events of ``event_type`` (exact, or subclasses if enabled)."""
    if event_type in step.accepts:
        return True
    if step.subclasses:
        return any(isinstance(t, type) and issubclass(event_type, t) for t in step.accepts)
    return False


def _recorded_routes(recorded: dict[str, Any], event_type: type) -> tuple[str, ...]:
    """Steps of a recorded fingerprint that an event of ``event_type`` was delivered to."""
    name = qualified_name(event_type)
    found = []
    for step, info in recorded.items():
        if info.get("catch_for") is not None:
            continue
        names = info.get("accepts") or ()
        if name in names or (info.get("subclasses") and _subclass_of_any(event_type, names)):
            found.append(step)
    return tuple(found)


def _subclass_of_any(event_type: type, names: Any) -> bool:
    for name in names:
        try:
            base = import_qualified(name)
        except (ImportError, AttributeError):
            continue
        if isinstance(base, type) and issubclass(event_type, base):
            return True
    return False


def is_stop(event: Event) -> bool:
    """Whether an event ends the run."""
    return isinstance(event, StopEvent)

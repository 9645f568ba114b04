"""Commit order: no journaled record may carry an effect of work that has not committed.

Steps see each other's state edits and collect-buffer adds at once (upstream's
live semantics), but each execution journals its effects only when it ends.
If execution B committed a value that came from in-flight execution A's edit
and the process died, A would run again and edit again: applied twice. So
the live loop records, per *key* (a top-level state key or field, or a
collect buffer), which uncommitted executions wrote it, and every read or
write of a key makes the reader depend on those writers. A completion is
journaled only when everything it depends on has committed before it or
commits in the same append; executions that depend on each other commit
together. Changes made from outside any step are writers too (negative ids).

State keys are strings, ``"s:<name>"``; :data:`ALL_STATE` stands for an
access to the whole state (``get_state``, a typed ``edit_state`` block, a
jsonpickled state). Collect buffers keep their uncommitted adders themselves
(``collect.LiveBuffer.uncommitted``) and report a dependency with
:meth:`CommitOrder.depend` only when one arises, so a fan-in whose adds are
all committed costs nothing here.

The structure only tracks; the loop (``completion.py``) decides what to
journal with :meth:`CommitOrder.ready_group` and reports commits with
:meth:`CommitOrder.committed`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

#: The whole state: read or written by accesses that cannot say which keys they touch.
ALL_STATE = "s:*"


def state_key(name: str) -> str:
    """The dependency key of a top-level state key or field."""
    return "s:" + name


@dataclass(slots=True)
class Writer:
    """An execution attempt (or an outside change) that touched shared keys and has not committed."""

    wid: int
    step: str | None
    deps: set[int] = field(default_factory=set)
    wrote: set[str] = field(default_factory=set)
    #: (live op number, operations) of each state change, in live order.
    ops: list[tuple[int, list[Any]]] = field(default_factory=list)
    #: (live op number, whole state) for states journaled whole (jsonpickle).
    whole: tuple[int, Any] | None = None
    done: bool = False
    #: What to journal once it may commit: (scope, outcome, value) for a step.
    completion: tuple[Any, ...] | None = None
    held_since: float = 0.0


class CommitOrder:
    """Uncommitted writers per key, and who depends on whom."""

    def __init__(self) -> None:
        self.pending: dict[int, Writer] = {}
        self._by_key: dict[str, list[int]] = {}
        self._outside = 0

    def outside_id(self) -> int:
        """A fresh id for a change made outside any step."""
        self._outside -= 1
        return self._outside

    def touch(
        self, wid: int, step: str | None, reads: Iterable[str], writes: Iterable[str]
    ) -> Writer | None:
        """Record that ``wid`` read ``reads`` and wrote ``writes`` (just now, in live order).

        Returns the writer's entry, or None when the access created no
        dependency and wrote nothing (a plain read of committed data).
        """
        deps: set[int] = set()
        writes = tuple(writes)
        if self._by_key:  # (nothing written and uncommitted: nobody to depend on)
            for key in reads:
                self._writers_of(key, wid, deps)
            for key in writes:
                self._writers_of(key, wid, deps)
        entry = self.pending.get(wid)
        if entry is None:
            if not deps and not writes:
                return None
            entry = self.pending[wid] = Writer(wid, step)
        entry.deps |= deps
        for key in writes:
            if key not in entry.wrote:
                entry.wrote.add(key)
                self._by_key.setdefault(key, []).append(wid)
        return entry

    def depend(self, wid: int, step: str | None, on: set[int]) -> None:
        """``wid`` read or took what the executions ``on`` added and have not committed."""
        others = on - {wid}
        if not others:
            return
        entry = self.pending.get(wid)
        if entry is None:
            entry = self.pending[wid] = Writer(wid, step)
        for other in others:
            if other not in self.pending:  # still running: its completion is waited for
                self.pending[other] = Writer(other, None)
        entry.deps |= others

    def _writers_of(self, key: str, wid: int, into: set[int]) -> None:
        by_key = self._by_key
        if key == ALL_STATE:
            for k, wids in by_key.items():
                if k.startswith("s:"):
                    into.update(wids)
        else:
            into.update(by_key.get(key, ()))
            if key.startswith("s:"):
                into.update(by_key.get(ALL_STATE, ()))
        into.discard(wid)

    def ready_group(self, wid: int) -> list[Writer] | None:
        """``wid`` and everything it depends on, if all of it is done; else None.

        The group is what must commit in one append. Members are ordered by
        id of first change, which keeps a deterministic journal order.
        """
        seen: dict[int, Writer] = {}
        todo = [wid]
        while todo:
            w = todo.pop()
            if w in seen:
                continue
            entry = self.pending.get(w)
            if entry is None:
                continue  # committed meanwhile
            if not entry.done:
                return None
            seen[w] = entry
            todo.extend(entry.deps)
        return sorted(seen.values(), key=_first_op)

    def committed(self, group: Iterable[Writer]) -> list[int]:
        """Forget ``group`` (journaled); returns held writers that may be ready now."""
        gone = set()
        for entry in group:
            if self.pending.pop(entry.wid, None) is None:
                continue
            gone.add(entry.wid)
            for key in entry.wrote:
                wids = self._by_key.get(key)
                if wids is not None:
                    wids.remove(entry.wid)
                    if not wids:
                        del self._by_key[key]
        woken = []
        for other in self.pending.values():
            if other.deps & gone:
                other.deps -= gone
                if other.done:
                    woken.append(other.wid)
        return woken

    def drop(self, wid: int) -> list[int]:
        """An attempt that will never commit (the run moved on): stop holding others for it."""
        entry = self.pending.get(wid)
        return [] if entry is None else self.committed([entry])

    def blockers(self, wid: int) -> list[Writer]:
        """The writers ``wid`` still waits for that have not finished."""
        out: dict[int, Writer] = {}
        seen: set[int] = set()
        todo = [wid]
        while todo:
            w = todo.pop()
            if w in seen:
                continue
            seen.add(w)
            entry = self.pending.get(w)
            if entry is None:
                continue
            if not entry.done:
                out[w] = entry
            todo.extend(entry.deps)
        return list(out.values())

    def hold(self, entry: Writer) -> None:
        """Note that ``entry`` finished but waits for what it depends on."""
        if not entry.held_since:
            entry.held_since = time.monotonic()


def _first_op(entry: Writer) -> tuple[int, int]:
    first = entry.ops[0][0] if entry.ops else (entry.whole[0] if entry.whole else 1 << 62)
    return first, entry.wid

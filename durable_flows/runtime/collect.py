"""Live ``collect_events`` buffers: linear in the number of events, not quadratic.

``ctx.collect_events(ev, [Result] * n)`` is called once per arriving event, so
each call must cost O(distinct types), not O(events buffered): the buffer keeps
a running count per type, and the expected list is counted with ``list.count``
(a C loop over identical items) when it holds one type, as in every fan-in.
"""

from __future__ import annotations

from collections import Counter

from ..events import Event


class LiveBuffer:
    """One step's buffer: the events in arrival order and how many of each type.

    ``uncommitted`` holds the executions that added to it and have not
    committed yet: whoever reads or takes from the buffer meanwhile may depend
    on their adds (see ``commit_order.py``).
    """

    __slots__ = ("counts", "events", "uncommitted")

    def __init__(self, events: list[Event] | None = None) -> None:
        self.events: list[Event] = list(events or [])
        self.counts: Counter[type] = Counter(type(e) for e in self.events)
        self.uncommitted: set[int] = set()

    def add(self, ev: Event) -> None:
        self.events.append(ev)
        self.counts[type(ev)] += 1

    def take_all(self) -> list[Event]:
        taken, self.events = self.events, []
        self.counts.clear()
        return taken

    def discard(self, ev: Event) -> None:
        """Remove ``ev`` (by identity) if present: undoing an add."""
        for i in range(len(self.events) - 1, -1, -1):
            if self.events[i] is ev:
                del self.events[i]
                self.counts[type(ev)] -= 1
                return

    def restore(self, events: list[Event]) -> None:
        """Put back events a clear took: undoing a clear."""
        self.events[:0] = events
        self.counts.update(type(e) for e in events)


def expected_counts(expected: list[type[Event]]) -> dict[type, int]:
    """How many of each type ``expected`` lists (fast when it lists one type)."""
    first = expected[0]
    if expected.count(first) == len(expected):
        return {first: len(expected)}
    return dict(Counter(expected))


def collect(buffer: LiveBuffer, ev: Event, expected: list[type[Event]]) -> tuple[bool, list[Event] | None]:
    """Offer ``ev`` to ``buffer``; returns (added, events in ``expected`` order once complete).

    Complete means the buffer plus ``ev`` hold at least one event of each
    expected type (counted with multiplicity); the buffer is then emptied, as
    upstream does. Otherwise ``ev`` is buffered if its type is still missing.
    """
    want = expected_counts(expected)
    kind = type(ev)
    missing_total = 0
    for t, n in want.items():
        missing_total += max(0, n - buffer.counts.get(t, 0))
    if missing_total != 1 or want.get(kind, 0) - buffer.counts.get(kind, 0) != 1:
        if want.get(kind, 0) > buffer.counts.get(kind, 0):
            buffer.add(ev)
            return True, None
        return False, None
    by_type: dict[type, list[Event]] = {}
    for e in [*buffer.events, ev]:
        by_type.setdefault(type(e), []).append(e)
    cursors = {t: iter(evs) for t, evs in by_type.items()}
    return False, [next(cursors[t]) for t in expected]

"""The live collect buffer agrees with the plain Counter definition of collect_events."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from durable_flows import Event
from durable_flows.runtime.collect import LiveBuffer, collect


class A(Event):
    pass


class B(Event):
    pass


class C(Event):
    pass


TYPES = [A, B, C]


def reference(buffer: list[Event], ev: Event, expected: list[type]) -> tuple[bool, list[Event] | None]:
    remaining = Counter(expected) - Counter(type(e) for e in buffer)
    if remaining != Counter([type(ev)]):
        if type(ev) in remaining:
            buffer.append(ev)
            return True, None
        return False, None
    by_type: dict[type, list[Event]] = {}
    for e in [*buffer, ev]:
        by_type.setdefault(type(e), []).append(e)
    total = [by_type[t].pop(0) for t in expected]
    buffer.clear()
    return False, total


@given(
    st.lists(st.sampled_from(TYPES), min_size=1, max_size=6),
    st.lists(st.sampled_from(TYPES), max_size=30),
)
def test_same_answers_as_the_counter_definition(expected: list[type], arrivals: list[type]) -> None:
    live, plain = LiveBuffer(), []
    for cls in arrivals:
        ev = cls()
        got = collect(live, ev, expected)
        if got[1] is not None:
            live.take_all()
        want = reference(plain, ev, expected)
        assert got[0] == want[0]
        assert (got[1] is None) == (want[1] is None)
        if got[1] is not None:
            assert [id(e) for e in got[1]] == [id(e) for e in want[1]]  # type: ignore[union-attr]
        assert [id(e) for e in live.events] == [id(e) for e in plain]
        assert live.counts == Counter(type(e) for e in plain)


def test_undo_restores_buffer() -> None:
    live = LiveBuffer([A(), B()])
    extra = C()
    live.add(extra)
    live.discard(extra)
    assert live.counts == Counter({A: 1, B: 1})
    taken = live.take_all()
    live.restore(taken)
    assert [type(e) for e in live.events] == [A, B]

"""Round trips: events, state values and exceptions go through the codec and SQLite and come back equal.

Each example encodes records with :class:`~durable_flows.codec.journal.Codec`, appends
them to a real SQLite journal, reads them back with a new store object and
decodes them: what comes out must equal what went in (type and value).
"""

from __future__ import annotations

import asyncio
import json
import math
from datetime import datetime, timezone
from typing import Any, Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from proptools import db_in, temp_db
from pydantic import BaseModel, Field
from soak import examples, time_budget

from durable_flows import Event, SqliteStore, StopEvent
from durable_flows.codec.journal import Codec, error_info, rebuild_error
from durable_flows.context.state_store import DictState
from durable_flows.errors import WorkflowRuntimeError
from durable_flows.events import StepFailedEvent
from durable_flows.runtime.journal_codec import decode_entry, encode_record
from durable_flows.runtime.records import Record
from durable_flows.storage.rows import JournalEntry, NewRun

# --- values ---------------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),  # unbounded: big ints too
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=8), children, max_size=4),
    ),
    max_leaves=15,
)
#: Keys for dict-like extras: anything a caller could pass as a keyword argument.
extra_keys = st.from_regex(r"[A-Za-zÀ-ÿ][A-Za-z0-9_À-ÿ]{0,10}", fullmatch=True).filter(
    lambda k: not k.startswith("model_")
)


class Inner(BaseModel):
    name: str
    values: list[int] = Field(default_factory=list)
    child: Optional[Inner] = None


class Rich(Event):
    text: str
    big: int
    maybe: Optional[int] = None
    ratio: float = 0.0
    inner: Inner
    inners: list[Inner] = Field(default_factory=list)
    mapping: dict[str, list[int]] = Field(default_factory=dict)


class TypedState(BaseModel):
    counter: int = 0
    label: str = ""
    inner: Optional[Inner] = None
    bag: dict[str, Any] = Field(default_factory=dict)


class Boom(Exception):
    """A user exception importable by its qualified name."""


class NeedsTwo(Exception):
    def __init__(self, code: int, why: str) -> None:
        super().__init__(code, why)
        self.code = code


inners: st.SearchStrategy[Inner] = st.deferred(
    lambda: st.builds(
        Inner,
        name=st.text(max_size=10),
        values=st.lists(st.integers(), max_size=3),
        child=st.none() | inners,
    )
)
rich_events = st.builds(
    Rich,
    text=st.text(),
    big=st.integers(),
    maybe=st.none() | st.integers(),
    ratio=st.floats(allow_nan=False, allow_infinity=False),
    inner=inners,
    inners=st.lists(inners, max_size=3),
    mapping=st.dictionaries(st.text(max_size=5), st.lists(st.integers(), max_size=3), max_size=3),
)


@st.composite
def events(draw: st.DrawFn) -> Event:
    extras = draw(st.dictionaries(extra_keys, json_values, max_size=4))
    kind = draw(st.sampled_from(["plain", "rich", "stop"]))
    if kind == "rich":
        ev: Event = draw(rich_events)
        for key, value in extras.items():
            if key not in Rich.model_fields:
                ev[key] = value
        return ev
    if kind == "stop":
        return StopEvent(result=draw(json_values), **extras)
    return Event(**extras)


# --- the round trip -----------------------------------------------------------------


def _through_sqlite(entries: list[JournalEntry]) -> list[JournalEntry]:
    async def go() -> list[JournalEntry]:
        with temp_db() as folder:
            path = db_in(folder)
            writer = SqliteStore(path, synchronous="NORMAL")
            try:
                await writer.create_run(NewRun(run_id="rt", workflow="wf", fingerprint="fp"), entries)
            finally:
                await writer.close()
            reader = SqliteStore(path)
            try:
                return await reader.read("rt")
            finally:
                await reader.close()

    return asyncio.run(go())


def _round_trip(records: list[Record], codec: Codec | None = None) -> list[Record]:
    codec = codec or Codec()
    entries = [encode_record(codec, "rt", i + 1, rec) for i, rec in enumerate(records)]
    stored = _through_sqlite(entries)
    assert stored == entries
    return [decode_entry(Codec(), e) for e in stored]


def _same_json(a: Any, b: Any) -> bool:
    """Equality that also tells 0.0 from -0.0 apart and compares floats exactly."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_json(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_json(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


@pytest.mark.timeout(time_budget(60))
@settings(max_examples=examples(80))
@given(evs=st.lists(events(), min_size=1, max_size=5), data=json_values)
def test_events_round_trip(evs: list[Event], data: Any) -> None:
    records = [Record("sent", 1000.5 + i, step="s", event=ev, data={"x": data}) for i, ev in enumerate(evs)]
    back = _round_trip(records)
    for rec, got in zip(records, back, strict=True):
        assert got.event is not None and rec.event is not None
        assert type(got.event) is type(rec.event)
        assert got.event == rec.event
        assert _same_json(got.event.model_dump(mode="json"), rec.event.model_dump(mode="json"))
        assert _same_json(got.data["x"], data)
        assert (got.kind, got.ts, got.step) == (rec.kind, rec.ts, rec.step)


@pytest.mark.timeout(time_budget(60))
@settings(max_examples=examples(40))
@given(
    extras=st.dictionaries(extra_keys, json_values, max_size=5),
    typed=st.builds(
        TypedState,
        counter=st.integers(),
        label=st.text(),
        inner=st.none() | inners,
        bag=st.dictionaries(st.text(max_size=6), json_values, max_size=4),
    ),
)
def test_state_values_round_trip(extras: dict[str, Any], typed: TypedState) -> None:
    codec = Codec()
    loose = DictState(**extras)
    records = [
        Record("run_started", 1.0, data={"state": codec.dump_state(loose)}),
        Record("state", 2.0, data={"op": 1, "state": codec.dump_state(typed)}),
    ]
    back = _round_trip(records, codec)
    loose_back = codec.load_state(back[0].data["state"], DictState)
    typed_back = codec.load_state(back[1].data["state"], TypedState)
    assert _same_json(loose_back.model_dump(mode="json"), loose.model_dump(mode="json"))
    assert dict(loose_back.items()) == dict(loose.items())
    assert typed_back == typed


exceptions = st.one_of(
    st.builds(ValueError, st.text()),
    st.builds(RuntimeError, st.text()),
    st.builds(KeyError, st.text()),
    st.builds(Boom, st.text()),
    st.builds(NeedsTwo, st.integers(), st.text()),
)


@pytest.mark.timeout(time_budget(60))
@settings(max_examples=examples(40))
@given(exc=exceptions)
def test_exceptions_round_trip(exc: Exception) -> None:
    """A step's error (a ``failed`` record) and a StepFailedEvent come back as the same exception."""
    failed = StepFailedEvent(
        step_name="s",
        input_event=Event(a=1),
        exception=exc,
        attempts=2,
        elapsed_seconds=0.5,
        failed_at=datetime(2024, 1, 1, tzinfo=timezone.utc),
    )
    records = [
        Record("failed", 1.0, step="s", data={"exec": 1, "attempt": 1, "error": error_info(exc)}),
        Record("sent", 2.0, step="h", event=failed, data={"target": "h"}),
    ]
    back = _round_trip(records)
    rebuilt = rebuild_error(back[0].data["error"], WorkflowRuntimeError)
    assert type(rebuilt) is type(exc)
    assert str(rebuilt) == str(exc)
    assert rebuilt.args == exc.args
    event_exc = back[1].event.exception  # type: ignore[union-attr]
    assert type(event_exc) is type(exc)
    assert event_exc.args == exc.args
    assert back[1].event == failed


@st.composite
def events_with_a_non_finite_float(draw: st.DrawFn) -> Event:
    bad = draw(st.sampled_from([math.inf, -math.inf, math.nan]))
    where = draw(st.sampled_from(["extra", "nested", "list", "stop", "field"]))
    if where == "extra":
        return Event(x=bad)
    if where == "nested":
        return Event(outer={"inner": {"deep": bad}})
    if where == "list":
        return Event(values=[1.0, bad])
    if where == "stop":
        return StopEvent(result={"score": bad})
    return Rich(text="", big=0, ratio=bad, inner=Inner(name=""))


@settings(max_examples=examples(20))
@given(ev=events_with_a_non_finite_float())
def test_non_finite_floats_are_refused_not_altered(ev: Event) -> None:
    """Regression: inf/nan used to be journaled as null, so a resumed run saw None
    where the live run saw the float. The codec now refuses them, naming the field."""
    from durable_flows.errors import EventNotSerializableError, SerializationError

    with pytest.raises(EventNotSerializableError, match="inf/nan"):
        Codec().dump_event(ev)
    with pytest.raises(SerializationError, match="inf/nan"):
        Codec().dump_state(DictState(value=ev.model_dump()))


@settings(max_examples=examples(20))
@given(extras=st.dictionaries(extra_keys, json_values, min_size=1, max_size=4))
def test_loaded_state_shares_nothing_with_its_source(extras: dict[str, Any]) -> None:
    """Regression: a DictState loaded from a run's folded state kept its dicts, so
    edits of the live state after a resume changed the folded (committed) state
    too (found by the crash property test: live state differed from replay)."""
    codec = Codec()
    source = codec.dump_state(DictState(marks={"a": 1}, **extras))
    before = json.dumps(source, sort_keys=True)
    loaded = codec.load_state(source, DictState)
    loaded["marks"]["b"] = 2
    for value in loaded.values():
        if isinstance(value, dict):
            value["new"] = 1
        elif isinstance(value, list):
            value.append(1)
    assert json.dumps(source, sort_keys=True) == before

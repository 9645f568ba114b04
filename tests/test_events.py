"""Events: dict-like extras, upstream's event classes, and the JSON round trip the journal uses."""

from __future__ import annotations

import copy
import json
import pickle
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field, ValidationError

from durable_flows.codec.names import import_qualified
from durable_flows.context.serializers import JsonSerializer
from durable_flows.events import (
    CollectionReleaseEvent,
    DictLikeModel,
    Event,
    EventType,
    HumanResponseEvent,
    IdleReleasedEvent,
    InputRequiredEvent,
    InternalDispatchEvent,
    SerializableEventType,
    StartEvent,
    StepFailedEvent,
    StepState,
    StepStateChanged,
    StopEvent,
    UnhandledEvent,
    UnreconstructedException,
    WorkflowCancelledEvent,
    WorkflowFailedEvent,
    WorkflowIdleEvent,
    WorkflowTimedOutEvent,
    qualified_name,
)

# --- types used by the tests (module level, so they can be imported by name) -----


class Inner(BaseModel):
    name: str
    tags: list[str] = []


class Payload(Event):
    inner: Inner
    entries: list[Inner] = []
    counts: dict[str, int] = {}
    maybe: int | None = None
    big: int = 0
    text: str = ""


class Doubled(StopEvent):
    answer: int

    def _get_result(self) -> Any:
        return self.answer * 2


class Outer:
    class NestedEvent(Event):
        value: int


class Celsius(Event):
    degrees: float = 0.0

    @property
    def fahrenheit(self) -> float:
        return self.degrees * 9 / 5 + 32

    @fahrenheit.setter
    def fahrenheit(self, value: float) -> None:
        self.degrees = (value - 32) * 5 / 9


class Aliased(Event):
    value: int = Field(default=0, alias="v")


class Opaque:
    """Not a pydantic type; allowed as a field by arbitrary_types_allowed."""


class HoldsOpaque(Event):
    thing: Opaque


class KindRef(Event):
    kind: SerializableEventType


class CustomError(Exception):
    pass


class TwoArgError(Exception):
    def __init__(self, code: int, detail: str) -> None:
        super().__init__(code, detail)


class FormatsMessageError(Exception):
    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(f"run {run_id} failed")


class KeywordOnlyError(Exception):
    def __init__(self, *, code: int) -> None:
        super().__init__(f"code {code}")


NOW = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=timezone.utc)


def json_round_trip(ev: BaseModel) -> Any:
    """What the journal does: dump to JSON text, read it back as plain data."""
    return json.loads(json.dumps(ev.model_dump(mode="json")))


def assert_round_trips(ev: BaseModel) -> None:
    data = json_round_trip(ev)
    cls = type(ev)
    by_validate = cls.model_validate(data)
    by_init = cls(**data)
    by_json = cls.model_validate_json(ev.model_dump_json())
    for rebuilt in (by_validate, by_init, by_json):
        assert type(rebuilt) is cls
        assert rebuilt == ev
        if isinstance(ev, StopEvent):
            assert isinstance(rebuilt, StopEvent)
            assert rebuilt.result == ev.result
        if isinstance(ev, DictLikeModel):
            assert isinstance(rebuilt, DictLikeModel)
            assert dict(rebuilt.items()) == dict(ev.items())


# --- dict-like extras ----------------------------------------------------------


def test_declared_fields_are_validated_and_extras_are_kept() -> None:
    ev = Payload(inner={"name": "a"}, note="hello")  # type: ignore[arg-type, call-arg]
    assert ev.inner == Inner(name="a")
    assert ev.note == "hello"
    assert ev["note"] == "hello"
    assert "note" in ev
    assert "inner" not in ev  # the mapping face sees extras only
    with pytest.raises(ValidationError):
        Payload(inner={"name": 1.5})  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Payload()  # type: ignore[call-arg]


def test_extras_behave_like_a_dict_and_like_attributes() -> None:
    ev = Event(a=1)
    ev["b"] = 2
    ev.c = 3
    assert (ev.a, ev.b, ev["c"]) == (1, 2, 3)
    assert ev.get("a") == 1
    assert ev.get("missing") is None
    assert ev.get("missing", "d") == "d"
    assert list(ev.keys()) == ["a", "b", "c"]
    assert list(ev.values()) == [1, 2, 3]
    assert list(ev.items()) == [("a", 1), ("b", 2), ("c", 3)]
    assert list(ev) == ["a", "b", "c"]
    assert len(ev) == 3
    assert ev.to_dict() == {"a": 1, "b": 2, "c": 3}
    assert ev.to_dict() is ev.to_dict()  # the live dict, as upstream
    with pytest.raises(AttributeError, match="missing"):
        _ = ev.missing
    with pytest.raises(KeyError):
        _ = ev["missing"]


def test_an_event_is_truthy_even_without_extras() -> None:
    assert bool(Event())
    assert bool(StopEvent())
    assert len(Event()) == 0


def test_setting_a_declared_field_does_not_create_an_extra() -> None:
    ev = Payload(inner=Inner(name="a"))
    ev.big = 5
    assert ev.big == 5
    assert "big" not in ev
    assert len(ev) == 0


def test_property_setter_is_used_instead_of_an_extra() -> None:
    ev = Celsius()
    ev.fahrenheit = 212
    assert ev.degrees == pytest.approx(100)
    assert "fahrenheit" not in ev


def test_field_alias_keyword_sets_the_field() -> None:
    ev = Aliased(v=4)
    assert ev.value == 4
    assert "v" not in ev


def test_arbitrary_types_are_allowed_as_fields() -> None:
    thing = Opaque()
    assert HoldsOpaque(thing=thing).thing is thing


def test_equality_includes_fields_extras_and_class() -> None:
    assert Event(a=1) == Event(a=1)
    assert Event(a=1) != Event(a=2)
    assert Event(a=1) != Event(a=1, b=2)
    assert Event(a=1) != StartEvent(a=1)
    assert StopEvent(result=1) != StopEvent(result=2)
    assert StopEvent(result=1, x=1) == StopEvent(result=1, x=1)


def test_shallow_copy_does_not_share_extras() -> None:
    ev = Event(a=1)
    dup = copy.copy(ev)
    dup["b"] = 2
    assert "b" not in ev
    assert copy.deepcopy(ev) == ev
    assert ev.model_copy() == ev


def test_pickle_keeps_fields_extras_and_result() -> None:
    ev = Doubled(answer=2, extra=[1, 2])  # type: ignore[call-arg]
    assert pickle.loads(pickle.dumps(ev)) == ev
    stop = StopEvent(result={"x": 1}, y=2)
    back = pickle.loads(pickle.dumps(stop))
    assert back == stop
    assert back.result == {"x": 1}


def test_repr_shows_fields_result_and_extras() -> None:
    assert repr(Event(a=1)) == "Event(a=1)"
    assert repr(StopEvent(result=5, x="y")) == "StopEvent(x='y', result=5)"  # upstream's order
    assert repr(Payload(inner=Inner(name="n"), k=1)).startswith("Payload(inner=Inner(")  # type: ignore[call-arg]
    assert "k=1" in repr(Payload(inner=Inner(name="n"), k=1))  # type: ignore[call-arg]


def test_dump_in_python_mode_follows_pydantic() -> None:
    inner = Inner(name="n")
    opaque = Opaque()
    dumped = StopEvent(result=inner, extra=opaque).model_dump()
    assert dumped["result"] == {"name": "n", "tags": []}  # models become dicts, as upstream
    assert dumped["_data"]["extra"] is opaque  # other objects are left alone
    assert Event().model_dump() == {}  # no "_data" key without extras, as upstream


# --- StartEvent / StopEvent ----------------------------------------------------


def test_start_event_takes_run_kwargs_as_extras() -> None:
    ev = StartEvent(topic="x", n=3)
    assert ev.topic == "x"
    assert ev["n"] == 3


def test_stop_event_result() -> None:
    assert StopEvent().result is None
    assert StopEvent(result={"a": 1}).result == {"a": 1}
    assert StopEvent({"a": 1}).result == {"a": 1}  # positional, as upstream
    value = {"a": [1]}
    assert StopEvent(result=value).result is value  # not copied
    assert str(StopEvent(result=42)) == "42"
    assert str(StopEvent()) == "None"


def test_stop_event_subclass_may_compute_its_result() -> None:
    ev = Doubled(answer=21)
    assert ev.result == 42
    assert_round_trips(ev)


def test_stop_event_result_is_stored_under_result_unless_it_needs_envelopes() -> None:
    assert json_round_trip(StopEvent(result=[1, "a"])) == {"result": [1, "a"]}
    typed = json_round_trip(StopEvent(result={"m": Inner(name="n")}))
    assert "result" not in typed
    assert typed["_result"]["m"]["qualified_name"] == qualified_name(Inner)


def test_stop_event_keeps_extras_through_json() -> None:
    # Upstream loses a StopEvent's extras when dumping; the journal must not.
    ev = StopEvent(result=1, trace_id="abc")
    data = json_round_trip(ev)
    assert data == {"result": 1, "_data": {"trace_id": "abc"}}
    assert StopEvent.model_validate(data).trace_id == "abc"


# --- the event classes and their fields -----------------------------------------


def _field_table(cls: type[BaseModel]) -> dict[str, tuple[Any, bool, Any]]:
    return {
        name: (info.annotation, info.is_required(), None if info.is_required() else info.default)
        for name, info in cls.model_fields.items()
    }


def test_class_hierarchy_matches_upstream() -> None:
    for stop in (
        WorkflowTimedOutEvent,
        WorkflowCancelledEvent,
        WorkflowFailedEvent,
        IdleReleasedEvent,
    ):
        assert issubclass(stop, StopEvent)
    for internal in (WorkflowIdleEvent, UnhandledEvent, StepStateChanged):
        assert issubclass(internal, InternalDispatchEvent)
    for plain in (
        StartEvent,
        StopEvent,
        StepFailedEvent,
        InputRequiredEvent,
        HumanResponseEvent,
        InternalDispatchEvent,
        CollectionReleaseEvent,
    ):
        assert issubclass(plain, Event)
    assert issubclass(Event, DictLikeModel)
    assert EventType == type[Event]


def test_fields_and_defaults_match_upstream() -> None:
    assert _field_table(WorkflowTimedOutEvent) == {
        "timeout": (float, True, None),
        "active_steps": (list[str], True, None),
    }
    failed = _field_table(WorkflowFailedEvent)
    assert set(failed) == {"step_name", "exception", "attempts", "elapsed_seconds"}
    assert failed["step_name"] == (str, True, None)
    assert failed["exception"][1] is True
    assert failed["attempts"] == (int | None, False, None)
    assert failed["elapsed_seconds"] == (float | None, False, None)
    step_failed = _field_table(StepFailedEvent)
    assert list(step_failed) == [
        "step_name",
        "input_event",
        "exception",
        "attempts",
        "elapsed_seconds",
        "failed_at",
    ]
    assert all(required for _, required, _ in step_failed.values())
    assert step_failed["attempts"][0] is int
    assert step_failed["elapsed_seconds"][0] is float
    assert step_failed["failed_at"][0] is datetime
    assert _field_table(UnhandledEvent) == {
        "event_type": (str, True, None),
        "qualified_name": (str, True, None),
        "step_name": (str | None, False, None),
        "idle": (bool, True, None),
    }
    assert _field_table(StepStateChanged) == {
        "name": (str, True, None),
        "step_state": (StepState, True, None),
        "worker_id": (str, True, None),
        "input_event_name": (str, True, None),
        "output_event_name": (str | None, False, None),
    }
    for bare in (
        StartEvent,
        StopEvent,
        WorkflowCancelledEvent,
        InputRequiredEvent,
        HumanResponseEvent,
        InternalDispatchEvent,
        WorkflowIdleEvent,
    ):
        assert bare.model_fields == {}
    assert [s.value for s in StepState] == ["preparing", "running", "not_running"]


def _samples() -> list[BaseModel]:
    inner = Inner(name="ü", tags=["a", "🙂"])
    return [
        Event(),
        Event(a=1, b=[1, 2.5, None], c={"d": "é"}),
        StartEvent(query="q", n=10**40),
        StopEvent(),
        StopEvent(result={"answer": [1, 2], "none": None}),
        StopEvent(result="text", extra=True),
        WorkflowTimedOutEvent(timeout=2.5, active_steps=["a", "b"]),
        WorkflowCancelledEvent(),
        IdleReleasedEvent(),
        WorkflowFailedEvent(step_name="s", exception=ValueError("bad")),
        WorkflowFailedEvent(
            step_name="s", exception=KeyError("k"), attempts=3, elapsed_seconds=1.5
        ),
        StepFailedEvent(
            step_name="s",
            input_event=Payload(inner=inner, k="v"),  # type: ignore[call-arg]
            exception=CustomError("boom"),
            attempts=2,
            elapsed_seconds=0.25,
            failed_at=NOW,
        ),
        InputRequiredEvent(prefix="name? "),
        HumanResponseEvent(response="Ada"),
        InternalDispatchEvent(),
        WorkflowIdleEvent(),
        UnhandledEvent(event_type="X", qualified_name="m.X", idle=True),
        UnhandledEvent(event_type="X", qualified_name="m.X", step_name="s", idle=False),
        StepStateChanged(
            name="s", step_state=StepState.RUNNING, worker_id="w1", input_event_name="E"
        ),
        CollectionReleaseEvent(events=[StartEvent(a=1), Payload(inner=inner)], stream_id="s"),
        Payload(  # type: ignore[call-arg]
            inner=inner,
            entries=[inner, Inner(name="z")],
            counts={"x": 1},
            maybe=None,
            big=-(10**30),
            text="日本",
            extra={"nested": [inner.model_dump()]},
        ),
        Doubled(answer=4, note="n"),  # type: ignore[call-arg]
        Outer.NestedEvent(value=1),
        KindRef(kind=Payload),
    ]


@pytest.mark.parametrize("ev", _samples(), ids=lambda ev: type(ev).__name__)
def test_json_round_trip_rebuilds_an_equal_event(ev: BaseModel) -> None:
    assert_round_trips(ev)


def test_event_field_keeps_the_concrete_class() -> None:
    ev = StepFailedEvent(
        step_name="s",
        input_event=Payload(inner=Inner(name="n"), k=1),  # type: ignore[call-arg]
        exception=CustomError("x"),
        attempts=1,
        elapsed_seconds=0.0,
        failed_at=NOW,
    )
    data = json_round_trip(ev)
    assert data["input_event"]["qualified_name"] == qualified_name(Payload)
    back = StepFailedEvent.model_validate(data)
    assert type(back.input_event) is Payload
    assert back.input_event.k == 1
    assert back.failed_at == NOW


def test_event_field_rejects_non_events() -> None:
    with pytest.raises(ValidationError):
        StepFailedEvent(
            step_name="s",
            input_event={"plain": "dict"},  # type: ignore[arg-type]
            exception=ValueError(),
            attempts=1,
            elapsed_seconds=0.0,
            failed_at=NOW,
        )
    with pytest.raises(ValidationError):
        KindRef(kind="builtins.int")  # type: ignore[arg-type]


def test_models_inside_extras_and_results_keep_their_class() -> None:
    inner = Inner(name="n")
    ev = StopEvent(
        result={"best": inner, "all": [inner, StartEvent(q=1)]},
        attachment=inner,
        history=[Payload(inner=inner)],
    )
    back = StopEvent.model_validate(json_round_trip(ev))
    assert back == ev
    assert type(back.result["best"]) is Inner
    assert type(back.result["all"][1]) is StartEvent
    assert type(back.attachment) is Inner
    assert type(back.history[0]) is Payload
    # a model as the whole result
    assert StopEvent.model_validate(json_round_trip(StopEvent(result=inner))).result == inner


def test_user_dicts_that_look_like_envelopes_stay_plain() -> None:
    hostile = {"__is_pydantic": True, "qualified_name": "subprocess.Popen", "value": ["ls"]}
    ev = StopEvent(result=[hostile], extra=hostile, **{"__is_plain_dict": {"x": 1}})
    back = StopEvent.model_validate(json_round_trip(ev))
    assert back.result == [hostile]
    assert back.extra == hostile
    assert back["__is_plain_dict"] == {"x": 1}


def test_tuples_become_lists_as_in_pydantic_json() -> None:
    back = Event.model_validate(json_round_trip(Event(t=(1, 2))))
    assert back.t == [1, 2]


# --- exceptions ----------------------------------------------------------------


def _failed(exc: Exception) -> WorkflowFailedEvent:
    return WorkflowFailedEvent(step_name="s", exception=exc)


def _exception_after_round_trip(exc: Exception) -> BaseException:
    back = WorkflowFailedEvent.model_validate(json_round_trip(_failed(exc)))
    exception: BaseException = back.exception
    return exception


def test_exception_is_stored_as_type_and_message() -> None:
    data = json_round_trip(_failed(CustomError("boom")))
    assert data["exception"] == {
        "exception_type": qualified_name(CustomError),
        "exception_message": "boom",
    }


@pytest.mark.parametrize(
    "exc",
    [ValueError("bad"), KeyError("k"), CustomError("boom"), TwoArgError(7, "x"), RuntimeError()],
    ids=lambda e: type(e).__name__,
)
def test_importable_exceptions_come_back_as_their_class(exc: Exception) -> None:
    back = _exception_after_round_trip(exc)
    assert type(back) is type(exc)
    assert back.args == exc.args
    assert str(back) == str(exc)


def test_exception_whose_constructor_formats_the_message_keeps_the_message() -> None:
    back = _exception_after_round_trip(FormatsMessageError("r1"))
    assert type(back) is FormatsMessageError
    assert str(back) == "run r1 failed"


def test_unimportable_exception_becomes_unreconstructed() -> None:
    data = json_round_trip(_failed(CustomError("boom")))
    data["exception"]["exception_type"] = "no_such_module_xyz.GoneError"
    back = WorkflowFailedEvent.model_validate(data).exception
    assert type(back) is UnreconstructedException
    assert str(back) == "boom"
    assert back.original_type == "no_such_module_xyz.GoneError"
    assert "GoneError" in repr(back)


def test_unconstructible_exception_becomes_unreconstructed() -> None:
    back = _exception_after_round_trip(KeywordOnlyError(code=3))
    assert type(back) is UnreconstructedException
    assert str(back) == "code 3"
    assert back.original_type == qualified_name(KeywordOnlyError)


@pytest.mark.parametrize("name", ["builtins.eval", "os.system", "subprocess.Popen", "builtins.int"])
def test_exception_names_that_are_not_exception_classes_are_never_called(name: str) -> None:
    data = {"step_name": "s", "exception": {"exception_type": name, "exception_message": "1"}}
    back = WorkflowFailedEvent.model_validate(data).exception
    assert type(back) is UnreconstructedException
    assert back.original_type == name


def test_unreconstructed_exception_keeps_its_original_type_when_stored_again() -> None:
    first = _failed(UnreconstructedException("lost", original_type="gone.Error"))
    back = WorkflowFailedEvent.model_validate(json_round_trip(first)).exception
    assert type(back) is UnreconstructedException
    assert back.original_type == "gone.Error"
    assert str(back) == "lost"
    plain = _exception_after_round_trip(UnreconstructedException("m"))
    assert type(plain) is UnreconstructedException
    assert plain.original_type is None


def test_exception_classes_go_through_the_decoding_serializers_allow_list() -> None:
    ev = _failed(CustomError("boom"))
    payload = JsonSerializer().serialize(ev)
    refused = JsonSerializer(allowed_types=[]).deserialize(payload).exception
    assert type(refused) is UnreconstructedException
    assert (
        type(JsonSerializer(allowed_types=[CustomError]).deserialize(payload).exception)
        is CustomError
    )
    builtin = JsonSerializer(allowed_types=[]).deserialize(
        JsonSerializer().serialize(_failed(KeyError("k")))
    )
    assert type(builtin.exception) is KeyError


def test_malformed_exception_args_fall_back_to_the_message() -> None:
    data = {
        "step_name": "s",
        "exception": {
            "exception_type": "builtins.ValueError",
            "exception_message": "m",
            "exception_args": [[1], {"x": 2}],
        },
    }
    back = WorkflowFailedEvent.model_validate(data).exception
    assert type(back) is ValueError
    assert back.args == ("m",)


def test_malformed_exception_data_is_a_validation_error() -> None:
    with pytest.raises(ValidationError):
        WorkflowFailedEvent.model_validate({"step_name": "s", "exception": "boom"})


def test_failure_events_compare_exceptions_by_type_and_args() -> None:
    assert _failed(ValueError("a")) == _failed(ValueError("a"))
    assert _failed(ValueError("a")) != _failed(ValueError("b"))
    assert _failed(ValueError("a")) != _failed(TypeError("a"))
    assert _failed(ValueError("a")) != WorkflowFailedEvent(step_name="t", exception=ValueError("a"))


# --- qualified names -------------------------------------------------------------


def test_qualified_name_uses_module_and_qualname() -> None:
    assert qualified_name(StopEvent) == "durable_flows.events.StopEvent"
    assert qualified_name(Outer.NestedEvent).endswith("test_events.Outer.NestedEvent")
    assert import_qualified(qualified_name(Outer.NestedEvent)) is Outer.NestedEvent


def test_import_qualified_finds_modules_classes_and_builtins() -> None:
    assert import_qualified("durable_flows.events.StopEvent") is StopEvent
    assert import_qualified("json") is json
    assert import_qualified("os.path.join") is __import__("os").path.join
    assert import_qualified("builtins.int") is int
    assert import_qualified("builtins.NoneType") is type(None)


@pytest.mark.parametrize("name", ["", "a..b", ".x", "x."])
def test_import_qualified_rejects_malformed_names(name: str) -> None:
    with pytest.raises(ImportError, match="dotted path"):
        import_qualified(name)


def test_import_qualified_reports_missing_module_and_attribute() -> None:
    with pytest.raises(ImportError, match="no module named 'no_such_module_xyz'"):
        import_qualified("no_such_module_xyz.Thing")
    with pytest.raises(AttributeError, match="'durable_flows.events' has no attribute 'Nope'"):
        import_qualified("durable_flows.events.Nope")
    with pytest.raises(AttributeError, match="has no attribute 'Missing'"):
        import_qualified("durable_flows.events.StopEvent.Missing")


def test_import_qualified_does_not_hide_a_broken_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "broken_mod_for_test.py").write_text(
        "import missing_dependency_xyz\nclass A: pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ImportError, match="failed to import.*missing_dependency_xyz") as info:
        import_qualified("broken_mod_for_test.A")
    assert isinstance(info.value.__cause__, ModuleNotFoundError)
    sys.modules.pop("broken_mod_for_test", None)


# --- property tests: random extras survive the journal's JSON round trip ------------

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),  # unbounded: includes ints far beyond 64 bits
    st.integers(min_value=2**63, max_value=2**200),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
)
json_key = st.one_of(
    st.text(),
    st.sampled_from(
        ["__is_pydantic", "__is_component", "__is_plain_dict", "qualified_name", "value"]
    ),
)
json_value = st.recursive(
    json_leaf,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(json_key, children, max_size=4)
    ),
    max_leaves=20,
)


def extras_for(cls: type[BaseModel]) -> st.SearchStrategy[dict[str, Any]]:
    reserved = set(cls.model_fields) | set(cls.__private_attributes__)
    if issubclass(cls, StopEvent):
        reserved.add("result")
    return st.dictionaries(json_key.filter(lambda k: k not in reserved), json_value, max_size=5)


PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@pytest.mark.parametrize("cls", [Event, StartEvent, StopEvent, HumanResponseEvent])
def test_an_extra_named_self_is_an_extra(cls: type[Event]) -> None:
    """Regression (found by the property test below): ``__init__``'s own ``self``
    took the keyword, so ``Event(self=1)`` raised TypeError."""
    kwargs = {"response": "r"} if cls is HumanResponseEvent else {}
    ev = cls(self=1, **kwargs)
    assert ev.self == 1 and ev["self"] == 1
    assert_round_trips(ev)


@PROPERTY_SETTINGS
@given(
    cls=st.sampled_from([Event, StartEvent, InputRequiredEvent, HumanResponseEvent]), data=st.data()
)
def test_random_extras_round_trip(cls: type[Event], data: st.DataObject) -> None:
    ev = cls(**data.draw(extras_for(cls)))
    assert_round_trips(ev)


@PROPERTY_SETTINGS
@given(result=json_value, extras=extras_for(StopEvent))
def test_random_stop_results_round_trip(result: Any, extras: dict[str, Any]) -> None:
    assert_round_trips(StopEvent(result=result, **extras))


@PROPERTY_SETTINGS
@given(
    name=st.text(),
    tags=st.lists(st.text(), max_size=3),
    big=st.integers(),
    maybe=st.none() | st.integers(),
    counts=st.dictionaries(st.text(), st.integers(), max_size=3),
    extras=extras_for(Payload),
)
def test_random_subclass_fields_and_extras_round_trip(
    name: str,
    tags: list[str],
    big: int,
    maybe: int | None,
    counts: dict[str, int],
    extras: dict[str, Any],
) -> None:
    inner = Inner(name=name, tags=tags)
    ev = Payload(
        inner=inner, entries=[inner], counts=counts, maybe=maybe, big=big, text=name, **extras
    )
    assert_round_trips(ev)
    wrapped = StepFailedEvent(
        step_name=name,
        input_event=ev,
        exception=CustomError(name),
        attempts=1,
        elapsed_seconds=0.5,
        failed_at=NOW,
    )
    assert_round_trips(wrapped)

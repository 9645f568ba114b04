"""Serializers: JSON with typed envelopes, pickle fallback, and allow-listed jsonpickle."""

from __future__ import annotations

import base64
import json
import os
import pickle
import subprocess
import uuid
from collections import OrderedDict
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import PurePosixPath
from typing import Any, ClassVar

import jsonpickle
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from durable_flows.codec.names import qualified_name
from durable_flows.context.serializers import (
    BaseSerializer,
    JsonPickleSerializer,
    JsonSerializer,
    PickleSerializer,
)
from durable_flows.errors import (
    DurableFlowsError,
    SerializationError,
    TypeNotAllowedError,
    ValueNotSerializableError,
)
from durable_flows.events import (
    Event,
    HumanResponseEvent,
    StartEvent,
    StepFailedEvent,
    StopEvent,
    UnreconstructedException,
    WorkflowFailedEvent,
)

NOW = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


class Point(BaseModel):
    x: int
    y: int


class Tagged(Event):
    point: Point
    label: str = ""


class Plain:
    """An ordinary class; equal when its attributes are."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.__dict__ == self.__dict__

    __hash__ = None  # type: ignore[assignment]


class PlainChild(Plain):
    pass


class Tripwire:
    """Records every attempt to build one; a refused payload must leave this empty."""

    built: ClassVar[list[str]] = []

    def __new__(cls, *args: Any, **kwargs: Any) -> Tripwire:
        Tripwire.built.append("new")
        return super().__new__(cls)

    def __init__(self, *args: Any) -> None:
        Tripwire.built.append("init")

    def __setstate__(self, state: Any) -> None:
        Tripwire.built.append("setstate")

    @classmethod
    def model_validate(cls, data: Any) -> Tripwire:
        Tripwire.built.append("model_validate")
        return cls()


class FakeComponent:
    """Looks like a LlamaIndex component: class_name, to_dict, from_dict."""

    def __init__(self, text: str) -> None:
        self.text = text

    @classmethod
    def class_name(cls) -> str:
        return "FakeComponent"

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FakeComponent:
        return cls(data["text"])


@pytest.fixture(autouse=True)
def _reset_tripwire() -> None:
    Tripwire.built.clear()


def _failed_step() -> StepFailedEvent:
    return StepFailedEvent(
        step_name="s",
        input_event=Tagged(point=Point(x=1, y=2), note="n"),  # type: ignore[call-arg]
        exception=KeyError("k"),
        attempts=2,
        elapsed_seconds=0.5,
        failed_at=NOW,
    )


# --- names and the base class ------------------------------------------------------


def test_each_serializer_has_the_codec_name_the_journal_stores() -> None:
    assert JsonSerializer.name == "json"
    assert PickleSerializer.name == "pickle"
    assert JsonPickleSerializer.name == "jsonpickle"
    assert JsonSerializer().name == "json"


def test_base_serializer_is_abstract_and_subclasses_get_a_default_name() -> None:
    with pytest.raises(TypeError):
        BaseSerializer()  # type: ignore[abstract]

    class Upper(BaseSerializer):
        def serialize(self, value: Any) -> str:
            return str(value).upper()

        def deserialize(self, value: str) -> Any:
            return value.lower()

    assert Upper().deserialize(Upper().serialize("a")) == "a"
    assert Upper.name == qualified_name(Upper)
    with Upper().validation_context():
        pass


def test_serialization_errors_share_the_library_root() -> None:
    assert issubclass(SerializationError, DurableFlowsError)
    assert issubclass(SerializationError, TypeError)
    assert issubclass(ValueNotSerializableError, ValueError)  # upstream raised ValueError
    assert issubclass(TypeNotAllowedError, ValueError)


# --- JsonSerializer ---------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [None, True, 3, 10**40, 1.5, "é🙂", [1, [2, None]], {"a": {"b": [1, "x"]}}, {}, []],
)
def test_json_round_trips_plain_values(value: Any) -> None:
    s = JsonSerializer()
    assert s.deserialize(s.serialize(value)) == value


def test_json_wraps_models_with_their_qualified_name() -> None:
    s = JsonSerializer()
    payload = json.loads(s.serialize(Point(x=1, y=2)))
    assert payload == {
        "__is_pydantic": True,
        "value": {"x": 1, "y": 2},
        "qualified_name": qualified_name(Point),
    }


def test_json_rebuilds_events_and_models_with_their_class() -> None:
    s = JsonSerializer()
    value = {
        "start": StartEvent(topic="t"),
        "stop": StopEvent(result={"p": Point(x=1, y=2)}, extra=1),
        "list": [Tagged(point=Point(x=0, y=0)), Point(x=3, y=4)],
        "failed": _failed_step(),
    }
    back = s.deserialize(s.serialize(value))
    assert back == value
    assert type(back["start"]) is StartEvent
    assert type(back["stop"].result["p"]) is Point
    assert type(back["failed"].input_event) is Tagged


def test_json_round_trips_components() -> None:
    s = JsonSerializer()
    payload = s.serialize({"c": FakeComponent("hi")})
    assert json.loads(payload)["c"]["__is_component"] is True
    back = s.deserialize(payload)["c"]
    assert isinstance(back, FakeComponent)
    assert back.text == "hi"


def test_json_keeps_user_dicts_that_look_like_envelopes() -> None:
    s = JsonSerializer()
    hostile = {"__is_pydantic": True, "qualified_name": "subprocess.Popen", "value": ["ls"]}
    value = {"a": hostile, "b": [{"__is_plain_dict": 1}]}
    assert s.deserialize(s.serialize(value)) == value
    assert Tripwire.built == []


@pytest.mark.parametrize(
    ("value", "type_name"),
    [
        (object(), "builtins.object"),
        ({"a": {1, 2}}, "builtins.set"),
        ([b"bytes"], "builtins.bytes"),
        ({"when": NOW}, "datetime.datetime"),
        (Plain(1), qualified_name(Plain)),
    ],
)
def test_json_refuses_values_without_a_json_form(value: Any, type_name: str) -> None:
    with pytest.raises(ValueNotSerializableError, match=type_name) as info:
        JsonSerializer().serialize(value)
    assert isinstance(info.value, SerializationError)
    assert isinstance(info.value, TypeError)
    assert info.value.type_name == type_name


def test_json_refuses_models_whose_fields_have_no_json_form() -> None:
    with pytest.raises(ValueNotSerializableError):
        JsonSerializer().serialize(Event(handle=Plain(1)))


def test_json_refuses_cycles() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(ValueNotSerializableError):
        JsonSerializer().serialize(loop)


def test_json_rejects_damaged_text() -> None:
    with pytest.raises(SerializationError, match="not JSON"):
        JsonSerializer().deserialize("{nope")


def _envelope(name: str, value: Any = None) -> str:
    return json.dumps({"__is_pydantic": True, "qualified_name": name, "value": value or {}})


def test_json_allow_list_limits_which_classes_are_rebuilt() -> None:
    payload = JsonSerializer().serialize(Point(x=1, y=2))
    with pytest.raises(TypeNotAllowedError, match=qualified_name(Point)) as info:
        JsonSerializer(allowed_types=[]).deserialize(payload)
    assert "allowed_types" in str(info.value)
    assert JsonSerializer(allowed_types=[Point]).deserialize(payload) == Point(x=1, y=2)
    assert JsonSerializer(allowed_types=[qualified_name(Point)]).deserialize(payload) == Point(
        x=1, y=2
    )
    assert JsonSerializer(allowed_types=[]).with_types(Point).deserialize(payload) == Point(
        x=1, y=2
    )
    everything = JsonSerializer()
    assert everything.with_types(Point) is everything


def test_json_always_rebuilds_durable_flows_events() -> None:
    s = JsonSerializer(allowed_types=[])
    value = [
        StartEvent(a=1),
        StopEvent(result=2),
        WorkflowFailedEvent(step_name="s", exception=ValueError("v")),
    ]
    assert s.deserialize(JsonSerializer().serialize(value)) == value


def test_json_allow_list_applies_to_nested_event_fields() -> None:
    payload = JsonSerializer().serialize(_failed_step())
    with pytest.raises(ValidationError, match="does not allow"):
        JsonSerializer(allowed_types=[]).deserialize(payload)
    back = JsonSerializer(allowed_types=[Tagged, Point]).deserialize(payload)
    assert back == _failed_step()


def test_json_allow_list_entries_must_be_classes_or_names() -> None:
    with pytest.raises(TypeError):
        JsonSerializer(allowed_types=[list[int]])
    with pytest.raises(TypeError):
        JsonSerializer(allowed_types=[3])  # type: ignore[list-item]


@pytest.mark.parametrize("name", ["subprocess.Popen", "os.system", qualified_name(Tripwire)])
def test_json_envelope_naming_a_non_model_builds_nothing(name: str) -> None:
    with pytest.raises(SerializationError):
        JsonSerializer().deserialize(_envelope(name, {"args": ["echo", "pwned"]}))
    assert Tripwire.built == []


def test_json_envelope_naming_an_unknown_class_fails() -> None:
    with pytest.raises(ImportError):
        JsonSerializer().deserialize(_envelope("no_such_module_xyz.Model"))


# --- PickleSerializer ----------------------------------------------------------------


def test_pickle_uses_json_when_it_can() -> None:
    s = PickleSerializer()
    payload = s.serialize({"a": [1, 2]})
    assert json.loads(payload) == {"a": [1, 2]}
    assert s.deserialize(payload) == {"a": [1, 2]}
    assert s.deserialize(s.serialize(StartEvent(x=1))) == StartEvent(x=1)


def test_pickle_falls_back_to_base64_pickle() -> None:
    s = PickleSerializer()
    value = {"set": {1, 2}, "obj": Plain((1, 2))}
    payload = s.serialize(value)
    assert pickle.loads(base64.b64decode(payload)) == value
    assert s.deserialize(payload) == value


def test_pickle_refuses_what_neither_can_encode() -> None:
    with pytest.raises(ValueNotSerializableError, match="pickle failed"):
        PickleSerializer().serialize(lambda: 1)


def test_pickle_decodes_json_that_happens_to_be_valid_base64() -> None:
    assert PickleSerializer().deserialize("1234") == 1234


# --- JsonPickleSerializer ---------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        None,
        10**40,
        "é",
        (1, (2, 3)),
        {1, 2},
        frozenset({"a"}),
        b"\x00bytes",
        {1: "int key", (1, 2): "tuple key"},
        NOW,
        date(2024, 1, 2),
        timedelta(seconds=5),
        Decimal("1.25"),
        uuid.UUID(int=5),
        OrderedDict(a=1),
        PurePosixPath("/tmp/x"),
        ValueError("bad"),
    ],
    ids=repr,
)
def test_jsonpickle_round_trips_builtin_and_stdlib_values(value: Any) -> None:
    s = JsonPickleSerializer()
    back = s.deserialize(s.serialize(value))
    if isinstance(value, BaseException):
        assert type(back) is type(value)
        assert back.args == value.args
    else:
        assert back == value
        assert type(back) is type(value)


def test_jsonpickle_round_trips_durable_flows_events() -> None:
    s = JsonPickleSerializer(allowed=[Tagged, Point])
    for ev in (
        StartEvent(topic="t", n=(1, 2)),
        StopEvent(result={"k": {1, 2}}, extra=b"x"),
        HumanResponseEvent(response="yes"),
        _failed_step(),
        WorkflowFailedEvent(
            step_name="s", exception=UnreconstructedException("m", original_type="a.B")
        ),
    ):
        back = s.deserialize(s.serialize(ev))
        assert back == ev
        assert type(back) is type(ev)


def test_jsonpickle_round_trips_allowed_user_classes() -> None:
    s = JsonPickleSerializer(allowed=[Plain, Point])
    value = {"p": Plain(Point(x=1, y=2)), "again": [Plain(3)]}
    assert s.deserialize(s.serialize(value)) == value
    by_name = JsonPickleSerializer(allowed=[qualified_name(Plain)])
    assert by_name.deserialize(by_name.serialize(Plain(1))) == Plain(1)
    by_upstream_keyword = JsonPickleSerializer(allowed_types=[Plain])
    assert by_upstream_keyword.deserialize(by_upstream_keyword.serialize(Plain(1))) == Plain(1)
    assert s.is_allowed(qualified_name(Plain))
    assert not s.is_allowed(qualified_name(PlainChild))


def test_jsonpickle_refuses_to_write_what_it_could_not_read_back() -> None:
    with pytest.raises(TypeNotAllowedError, match=qualified_name(Plain)):
        JsonPickleSerializer().serialize({"a": Plain(1)})
    with pytest.raises(TypeNotAllowedError, match=qualified_name(PlainChild)):
        JsonPickleSerializer(allowed=[Plain]).serialize(PlainChild(1))


def test_jsonpickle_refuses_values_it_would_silently_drop() -> None:
    # stock jsonpickle writes {} for both of these
    with pytest.raises(ValueNotSerializableError, match="function"):
        JsonPickleSerializer().serialize({"callback": lambda: 1})
    with pytest.raises(ValueNotSerializableError, match="py/object"):
        JsonPickleSerializer().serialize({"a": {"py/object": "x"}})
    with pytest.raises(ValueNotSerializableError, match="py/function"):
        JsonPickleSerializer().serialize(StartEvent(**{"py/function": 1}))
    with pytest.raises(SerializationError, match="module"):
        JsonPickleSerializer().serialize(os)


def test_jsonpickle_refuses_payloads_naming_classes_not_allowed() -> None:
    payload = JsonPickleSerializer(allowed=[Tripwire]).serialize(Tripwire())
    Tripwire.built.clear()
    with pytest.raises(TypeNotAllowedError) as info:
        JsonPickleSerializer().deserialize(payload)
    message = str(info.value)
    assert qualified_name(Tripwire) in message
    assert "allowed" in message
    assert info.value.type_name == qualified_name(Tripwire)
    assert Tripwire.built == []
    # and the same payload decodes once the class is allowed
    assert isinstance(JsonPickleSerializer(allowed=[Tripwire]).deserialize(payload), Tripwire)


def _reduce(function: str, *args: Any) -> str:
    return json.dumps({"py/reduce": [{"py/function": function}, {"py/tuple": list(args)}]})


MALICIOUS = {
    "os.system via reduce": _reduce("os.system", "echo pwned"),
    "posix.system via reduce": _reduce("posix.system", "echo pwned"),
    "eval via reduce": _reduce("builtins.eval", "__import__('os').system('echo pwned')"),
    "getattr via reduce": _reduce("builtins.getattr", 1, "__class__"),
    "Popen via reduce type": json.dumps(
        {"py/reduce": [{"py/type": "subprocess.Popen"}, {"py/tuple": [["echo", "pwned"]]}]}
    ),
    "Popen via object": json.dumps(
        {"py/object": "subprocess.Popen", "py/newargs": {"py/tuple": [["echo", "pwned"]]}}
    ),
    "Popen as a bare type": json.dumps({"py/type": "subprocess.Popen"}),
    "tripwire object": json.dumps({"py/object": qualified_name(Tripwire), "py/state": {"a": 1}}),
    "hidden in a json:// key": json.dumps(
        {"json://" + json.dumps({"py/object": qualified_name(Tripwire)}): 1}
    ),
    "nested in an allowed container": json.dumps(
        {"py/tuple": [1, {"py/object": qualified_name(Tripwire)}]}
    ),
    "function inside defaultdict factory": json.dumps(
        {"py/object": "collections.defaultdict", "default_factory": {"py/function": "os.getcwd"}}
    ),
}


@pytest.mark.parametrize("payload", list(MALICIOUS.values()), ids=list(MALICIOUS))
def test_jsonpickle_refuses_malicious_payloads_without_building_anything(
    payload: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    called: list[Any] = []
    monkeypatch.setattr(os, "system", lambda *a: called.append(a))
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: called.append(a))
    # The unprotected decoder would build these (showing the payloads are real).
    with pytest.raises(TypeNotAllowedError):
        JsonPickleSerializer().deserialize(payload)
    assert called == []
    assert Tripwire.built == []


def test_unprotected_jsonpickle_would_run_the_payload(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shows the malicious payloads above are real: plain jsonpickle calls os.system."""
    called: list[Any] = []
    monkeypatch.setattr(os, "system", lambda *a: called.append(a))
    jsonpickle.decode(MALICIOUS["os.system via reduce"], keys=True, safe=True)
    assert called == [("echo pwned",)]


@pytest.mark.parametrize(
    "payload",
    [json.dumps({"py/mod": "os/os"}), json.dumps({"py/repr": "os/os.system"})],
    ids=["py/mod", "py/repr"],
)
def test_jsonpickle_never_decodes_module_references(payload: str) -> None:
    with pytest.raises(SerializationError, match="module 'os'"):
        JsonPickleSerializer(allowed=["os"]).deserialize(payload)


def test_jsonpickle_builtin_functions_are_never_implicitly_allowed() -> None:
    s = JsonPickleSerializer()
    for name in ("builtins.eval", "builtins.exec", "builtins.open", "builtins.__import__"):
        assert not s.is_allowed(name)
    assert s.is_allowed("builtins.int")
    assert s.is_allowed("builtins.KeyError")
    assert s.is_allowed(qualified_name(StopEvent))


def test_jsonpickle_rejects_damaged_payloads() -> None:
    s = JsonPickleSerializer()
    with pytest.raises(SerializationError, match="not JSON"):
        s.deserialize("{nope")
    with pytest.raises(SerializationError, match="non-string"):
        s.deserialize(json.dumps({"py/object": 5}))
    with pytest.raises(SerializationError, match="damaged key"):
        s.deserialize(json.dumps({"json://{nope": 1}))


def test_jsonpickle_reports_allowed_names_that_cannot_be_imported() -> None:
    s = JsonPickleSerializer(allowed=["no_such_module_xyz.Thing"])
    with pytest.raises(SerializationError, match="cannot be imported"):
        s.deserialize(json.dumps({"py/object": "no_such_module_xyz.Thing"}))


def test_jsonpickle_allow_list_entries_must_be_classes_or_names() -> None:
    with pytest.raises(TypeError):
        JsonPickleSerializer(allowed=[3])  # type: ignore[list-item]


# --- property tests ------------------------------------------------------------------

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
)
json_key = st.one_of(
    st.text(), st.sampled_from(["__is_pydantic", "__is_component", "__is_plain_dict", "value"])
)
json_value = st.recursive(
    json_leaf,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(json_key, children, max_size=4)
    ),
    max_leaves=20,
)
PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY_SETTINGS
@given(value=json_value)
def test_json_round_trips_any_json_value(value: Any) -> None:
    for s in (JsonSerializer(), PickleSerializer()):
        assert s.deserialize(s.serialize(value)) == value


# jsonpickle cannot store dicts keyed by its own tags (it refuses them, tested above)
jsonpickle_safe_value = json_value.filter(lambda v: "py/" not in json.dumps(v))


@PROPERTY_SETTINGS
@given(
    value=jsonpickle_safe_value,
    extras=st.dictionaries(
        st.text().filter(lambda k: not k.startswith("py/")), jsonpickle_safe_value, max_size=4
    ),
)
def test_events_round_trip_through_every_serializer(value: Any, extras: dict[str, Any]) -> None:
    ev = StopEvent(result={"value": value, "point": Point(x=1, y=2)}, **extras)
    for s in (JsonSerializer(), PickleSerializer(), JsonPickleSerializer(allowed=[Point])):
        back = s.deserialize(s.serialize({"ev": ev, "raw": value}))
        assert back == {"ev": ev, "raw": value}


@PROPERTY_SETTINGS
@given(
    value=st.recursive(
        json_leaf | st.binary(max_size=8),
        lambda children: st.one_of(
            st.lists(children, max_size=3),
            st.tuples(children, children),
            st.frozensets(st.integers() | st.text(), max_size=3),
            st.dictionaries(
                st.integers() | st.text().filter(lambda k: not k.startswith("py/")),
                children,
                max_size=3,
            ),
        ),
        max_leaves=15,
    )
)
def test_jsonpickle_round_trips_python_values(value: Any) -> None:
    s = JsonPickleSerializer()
    assert s.deserialize(s.serialize(value)) == value

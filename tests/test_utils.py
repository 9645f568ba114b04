"""``durable_flows.utils``: upstream's step-inspection helpers (``workflows.utils``)."""

from __future__ import annotations

import inspect
from typing import Annotated, Any, get_type_hints

import pytest

from durable_flows import Context, Workflow, step
from durable_flows.errors import WorkflowValidationError
from durable_flows.events import Event, StartEvent, StopEvent
from durable_flows.resource import Resource
from durable_flows.utils import (
    StepSignatureSpec,
    _get_param_types,
    _get_return_types,
    _nanoid,
    get_steps_from_class,
    get_steps_from_instance,
    inspect_signature,
    is_free_function,
    validate_step_signature,
)

pytestmark = pytest.mark.timeout(30)


class Ping(Event):
    pass


class Pong(Event):
    pass


def make_number() -> int:
    return 7


def test_inspect_signature_reads_events_context_resources_and_returns() -> None:
    def f(self: Any, ctx: Context, ev: Ping | Pong, n: Annotated[int, Resource(make_number)]) -> Pong | None:
        return None

    spec = inspect_signature(f)
    assert isinstance(spec, StepSignatureSpec)
    assert spec.accepted_events == {"ev": [Ping, Pong]}
    assert spec.context_parameter == "ctx"
    assert [r.name for r in spec.resources] == ["n"]
    assert spec.return_types == [Pong, type(None)]
    validate_step_signature(spec)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("def f(self, ev: str) -> None: ...", "must have at least one parameter annotated as type Event"),
        ("def f(ctx: Context) -> None: ...", "must have at least one parameter annotated as type Event"),
        ("def f(a: Ping, b: Pong) -> None: ...", "exactly one parameter of type Event but found 2."),
        ("def f(ev: Ping): ...", "Return types of workflows step functions must be annotated"),
    ],
)
def test_validate_step_signature_says_what_is_wrong(source: str, message: str) -> None:
    scope: dict[str, Any] = {"Ping": Ping, "Pong": Pong, "Context": Context}
    exec(source, scope)
    with pytest.raises(WorkflowValidationError, match=message):
        validate_step_signature(inspect_signature(scope["f"]))


def test_inspect_signature_refuses_what_is_not_callable() -> None:
    with pytest.raises(TypeError, match="Expected a callable object, got str"):
        inspect_signature("f")  # type: ignore[arg-type]


class Base(Workflow):
    @step
    async def first(self, ev: StartEvent) -> Ping:
        return Ping()

    def helper(self) -> None:
        pass


class Derived(Base):
    @step
    async def second(self, ev: Ping) -> StopEvent:
        return StopEvent()


def test_get_steps_from_class_and_instance() -> None:
    by_class = get_steps_from_class(Derived)
    assert set(by_class) == {"first", "second"}
    assert by_class["second"] is Derived.__dict__["second"]
    wf = Derived()
    by_instance = get_steps_from_instance(wf)
    assert set(by_instance) == {"first", "second"}
    assert all(m.__self__ is wf for m in by_instance.values())


def test_is_free_function() -> None:
    assert is_free_function("f") and is_free_function("outer.<locals>.f")
    assert not is_free_function("C.f") and not is_free_function("outer.<locals>.C.f")
    with pytest.raises(ValueError, match="cannot be empty"):
        is_free_function("")


def test_param_and_return_types() -> None:
    def f(a: str | int | None, b) -> list[str] | None:  # type: ignore[no-untyped-def]  # noqa: ANN001
        return None

    params = inspect.signature(f).parameters
    hints = get_type_hints(f)
    assert _get_param_types(params["a"], hints) == [str, int]
    assert _get_param_types(params["b"], hints) == [Any]
    assert _get_return_types(f) == [list[str]]
    assert _get_return_types(lambda: None) == []


def test_nanoid() -> None:
    ids = {_nanoid() for _ in range(200)}
    assert len(ids) == 200 and all(len(i) == 10 and i.isalnum() for i in ids)
    assert (_nanoid(0), len(_nanoid(3))) == ("", 3)

"""Tests for durable_flows.resource: descriptors, the manager's cache and its journal hook."""

from __future__ import annotations

import asyncio
import functools
import json
from pathlib import Path
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, ValidationError

from durable_flows.resource import (
    Resource,
    ResourceConfig,
    ResourceDefinition,
    ResourceDescriptor,
    ResourceManager,
    descriptors_by_key,
)

# --- factories used by the tests (module level, so their keys are predictable) --------

CALLS: dict[str, int] = {}


def _count(name: str) -> None:
    CALLS[name] = CALLS.get(name, 0) + 1


@pytest.fixture(autouse=True)
def _reset_calls() -> None:
    CALLS.clear()


class Thing:
    def __init__(self, label: str = "") -> None:
        self.label = label


def make_thing() -> Thing:
    _count("make_thing")
    return Thing("sync")


async def make_thing_async() -> Thing:
    _count("make_thing_async")
    await asyncio.sleep(0)
    return Thing("async")


async def make_slow_thing() -> Thing:
    _count("make_slow_thing")
    await asyncio.sleep(0.05)
    return Thing("slow")


def make_db() -> Thing:
    _count("make_db")
    return Thing("db")


def make_repo(db: Annotated[Thing, Resource(make_db)]) -> tuple[str, Thing]:
    _count("make_repo")
    return ("repo", db)


async def make_service(
    repo: Annotated[tuple[str, Thing], Resource(make_repo)],
    db: Annotated[Thing, Resource(make_db)],
) -> dict[str, Any]:
    _count("make_service")
    return {"repo": repo, "db": db}


def make_fresh() -> Thing:
    _count("make_fresh")
    return Thing("fresh")


def left(fresh: Annotated[Thing, Resource(make_fresh, cache=False)]) -> Thing:
    return fresh


def right(fresh: Annotated[Thing, Resource(make_fresh, cache=False)]) -> Thing:
    return fresh


def diamond(
    a: Annotated[Thing, Resource(left, cache=False)],
    b: Annotated[Thing, Resource(right, cache=False)],
) -> tuple[Thing, Thing]:
    return (a, b)


def cycle_a(b: Annotated[Thing, Resource(cycle_b)]) -> Thing:
    return Thing("a")


def cycle_b(a: Annotated[Thing, Resource(cycle_a)]) -> Thing:
    return Thing("b")


def self_cycle(me: Annotated[Thing, Resource(self_cycle)]) -> Thing:
    return Thing("self")


def failing_once() -> Thing:
    _count("failing_once")
    if CALLS["failing_once"] == 1:
        raise RuntimeError("boom")
    return Thing("second try")


def with_plain_param(x: int = 3) -> int:
    return x


class AsyncCallable:
    async def __call__(self) -> Thing:
        _count("AsyncCallable")
        return Thing("callable")


def key(func: Any) -> str:
    return f"{__name__}.{func.__qualname__}"


class Recorder:
    """An on_create hook that records every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, bool]] = []

    def __call__(self, name: str, cache: bool) -> None:
        self.calls.append((name, cache))


# --- descriptors -----------------------------------------------------------------------


def test_resource_descriptor_name_is_module_qualified_and_stable() -> None:
    desc = Resource(make_thing)
    assert desc.name == f"{__name__}.make_thing"
    assert desc.cache is True
    assert Resource(make_thing, cache=False).cache is False
    assert Resource(make_thing).name == desc.name
    assert isinstance(desc, ResourceDescriptor)


def test_resource_name_of_method_and_partial() -> None:
    assert Resource(Thing).name == f"{__name__}.Thing"
    assert Resource(functools.partial(Thing, "x")).name == f"{__name__}.Thing"
    assert Resource(AsyncCallable()).name == f"{__name__}.AsyncCallable"


def test_resource_rejects_non_callable() -> None:
    with pytest.raises(TypeError, match="must be callable"):
        Resource(42)  # type: ignore[arg-type]


def test_get_dependencies_lists_annotated_resources_only() -> None:
    deps = Resource(make_service).get_dependencies()
    assert [(name, d.name) for name, d, _ in deps] == [
        ("repo", key(make_repo)),
        ("db", key(make_db)),
    ]
    assert deps[1][2] is Thing
    assert Resource(with_plain_param).get_dependencies() == []


def test_descriptors_by_key_walks_dependencies() -> None:
    defs = [ResourceDefinition(name="svc", resource=Resource(make_service))]
    found = descriptors_by_key(defs)
    assert list(found) == [key(make_service), key(make_repo), key(make_db)]


# --- caching and the on_create hook ----------------------------------------------------


async def test_cached_resource_created_once_per_manager() -> None:
    hook = Recorder()
    manager = ResourceManager(on_create=hook)
    first = await manager.get(Resource(make_thing))
    second = await manager.get(Resource(make_thing))  # new descriptor, same key
    assert first is second
    assert first.label == "sync"
    assert CALLS == {"make_thing": 1}
    assert hook.calls == [(key(make_thing), True)]
    assert manager.created_keys() == {key(make_thing)}
    assert manager.get_all() == {key(make_thing): first}


async def test_each_manager_has_its_own_cache() -> None:
    one, two = ResourceManager(), ResourceManager()
    assert await one.get(Resource(make_thing)) is not await two.get(Resource(make_thing))
    assert CALLS == {"make_thing": 2}


async def test_uncached_resource_created_on_every_get() -> None:
    hook = Recorder()
    manager = ResourceManager(on_create=hook)
    desc = Resource(make_thing_async, cache=False)
    first = await manager.get(desc)
    second = await manager.get(desc)
    assert first is not second
    assert first.label == "async"
    assert CALLS == {"make_thing_async": 2}
    assert hook.calls == [(key(make_thing_async), False)] * 2
    assert manager.created_keys() == set()


async def test_async_callable_object_is_awaited() -> None:
    value = await ResourceManager().get(Resource(AsyncCallable()))
    assert value.label == "callable"


async def test_concurrent_gets_of_a_cached_key_create_it_once() -> None:
    hook = Recorder()
    manager = ResourceManager(on_create=hook)
    values = await asyncio.wait_for(
        asyncio.gather(*(manager.get(Resource(make_slow_thing)) for _ in range(20))), 5
    )
    assert all(v is values[0] for v in values)
    assert CALLS == {"make_slow_thing": 1}
    assert hook.calls == [(key(make_slow_thing), True)]


async def test_concurrent_gets_of_an_uncached_key_each_create() -> None:
    manager = ResourceManager()
    desc = Resource(make_slow_thing, cache=False)
    values = await asyncio.wait_for(asyncio.gather(*(manager.get(desc) for _ in range(5))), 5)
    assert len({id(v) for v in values}) == 5
    assert CALLS == {"make_slow_thing": 5}


async def test_different_keys_are_created_concurrently() -> None:
    """The per-key lock must not serialize unrelated resources."""
    manager = ResourceManager()
    started = asyncio.Event()

    async def waits_for_other() -> str:
        await started.wait()
        return "waited"

    async def releases() -> str:
        started.set()
        return "released"

    values = await asyncio.wait_for(
        asyncio.gather(manager.get(Resource(waits_for_other)), manager.get(Resource(releases))),
        5,
    )
    assert values == ["waited", "released"]


async def test_dependencies_resolved_and_shared_through_cache() -> None:
    hook = Recorder()
    manager = ResourceManager(on_create=hook)
    service = await manager.get(Resource(make_service))
    repo_name, repo_db = service["repo"]
    assert repo_name == "repo"
    assert repo_db is service["db"]
    assert await manager.get(Resource(make_db)) is repo_db
    assert CALLS == {"make_db": 1, "make_repo": 1, "make_service": 1}
    assert hook.calls == [
        (key(make_db), True),
        (key(make_repo), True),
        (key(make_service), True),
    ]
    assert manager.created_keys() == {key(make_db), key(make_repo), key(make_service)}


async def test_uncached_dependency_shared_within_one_resolution_only() -> None:
    hook = Recorder()
    manager = ResourceManager(on_create=hook)
    a, b = await manager.get(Resource(diamond, cache=False))
    assert a is b  # one dependency graph: make_fresh ran once
    c, _ = await manager.get(Resource(diamond, cache=False))
    assert c is not a  # a new top-level get is a new resolution
    assert CALLS == {"make_fresh": 2}
    assert hook.calls.count((key(make_fresh), False)) == 2


async def test_resolution_scope_shares_uncached_values() -> None:
    manager = ResourceManager()
    desc = Resource(make_fresh, cache=False)
    with manager.resolution_scope():
        with manager.resolution_scope():  # nested scopes join the outer one
            first = await manager.get(desc)
        second = await manager.get(desc)
    assert first is second
    assert await manager.get(desc) is not first


async def test_circular_dependency_raises() -> None:
    """The cycle names factories by ``__qualname__``, as upstream's message does."""
    manager = ResourceManager()
    with pytest.raises(ValueError) as info:
        await manager.get(Resource(cycle_a))
    assert str(info.value) == "Circular resource dependency detected: cycle_a -> cycle_b -> cycle_a"
    with pytest.raises(ValueError, match="Circular resource dependency detected"):
        await manager.get(Resource(self_cycle))


async def test_concurrent_entry_into_a_cycle_fails_instead_of_hanging() -> None:
    """Pins a deadlock: two tasks entering a cycle from each end held each other's lock."""
    manager = ResourceManager()
    results = await asyncio.wait_for(
        asyncio.gather(
            manager.get(Resource(cycle_a)), manager.get(Resource(cycle_b)), return_exceptions=True
        ),
        5,
    )
    assert all(isinstance(r, ValueError) for r in results)


async def test_dynamic_self_request_is_refused() -> None:
    """A descriptor whose resolve() asks for itself (invisible to the static check)."""

    class Recursive:
        name = "recursive"
        cache = True

        async def resolve(self, manager: ResourceManager) -> Any:
            return await manager.get(self)

        def set_type_annotation(self, type_annotation: Any) -> None: ...

        def set_localns(self, localns: dict[str, Any] | None) -> None: ...

        def get_dependencies(self) -> list[Any]:
            return []

    with pytest.raises(ValueError, match="recursive -> recursive"):
        await asyncio.wait_for(ResourceManager().get(Recursive()), 5)


async def test_failed_factory_is_not_cached_nor_reported() -> None:
    hook = Recorder()
    manager = ResourceManager(on_create=hook)
    with pytest.raises(RuntimeError, match="boom"):
        await manager.get(Resource(failing_once))
    assert hook.calls == []
    assert manager.created_keys() == set()
    value = await manager.get(Resource(failing_once))
    assert value.label == "second try"
    assert hook.calls == [(key(failing_once), True)]


async def test_on_create_error_propagates_and_drops_the_value() -> None:
    def refuse(name: str, cache: bool) -> None:
        raise OSError("journal unavailable")

    manager = ResourceManager(on_create=refuse)
    with pytest.raises(OSError, match="journal unavailable"):
        await manager.get(Resource(make_thing))
    assert manager.created_keys() == set()


async def test_set_puts_a_value_without_factory() -> None:
    manager = ResourceManager()
    await manager.set(key(make_thing), "preset")
    assert await manager.get(Resource(make_thing)) == "preset"
    assert CALLS == {}


async def test_factory_string_annotations_resolve_with_localns() -> None:
    class LocalDep:
        pass

    def local_dep() -> LocalDep:
        return LocalDep()

    def needs_local(dep: Annotated[LocalDep, Resource(local_dep)]) -> LocalDep:
        return dep

    desc = Resource(needs_local)
    assert desc.get_dependencies() == []  # LocalDep not resolvable without the scope
    desc.set_localns({"LocalDep": LocalDep, "local_dep": local_dep})
    value = await ResourceManager().get(desc)
    assert isinstance(value, LocalDep)


# --- ResourceConfig --------------------------------------------------------------------


class LLMConfig(BaseModel):
    model: str
    temperature: float = 0.0


def write_json(path: Path, data: Any) -> str:
    path.write_text(json.dumps(data))
    return str(path)


def test_resource_config_requires_json_file(tmp_path: Path) -> None:
    with pytest.raises(
        ValueError, match="Only JSON files can be used to load Pydantic-based resources."
    ):
        ResourceConfig(str(tmp_path / "config.yaml"))


async def test_resource_config_loads_model(tmp_path: Path) -> None:
    path = write_json(tmp_path / "llm.json", {"model": "m1", "temperature": 0.5})
    desc = ResourceConfig(path, label="LLM", description="model settings")
    assert desc.name == path
    assert desc.cache is True
    assert desc.label == "LLM"
    desc.set_type_annotation(LLMConfig)
    hook = Recorder()
    manager = ResourceManager(on_create=hook)
    value = await manager.get(desc)
    assert value == LLMConfig(model="m1", temperature=0.5)
    assert await manager.get(desc) is value
    assert hook.calls == [(path, True)]


async def test_resource_config_path_selector(tmp_path: Path) -> None:
    path = write_json(tmp_path / "all.json", {"llm": {"openai": {"model": "gpt"}}, "n": 1})
    desc = ResourceConfig(path, path_selector="llm.openai")
    assert desc.name == f"{path}.llm.openai"
    desc.set_type_annotation(LLMConfig)
    assert (await ResourceManager().get(desc)).model == "gpt"

    resolved = Path(path).resolve()  # noqa: ASYNC240 - test setup
    bad = ResourceConfig(path, path_selector="n.x")
    bad.set_type_annotation(LLMConfig)
    with pytest.raises(ValueError) as info:
        bad.call()
    assert str(info.value) == (
        f"Expected dictionary for configuration from {resolved} at path n, got: <class 'int'>"
    )


def test_resource_config_errors(tmp_path: Path) -> None:
    missing = ResourceConfig(str(tmp_path / "missing.json"))
    missing.set_type_annotation(LLMConfig)
    with pytest.raises(FileNotFoundError, match="No such file"):
        missing.call()

    path = write_json(tmp_path / "c.json", {"model": "m"})
    no_model = ResourceConfig(path)
    with pytest.raises(ValueError, match="Class factory should be set"):
        no_model.call()

    invalid = ResourceConfig(write_json(tmp_path / "bad.json", {"temperature": 1}))
    invalid.set_type_annotation(LLMConfig)
    with pytest.raises(ValidationError):
        invalid.call()


async def test_resource_config_as_factory_dependency(tmp_path: Path) -> None:
    path = write_json(tmp_path / "dep.json", {"model": "dep"})

    def client(cfg: Annotated[LLMConfig, ResourceConfig(path)]) -> str:
        return f"client for {cfg.model}"

    desc = Resource(client)
    desc.set_localns({"path": path})
    assert await ResourceManager().get(desc) == "client for dep"

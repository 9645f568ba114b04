"""Resources: objects that steps receive by injection instead of building them.

A step declares a resource with ``typing.Annotated``::

    def get_db() -> Database: ...

    @step
    async def load(self, ev: StartEvent, db: Annotated[Database, Resource(get_db)]) -> StopEvent:
        ...

Resources are never written to the journal. What the journal records instead
is the *key* of each resource a run created (through the ``on_create`` hook of
:class:`ResourceManager`); replay rebuilds a run's resource cache by calling
the same factories again. That is why a descriptor's ``name`` must be stable
across processes: it is the module-qualified name of the factory, never an
``id()``.

This package is the public face (``durable_flows.resource``, upstream's
path); ``config`` holds ``ResourceConfig`` (values loaded from JSON files).
It imports nothing else from durable_flows: the decorators, the spec checks
and the runtime build on it.
"""

from __future__ import annotations

import asyncio
import builtins
import functools
import inspect
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import (
    Annotated,
    Any,
    Generic,
    Protocol,
    TypeVar,
    cast,
    get_args,
    get_origin,
    get_type_hints,
    runtime_checkable,
)

from .config import ModelT as ModelT
from .config import ResourceConfig as ResourceConfig
from .config import _ResourceConfig as _ResourceConfig

T = TypeVar("T")

OnCreate = Callable[[str, bool], None]
"""Hook signature: ``on_create(key, cache)``, called once per factory call."""


@runtime_checkable
class ResourceDescriptor(Protocol):
    """What :class:`ResourceManager` needs from anything placed in ``Annotated``.

    Both :func:`Resource` and :func:`ResourceConfig` return objects that satisfy
    this protocol; user-written descriptors may too.
    """

    @property
    def name(self) -> str:
        """Stable key: identifies the resource in the cache, the journal and cycle errors."""
        ...

    @property
    def cache(self) -> bool:
        """True when one value is shared by every step of a run."""
        ...

    async def resolve(self, manager: ResourceManager) -> Any:
        """Produce a new value; dependencies are fetched through ``manager``."""
        ...

    def set_type_annotation(self, type_annotation: Any) -> None:
        """Receive ``T`` from ``Annotated[T, descriptor]`` (used by config resources)."""
        ...

    def set_localns(self, localns: dict[str, Any] | None) -> None:
        """Receive the namespace the annotations were written in, for string annotations."""
        ...

    def get_dependencies(self) -> list[tuple[str, ResourceDescriptor, Any]]:
        """Return ``(parameter, descriptor, annotated type)`` for each resource it needs."""
        ...


def _factory_key(factory: Callable[..., Any]) -> str:
    """Module-qualified name of a factory, unwrapping ``functools.partial``."""
    target: Any = factory
    while isinstance(target, functools.partial):
        target = target.func
    module = getattr(target, "__module__", None) or type(target).__module__
    qualname = getattr(target, "__qualname__", None) or type(target).__qualname__
    return f"{module}.{qualname}"


def _factory_type_hints(
    factory: Callable[..., Any], localns: dict[str, Any] | None
) -> dict[str, Any]:
    """Resolve a factory's annotations; an unresolvable annotation yields no hints.

    Names from the decorating scope are offered only where the factory's own
    module does not define them, so a step's local names cannot shadow the
    types the factory was written against.
    """
    globalns = getattr(factory, "__globals__", {})
    extra = {k: v for k, v in (localns or {}).items() if k not in globalns} or None
    try:
        return get_type_hints(factory, include_extras=True, localns=extra)
    except (NameError, TypeError):
        return {}


class _Resource(Generic[T]):
    """Descriptor for a factory-backed resource; create it with :func:`Resource`.

    Attributes:
        factory: The callable producing the value (sync or async).
        name: Stable cache and journal key, ``"<module>.<qualname>"`` of the factory.
        cache: Whether one value is shared across the run.
    """

    def __init__(self, factory: Callable[..., T | Awaitable[T]], cache: bool) -> None:
        if not callable(factory):
            raise TypeError(f"Resource factory must be callable, got {type(factory).__name__}")
        self.factory = factory
        self.name = _factory_key(factory)
        self.cache = cache
        self._localns: dict[str, Any] | None = None
        call = getattr(factory, "__call__", None)  # noqa: B004 - async __call__ on instances
        self._is_async = inspect.iscoroutinefunction(factory) or (
            not inspect.isroutine(factory) and inspect.iscoroutinefunction(call)
        )

    def __repr__(self) -> str:
        return f"Resource({self.name}, cache={self.cache})"

    def set_type_annotation(self, type_annotation: Any) -> None:
        """Ignore the annotated type: the factory decides what it returns."""

    def set_localns(self, localns: dict[str, Any] | None) -> None:
        """Remember the decorating scope for resolving the factory's string annotations."""
        self._localns = localns

    def get_dependencies(self) -> list[tuple[str, ResourceDescriptor, Any]]:
        """List the factory's parameters annotated ``Annotated[T, <descriptor>]``.

        Each dependency descriptor is handed its annotated type and this
        resource's namespace, so it can be resolved on its own.
        """
        hints = _factory_type_hints(self.factory, self._localns)
        deps: list[tuple[str, ResourceDescriptor, Any]] = []
        for param in inspect.signature(self.factory).parameters.values():
            annotation = hints.get(param.name, param.annotation)
            if get_origin(annotation) is not Annotated:
                continue
            inner, *metadata = get_args(annotation)
            descriptor = next((m for m in metadata if isinstance(m, ResourceDescriptor)), None)
            if descriptor is None:
                continue
            descriptor.set_type_annotation(inner)
            descriptor.set_localns(self._localns)
            deps.append((param.name, descriptor, inner))
        return deps

    async def resolve(self, manager: ResourceManager) -> T:
        """Call the factory with its resource dependencies resolved through ``manager``."""
        kwargs = {name: await manager.get(dep) for name, dep, _ in self.get_dependencies()}
        if self._is_async:
            return await cast(Callable[..., Awaitable[T]], self.factory)(**kwargs)
        return cast(Callable[..., T], self.factory)(**kwargs)


def Resource(factory: Callable[..., T], cache: bool = True) -> _Resource[T]:  # noqa: N802
    """Declare a resource to inject into a step through ``Annotated``.

    Args:
        factory: Sync or async callable returning the value. Its own parameters
            may be ``Annotated[U, Resource(...)]`` dependencies; they are
            resolved first.
        cache: True (default) creates the value once per run and shares it
            between steps; False calls the factory on every injection (one
            value per resolution, shared only inside a single dependency graph).

    Returns:
        A descriptor to place in ``Annotated[T, ...]``.

    Example:
        ```python
        def get_memory() -> Memory:
            return Memory()

        class MyFlow(Workflow):
            @step
            async def first(
                self, ev: StartEvent, memory: Annotated[Memory, Resource(get_memory)]
            ) -> StopEvent: ...
        ```
    """
    return _Resource(factory, cache)


@dataclass(frozen=True)
class ResourceDefinition:
    """A resource a step asks for.

    Attributes:
        name: Name of the step parameter that receives the value.
        resource: Descriptor producing the value.
        type_annotation: ``T`` of ``Annotated[T, descriptor]``.
    """

    name: str
    resource: ResourceDescriptor
    type_annotation: Any = None


def _dependencies(descriptor: ResourceDescriptor) -> list[tuple[str, ResourceDescriptor, Any]]:
    get_deps = getattr(descriptor, "get_dependencies", None)
    return list(get_deps()) if get_deps is not None else []


def _shown_name(key: str, descriptors: dict[str, ResourceDescriptor]) -> str:
    """A resource as error messages name it: a factory's ``__qualname__``, else its key."""
    factory: Any = getattr(descriptors.get(key), "factory", None)
    while isinstance(factory, functools.partial):
        factory = factory.func
    return str(getattr(factory, "__qualname__", None) or key)


def descriptors_by_key(definitions: Iterable[ResourceDefinition]) -> dict[str, ResourceDescriptor]:
    """Map every key reachable from ``definitions`` (dependencies included) to a descriptor.

    Replay uses this to turn the keys recorded in a journal back into
    descriptors it can hand to :meth:`ResourceManager.get`. When two
    descriptors share a key the first one found wins, as in the cache.
    """
    found: dict[str, ResourceDescriptor] = {}
    stack = [d.resource for d in definitions]
    stack.reverse()
    while stack:
        descriptor = stack.pop()
        if descriptor.name in found:
            continue
        found[descriptor.name] = descriptor
        stack.extend(reversed([dep for _, dep, _ in _dependencies(descriptor)]))
    return found


class ResourceManager:
    """Creates and caches the resources of one run.

    Cached descriptors are created at most once per manager even when many
    steps ask for them concurrently (a lock per key). Non-cached descriptors
    are created on every :meth:`get`, except that one resolution (a
    :meth:`resolution_scope`, which every top-level ``get`` opens) shares a
    non-cached value among the resources depending on it.

    Args:
        on_create: Called as ``on_create(key, cache)`` right after each
            successful factory call, before the value is cached or returned.
            The runtime journals resource creation through it. If it raises,
            the value is dropped and the error propagates to the caller.
    """

    def __init__(self, on_create: OnCreate | None = None) -> None:
        self.resources: dict[str, Any] = {}
        self._on_create = on_create
        self._locks: dict[str, asyncio.Lock] = {}
        self._acyclic: set[str] = set()
        # Per-task state: each asyncio task copies the context, so concurrent
        # resolutions neither see each other's scope nor each other's chain.
        self._scope: ContextVar[dict[str, Any] | None] = ContextVar(
            f"resource_scope_{id(self)}", default=None
        )
        self._chain: ContextVar[tuple[str, ...]] = ContextVar(
            f"resource_chain_{id(self)}", default=()
        )

    @contextmanager
    def resolution_scope(self) -> Iterator[None]:
        """Share non-cached values among every ``get`` made inside the block (same task).

        The runtime wraps the resolution of one step's resources in a scope so
        that a non-cached dependency used by two of them is created once.
        Nested scopes join the outer one.
        """
        if self._scope.get() is not None:
            yield
            return
        token = self._scope.set({})
        try:
            yield
        finally:
            self._scope.reset(token)

    async def set(self, name: str, val: Any) -> None:
        """Put a value in the cache under ``name`` without calling any factory."""
        self.resources[name] = val

    def get_all(self) -> dict[str, Any]:
        """Return the cache (key -> value); the dict is live, do not mutate it."""
        return self.resources

    # ``set`` is a method of this class, hence ``builtins.set`` in annotations below.
    def created_keys(self) -> builtins.set[str]:
        """Return the keys of the cached values currently held."""
        return set(self.resources)

    async def get(self, resource: ResourceDescriptor) -> Any:
        """Return the value of ``resource``, creating it if needed.

        Raises:
            ValueError: The descriptor depends on itself, directly or through
                other resources (``Circular resource dependency detected: a -> b -> a``).
            Exception: Whatever the factory or the ``on_create`` hook raised;
                nothing is cached in that case, so a later ``get`` tries again.
        """
        if self._scope.get() is None:
            with self.resolution_scope():
                return await self._get(resource)
        return await self._get(resource)

    async def _get(self, resource: ResourceDescriptor) -> Any:
        key = resource.name
        chain = self._chain.get()
        if key in chain:
            raise ValueError(f"Circular resource dependency detected: {' -> '.join((*chain, key))}")
        # A dependency cycle must be refused before any lock is taken: two
        # tasks entering the cycle from different ends would otherwise each
        # hold the lock the other waits for, and hang instead of failing.
        self._check_acyclic(resource)
        if not resource.cache:
            scope = self._scope.get()
            assert scope is not None  # get() always opens one
            if key not in scope:
                scope[key] = await self._create(resource, chain)
            return scope[key]
        if key in self.resources:
            return self.resources[key]
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            if key not in self.resources:  # another task may have created it meanwhile
                self.resources[key] = await self._create(resource, chain)
            return self.resources[key]

    async def _create(self, resource: ResourceDescriptor, chain: tuple[str, ...]) -> Any:
        token = self._chain.set((*chain, resource.name))
        try:
            value = await resource.resolve(self)
        finally:
            self._chain.reset(token)
        if self._on_create is not None:
            self._on_create(resource.name, resource.cache)
        return value

    def _check_acyclic(self, root: ResourceDescriptor) -> None:
        """Walk the static dependency graph of ``root``; raise on the first cycle."""
        if root.name in self._acyclic:
            return
        done: builtins.set[str] = builtins.set()
        path: list[str] = []
        descriptors: dict[str, ResourceDescriptor] = {}

        def visit(descriptor: ResourceDescriptor) -> None:
            key = descriptor.name
            if key in path:
                # named as upstream names them (a factory by its __qualname__),
                # though keys are module-qualified
                shown = [*path, key]
                cycle = " -> ".join(_shown_name(k, descriptors) for k in shown)
                raise ValueError(f"Circular resource dependency detected: {cycle}")
            if key in done or key in self._acyclic:
                return
            path.append(key)
            descriptors[key] = descriptor
            for _, dep, _ in _dependencies(descriptor):
                visit(dep)
            path.pop()
            done.add(key)

        visit(root)
        self._acyclic |= done

"""Map ``import workflows...`` onto ``durable_flows...`` for running upstream's tests.

Test-only: the package itself never installs this. ``install()`` puts a finder at the
front of ``sys.meta_path``; ``workflows`` and every ``workflows.X`` whose twin
``durable_flows.X`` exists resolve to that twin module (the very same object, so
``isinstance`` checks agree). Names under PRIVATE are upstream internals with no
counterpart here: they import as stubs whose every attribute is a Placeholder, so a
test file imports and its public-API tests run, while the tests that touch a
placeholder are found (``private_names``) and reported as excluded.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
from importlib.machinery import ModuleSpec
from types import ModuleType

UPSTREAM = "workflows"
TARGET = "durable_flows"
# upstream also ships itself as llama_agents.workflows (same modules)
SECOND_NAME = "llama_agents.workflows"

# Upstream internals that durable_flows deliberately does not reproduce.
PRIVATE = (
    "workflows.runtime",
    "workflows.plugins",
    "workflows.context.external_context",
    "workflows.context.internal_context",
    "workflows.context.pre_context",
    "workflows._event_summary",
    "workflows.server",
    "workflows.client",
)


class PrivateInternalsError(RuntimeError):
    """An upstream-internal name a public-API test should not need was used."""


class Placeholder:
    """Stands for an upstream-internal name; any use raises PrivateInternalsError."""

    def __init__(self, name: str, private: bool = True) -> None:
        self._name = name
        self._private = private

    def __getattr__(self, attr: str) -> Placeholder:
        if attr.startswith("__"):
            raise AttributeError(attr)
        return Placeholder(f"{self._name}.{attr}", self._private)

    def __call__(self, *args: object, **kwargs: object) -> object:
        if self._private:
            raise PrivateInternalsError(f"{self._name} is an upstream internal")
        raise NotImplementedError(f"{self._name}: public name missing in durable_flows")

    def __repr__(self) -> str:
        return f"<upstream internal {self._name}>"

    def __mro_entries__(self, bases: tuple[object, ...]) -> tuple[type, ...]:
        # a test module may subclass an upstream internal: the class is built on
        # object, and the tests that use it are excluded as private
        return (type(self._name.rsplit(".", 1)[-1], (), {}),)

    def __getitem__(self, item: object) -> Placeholder:
        return self


class _StubModule(ModuleType):
    def __getattr__(self, attr: str) -> Placeholder:
        if attr.startswith("__"):
            raise AttributeError(attr)
        return Placeholder(f"{self.__name__}.{attr}")


class _Twin(importlib.abc.Loader):
    def __init__(self, module: ModuleType) -> None:
        self.module = module

    def create_module(self, spec: ModuleSpec) -> ModuleType:
        return self.module

    def exec_module(self, module: ModuleType) -> None:
        return None


class _TwinModule(ModuleType):
    """``workflows.X`` as a view of ``durable_flows.X``: attributes are the twin's own
    objects; a name the twin lacks is a Placeholder (private when it starts with '_')."""

    def __init__(self, name: str, twin: ModuleType) -> None:
        super().__init__(name, twin.__doc__)
        self.__dict__["_twin"] = twin
        if hasattr(twin, "__path__"):
            self.__path__: list[str] = []

    def __getattr__(self, attr: str) -> object:
        twin = self.__dict__["_twin"]
        try:
            return getattr(twin, attr)
        except AttributeError:
            if attr.startswith("__"):
                raise
            return Placeholder(f"{self.__name__}.{attr}", private=attr.startswith("_"))


class WorkflowsAlias(importlib.abc.MetaPathFinder):
    def __init__(self) -> None:
        self._views: dict[str, _TwinModule] = {}

    def find_spec(self, fullname, path=None, target=None):  # type: ignore[no-untyped-def]
        if fullname == "llama_agents":
            namespace = ModuleType(fullname)
            namespace.__path__ = []
            return importlib.util.spec_from_loader(fullname, _Twin(namespace))
        requested = fullname
        if fullname == SECOND_NAME or fullname.startswith(SECOND_NAME + "."):
            fullname = UPSTREAM + fullname[len(SECOND_NAME) :]
        if fullname != UPSTREAM and not fullname.startswith(UPSTREAM + "."):
            return None
        if any(fullname == p or fullname.startswith(p + ".") for p in PRIVATE):
            stub = _StubModule(fullname)
            stub.__path__ = []  # a package, so its submodules import as stubs too
            return importlib.util.spec_from_loader(requested, _Twin(stub))
        twin_name = TARGET + fullname[len(UPSTREAM) :]
        try:
            twin = importlib.import_module(twin_name)
        except ModuleNotFoundError:
            return None
        view = self._views.setdefault(twin_name, _TwinModule(fullname, twin))
        return importlib.util.spec_from_loader(requested, _Twin(view))


def install() -> None:
    if not any(isinstance(f, WorkflowsAlias) for f in sys.meta_path):
        sys.meta_path.insert(0, WorkflowsAlias())


def private_names(namespace: dict[str, object]) -> set[str]:
    """The names in a module's globals that stand for upstream internals."""
    return {
        k
        for k, v in namespace.items()
        if isinstance(v, _StubModule) or (isinstance(v, Placeholder) and v._private)
    }

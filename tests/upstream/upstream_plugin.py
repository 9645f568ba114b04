"""pytest plugin for upstream's test-suite run against durable_flows (see run_upstream.py).

Loaded with ``-p upstream_plugin``: installs the ``workflows`` alias before any test
module imports, and marks as skipped (reason starting "private internals") every test
whose body, fixtures or the module-level helpers its body calls use an upstream
internal: a name imported from a stubbed module, or an attribute from PRIVATE_ATTRS.
A test module that calls an upstream internal while it is imported is skipped whole
the same way. Those test the engine's insides, not the API a user programs against.
"""

from __future__ import annotations

import inspect
import re

import pytest
from alias import install, private_names

install()

# Attributes of upstream's objects that only its own engine has.
PRIVATE_ATTRS = (
    "._face",
    "._runtime",
    "._create_external",
    "._create_internal",
    "._broker_run",
    "._get_or_create_queues",
    "._queues",
    "._state_store",
    "._init_state",
    "._get_full_path",
    "._validation_result",  # Workflow's validation cache
    "._is_async",  # Resource's factory flag
    "external_adapter=",  # WorkflowHandler built by hand on a runtime adapter
)


def _source(obj: object) -> str:
    try:
        return inspect.getsource(obj)  # type: ignore[arg-type]
    except (OSError, TypeError):
        return ""


def _helpers_called(module: object, body: str) -> list[str]:
    """Sources of the test module's own functions that ``body`` names (one level)."""
    found = []
    for name, obj in vars(module).items():
        if (
            inspect.isfunction(obj)
            and not name.startswith("test")
            and obj.__module__ == getattr(module, "__name__", None)
            and re.search(rf"\b{re.escape(name)}\(", body)
        ):
            found.append(_source(obj))
    return found


def _private_use(item: pytest.Item) -> str | None:
    module = getattr(item, "module", None)
    names = private_names(vars(module)) if module is not None else set()
    sources = [_source(getattr(item, "obj", None))]
    if module is not None:
        sources += _helpers_called(module, sources[0])
    info = getattr(item, "_fixtureinfo", None)
    if info is not None:
        for defs in info.name2fixturedefs.values():
            for d in defs:
                sources.append(_source(d.func))
                mod = inspect.getmodule(d.func)
                if mod is not None:
                    names |= private_names(vars(mod))
    for src in sources:
        for name in names:
            if re.search(rf"\b{re.escape(name)}\b", src):
                return name
        for attr in PRIVATE_ATTRS:
            if attr in src:
                return attr.lstrip(".")
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        used = _private_use(item)
        if used is not None:
            item.add_marker(pytest.mark.skip(reason=f"private internals: uses {used}"))


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):  # type: ignore[no-untyped-def]
    """A module that calls an upstream internal at import is excluded, not an error."""
    outcome = yield
    report = outcome.get_result()
    if report.failed and isinstance(collector, pytest.Module):
        found = re.search(r"PrivateInternalsError: (\S+) is an upstream internal", str(report.longrepr))
        if found is not None:
            report.outcome = "skipped"
            reason = f"private internals: module calls {found.group(1)} at import"
            report.longrepr = (str(collector.path), None, reason)

"""Naming classes by a dotted path and finding them again from that path.

The journal stores types as text (``package.module.Outer.Inner``) and the
engine turns that text back into the object when it replays a run. Both
directions live here so they agree on the format.

Importing by name runs the named module's top-level code, so callers that read
names from untrusted data must check what they get back (for example that it
is an ``Event`` subclass) or restrict names beforehand.
"""

from __future__ import annotations

import builtins
from importlib import import_module
from types import ModuleType
from typing import Any

__all__ = ["import_qualified", "qualified_name"]

# ``type(None)`` reports module ``builtins`` but is not an attribute of it.
_UNLISTED_BUILTINS: dict[str, Any] = {"builtins.NoneType": type(None)}


def qualified_name(cls: type[Any]) -> str:
    """The dotted path that names ``cls``: ``f"{cls.__module__}.{cls.__qualname__}"``.

    Nested classes keep their outer class in the path (``mod.Outer.Inner``), so
    :func:`import_qualified` finds them again. Classes defined inside a
    function get a ``<locals>`` segment and cannot be imported back.

    Args:
        cls: Any class.

    Returns:
        The module-qualified name of the class.
    """
    return f"{cls.__module__}.{cls.__qualname__}"


def import_qualified(name: str) -> Any:
    """The object a dotted path names, importing its module if needed.

    The longest prefix of ``name`` that is an importable module is imported,
    then the remaining segments are read as attributes one after the other,
    so ``pkg.mod.Outer.Inner`` yields the nested class ``Inner``. A name that
    is only a module path yields the module.

    Args:
        name: A dotted path such as ``"durable_flows.events.StopEvent"``.

    Returns:
        The object found at the end of the path.

    Raises:
        ImportError: ``name`` is empty or malformed, no prefix of it is an
            importable module, or the module exists but fails to import (the
            original error is chained).
        AttributeError: the module was imported but does not have the
            remaining attribute path.
    """
    if name in _UNLISTED_BUILTINS:
        return _UNLISTED_BUILTINS[name]
    parts = name.split(".")
    if not name or any(not part for part in parts):
        raise ImportError(
            f"cannot import {name!r}: expected a dotted path like 'package.module.Class'"
        )

    module, used = _import_longest_prefix(name, parts)
    obj: Any = module
    for depth, attr in enumerate(parts[used:], start=used):
        try:
            obj = getattr(obj, attr)
        except AttributeError:
            owner = ".".join(parts[:depth])
            raise AttributeError(
                f"cannot import {name!r}: {owner!r} has no attribute {attr!r}. The type may "
                "have been renamed or moved since the name was written."
            ) from None
    return obj


def _import_longest_prefix(name: str, parts: list[str]) -> tuple[ModuleType, int]:
    """Import the longest module prefix of ``parts``; return it and its segment count."""
    if parts[0] == "builtins":
        return builtins, 1
    for used in range(len(parts), 0, -1):
        candidate = ".".join(parts[:used])
        try:
            return import_module(candidate), used
        except ModuleNotFoundError as exc:
            missing = exc.name or ""
            # Only "this candidate (or a parent of it) does not exist" means a
            # shorter prefix may still work. A module that exists but imports
            # something missing is broken, and that must not be hidden.
            if not missing or not (candidate == missing or candidate.startswith(missing + ".")):
                raise ImportError(
                    f"cannot import {name!r}: a module on its path failed to import ({exc}); "
                    "install what that module needs"
                ) from exc
    raise ImportError(
        f"cannot import {name!r}: no module named {parts[0]!r}. Install or put on sys.path "
        "the package that defined it, under the same module path."
    )


def launch_independent_module(module: str) -> str:
    """``module``, or for ``__main__`` the name the defining file would be imported under.

    A class defined in a script run as ``python app.py`` (or ``python -m
    app``) reports module ``__main__``; code that imports it (a worker, the
    CLI's ``--workflow app:Class``) sees ``app``. This gives ``app`` in both
    cases: the ``-m`` module name when there is one, else the script's file
    name without ``.py`` (its folder is what ``sys.path[0]`` holds). Stays
    ``__main__`` when there is no file (an interactive session).
    """
    import os
    import sys

    if module != "__main__":
        return module
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and getattr(spec, "name", None) and spec.name != "__main__":
        name: str = spec.name
        return name[: -len(".__main__")] if name.endswith(".__main__") else name
    path = getattr(main, "__file__", None)
    if not path:
        return module
    stem = os.path.splitext(os.path.basename(path))[0]
    return stem if stem.isidentifier() else module

"""Naming classes by their qualified name and finding them again (upstream's
``workflows.context.utils``)."""

from __future__ import annotations

import importlib
from typing import Any


def get_qualified_name(value: Any) -> str:
    """``value.__module__`` joined to the name of ``value``'s class (an instance of a
    class defined in a module gives ``module.Class``).

    Raises:
        AttributeError: ``value`` has no ``__module__`` (a builtin's instance).
    """
    try:
        return str(value.__module__) + "." + value.__class__.__name__
    except AttributeError as exc:
        raise AttributeError(f"Object {value} does not have required attributes: {exc}") from exc


def import_module_from_qualified_name(qualified_name: str) -> Any:
    """The attribute ``qualified_name`` (``package.module.attribute``) names.

    Raises:
        ValueError: the name has no dot.
        ImportError: the module cannot be imported.
        AttributeError: the module has no such attribute.
    """
    if not qualified_name or "." not in qualified_name:
        raise ValueError("Qualified name must be in format 'module.attribute'")
    module_name, attribute = qualified_name.rsplit(".", 1)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ImportError(f"Failed to import module {module_name}: {exc}") from exc
    try:
        return getattr(module, attribute)
    except AttributeError as exc:
        raise AttributeError(f"Attribute {attribute} not found in module {module_name}: {exc}") from exc

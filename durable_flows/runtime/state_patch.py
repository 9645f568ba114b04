"""State changes as patches: what a ``state`` record holds, and how it is applied.

The run's state is journaled as a JSON document ``D`` (what the codec's
``dump_state`` gives: a typed state's fields, a dict-like state's keys under
``"_data"``). A ``state`` record holds the operations that took the document
from its previous value to the new one, not the whole document, so journal
bytes follow the size of a change, not the size of the state:

=======================  =============================================
``["set", path, value]``  put ``value`` at ``path`` (a list of keys;
                          missing dicts on the way are created)
``["del", path]``         remove the key at ``path``
``["append", path, xs]``  extend the list at ``path`` with ``xs``
=======================  =============================================

``path == []`` is the whole document. :func:`apply_ops` never changes a
container in place (it copies the containers along each path), so a folded
state, a snapshot and the live loop's image of the state can share values
safely. :func:`diff` builds the operations between two JSON values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: A missing value (a key that is not there), distinct from JSON null.
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()

Op = list[Any]


def diff(old: Any, new: Any, path: Sequence[Any] = ()) -> list[Op]:
    """The operations that turn ``old`` into ``new`` (JSON values) at ``path``.

    Dicts are compared key by key; a list that keeps ``old`` as its prefix
    becomes one ``append`` of the new items; anything else is one ``set``.
    """
    if new is MISSING:
        return [] if old is MISSING else [["del", list(path)]]
    if old is MISSING:
        return [["set", list(path), new]]
    if old is new:
        return []
    if type(old) is dict and type(new) is dict:
        if old == new:
            return []
        ops: list[Op] = []
        for key, value in new.items():
            ops.extend(diff(old.get(key, MISSING), value, (*path, key)))
        ops.extend(["del", [*path, key]] for key in old if key not in new)
        return ops
    if type(old) is list and type(new) is list:
        n = len(old)
        if len(new) >= n and new[:n] == old:
            return [["append", list(path), new[n:]]] if len(new) > n else []
        return [["set", list(path), new]]
    if type(old) is type(new) and old == new:
        return []
    return [["set", list(path), new]]


def get_at(doc: Any, path: Sequence[Any]) -> Any:
    """The value at ``path`` in ``doc``, or :data:`MISSING`."""
    current = doc
    for key in path:
        if type(current) is dict and key in current:
            current = current[key]
        elif type(current) is list and isinstance(key, int) and -len(current) <= key < len(current):
            current = current[key]
        else:
            return MISSING
    return current


def apply_ops(doc: Any, ops: Sequence[Op]) -> Any:
    """``doc`` with ``ops`` applied, as a new document (``doc`` is not changed).

    Raises:
        ValueError: an operation does not fit the document (unknown op, a path
            through a value that is not a dict, an append to a non-list).
    """
    for op in ops:
        doc = _apply_one(doc, op)
    return doc


def _apply_one(doc: Any, op: Op) -> Any:
    name, path = op[0], op[1]
    if not path:
        if name == "set":
            return op[2]
        if name == "del":
            return None
        if name == "append":
            return _appended(doc, op[2])
        raise ValueError(f"unknown state operation {name!r}")
    root = dict(doc) if type(doc) is dict else ({} if doc is None else _not_a_dict(doc, path[:0]))
    parent = root
    for i, key in enumerate(path[:-1]):
        child = parent.get(key)
        if child is None:
            child = {}
        elif type(child) is not dict:
            _not_a_dict(child, path[: i + 1])
        else:
            child = dict(child)
        parent[key] = child
        parent = child
    last = path[-1]
    if name == "set":
        parent[last] = op[2]
    elif name == "del":
        parent.pop(last, None)
    elif name == "append":
        parent[last] = _appended(parent.get(last), op[2])
    else:
        raise ValueError(f"unknown state operation {name!r}")
    return root


def _appended(current: Any, items: Any) -> list[Any]:
    if current is None:
        current = []
    if type(current) is not list or type(items) is not list:
        raise ValueError("state operation 'append' needs a list at its path")
    return current + items


def _not_a_dict(value: Any, path: Sequence[Any]) -> Any:
    raise ValueError(f"state operation path goes through a {type(value).__name__} at {list(path)}")


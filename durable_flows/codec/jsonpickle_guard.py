"""The jsonpickle guard: what a jsonpickle payload may name, and a stricter pickler.

Decoding a jsonpickle payload imports and calls whatever classes and functions
it names. :class:`~durable_flows.context.serializers.JsonPickleSerializer`
therefore reads every name in a payload (:func:`_check_names`) before anything
is built, allowing the safe types here, durable_flows' own classes and what the
user listed; and it encodes with :class:`_StrictPickler`, which raises where
stock jsonpickle would silently drop data.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from jsonpickle import tags as jsonpickle_tags
from jsonpickle import util as jsonpickle_util
from jsonpickle.pickler import Pickler

from ..errors import SerializationError, ValueNotSerializableError
from .names import import_qualified, qualified_name

# Safe by construction: building one of these runs no user code and touches
# nothing outside the object. Builtin *functions* (eval, exec, open, getattr,
# __import__, ...) are deliberately absent: jsonpickle can call any callable
# a payload names.
_SAFE_TYPE_NAMES = (
    "builtins.bool",
    "builtins.int",
    "builtins.float",
    "builtins.complex",
    "builtins.str",
    "builtins.bytes",
    "builtins.bytearray",
    "builtins.list",
    "builtins.tuple",
    "builtins.dict",
    "builtins.set",
    "builtins.frozenset",
    "builtins.range",
    "builtins.slice",
    "builtins.NoneType",
    "collections.OrderedDict",
    "collections.defaultdict",
    "collections.deque",
    "collections.Counter",
    "datetime.datetime",
    "datetime.date",
    "datetime.time",
    "datetime.timedelta",
    "datetime.timezone",
    "decimal.Decimal",
    "fractions.Fraction",
    "uuid.UUID",
    "pathlib.PurePath",
    "pathlib.PurePosixPath",
    "pathlib.PureWindowsPath",
    "pathlib.Path",
    "pathlib.PosixPath",
    "pathlib.WindowsPath",
    "pydantic_core._pydantic_core.TzInfo",
)


@functools.cache
def _safe_types() -> dict[str, type[Any]]:
    """The always-allowed classes, by the name jsonpickle writes for them."""
    import builtins

    found: dict[str, type[Any]] = {}
    for name in _SAFE_TYPE_NAMES:
        try:
            obj = import_qualified(name)
        except (ImportError, AttributeError):  # e.g. a pydantic_core without TzInfo
            continue
        if isinstance(obj, type):
            found[name] = obj
    for attr in dir(builtins):
        obj = getattr(builtins, attr)
        if isinstance(obj, type) and issubclass(obj, BaseException):
            found[f"builtins.{attr}"] = obj
    return found


# jsonpickle tags whose value is a class or function name it will import.
_NAMING_TAGS = ("py/object", "py/type", "py/function")
# jsonpickle tags that import a module by name; never needed for data.
_MODULE_TAGS = ("py/mod", "py/repr")
_JSON_KEY_PREFIX = "json://"


class _StrictPickler(Pickler):  # type: ignore[misc]
    """A jsonpickle Pickler that raises where jsonpickle would silently lose data.

    Stock jsonpickle writes ``null`` for objects it cannot encode and drops
    dict entries whose key is one of its tags (``"py/object"``, ...) or whose
    value is a lambda or local function. These hooks are private jsonpickle
    methods: if a jsonpickle release stops calling them, encoding still works,
    only without these checks.
    """

    def _pickle_warning(self, obj: Any) -> None:
        raise ValueNotSerializableError(
            qualified_name(type(obj)), "JsonPickleSerializer", "jsonpickle cannot encode it"
        )

    def _refuse_lost_entry(self, key: Any, value: Any) -> None:
        if jsonpickle_util.is_picklable(key, value):
            return
        if isinstance(key, str) and key in jsonpickle_tags.RESERVED:
            reason = f"a dict key {key!r} is a jsonpickle tag and would be dropped"
            raise ValueNotSerializableError("builtins.dict", "JsonPickleSerializer", reason)
        raise ValueNotSerializableError(
            qualified_name(type(value)),
            "JsonPickleSerializer",
            f"the value under {key!r} is a function that cannot be imported by name",
        )

    def _flatten_key_value_pair(self, k: Any, v: Any, data: Any) -> Any:
        self._refuse_lost_entry(k, v)
        return super()._flatten_key_value_pair(k, v, data)

    def _flatten_string_key_value_pair(self, k: Any, v: Any, data: Any) -> Any:
        self._refuse_lost_entry(k, v)
        return super()._flatten_string_key_value_pair(k, v, data)

    def _flatten_non_string_key_value_pair(self, k: Any, v: Any, data: Any) -> Any:
        self._refuse_lost_entry(k, v)
        return super()._flatten_non_string_key_value_pair(k, v, data)


def _check_names(tree: Any, resolve: Callable[[Any], None], owner: str) -> None:
    """Refuse ``tree`` if it references a module; hand every name it holds to ``resolve``.

    ``tree`` is a jsonpickle payload decoded from JSON, not yet restored.
    Every class or function name it holds (``py/object``, ``py/type``,
    ``py/function``), including inside jsonpickle's encoded dict keys, goes
    to ``resolve``, which raises if the name is not allowed.

    Args:
        tree: The payload as plain JSON data.
        resolve: Raises for a name that may not be built.
        owner: The serializer's class name, for error messages.

    Raises:
        SerializationError: the payload references a module (``py/mod``,
            ``py/repr``) or has a damaged key.
    """
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        for tag in _MODULE_TAGS:
            if tag in node:
                module = str(node[tag]).split("/", 1)[0]
                raise SerializationError(
                    f"{owner} refused a payload that references module "
                    f"{module!r} ({tag}); module references are never decoded and "
                    "nothing was built. Store data, not modules, in events and state."
                )
        for tag in _NAMING_TAGS:
            if tag in node:
                resolve(node[tag])
        for key, item in node.items():
            if isinstance(key, str) and key.startswith(_JSON_KEY_PREFIX):
                try:
                    stack.append(json.loads(key[len(_JSON_KEY_PREFIX) :]))
                except ValueError as exc:
                    raise SerializationError(
                        f"jsonpickle payload has a damaged key {key!r}"
                    ) from exc
            stack.append(item)

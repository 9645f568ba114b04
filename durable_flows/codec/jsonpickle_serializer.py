"""The allow-listed jsonpickle serializer (``"jsonpickle"``).

Upstream's ``JsonPickleSerializer`` is only an alias of ``PickleSerializer``;
here it encodes arbitrary objects with jsonpickle and decodes only the classes
the user allowed, checked by :mod:`.jsonpickle_guard` before anything is built.
Public at ``durable_flows.context.serializers``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, ClassVar, get_origin

from jsonpickle.unpickler import Unpickler

from ..errors import SerializationError, TypeNotAllowedError, ValueNotSerializableError
from .jsonpickle_guard import _check_names, _safe_types, _StrictPickler
from .names import import_qualified, qualified_name
from .serializers import BaseSerializer, _framework_registry, _names_of

__all__ = ["JsonPickleSerializer"]


class JsonPickleSerializer(BaseSerializer):
    """jsonpickle encoding that decodes only allow-listed classes.

    jsonpickle can write nearly any object, but decoding a jsonpickle payload
    imports and calls whatever classes and functions it names, which lets a
    crafted payload run code (``subprocess.Popen``, ``os.system``, ...).
    Before anything is built, this serializer reads every class and function
    name in the payload and refuses the payload if one of them is not
    allowed. Module references (``py/mod``, ``py/repr``) are always refused.
    Encoding applies the same check, so a value that could not be read back
    is refused when it is written rather than when a run is resumed.

    Always allowed: builtin value types (``int``, ``str``, ``list``, ``dict``,
    ``set``, ``tuple``, ``bytes``, ...), builtin exception classes, a few
    stdlib value types (``datetime``/``date``/``time``/``timedelta``/
    ``timezone``, ``Decimal``, ``Fraction``, ``UUID``, ``pathlib`` paths,
    ``OrderedDict``/``defaultdict``/``deque``/``Counter``) and durable_flows'
    own event classes. Builtin functions are never allowed.

    Args:
        allowed: Further classes (or their qualified names) that payloads may
            name. Allowing a class does not allow its subclasses, nor the
            classes of its fields: each class a payload names must be listed.
        allowed_types: Accepted as another spelling of ``allowed``, for code
            written against upstream's keyword.

    Raises:
        TypeError: an entry is neither a class nor a string.
    """

    name: ClassVar[str] = "jsonpickle"

    def __init__(
        self,
        allowed: Iterable[type[Any] | str] = (),
        *,
        allowed_types: Iterable[type[Any] | str] | None = None,
    ) -> None:
        # name -> object for every allowed name resolved so far
        self._classes: dict[str, Any] = {**_safe_types(), **_framework_registry()}
        self._names: set[str] = set(self._classes)
        for entry in [*allowed, *(allowed_types or ())]:
            if isinstance(entry, str):
                self._names.add(entry)
            elif isinstance(entry, type) and get_origin(entry) is None:
                for name in _names_of(entry):
                    self._classes[name] = entry
                    self._names.add(name)
            else:
                raise TypeError(
                    f"allowed entries must be classes or qualified names, got {entry!r}"
                )

    def is_allowed(self, name: str) -> bool:
        """Whether payloads may name the class or function ``name``."""
        return name in self._names

    def serialize(self, value: Any) -> str:
        """Encode ``value`` with jsonpickle.

        Raises:
            ValueNotSerializableError: jsonpickle cannot encode part of it.
            TypeNotAllowedError: it contains an object of a class that is not
                allowed (it could not be decoded later).
        """
        pickler = _StrictPickler(keys=True, warn=True, make_refs=True)
        try:
            tree = pickler.flatten(value, reset=True)
        except SerializationError:
            raise
        except Exception as exc:  # jsonpickle and user __getstate__ raise anything
            raise ValueNotSerializableError(
                qualified_name(type(value)), type(self).__name__, f"jsonpickle failed: {exc}"
            ) from exc
        _check_names(tree, self._resolve, type(self).__name__)
        try:
            return json.dumps(tree, ensure_ascii=False, separators=(",", ":"))
        except (TypeError, ValueError) as exc:
            raise ValueNotSerializableError(
                qualified_name(type(value)), type(self).__name__, str(exc)
            ) from exc

    def deserialize(self, value: str) -> Any:
        """Decode a jsonpickle payload, building only allowed classes.

        Raises:
            TypeNotAllowedError: the payload names a class, function or module
                that is not allowed; nothing was built.
            SerializationError: the payload is not JSON, an allowed class
                cannot be imported, or jsonpickle fails to rebuild it.
        """
        try:
            tree = json.loads(value)
        except ValueError as exc:
            raise SerializationError(f"jsonpickle payload is not JSON: {exc}") from exc
        _check_names(tree, self._resolve, type(self).__name__)
        unpickler = Unpickler(keys=True, safe=True, on_missing="error")
        try:
            return unpickler.restore(tree, reset=True, classes=dict(self._classes))
        except SerializationError:
            raise
        except Exception as exc:  # restoring calls user __setstate__/__new__ code
            raise SerializationError(
                f"jsonpickle could not rebuild the payload: {type(exc).__name__}: {exc}"
            ) from exc

    def _resolve(self, name: Any) -> None:
        if not isinstance(name, str):
            raise SerializationError(f"jsonpickle payload names a type by a non-string {name!r}")
        if name in self._classes:
            return
        if name not in self._names:
            raise TypeNotAllowedError(name, type(self).__name__, "allowed")
        try:
            self._classes[name] = import_qualified(name)
        except (ImportError, AttributeError) as exc:
            raise SerializationError(f"allowed type {name} cannot be imported: {exc}") from exc

"""How event fields that are not plain JSON travel through the journal.

Events are stored as ``model_dump(mode="json")`` and rebuilt with
``model_validate``. This module holds what that round trip needs beyond
pydantic's defaults:

* the JSON encoder for typed values (models inside extras and results), and
  the decoder, which resolves class names through the serializer that is
  decoding, if any;
* fields typed :data:`SerializableException` store the exception's type name,
  message and (when they differ from the message) its arguments, and come
  back as that exception class, or as :class:`UnreconstructedException` when
  the class cannot be imported or built;
* equality for events holding exceptions, which after a round trip are equal
  in type and arguments but not identical.

The public names are re-exported by :mod:`durable_flows.events`, their home.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, PlainSerializer, PlainValidator

from .names import import_qualified, qualified_name
from .serializers import _MARKERS, JsonSerializer, _active_serializer

# Encodes typed values (models inside extras, results, event fields). Class
# lookup when decoding uses the serializer that is decoding, if any.
_JSON = JsonSerializer()


def _decoder() -> JsonSerializer:
    return _active_serializer.get() or _JSON


class UnreconstructedException(Exception):
    """Stands in for a stored exception whose class could not be rebuilt.

    Used when the stored type cannot be imported, is not allowed by the
    decoding serializer, is not an ``Exception`` subclass, or cannot be built
    from the stored arguments. ``str(exc)`` is the original message;
    ``original_type`` is the original qualified type name. Stored again, it is
    written under ``original_type``, so a later load (with the class
    importable again) can still produce the original class.

    Args:
        message: The original exception's message.
        original_type: Qualified name of the original exception class.
    """

    # Journals, jsonpickle payloads and the framework allow-list name it
    # durable_flows.events.UnreconstructedException; moving it must not rename it.
    __module__ = "durable_flows.events"

    def __init__(self, message: str, *, original_type: str | None = None) -> None:
        super().__init__(message)
        self.original_type = original_type

    def __repr__(self) -> str:
        message = self.args[0] if self.args else ""
        return f"UnreconstructedException({message!r}, original_type={self.original_type!r})"


_JSON_SCALARS = (str, int, float, bool, type(None))


def _dump_exception(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, UnreconstructedException) and exc.original_type:
        type_name = exc.original_type
    else:
        type_name = qualified_name(type(exc))
    message = str(exc)
    data: dict[str, Any] = {"exception_type": type_name, "exception_message": message}
    args = list(exc.args)
    if args != [message] and all(isinstance(arg, _JSON_SCALARS) for arg in args):
        data["exception_args"] = args
    return data


def _load_exception(data: Any) -> BaseException:
    if isinstance(data, BaseException):
        return data
    if not isinstance(data, dict) or not isinstance(data.get("exception_type"), str):
        raise ValueError(
            "expected an exception or {'exception_type': ..., 'exception_message': ...}"
        )
    type_name: str = data["exception_type"]
    message = str(data.get("exception_message", ""))
    stored_args = data.get("exception_args")
    args: tuple[Any, ...] = (message,)
    if isinstance(stored_args, list) and all(isinstance(a, _JSON_SCALARS) for a in stored_args):
        args = tuple(stored_args)
    serializer = _active_serializer.get()
    try:
        # Builtin exception classes are always safe to build; other names go
        # through the decoding serializer's allow-list when there is one.
        if serializer is None or type_name.startswith("builtins."):
            cls = import_qualified(type_name)
        else:
            cls = serializer.resolve_class(type_name)
    except Exception:  # unknown, refused or broken: fall back to the stand-in
        cls = None
    if cls is UnreconstructedException:
        return UnreconstructedException(message)
    if not (isinstance(cls, type) and issubclass(cls, Exception)):
        return UnreconstructedException(message, original_type=type_name)
    for call_args in [args] if args == (message,) else [args, (message,)]:
        try:
            rebuilt = cls(*call_args)
        except Exception:  # constructor wants other arguments
            continue
        # A constructor that formats its arguments into a message would wrap
        # the stored message again; the stored args are what the original had.
        try:
            rebuilt.args = args
        except Exception:  # read-only args on some exotic class: keep what it built
            pass
        return rebuilt
    return UnreconstructedException(message, original_type=type_name)


def _dump_optional_exception(exc: BaseException | None) -> Any:
    return None if exc is None else _dump_exception(exc)


def _load_optional_exception(data: Any) -> BaseException | None:
    return None if data is None else _load_exception(data)


#: A field holding an exception; JSON keeps its type name, message and args.
SerializableException = Annotated[
    Exception,
    PlainSerializer(_dump_exception, return_type=dict[str, Any]),
    PlainValidator(_load_exception),
]

#: Like :data:`SerializableException`, also allowing ``None``.
SerializableOptionalException = Annotated[
    Exception | None,
    PlainSerializer(_dump_optional_exception, return_type=Any),
    PlainValidator(_load_optional_exception),
]


def _exceptions_equal(left: Any, right: Any) -> bool:
    if isinstance(left, BaseException) and isinstance(right, BaseException):
        return type(left) is type(right) and left.args == right.args
    return bool(left == right)


def _equal_comparing_exceptions(model: BaseModel, other: Any) -> bool:
    """Model equality where exception values match by type and args, not identity."""
    if not isinstance(other, BaseModel):
        return NotImplemented
    if type(other) is not type(model):
        return False
    if model.__pydantic_private__ != other.__pydantic_private__:
        return False
    return all(
        _exceptions_equal(getattr(model, name), getattr(other, name))
        for name in type(model).model_fields
    )


def _has_envelope(data: Any) -> bool:
    """Whether encoded data holds an envelope (and so needs decoding)."""
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if _MARKERS.intersection(node):
                return True
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False

"""Turning values into text and back: the serializers a workflow can be given.

Three serializers, each with the short ``name`` the journal stores next to
every payload it wrote:

* :class:`JsonSerializer` (``"json"``): plain JSON. Pydantic models (events
  included) and LlamaIndex components travel in an envelope that carries their
  qualified class name, so decoding rebuilds the same class.
* :class:`PickleSerializer` (``"pickle"``): JSON when possible, base64 pickle
  otherwise. Decoding a pickle runs arbitrary code: trusted payloads only.
* :class:`JsonPickleSerializer` (``"jsonpickle"``): jsonpickle for arbitrary
  objects, decoding only the classes the user allowed.

Names follow upstream's ``workflows.context.serializers``; one deliberate
difference is that upstream's ``JsonPickleSerializer`` is only an alias of
``PickleSerializer``, while here it is the allow-listed jsonpickle serializer.
"""

from __future__ import annotations

import base64
import binascii
import contextvars
import json
import pickle
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar, get_origin

from pydantic import BaseModel

from ..errors import (
    SerializationError,
    TypeNotAllowedError,
    ValueNotSerializableError,
    WorkflowConfigurationError,
)
from .names import import_qualified, qualified_name

__all__ = ["BaseSerializer", "JsonSerializer", "PickleSerializer"]

# Envelope markers of the JSON encoding (the first two are upstream's).
_MODEL_TAG = "__is_pydantic"
_COMPONENT_TAG = "__is_component"
# A user dict that happens to use one of the marker keys is wrapped in this,
# so that decoding never mistakes user data for an envelope.
_PLAIN_DICT_TAG = "__is_plain_dict"
_MARKERS = frozenset({_MODEL_TAG, _COMPONENT_TAG, _PLAIN_DICT_TAG})

# The JsonSerializer whose class lookup nested validators use while it decodes.
# Pydantic validators of event-typed fields cannot receive the serializer as an
# argument (DictLikeModel's __init__ drops validation context), so it travels
# in a context variable instead.
_active_serializer: contextvars.ContextVar[JsonSerializer | None] = contextvars.ContextVar(
    "durable_flows_active_serializer", default=None
)

# durable_flows' own classes that persisted values may name; always decodable.
_framework_types: dict[str, type[Any]] = {}


def _register_framework_types(*classes: type[Any]) -> None:
    """Make ``classes`` decodable by every serializer, whatever its allow-list.

    Called by :mod:`durable_flows.events` for its own classes.

    Raises:
        ValueError: two different classes would be stored under the same name.
    """
    for cls in classes:
        for name in _names_of(cls):
            claimed = _framework_types.setdefault(name, cls)
            if claimed is not cls:
                raise ValueError(
                    f"framework classes {claimed!r} and {cls!r} are both written as {name}"
                )


def _framework_registry() -> dict[str, type[Any]]:
    """The framework types.

    Filled when :mod:`durable_flows.events` and ``context`` are imported, which
    ``durable_flows/__init__`` does before any of this package can run: the
    codec never imports the events face (that would make a cycle).
    """
    return _framework_types


def _names_of(cls: type[Any]) -> tuple[str, ...]:
    """Every name a payload may use for ``cls``: ``module.qualname`` and ``module.name``."""
    full = qualified_name(cls)
    short = f"{cls.__module__}.{cls.__name__}"
    return (full,) if full == short else (full, short)


class BaseSerializer(ABC):
    """Encodes values as text and decodes that text back into equal values.

    Subclasses implement :meth:`serialize` and :meth:`deserialize` so that
    ``deserialize(serialize(v))`` equals ``v`` for every value they accept, and
    set ``name``: the short label the journal stores with each payload so it
    knows how to read it back. A subclass that sets no ``name`` gets its
    qualified class name.
    """

    name: ClassVar[str] = "base"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            cls.name = qualified_name(cls)

    @contextmanager
    def validation_context(self) -> Iterator[None]:
        """Run a block with this serializer resolving classes for nested validation.

        The base implementation does nothing; :class:`JsonSerializer` uses it
        so event-typed fields decode through its allow-list.
        """
        yield

    @abstractmethod
    def serialize(self, value: Any) -> str:
        """Encode ``value`` as text.

        Raises:
            SerializationError: the value cannot be encoded by this serializer.
        """

    @abstractmethod
    def deserialize(self, value: str) -> Any:
        """Decode text written by :meth:`serialize` back into a value.

        Raises:
            SerializationError: the text is damaged or names a type this
                serializer may not rebuild.
        """


class JsonSerializer(BaseSerializer):
    """JSON with typed envelopes for pydantic models and LlamaIndex components.

    Encoding: dicts and lists are walked recursively (tuples become lists); a
    pydantic model becomes ``{"__is_pydantic": true, "value": <model_dump(mode=
    "json")>, "qualified_name": "module.Class"}``; an object whose class has
    ``class_name`` and ``to_dict`` (a LlamaIndex component) becomes the same
    kind of envelope with ``"__is_component"`` and is rebuilt with
    ``from_dict``. Anything else must already be JSON-compatible.

    Decoding resolves envelope class names as follows: classes passed in
    ``allowed_types`` and durable_flows' own event types come from registries
    without importing anything; a string entry in ``allowed_types`` is
    imported by name; with ``allowed_types=None`` (the default) every name is
    imported. Any other name is refused with :class:`TypeNotAllowedError`.

    Args:
        allowed_types: Classes (or qualified names) that may be rebuilt from
            payloads, or ``None`` to rebuild any importable class.

    Raises:
        TypeError: an ``allowed_types`` entry is neither a class nor a string.
        ValueError: two allowed classes are written under the same name.
    """

    name: ClassVar[str] = "json"

    def __init__(self, *, allowed_types: Iterable[type[Any] | str] | None = None) -> None:
        self._registered: dict[str, type[Any]] = {}
        self._allowed_names: frozenset[str] | None = None
        if allowed_types is not None:
            names: set[str] = set()
            for entry in allowed_types:
                if isinstance(entry, str):
                    names.add(entry)
                    continue
                if not isinstance(entry, type) or get_origin(entry) is not None:
                    raise TypeError(
                        f"allowed_types entries must be classes or qualified names, got {entry!r}"
                    )
                for name in _names_of(entry):
                    claimed = self._registered.setdefault(name, entry)
                    if claimed is not entry:
                        raise ValueError(
                            f"classes {claimed!r} and {entry!r} are both written as {name}; "
                            "payloads cannot tell them apart, so allow only one of them."
                        )
                    names.add(name)
            self._allowed_names = frozenset(names)

    def with_types(self, *classes: type[Any]) -> JsonSerializer:
        """A serializer that also rebuilds ``classes`` (``self`` if it allows everything)."""
        if self._allowed_names is None:
            return self
        kept_classes = list(dict.fromkeys(self._registered.values()))
        kept_names = sorted(self._allowed_names - self._registered.keys())
        return type(self)(allowed_types=[*kept_classes, *kept_names, *classes])

    @contextmanager
    def validation_context(self) -> Iterator[None]:
        """Make this serializer resolve class names for nested event fields."""
        token = _active_serializer.set(self)
        try:
            yield
        finally:
            _active_serializer.reset(token)

    def resolve_class(self, name: str) -> type[Any]:
        """The class a payload names, if this serializer may rebuild it.

        Raises:
            TypeNotAllowedError: ``name`` is not allowed.
            ImportError, AttributeError: an allowed name cannot be imported.
            SerializationError: the name resolves to something that is not a class.
        """
        found = self._registered.get(name) or _framework_registry().get(name)
        if found is not None:
            return found
        if self._allowed_names is not None and name not in self._allowed_names:
            raise TypeNotAllowedError(name, type(self).__name__, "allowed_types")
        obj = import_qualified(name)
        if not isinstance(obj, type):
            raise SerializationError(f"{name} names a {type(obj).__name__}, not a class")
        return obj

    def serialize_value(self, value: Any) -> Any:
        """``value`` as JSON-compatible data, models and components wrapped in envelopes.

        Values that are neither containers nor models are returned unchanged,
        so the result is JSON-compatible only if those leaves are.

        Raises:
            pydantic_core.PydanticSerializationError: a model has a field
                pydantic cannot write as JSON.
        """
        cls = type(value)
        if callable(getattr(cls, "class_name", None)) and callable(getattr(cls, "to_dict", None)):
            return {
                _COMPONENT_TAG: True,
                "value": value.to_dict(),
                "qualified_name": qualified_name(cls),
            }
        if isinstance(value, BaseModel):
            return {
                _MODEL_TAG: True,
                "value": value.model_dump(mode="json"),
                "qualified_name": qualified_name(cls),
            }
        if isinstance(value, dict):
            encoded = {key: self.serialize_value(item) for key, item in value.items()}
            if _MARKERS.intersection(encoded):
                return {_PLAIN_DICT_TAG: encoded}
            return encoded
        if isinstance(value, (list, tuple)):
            return [self.serialize_value(item) for item in value]
        return value

    def deserialize_value(self, data: Any) -> Any:
        """Rebuild what :meth:`serialize_value` produced.

        Containers without envelopes inside are returned as they are (not
        copied), so decoding already-decoded data is cheap and harmless.

        Raises:
            TypeNotAllowedError: an envelope names a class that is not allowed.
            SerializationError: an envelope names something that is not a
                pydantic model (or component) class.
            pydantic.ValidationError: the envelope's data does not fit its class.
        """
        if isinstance(data, dict):
            if data.get(_MODEL_TAG) is True and isinstance(data.get("qualified_name"), str):
                cls = self.resolve_class(data["qualified_name"])
                if not issubclass(cls, BaseModel):
                    raise SerializationError(f"{data['qualified_name']} is not a pydantic model")
                with self.validation_context():
                    return cls.model_validate(data.get("value"))
            if data.get(_COMPONENT_TAG) is True and isinstance(data.get("qualified_name"), str):
                cls = self.resolve_class(data["qualified_name"])
                if not callable(getattr(cls, "from_dict", None)):
                    raise SerializationError(f"{data['qualified_name']} has no from_dict()")
                with self.validation_context():
                    return cls.from_dict(data.get("value"))
            if len(data) == 1 and isinstance(data.get(_PLAIN_DICT_TAG), dict):
                return self._decode_items(data[_PLAIN_DICT_TAG])
            return self._decode_items(data)
        if isinstance(data, list):
            items = [self.deserialize_value(item) for item in data]
            same = all(new is old for new, old in zip(items, data, strict=True))
            return data if same else items
        return data

    def _decode_items(self, data: dict[Any, Any]) -> dict[Any, Any]:
        decoded = {key: self.deserialize_value(item) for key, item in data.items()}
        same = all(decoded[key] is item for key, item in data.items())
        return data if same else decoded

    def serialize(self, value: Any) -> str:
        """Encode ``value`` as a JSON string.

        Raises:
            ValueNotSerializableError: some part of ``value`` has no JSON form
                (the error names its type). It is both a
                :class:`~durable_flows.errors.SerializationError` and a
                ``ValueError``, the type upstream raised.
        """
        try:
            return json.dumps(self.serialize_value(value), default=_refuse_json)
        except _NotJsonError as exc:
            raise ValueNotSerializableError(
                qualified_name(type(exc.value)), type(self).__name__, "it has no JSON form"
            ) from None
        except (TypeError, ValueError, RecursionError) as exc:  # bad keys, cycles, dump errors
            raise ValueNotSerializableError(
                qualified_name(type(value)), type(self).__name__, str(exc)
            ) from exc

    def deserialize(self, value: str) -> Any:
        """Decode a JSON string written by :meth:`serialize`.

        Raises:
            SerializationError: ``value`` is not JSON.
            TypeNotAllowedError: it names a class that is not allowed.
        """
        try:
            data = json.loads(value)
        except ValueError as exc:
            raise SerializationError(f"{type(self).__name__} payload is not JSON: {exc}") from exc
        return self.deserialize_value(data)


class _NotJsonError(TypeError):
    """Carries the value ``json.dumps`` could not encode."""

    def __init__(self, value: Any) -> None:
        super().__init__(type(value).__name__)
        self.value = value


def _refuse_json(value: Any) -> Any:
    raise _NotJsonError(value)


class PickleSerializer(JsonSerializer):
    """JSON when the value allows it, base64-encoded pickle otherwise.

    Decoding tries pickle first and falls back to JSON. Unpickling runs
    arbitrary code chosen by whoever wrote the payload: use this serializer
    only with payloads you trust. :class:`JsonPickleSerializer` is the safe
    choice for arbitrary objects.
    """

    name: ClassVar[str] = "pickle"

    def serialize(self, value: Any) -> str:
        """Encode as JSON, or as base64 pickle if JSON cannot hold ``value``.

        Raises:
            ValueNotSerializableError: neither JSON nor pickle can encode it.
        """
        try:
            return super().serialize(value)
        except SerializationError:
            pass
        try:
            return base64.b64encode(pickle.dumps(value)).decode("ascii")
        except Exception as exc:  # pickle raises many kinds (PicklingError, TypeError, ...)
            raise ValueNotSerializableError(
                qualified_name(type(value)), type(self).__name__, f"pickle failed: {exc}"
            ) from exc

    def deserialize(self, value: str) -> Any:
        """Decode a payload written by :meth:`serialize` (pickle first, then JSON)."""
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return super().deserialize(value)
        try:
            return pickle.loads(raw)
        except Exception:  # not a pickle after all: JSON text that is valid base64
            return super().deserialize(value)


def refuse_pickle(serializer: BaseSerializer | None) -> None:
    """A journal must never hold pickles: loading one runs code (issue 14 item 8)."""
    if isinstance(serializer, PickleSerializer):
        raise WorkflowConfigurationError(
            "Workflow(serializer=PickleSerializer()) is not supported: the journal would hold "
            "pickles, and loading a pickle runs code chosen by whoever wrote it. Journal "
            "objects JSON can't hold with serializer=JsonPickleSerializer(allowed=[YourClass, "
            "...]), or make them pydantic models and keep the default JSON."
        )

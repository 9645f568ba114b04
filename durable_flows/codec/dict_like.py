"""The model events and dict-like states are built on: declared fields plus extras.

:class:`DictLikeModel` is a pydantic model that also keeps every undeclared
keyword argument (an "extra") in a private dict, reachable as an attribute and
as an item, as upstream's model of the same name does. Events
(``durable_flows.events``) and ``DictState`` derive from it; how extras are
journaled is described there.
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, KeysView, ValuesView
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    PrivateAttr,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    model_serializer,
)

from .events import _JSON, _decoder

__all__ = ["DictLikeModel"]


def _extras_of(model: BaseModel) -> dict[str, Any] | None:
    """The extras dict, or None while the instance is not initialized yet.

    Copying, unpickling and jsonpickle create instances without running
    ``__init__``; attribute hooks must not recurse or fail oddly on them.
    """
    try:
        private = object.__getattribute__(model, "__pydantic_private__")
    except AttributeError:
        return None
    return private.get("_data") if private else None


def _takes_input(cls: type[BaseModel], key: str) -> bool:
    """Whether keyword ``key`` sets a declared field of ``cls`` (by name or alias)."""
    fields = cls.model_fields
    if key in fields:
        return True
    return any(key in (info.alias, info.validation_alias) for info in fields.values())


class DictLikeModel(BaseModel):
    """A pydantic model that also stores undeclared keyword arguments, like a dict.

    Declared fields are ordinary pydantic fields. Every other keyword argument
    is an "extra": stored unvalidated in the private dict ``_data`` and
    readable and writable as an attribute or an item. Setting an attribute
    that is not a declared field (or a private attribute, or a property with
    a setter) creates or replaces an extra. The mapping methods (``keys``,
    ``values``, ``items``, ``get``, ``in``, ``len``, iteration) see extras
    only. An instance is always truthy.

    Two instances are equal when they have the same class, field values and
    extras.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)
    _data: dict[str, Any] = PrivateAttr(default_factory=dict)

    def __init__(self, /, **params: Any) -> None:
        """Validate declared fields; keep every other keyword as an extra.

        Keywords naming a private attribute (``_data`` and, on stop events,
        ``_result``) set it directly; this is how ``model_validate`` and
        ``cls(**model_dump())`` restore them. Typed envelopes inside a
        ``_data`` given this way are decoded back into their models.

        Raises:
            pydantic.ValidationError: a declared field is missing or invalid.
            TypeError: ``_data`` is given but is not a dict.
        """
        cls = type(self)
        fields: dict[str, Any] = {}
        private: dict[str, Any] = {}
        extras: dict[str, Any] = {}
        for key, value in params.items():
            if _takes_input(cls, key):
                fields[key] = value
            elif key in cls.__private_attributes__:
                private[key] = value
            else:
                extras[key] = value
        super().__init__(**fields)
        if "_data" in private:
            given = _decoder().deserialize_value(private["_data"])
            if not isinstance(given, dict):
                raise TypeError(f"_data must be a dict of extras, got {type(given).__name__}")
            private["_data"] = dict(given)
        for key, value in private.items():
            super().__setattr__(key, value)
        if extras:
            self._data.update(extras)

    def __getattr__(self, name: str) -> Any:
        if name == "_data":  # the hot path of every item access: skip pydantic's lookup
            extras = _extras_of(self)
            if extras is not None:
                return extras
        cls = type(self)
        if name.startswith("__") or name in cls.__private_attributes__ or name in cls.model_fields:
            return super().__getattr__(name)  # type: ignore[misc]
        extras = _extras_of(self)
        if extras is not None and name in extras:
            return extras[name]
        raise AttributeError(f"{cls.__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        cls = type(self)
        descriptor = getattr(cls, name, None)
        if (
            name in cls.__private_attributes__
            or name in cls.model_fields
            or (isinstance(descriptor, property) and descriptor.fset is not None)
        ):
            super().__setattr__(name, value)
        else:
            self._data[name] = value

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._data[key] = value

    def get(self, key: str, default: Any = None) -> Any:
        """The extra ``key``, or ``default`` when there is none."""
        return self._data.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def keys(self) -> KeysView[str]:
        """A live view of the extras' names."""
        return self._data.keys()

    def values(self) -> ValuesView[Any]:
        """A live view of the extras' values."""
        return self._data.values()

    def items(self) -> ItemsView[str, Any]:
        """A live view of the extras as ``(name, value)`` pairs."""
        return self._data.items()

    def __len__(self) -> int:
        return len(self._data)

    def __iter__(self) -> Iterator[str]:  # type: ignore[override]
        return iter(self._data)

    def to_dict(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The extras dict itself (not a copy); arguments are accepted and ignored."""
        return self._data

    def __bool__(self) -> bool:
        return True

    def __copy__(self) -> Any:
        # pydantic's shallow copy shares the private dicts' values, so the copy
        # would edit the original's extras; give it its own dict.
        copied = super().__copy__()
        extras = _extras_of(self)
        if extras is not None:
            object.__getattribute__(copied, "__pydantic_private__")["_data"] = dict(extras)
        return copied

    def __repr_args__(self) -> Any:
        yield from super().__repr_args__()
        yield from self._private_repr_args()
        yield from (_extras_of(self) or {}).items()

    def _private_repr_args(self) -> Iterator[tuple[str, Any]]:
        return iter(())

    def _dump_private(self, data: dict[str, Any], json_mode: bool) -> None:
        """Add the non-field state to a dump (``data``) in place."""
        extras = _extras_of(self)
        if extras:
            data["_data"] = _JSON.serialize_value(extras) if json_mode else extras

    @model_serializer(mode="wrap")
    def _dump_with_private(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, Any]:
        data = handler(self)
        self._dump_private(data, info.mode_is_json())
        return data

"""The run context and its serializers (same module layout as upstream)."""

from ..codec.serializers import (
    BaseSerializer,
    JsonPickleSerializer,
    JsonSerializer,
    PickleSerializer,
)
from .context import Context
from .state_store import DictState, InMemoryStateStore, StateStore

__all__ = [
    "BaseSerializer",
    "Context",
    "DictState",
    "InMemoryStateStore",
    "JsonPickleSerializer",
    "JsonSerializer",
    "PickleSerializer",
    "StateStore",
]

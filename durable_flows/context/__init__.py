"""The run context and its serializers (same module layout as upstream)."""

from .context import Context
from .serializers import BaseSerializer, JsonPickleSerializer, JsonSerializer, PickleSerializer
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

"""The run context and its serializers (same module layout as upstream)."""

from .context import Context
from .serializers import BaseSerializer, JsonPickleSerializer, JsonSerializer, PickleSerializer
from .state_store import DictState, StateStore

__all__ = [
    "BaseSerializer",
    "Context",
    "DictState",
    "JsonPickleSerializer",
    "JsonSerializer",
    "PickleSerializer",
    "StateStore",
]

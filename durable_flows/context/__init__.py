"""The run context and its serializers (same module layout as upstream).

Owns :class:`Context` (``context``: what a step receives, bound to a run loop),
the run's state store with its isolated edit copies and journaled image
(``state_store``, ``edit_copy``, ``state_image``), the state type read from the
steps' ``Context[S]`` annotations (``state_type``), and the serializers at
upstream's path (``serializers``, defined in ``codec``). A face: ``workflow``
and ``handler`` build on it. May import ``drive`` (the ``HostedWorkflow``
protocol, for type checking), ``runtime`` and the basics; never
``workflow``, ``handler``, the command line or the server.
"""

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

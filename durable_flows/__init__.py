"""durable_flows: the llama-index-workflows API on a durable SQLite event journal.

Change ``from workflows import ...`` to ``from durable_flows import ...``; every
run is then journaled and can be resumed after a crash or restart.
"""

from .context import Context
from .decorators import catch_error, step
from .errors import DurableFlowsError
from .events import (
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StopEvent,
)
from .handler import WorkflowHandler
from .resource import Resource
from .storage import JournalStore, MemoryStore, SqliteStore, open_store
from .workflow import Workflow

__version__ = "0.1.0"

__all__ = [
    "Context",
    "DurableFlowsError",
    "Event",
    "HumanResponseEvent",
    "InputRequiredEvent",
    "JournalStore",
    "MemoryStore",
    "Resource",
    "SqliteStore",
    "StartEvent",
    "StopEvent",
    "Workflow",
    "WorkflowHandler",
    "__version__",
    "catch_error",
    "open_store",
    "step",
]

"""The library the documentation examples run against.

The examples are written as upstream's pages write them, with the import
changed. ``DOCS_EXAMPLES_LIB`` picks the library: ``durable_flows`` (the
default, and the only one the project's suite uses) or ``workflows``
(llama-index-workflows 2.26.1 installed in a separate virtualenv, for the
comparison run described in the README). Only public import paths are used,
the ones a user's code imports from.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

LIB = os.environ.get("DOCS_EXAMPLES_LIB", "durable_flows")
if LIB not in ("durable_flows", "workflows"):
    raise RuntimeError(f"DOCS_EXAMPLES_LIB={LIB!r}: use 'durable_flows' or 'workflows'")
UPSTREAM = LIB == "workflows"


def _mod(name: str) -> Any:
    return importlib.import_module(f"{LIB}.{name}" if name else LIB)


_root = _mod("")
_events = _mod("events")
_resource = _mod("resource")
_errors = _mod("errors")

Workflow: Any = _root.Workflow
Context: Any = _root.Context
step: Any = _root.step
catch_error: Any = _root.catch_error

Event: Any = _events.Event
StartEvent: Any = _events.StartEvent
StopEvent: Any = _events.StopEvent
InputRequiredEvent: Any = _events.InputRequiredEvent
HumanResponseEvent: Any = _events.HumanResponseEvent
StepFailedEvent: Any = _events.StepFailedEvent
WorkflowTimedOutEvent: Any = _events.WorkflowTimedOutEvent
WorkflowCancelledEvent: Any = _events.WorkflowCancelledEvent
WorkflowFailedEvent: Any = _events.WorkflowFailedEvent

Resource: Any = _resource.Resource
ResourceConfig: Any = _resource.ResourceConfig

WorkflowTimeoutError: Any = _errors.WorkflowTimeoutError
WorkflowRuntimeError: Any = _errors.WorkflowRuntimeError
WorkflowValidationError: Any = _errors.WorkflowValidationError

retry_policy_module: Any = _mod("retry_policy")

"""Test helpers: run a workflow and collect its stream; fault points for crash tests.

Owns :class:`WorkflowTestRunner` (upstream's helper, ``runner``) and re-exports
the named fault points of ``runtime.faults`` (``arm``, ``fault``). Sits with
the entry points: it may import the faces and everything below them, never
the command line or the server.
"""

from ..runtime.faults import arm, fault
from .runner import WorkflowTestResult, WorkflowTestRunner

__all__ = ["WorkflowTestResult", "WorkflowTestRunner", "arm", "fault"]

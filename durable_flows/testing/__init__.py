"""Test helpers: run a workflow and collect its stream; fault points for crash tests."""

from ..runtime.faults import arm, fault
from .runner import WorkflowTestResult, WorkflowTestRunner

__all__ = ["WorkflowTestResult", "WorkflowTestRunner", "arm", "fault"]

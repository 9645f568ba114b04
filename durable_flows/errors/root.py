"""The root of every error durable_flows raises."""

from __future__ import annotations


class DurableFlowsError(Exception):
    """Root of every error raised by durable_flows."""

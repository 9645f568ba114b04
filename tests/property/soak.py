"""Example counts for the property suite, raised by ``DURABLE_FLOWS_SOAK`` for long runs.

Default counts keep the whole suite fast enough for CI. ``DURABLE_FLOWS_SOAK``
raises them: ``1`` (or ``yes``/``true``) multiplies every count by 10, an
integer ``N >= 2`` multiplies by ``N``. The per-test pytest timeouts grow with
the same factor. Example::

    DURABLE_FLOWS_SOAK=30 pytest tests/property -q
"""

from __future__ import annotations

import os


def soak_factor() -> int:
    """How many times the default example counts to run (1 outside soak runs)."""
    raw = os.environ.get("DURABLE_FLOWS_SOAK", "").strip().lower()
    if raw in ("", "0", "no", "false"):
        return 1
    if raw in ("1", "yes", "true"):
        return 10
    try:
        return max(1, int(raw))
    except ValueError:
        return 10


SOAK = soak_factor()


def examples(n: int) -> int:
    """``n`` examples, times the soak factor."""
    return n * SOAK


def time_budget(seconds: float) -> float:
    """A pytest timeout for a test whose default run takes well under ``seconds``."""
    return seconds * SOAK

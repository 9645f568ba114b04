"""Handing writers' results to the callers who queued the writes (both SQL stores)."""

from __future__ import annotations

import asyncio
from typing import Any

#: A write's future, whether it succeeded, and its value or exception.
Outcome = tuple["asyncio.Future[Any]", bool, Any]


def settle(outcomes: list[Outcome]) -> None:
    """On the callers' event loop: hand each caller its result or exception."""
    for future, ok, value in outcomes:
        if future.done():  # the caller cancelled its await
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)

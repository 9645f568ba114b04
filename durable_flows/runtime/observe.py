"""The one interface through which the live loop tells observers what it did.

The loop calls :func:`journal_context` while it builds a run's ``run_started``
or ``resumed`` record (what an observer returns is journaled in that record,
under ``"trace"``), and :func:`committed` after each append is durable, with
the records of that append. With no observer registered (the default) each
call site costs one truth test of :data:`OBSERVERS`. Observers must not raise
and must not block: they run on the loop's task.

Imports nothing from durable_flows: the runtime calls it; ``durable_flows.otel``
implements it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol

logger = logging.getLogger(__name__)


class RunObserver(Protocol):
    """What an observer of live runs implements."""

    async def journal_context(self, store: Any, run_id: str, workflow: str, kind: str) -> Any:
        """A JSON value to journal with the run's first record (``kind`` is
        ``start``, or ``submit`` when a worker will execute it) or with a
        ``resumed`` record (``resume``), or None; called before that record is appended."""

    def committed(
        self, run_id: str, workflow: str, records: Sequence[Any], update: Any, seconds: float
    ) -> None:
        """``records`` of ``run_id`` are durable; ``update`` is the run row change
        (``RunUpdate`` or None) committed with them, in ``seconds``."""


#: Registered observers; empty means observing costs nothing.
OBSERVERS: list[RunObserver] = []


def add_observer(observer: RunObserver) -> None:
    """Register ``observer`` for every run this process executes from now on."""
    if observer not in OBSERVERS:
        OBSERVERS.append(observer)


def remove_observer(observer: RunObserver) -> None:
    """Stop calling ``observer``."""
    if observer in OBSERVERS:
        OBSERVERS.remove(observer)


async def journal_context(store: Any, run_id: str, workflow: str, kind: str) -> dict[str, Any]:
    """``{"trace": value}`` to merge into the record's data (empty when nobody observes)."""
    for observer in OBSERVERS:
        try:
            value = await observer.journal_context(store, run_id, workflow, kind)
        except Exception:  # noqa: BLE001 - an observer never breaks a run
            logger.exception("run observer %r failed in journal_context", observer)
            continue
        if value is not None:
            return {"trace": value}
    return {}


def committed(run_id: str, workflow: str, records: Sequence[Any], update: Any, seconds: float) -> None:
    """Tell every observer that ``records`` are durable."""
    for observer in OBSERVERS:
        try:
            observer.committed(run_id, workflow, records, update, seconds)
        except Exception:  # noqa: BLE001 - an observer never breaks a run
            logger.exception("run observer %r failed in committed", observer)

"""Finding a run by its id or a prefix of it, for the command line and the web view."""

from __future__ import annotations

import re
from typing import Any

from ..errors import AmbiguousRunIdError, RunNotFoundError
from ..storage import InboxItem, JournalStore, RunInfo

_HEX = re.compile(r"[0-9a-f]+")
_GENERATED = re.compile(r"[0-9a-f]{32}")


async def find_run(store: JournalStore, run_id: str) -> RunInfo:
    """The run ``run_id`` names: its full id, or (4 characters or more) a prefix
    of exactly one generated id (32 hex digits, as ``submit``/``run`` make them).
    Ids chosen by people (``chain``, ``order-17``) must be given whole, so that
    a deleted ``chain`` is never taken for ``chain-fork``.

    Raises:
        RunNotFoundError: no run has that id or prefix.
        AmbiguousRunIdError: several runs start with it.
    """
    info = await store.get_run(run_id)
    if info is not None:
        return info
    matches = []
    if len(run_id) >= 4 and _HEX.fullmatch(run_id):
        matches = [r for r in await store.list_runs() if _GENERATED.fullmatch(r.run_id) and r.run_id.startswith(run_id)]
    if not matches:
        raise RunNotFoundError(run_id)
    if len(matches) > 1:
        raise AmbiguousRunIdError(run_id, [r.run_id for r in matches])
    return matches[0]


async def load_run(
    store: JournalStore, run_id: str
) -> tuple[RunInfo, list[dict[str, Any]], list[InboxItem]]:
    """The run's row (``run_id`` may be a unique prefix), its history and its pending inbox.

    Raises:
        RunNotFoundError: no such run.
        AmbiguousRunIdError: several runs start with ``run_id``.
    """
    info = await find_run(store, run_id)
    return info, await store.history(info.run_id), await store.read_inbox(info.run_id)

"""Small builders shared by the store tests (imported, not fixtures)."""

from __future__ import annotations

import json
from typing import Any

from durable_flows.storage import JournalEntry, NewRun


def make_entry(
    run_id: str,
    seq: int,
    kind: str = "sent",
    *,
    step: str | None = None,
    event_type: str | None = None,
    payload: Any = None,
    codec: str = "json",
) -> JournalEntry:
    """A journal entry whose payload defaults to ``{"n": seq}``."""
    body = {"n": seq} if payload is None else payload
    return JournalEntry(run_id, seq, kind, step, event_type, json.dumps(body), 1000.0 + seq, codec)


def entries(run_id: str, first: int, last: int) -> list[JournalEntry]:
    """Entries ``first..last`` (inclusive) of ``run_id``."""
    return [make_entry(run_id, seq) for seq in range(first, last + 1)]


def new_run(run_id: str, workflow: str = "wf", **kw: Any) -> NewRun:
    return NewRun(run_id=run_id, workflow=workflow, fingerprint=f"fp-{workflow}", **kw)

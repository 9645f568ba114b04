"""Cancelling a run from any process without writing another owner's journal.

Only a run's owner appends to its journal. :func:`cancel_run` therefore
either claims a run nobody executes and journals its ``cancelled`` record
itself, or, when a live process owns the run, queues a cancellation request
in the run's inbox; the owner's loop recognises it with
:func:`cancel_request_reason` and journals the ``cancelled`` record.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from .rows import CANCELLED, FINISHED_STATUSES, InboxItem, JournalEntry, RunUpdate

if TYPE_CHECKING:
    from .protocol import JournalProtocol

#: Inbox event type of a cancellation request: the qualified name of
#: ``durable_flows.events.WorkflowCancelledEvent``.
CANCEL_REQUEST_TYPE = "durable_flows.events.WorkflowCancelledEvent"


def cancel_request_payload(reason: str) -> str:
    """The inbox payload of a cancellation request: a ``WorkflowCancelledEvent`` as JSON."""
    return json.dumps({"_data": {"reason": reason}}, separators=(",", ":"))


def cancel_request_reason(item: InboxItem) -> str | None:
    """The reason of a cancellation request queued by ``JournalStore.cancel``.

    Returns None for every other inbox item. The run's owner checks each item
    it takes in and journals a ``cancelled`` record with this reason instead
    of delivering the item as an event.
    """
    if item.event_type != CANCEL_REQUEST_TYPE:
        return None
    try:
        reason = json.loads(item.payload)["_data"]["reason"]
    except (ValueError, KeyError, TypeError):
        reason = None
    return str(reason) if reason else "cancelled by user"


async def cancel_run(store: JournalProtocol, run_id: str, reason: str) -> str:
    """See :meth:`JournalStore.cancel`: ``"cancelled"`` or ``"requested"``."""
    from ..errors import LeaseHeldError, RunFinishedError, RunNotFoundError

    info = await store.get_run(run_id)
    if info is None:
        raise RunNotFoundError(run_id)
    if info.status in FINISHED_STATUSES:
        raise RunFinishedError(run_id, info.status)
    try:
        lease = await store.claim_lease(run_id)
    except LeaseHeldError:
        await store.send_to_inbox(run_id, CANCEL_REQUEST_TYPE, cancel_request_payload(reason))
        return "requested"
    try:
        info = await store.get_run(run_id)  # last_seq as of our claim
        assert info is not None
        if info.status in FINISHED_STATUSES:  # it ended between the check and the claim
            raise RunFinishedError(run_id, info.status)
        record = {"reason": reason}
        entry = JournalEntry(
            run_id, info.last_seq + 1, "cancelled", None, None, json.dumps(record), time.time()
        )
        update = RunUpdate(
            status=CANCELLED, waiting_for=[], error=json.dumps({"kind": "cancelled", **record})
        )
        await store.append(lease, [entry], update)
    finally:
        await store.release_lease(lease)
    return "cancelled"

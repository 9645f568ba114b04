"""A run's event stream as the HTTP protocol sends it: (sequence, envelope) pairs.

The sequence of a streamed event is the journal ``seq`` of its ``stream``
entry, so a client that reconnects with ``after_sequence=N`` gets exactly the
events committed after entry N, whichever server process answers. When the
run has finished, its final stop event follows with sequence ``last_seq + 1``
and the stream ends. Streams read committed entries only: what a client sees
survives any crash.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from ..events import InternalDispatchEvent
from ..runtime import records as k
from ..runtime.journal_codec import decode_entry
from ..storage.rows import FINISHED_STATUSES
from .envelopes import to_envelope
from .service import ServedWorkflows

#: Seconds between looks at the journal while a stream is open and the run is quiet;
#: right after new entries the stream looks again after FIRST_POLL, backing off.
POLL_INTERVAL = 0.1
FIRST_POLL = 0.01


async def has_more(served: ServedWorkflows, run_id: str, after: int) -> bool:
    """Whether a stream from ``after`` would send anything (False: finished and all sent).

    Raises:
        RunNotFoundError: no such run.
    """
    info = await served.run_info(run_id)
    return info.status not in FINISHED_STATUSES or after <= info.last_seq


async def current_end(served: ServedWorkflows, run_id: str) -> int:
    """The seq a stream "from now" starts after: the run's last entry."""
    return (await served.run_info(run_id)).last_seq


async def run_events(
    served: ServedWorkflows,
    run_id: str,
    after: int,
    include_internal: bool = False,
    include_qualified_name: bool = True,
) -> AsyncIterator[tuple[int, dict[str, Any]]]:
    """Committed stream events of the run after seq ``after``, then its final event."""
    info = await served.run_info(run_id)
    codec = served.codec_for(info)
    seq = max(after, 0)
    delay = FIRST_POLL
    while True:
        entries = await served.store.read(run_id, after_seq=seq)
        for entry in entries:
            seq = entry.seq
            if entry.kind != k.STREAM:
                continue
            event = decode_entry(codec, entry).event
            if event is None:
                continue
            if not include_internal and isinstance(event, InternalDispatchEvent):
                continue
            yield entry.seq, to_envelope(event, include_qualified_name)
        info = await served.run_info(run_id)
        if info.status in FINISHED_STATUSES and seq >= info.last_seq:
            if after <= info.last_seq:
                final = served.final_event(info)
                yield info.last_seq + 1, to_envelope(final, include_qualified_name)
            return
        if entries:
            delay = FIRST_POLL
        else:  # quick looks right after activity, slower ones while the run is quiet
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, POLL_INTERVAL)

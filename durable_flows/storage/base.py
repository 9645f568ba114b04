"""The journal store protocol (:class:`JournalStore`): the primitives every store
implements (``protocol.py``) plus the methods derived from them, the same for
every store: a run's decoded history, sending an event from outside, export,
cancel, and run summaries (which a store may answer faster in its own query).

Helpers the concrete stores share (entry and update checks, batched deletion,
workflow name matching) are in ``store_helpers.py``.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from .protocol import JournalProtocol
from .rows import FINISHED_STATUSES, RunSummary
from .store_helpers import workflow_matches


class JournalStore(JournalProtocol):
    """The narrow interface between the runtime and a journal database.

    All methods are coroutines unless noted. Implementations must be safe to
    call from many runs of one event loop at once; appends from all of them may
    be grouped into one transaction, but each caller's ``append`` returns only
    once its own entries are durable. Implementations subclass this class and
    implement the abstract methods of :class:`~.protocol.JournalProtocol`.
    """

    # -- derived helpers (same for every store) -----------------------------------

    async def history(self, run_id: str) -> list[dict[str, Any]]:
        """A run's journal in order, each entry a dict with its payload decoded.

        Raises:
            RunNotFoundError: no such run.
            JournalDecodeError: an entry's payload is not a JSON object (names
                the run and seq).
            JournalCorruptError: the entries' seqs are not 1, 2, 3... (a gap
                or a repeat: an entry is missing or was added).
        """
        from ..errors import JournalCorruptError, JournalDecodeError, RunNotFoundError

        if await self.get_run(run_id) is None:
            raise RunNotFoundError(run_id)
        out = []
        for expected, e in enumerate(await self.read(run_id), start=1):
            if e.seq != expected:
                raise JournalCorruptError(
                    run_id, expected, f"the journal goes on at seq {e.seq}: entry {expected} is missing"
                    if e.seq > expected else f"seq {e.seq} comes again after seq {expected - 1}"
                )
            try:
                payload = e.decoded()
            except ValueError as exc:
                raise JournalDecodeError(run_id, e.seq, f"payload is not JSON ({exc})") from exc
            if not isinstance(payload, dict):
                raise JournalDecodeError(run_id, e.seq, "payload is not a JSON object")
            out.append(
                {
                    "run_id": e.run_id,
                    "seq": e.seq,
                    "kind": e.kind,
                    "step": e.step,
                    "event_type": e.event_type,
                    "ts": e.ts,
                    "codec": e.codec,
                    "payload": payload,
                }
            )
        return out

    async def send_event(
        self,
        run_id: str,
        event: Any,
        *,
        serializer: Any = None,
        check_fields: bool = True,
        actor: str | None = None,
        via: str = "api",
    ) -> int:
        """Deliver an event into a run from any process, running or not.

        The event is journaled in the run's inbox at once; the process that owns
        the run takes it in within its poll interval (at once in this process),
        or the next ``resume`` does. Returns the inbox id.

        Before anything is journaled the event is checked against what the run
        can take: its type (a step or a waiter accepts it) and, with
        ``check_fields`` and when the run's workflow can be imported here, the
        fields the steps or waiters that would take it read (see
        ``durable_flows/spec/event_fit.py``).

        Who sent it is journaled with it (``durable_flows.storage.origin``):
        this host, process and OS user, ``via`` (the interface: ``api``,
        ``cli``, ...) and ``actor``, the application's own id of the sender.

        Raises:
            RunNotFoundError: no such run.
            RunFinishedError: the run already ended.
            EventNotAcceptedError: no step of the run (and no waiter) takes this type.
            EventFieldsError: every step or waiter that would take it reads a
                field it lacks (nothing is journaled).
            EventNotSerializableError: the event can't be journaled.
        """
        from ..codec.journal import Codec
        from ..errors import EventNotAcceptedError, RunFinishedError, RunNotFoundError
        from ..events import HumanResponseEvent, qualified_name
        from .origin import make_origin

        info = await self.get_run(run_id)
        if info is None:
            raise RunNotFoundError(run_id)
        if info.status in FINISHED_STATUSES:
            raise RunFinishedError(run_id, info.status)
        type_name = qualified_name(type(event))
        if not isinstance(event, HumanResponseEvent):
            accepted: set[str] = set(info.waiting_for)
            try:
                for spec in json.loads(info.fingerprint or "{}").get("steps", {}).values():
                    accepted.update(spec.get("accepts", ()))
            except (ValueError, AttributeError):
                accepted = set()
            lineage = {qualified_name(c) for c in type(event).__mro__}
            if accepted and not (lineage & accepted):
                raise EventNotAcceptedError(run_id, type_name)
        if check_fields:
            from ..spec.event_fit import check_outside_event

            check_outside_event(run_id, info.workflow, event)
        codec = Codec(serializer)
        payload = json.dumps(codec.dump_event(event), separators=(",", ":"), ensure_ascii=False)
        origin = make_origin(via, actor)
        return await self.send_to_inbox(run_id, type_name, payload, codec.name, origin=origin)

    async def export(self, run_id: str) -> list[dict[str, Any]]:
        """The run's full history for archiving or diffing: same as :meth:`history`.

        Raises:
            RunNotFoundError: no such run.
        """
        return await self.history(run_id)

    async def cancel(self, run_id: str, reason: str = "cancelled by user") -> str:
        """Stop a run from any process; returns ``"cancelled"`` or ``"requested"``.

        Only a run's owner writes its journal. So when a live process owns the
        run, a cancellation request (inbox type ``CANCEL_REQUEST_TYPE``) is
        queued in the run's inbox and the owner journals the ``cancelled``
        record when it takes its inbox in (``"requested"``). When nobody owns
        it (parked, lease expired, or owner dead) this store claims the run,
        appends the ``cancelled`` record itself and releases it
        (``"cancelled"``).

        Raises:
            RunNotFoundError: no such run.
            RunFinishedError: the run already ended.
        """
        from ._cancel import cancel_run

        return await cancel_run(self, run_id, reason)

    async def summarize_runs(
        self,
        statuses: Collection[str] | None = None,
        workflow: str | None = None,
        since: float | None = None,
        limit: int | None = None,
    ) -> list[RunSummary]:
        """Runs newest first with their step counts, for listings (``durable-flows runs``).

        Args:
            statuses: Keep runs with one of these statuses.
            workflow: Keep runs of this workflow: its stored name, or the
                name's trailing dotted part (``FanOut`` matches ``app.FanOut``).
            since: Keep runs created at or after this time (epoch seconds).
            limit: At most this many runs.
        """
        found: list[RunSummary] = []
        for info in await self.list_runs():
            if statuses is not None and info.status not in statuses:
                continue
            if workflow is not None and not workflow_matches(info.workflow, workflow):
                continue
            if since is not None and info.created_at < since:
                continue
            if limit is not None and len(found) >= limit:
                break
            execs = {e.decoded().get("exec") for e in await self.read(info.run_id) if e.kind == "accepted"}
            found.append(RunSummary(info, len(execs)))
        return found

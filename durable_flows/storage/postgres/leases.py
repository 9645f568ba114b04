"""The lease jobs of :class:`~.store.PostgresStore`: claim, release, renew, and the held set.

A mixin of :class:`~.jobs.PgJobs`, run by the writer task like every job
(see ``writer.py``). Expiry is judged by the server's clock. A run's row
is locked ``FOR NO KEY UPDATE`` before a claim decides, so two stores racing
for one run queue up and the second sees the first's claim. The set of leases
this store holds changes only here, in commit order; each change is paired
with an undo action in case its transaction does not commit.
"""

from __future__ import annotations

import socket
from functools import partial
from typing import Any

from ...errors import LeaseHeldError, RunNotFoundError
from ..owners import owner_is_dead
from ..rows import ACTIVE_STATUSES, RUNNING, Lease
from .writer import UndoList

#: The server's clock in epoch seconds.
NOW = "extract(epoch FROM clock_timestamp())::float8"
_ACTIVE = sorted(ACTIVE_STATUSES)


class PgLeaseJobs:
    """Lease jobs of one store object (``owner_id``), and the leases it holds."""

    owner_id: str
    lease_ttl: float
    runs_channel: str
    #: run_id -> token of each lease handed out and not released.
    held: dict[str, int]

    async def claim(self, conn: Any, undo: UndoList, run_id: str) -> Lease:
        row = await conn.fetchrow(
            f"SELECT owner, lease_token, lease_expires, {NOW} FROM runs "
            "WHERE run_id = $1 FOR NO KEY UPDATE",
            run_id,
        )
        if row is None:
            raise RunNotFoundError(run_id)
        owner, token, expires, now = row
        if owner is not None and expires is not None and expires > now:
            # A live lease: ours only if we handed no unreleased lease out;
            # someone else's only if that process is gone.
            if owner == self.owner_id:
                if run_id in self.held:
                    raise LeaseHeldError(run_id, owner, expires - now)
            elif not owner_is_dead(owner):
                raise LeaseHeldError(run_id, owner, expires - now)
        token += 1
        expires = now + self.lease_ttl
        await conn.execute(
            "UPDATE runs SET owner = $1, lease_token = $2, lease_expires = $3 WHERE run_id = $4",
            self.owner_id,
            token,
            expires,
            run_id,
        )
        self._hold(run_id, token, undo)
        return Lease(run_id, self.owner_id, token, expires)

    async def claim_runs(
        self, conn: Any, undo: UndoList, workflows: list[str], limit: int
    ) -> list[tuple[Lease, str]]:
        """Claim up to ``limit`` runs of ``workflows`` that nobody executes, oldest first.

        Candidates are active runs whose lease is free or expired, or whose
        owner is a dead process on this host. A waiting run that its owner
        parked (released) is a candidate only once its inbox has items; one
        whose owner died or let the lease lapse is one at once, since the
        owner may have died in the middle of a step (taking an answer in, for
        example) before it could journal the run's new status. Rows another
        transaction has locked (another worker claiming them right now) are
        skipped, not waited for.
        """
        held = list(self.held)
        rows = list(
            await conn.fetch(
                f"SELECT run_id, workflow, lease_token, {NOW} FROM runs r "
                "WHERE workflow = ANY($1::text[]) AND status = ANY($2::text[]) "
                f"AND (owner IS NULL OR lease_expires IS NULL OR lease_expires <= {NOW} "
                "     OR (owner = $3 AND NOT run_id = ANY($4::text[]))) "
                f"AND (status = '{RUNNING}' OR owner IS NOT NULL OR EXISTS (SELECT 1 FROM inbox i "
                "     WHERE i.run_id = r.run_id AND i.consumed_seq IS NULL)) "
                "ORDER BY created_at, run_id COLLATE \"C\" LIMIT $5 FOR NO KEY UPDATE SKIP LOCKED",
                workflows, _ACTIVE, self.owner_id, held, limit,
            )
        )  # fmt: skip
        if len(rows) < limit:
            rows += await self._claimable_of_dead_owners(conn, workflows, limit - len(rows))
        if not rows:
            return []
        expires = rows[0][3] + self.lease_ttl
        claimed = await conn.fetch(
            "UPDATE runs SET owner = $1, lease_token = lease_token + 1, lease_expires = $2 "
            "WHERE run_id = ANY($3::text[]) RETURNING run_id, workflow, lease_token",
            self.owner_id,
            expires,
            [r[0] for r in rows],
        )
        by_id = {r[0]: r for r in claimed}
        leases = []
        for row in rows:  # keep the oldest-first order
            run_id, workflow, token = by_id[row[0]]
            self._hold(run_id, token, undo)
            leases.append((Lease(run_id, self.owner_id, token, expires), workflow))
        return leases

    async def _claimable_of_dead_owners(
        self, conn: Any, workflows: list[str], limit: int
    ) -> list[Any]:
        prefix = f"{socket.gethostname()}:"
        owners = [
            r[0]
            for r in await conn.fetch(
                "SELECT DISTINCT owner FROM runs WHERE starts_with(owner, $1) AND owner <> $2 "
                f"AND status = ANY($3::text[]) AND lease_expires > {NOW}",
                prefix,
                self.owner_id,
                _ACTIVE,
            )
        ]
        dead = [o for o in owners if owner_is_dead(o)]
        if not dead:
            return []
        return list(
            await conn.fetch(
                f"SELECT run_id, workflow, lease_token, {NOW} FROM runs r "
                "WHERE workflow = ANY($1::text[]) AND status = ANY($2::text[]) "
                "AND owner = ANY($3::text[]) "
                "ORDER BY created_at, run_id COLLATE \"C\" LIMIT $4 FOR NO KEY UPDATE SKIP LOCKED",
                workflows, _ACTIVE, dead, limit,
            )
        )  # fmt: skip

    async def release(self, conn: Any, undo: UndoList, lease: Lease) -> None:
        await conn.execute(
            "UPDATE runs SET owner = NULL, lease_expires = NULL "
            "WHERE run_id = $1 AND lease_token = $2 AND owner = $3 "
            "RETURNING CASE WHEN status = ANY($4::text[]) THEN pg_notify($5, run_id) END",
            lease.run_id, lease.token, lease.owner, _ACTIVE, self.runs_channel,
        )  # fmt: skip
        self._let_go(lease, undo)

    def _let_go(self, lease: Lease, undo: UndoList) -> None:
        """Stop holding (and renewing) ``lease``, unless its transaction rolls back."""
        if self.held.get(lease.run_id) == lease.token:
            del self.held[lease.run_id]
            undo.append(lambda: self._restore(lease.run_id, lease.token))

    async def renew(self, conn: Any, undo: UndoList) -> int:
        """Push every held lease's expiry to now + ttl; returns how many were renewed.

        A lease whose run has since been claimed by another owner is dropped
        from the held set (it is lost for good).
        """
        held = dict(self.held)
        if not held:
            return 0
        renewed = {
            r[0]
            for r in await conn.fetch(
                f"UPDATE runs SET lease_expires = {NOW} + $1 "
                "FROM unnest($2::text[], $3::bigint[]) AS h (run_id, token) "
                "WHERE runs.run_id = h.run_id AND runs.lease_token = h.token "
                "AND runs.owner = $4 RETURNING runs.run_id",
                self.lease_ttl, list(held), list(held.values()), self.owner_id,
            )
        }  # fmt: skip
        for run_id, token in held.items():
            if run_id not in renewed and self.held.get(run_id) == token:
                del self.held[run_id]
                undo.append(partial(self._restore, run_id, token))
        return len(renewed)

    async def release_all(self, conn: Any, undo: UndoList) -> None:
        await conn.execute(
            "UPDATE runs SET owner = NULL, lease_expires = NULL "
            "WHERE owner = $1 AND run_id = ANY($2::text[]) "
            "RETURNING CASE WHEN status = ANY($3::text[]) THEN pg_notify($4, run_id) END",
            self.owner_id, list(self.held), _ACTIVE, self.runs_channel,
        )  # fmt: skip
        before = dict(self.held)
        self.held.clear()
        undo.append(lambda: self.held.update(before))

    def _hold(self, run_id: str, token: int, undo: UndoList) -> None:
        before = self.held.get(run_id)
        self.held[run_id] = token
        undo.append(lambda: self._restore(run_id, before))

    def _restore(self, run_id: str, token: int | None) -> None:
        if token is None:
            self.held.pop(run_id, None)
        else:
            self.held[run_id] = token

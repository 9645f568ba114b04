"""How processes died: the ``process_deaths`` rows a worker supervisor records.

A supervised ``durable-flows worker`` (``ops/supervisor.py``) runs its work in
a child process; when the child ends abnormally, the supervisor records a
:class:`ProcessDeath` (exit status or signal, and the head of the fatal-error
report faulthandler wrote) keyed by host and pid. Whoever resumes a run that
child held looks the death up by the owner's host and pid
(``drive/deaths.py``) and journals it in the run's ``resumed`` record.

The rows are facts about processes, not runs: replay never reads them. Each
store implements the two methods in a mixin here; a store without them (or
one opened before migration 0006 ran) simply has no evidence to give.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import astuple, dataclass
from typing import Any

#: Rows older than this (seconds) are deleted when a new death is recorded.
KEEP_FOR = 30 * 86400.0

_COLUMNS = "host, pid, started_at, ended_at, exit_code, signal, fatal_error, recorded_by"


@dataclass(frozen=True, slots=True)
class ProcessDeath:
    """One abnormal end of a process, as its supervisor saw it.

    Attributes:
        host: The host name the process ran on (as in owner ids, ``host:pid:...``).
        pid: Its process id.
        started_at: When it was started (seconds since epoch).
        ended_at: When its end was seen.
        exit_code: Its exit status when it exited (None when killed by a signal).
        signal: The signal's name (``SIGKILL``, ``SIGSEGV``, ...) when killed by one.
        fatal_error: The head of the report faulthandler wrote before it died, if any.
        recorded_by: The supervisor that saw it end, ``host:pid``.
    """

    host: str
    pid: int
    started_at: float
    ended_at: float
    exit_code: int | None = None
    signal: str | None = None
    fatal_error: str | None = None
    recorded_by: str = ""


class DeathMethods:
    """Mixed into :class:`~.base.JournalStore`: a store without a ``process_deaths`` table has none."""

    async def record_death(self, death: ProcessDeath) -> None:
        """Record ``death`` (and forget deaths older than :data:`KEEP_FOR`)."""
        raise NotImplementedError(f"{type(self).__name__} keeps no process deaths")

    async def find_death(self, host: str, pid: int, after: float) -> ProcessDeath | None:
        """The earliest death of ``host``/``pid`` seen at or after ``after``, if recorded."""
        return None


class SqliteDeaths(DeathMethods):
    """Mixed into ``SqliteStore``: needs its ``_read`` and ``_write``."""

    async def _read(self, sql: str, params: Any) -> list[Any]:
        raise NotImplementedError

    async def _write(self, fn: Any) -> Any:
        raise NotImplementedError

    async def record_death(self, death: ProcessDeath) -> None:
        def job(conn: sqlite3.Connection, undo: Any) -> None:
            conn.execute("DELETE FROM process_deaths WHERE ended_at < ?", (time.time() - KEEP_FOR,))
            conn.execute(
                f"INSERT OR REPLACE INTO process_deaths ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                astuple(death),
            )

        await self._write(job)

    async def find_death(self, host: str, pid: int, after: float) -> ProcessDeath | None:
        try:
            rows = await self._read(
                f"SELECT {_COLUMNS} FROM process_deaths WHERE host = ? AND pid = ? AND ended_at >= ? "
                "ORDER BY ended_at LIMIT 1",
                (host, pid, after),
            )
        except sqlite3.OperationalError:  # a read-only journal older than migration 0006
            return None
        return ProcessDeath(*rows[0]) if rows else None


class PgDeaths(DeathMethods):
    """Mixed into ``PostgresStore``: needs its ``_fetch`` and ``_write``."""

    async def _fetch(self, sql: str, *args: Any) -> list[Any]:
        raise NotImplementedError

    async def _write(self, fn: Any) -> Any:
        raise NotImplementedError

    async def record_death(self, death: ProcessDeath) -> None:
        async def job(conn: Any, undo: Any) -> None:
            await conn.execute("DELETE FROM process_deaths WHERE ended_at < $1", time.time() - KEEP_FOR)
            await conn.execute(
                f"INSERT INTO process_deaths ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
                "ON CONFLICT (host, pid, ended_at) DO NOTHING",
                *astuple(death),
            )

        await self._write(job)

    async def find_death(self, host: str, pid: int, after: float) -> ProcessDeath | None:
        rows = await self._fetch(
            f"SELECT {_COLUMNS} FROM process_deaths WHERE host = $1 AND pid = $2 AND ended_at >= $3 "
            "ORDER BY ended_at LIMIT 1",
            host, pid, after,
        )  # fmt: skip
        return ProcessDeath(*rows[0]) if rows else None


class MemoryDeaths(DeathMethods):
    """Mixed into ``MemoryStore``: deaths kept in a list (tests; one process)."""

    _deaths: list[ProcessDeath]

    async def record_death(self, death: ProcessDeath) -> None:
        keep = time.time() - KEEP_FOR
        self._deaths = [d for d in getattr(self, "_deaths", []) if d.ended_at >= keep] + [death]

    async def find_death(self, host: str, pid: int, after: float) -> ProcessDeath | None:
        found = [d for d in getattr(self, "_deaths", []) if (d.host, d.pid) == (host, pid) and d.ended_at >= after]
        return min(found, key=lambda d: d.ended_at, default=None)

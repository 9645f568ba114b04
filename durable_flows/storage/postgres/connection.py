"""The connections of :class:`~.store.PostgresStore`: opening (schema creation or
migration, the LISTEN connection, the read pool, the writer task), closing,
the two doors every query goes through (``_write`` to the writer, ``_fetch``
to the pool, retried once on a lost connection) and lease renewal."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from functools import partial
from typing import Any

import asyncpg

from ...errors import StoreClosedError, StoreError, StoreOpenError, StoreReadOnlyError
from .._pg_url import first_schema
from .jobs import PgJobs
from .migrate import apply_pg_migrations, check_pg_journal, quote_ident
from .notify import Notifier, channel_name
from .writer import JobFn, PgWriter

log = logging.getLogger(__name__)

_OPEN_HINT = (
    "Check that the PostgreSQL server is running and reachable at this address, that "
    "the database exists and the user may create tables in the schema, or point "
    "DURABLE_FLOWS_DB / store= at another database."
)


class PgConnection:
    """Mixed into ``PostgresStore``, whose ``__init__`` sets the fields below."""

    dsn: str
    schema: str | None
    path: str
    lease_ttl: float
    owner_id: str
    read_only: bool
    _lock_timeout: float
    _pool_size: int
    _max_batch: int
    _create_schema: bool
    _connect_options: dict[str, Any]
    _writer: PgWriter | None
    _pool: Any
    _renewer: asyncio.Task[None] | None
    _open_lock: asyncio.Lock
    _closed: bool
    _jobs: PgJobs
    _notifier: Notifier

    # -- lifecycle ---------------------------------------------------------------

    async def open(self) -> None:
        """Connect, create or migrate the schema, start listening; idempotent.

        Raises:
            StoreOpenError: the server is unreachable, the database is missing,
                the login is refused, or a migration failed.
            SchemaVersionError: the schema was written by a newer durable_flows.
            StoreClosedError: the store was closed.
        """
        if self._pool is not None and not self._closed:
            return
        async with self._open_lock:
            if self._closed:
                raise StoreClosedError(self.path)
            if self._pool is not None:
                return
            opened: list[Any] = []
            try:
                await self._open(opened)
            except BaseException as exc:
                for thing in reversed(opened):
                    with contextlib.suppress(Exception):
                        await thing()
                self._writer = self._pool = None
                if isinstance(exc, (asyncpg.PostgresError, asyncpg.InterfaceError, OSError)):
                    raise StoreOpenError(self.path, _describe(exc), _OPEN_HINT) from exc
                if isinstance(exc, asyncio.TimeoutError):
                    raise StoreOpenError(self.path, "connecting timed out", _OPEN_HINT) from exc
                raise

    async def _open(self, opened: list[Any]) -> None:
        conn = await self._connect(write=not self.read_only)
        opened.append(conn.close)
        schema, create = self.schema, self.schema is not None
        if schema is None:
            schema = await conn.fetchval("SELECT current_schema()")
        if schema is None:
            # The search_path (e.g. ``?options=-csearch_path%3Dname`` in the
            # URL) names a schema that does not exist yet: create its first.
            schema, create = first_schema(await conn.fetchval("SHOW search_path")), True
        if schema is None:
            raise StoreOpenError(
                self.path,
                "the connection's search_path names no schema to keep the journal in",
                "Pass schema=NAME (or ?schema=NAME in the URL) to choose one.",
            )
        if self.read_only or not self._create_schema:
            await check_pg_journal(conn, schema, self.path, outdated_ok=not self.read_only)
            create = False
        if self.read_only:
            await conn.close()
            self._pool = await asyncpg.create_pool(
                self.dsn, min_size=1, max_size=self._pool_size, **self._connect_args(write=False)
            )
            return
        await apply_pg_migrations(conn, schema, create, self.path)
        inbox_channel = channel_name(schema, "inbox")
        runs_channel = channel_name(schema, "runs")
        self._notifier.inbox_channel = self._jobs.inbox_channel = inbox_channel
        self._notifier.runs_channel = self._jobs.runs_channel = runs_channel
        await self._notifier.start()
        opened.append(self._notifier.stop)
        pool = await asyncpg.create_pool(
            self.dsn, min_size=1, max_size=self._pool_size, **self._connect_args(write=False)
        )
        opened.append(pool.close)
        writer = PgWriter(partial(self._connect, write=True), self.path, self._max_batch)
        await writer.start(conn)
        self._writer, self._pool = writer, pool
        self._renewer = asyncio.get_running_loop().create_task(
            self._renew_leases(), name=f"durable_flows lease renewal {self.path}"
        )

    def _connect_args(self, write: bool) -> dict[str, Any]:
        options = dict(self._connect_options)
        # Operators see in pg_stat_activity which worker holds which connection.
        name = f"durable_flows {self.owner_id}"[:63]
        settings = {"application_name": name, **options.pop("server_settings", {})}
        if self.schema is not None:
            settings["search_path"] = quote_ident(self.schema)
        if self.read_only:
            settings["default_transaction_read_only"] = "on"
        if write:
            settings["lock_timeout"] = f"{max(1, int(self._lock_timeout * 1000))}ms"
        return {"server_settings": settings, **options}

    async def _connect(self, write: bool = False) -> Any:
        return await asyncpg.connect(self.dsn, **self._connect_args(write))

    async def close(self) -> None:
        """Commit queued writes, release held leases, close the connections; idempotent."""
        async with self._open_lock:
            if self._closed:
                return
            self._closed = True
            if self._renewer is not None:
                self._renewer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._renewer
            writer, jobs = self._writer, self._jobs
            if writer is not None and jobs.held:
                try:
                    await writer.submit(jobs.release_all)
                except StoreError as exc:
                    log.warning("%s: could not release leases on close: %s", self.path, exc)
            if writer is not None:
                await writer.stop()
            await self._notifier.stop()
            if self._pool is not None:
                try:
                    await asyncio.wait_for(self._pool.close(), 5)
                except (asyncio.TimeoutError, Exception):  # noqa: BLE001 - closing anyway
                    self._pool.terminate()

    async def _write(self, fn: JobFn[Any]) -> Any:
        if self.read_only:
            raise StoreReadOnlyError(self.path)
        if self._writer is None or self._closed:
            await self.open()
        assert self._writer is not None
        return await self._writer.submit(fn)

    async def _fetch(self, sql: str, *args: Any) -> list[Any]:
        if self._pool is None or self._closed:
            await self.open()
        for attempt in (1, 2):
            try:
                return list(await self._pool.fetch(sql, *args))
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
                if self._closed:
                    raise StoreClosedError(self.path) from exc
                lost = isinstance(exc, (asyncpg.InterfaceError, OSError)) or (
                    isinstance(exc, asyncpg.PostgresError) and exc.sqlstate.startswith("57P")
                )
                if lost and attempt == 1:
                    continue  # the pool opens a new connection in its place; reads repeat safely
                raise StoreError(
                    f"journal database {self.path!r}: read failed ({_describe(exc)}); "
                    "check that the PostgreSQL server is up and reachable, then retry."
                ) from exc
        raise AssertionError("unreachable")

    async def _renew_leases(self) -> None:
        while True:
            await asyncio.sleep(self.lease_ttl / 3)
            writer, jobs = self._writer, self._jobs
            if writer is None or not jobs.held:
                continue
            try:
                await writer.submit(jobs.renew)
            except StoreClosedError:
                return
            except Exception:  # keep renewing: the leases may still hold next round
                log.exception("%s: lease renewal failed", self.path)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__

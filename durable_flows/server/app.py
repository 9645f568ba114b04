"""``create_app``: the ASGI application (Starlette) serving the API and the web view."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from ..errors import ExtraMissingError
from ..storage import open_store
from ..storage.base import JournalStore
from .service import ServedWorkflows

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from ..workflow import Workflow


def create_app(
    workflows: Mapping[str, Workflow | type[Workflow]],
    db: str | JournalStore | None = None,
    *,
    concurrency: int = 8,
    run_worker: bool = True,
    web: bool = True,
) -> Starlette:
    """An ASGI app speaking llama-agents-server's HTTP API over a durable_flows journal.

    Args:
        workflows: Served name -> workflow class or instance.
        db: A store, or a path/URL for :func:`~durable_flows.storage.open_store`
            (default ``$DURABLE_FLOWS_DB``, else ``./durable_flows.db``).
        concurrency: Most runs this process executes at once.
        run_worker: Execute runs in this process; False leaves them to
            ``durable-flows worker`` processes on the same journal.
        web: Serve the live web view at ``/``.

    The app's lifespan opens the store and starts the worker; mounted inside
    another Starlette/FastAPI app, enter ``app.router.lifespan_context(app)``
    from the outer app's lifespan. ``app.state.served`` is the
    :class:`~durable_flows.server.service.ServedWorkflows`.

    Raises:
        ExtraMissingError: Starlette is not installed.
    """
    try:
        from starlette.applications import Starlette
        from starlette.exceptions import HTTPException
        from starlette.requests import Request
        from starlette.responses import JSONResponse
    except ImportError as exc:
        raise ExtraMissingError("starlette", "server") from exc
    from .api import ProtocolApi

    store = db if isinstance(db, JournalStore) else open_store(db)
    served = ServedWorkflows(workflows, store, concurrency=concurrency, run_worker=run_worker)
    routes: list[Any] = ProtocolApi(served).routes()
    if web:
        from .web import web_routes

        routes += web_routes(served)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await served.start()
        try:
            yield
        finally:
            await served.stop()

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 204:
            return JSONResponse(None, status_code=204)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)

    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={HTTPException: http_error})
    app.state.served = served
    return app

"""Routes of the live web view: pages, their refreshable fragments, live
notifications (SSE) and the actions a page offers (send the awaited event,
cancel, fork).

Pages are drawn on the server from the journal; ``/static/web.js`` listens
on the page's live URL and, each time the journal moves on, fetches the
page's fragment again. A live URL sends ``data: {"changed": ...}`` whenever
what it watches changes, so any server process on the same database keeps
any page current, whoever executes the run.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..errors import (
    EventNotAcceptedError,
    EventNotSerializableError,
    ForkPointError,
    RunFinishedError,
    RunNotFoundError,
)
from ..views.lookup import load_run
from .api import sse_frames
from .pages import list_filters, run_fragment, run_page, runs_page, runs_table, select_runs
from .service import ServedWorkflows

STATIC = Path(__file__).parent / "static"
#: Seconds between looks at the journal for a live page.
LIVE_POLL = 0.25


class WebView:
    """The web view's handlers over ``served``."""

    def __init__(self, served: ServedWorkflows) -> None:
        self.served = served

    def _names(self) -> dict[str, str]:
        return {wf.workflow_name: name for name, wf in self.served.by_name.items()}

    # -- the runs list ---------------------------------------------------------------------

    async def _table(self, request: Request) -> tuple[str, dict[str, Any]]:
        filters = list_filters(dict(request.query_params), list(self.served.by_name))
        names = self._names()
        page_runs, total = select_runs(await self.served.store.list_runs(), names, filters)
        return runs_table(page_runs, total, names, filters), filters

    async def runs(self, request: Request) -> HTMLResponse:
        table, filters = await self._table(request)
        return HTMLResponse(runs_page(table, list(self.served.by_name), filters))

    async def runs_fragment(self, request: Request) -> HTMLResponse:
        return HTMLResponse((await self._table(request))[0])

    async def runs_live(self, request: Request) -> StreamingResponse:
        async def signature() -> Any:
            return [(r.run_id, r.status, r.last_seq) for r in await self.served.store.list_runs()]

        return _live(signature)

    # -- one run -------------------------------------------------------------------------

    async def _fragment(self, run_id: str) -> str:
        try:
            info, history, inbox = await load_run(self.served.store, run_id)
        except RunNotFoundError as exc:
            raise HTTPException(404, f"no run {run_id!r} in this journal") from exc
        return run_fragment(info, history, inbox, self.served.name_of(info))

    async def run(self, request: Request) -> HTMLResponse:
        run_id = request.path_params["run_id"]
        return HTMLResponse(run_page(run_id, await self._fragment(run_id)))

    async def run_fragment(self, request: Request) -> HTMLResponse:
        return HTMLResponse(await self._fragment(request.path_params["run_id"]))

    async def run_live(self, request: Request) -> StreamingResponse:
        run_id = request.path_params["run_id"]

        async def signature() -> Any:
            info = await self.served.store.get_run(run_id)
            return None if info is None else (info.status, info.last_seq)

        return _live(signature)

    # -- actions ----------------------------------------------------------------------------

    async def send(self, request: Request) -> JSONResponse:
        run_id = request.path_params["run_id"]
        body = await _body(request)
        try:
            info = await self.served.run_info(run_id)
            name = self.served.name_of(info)
            if name is None:
                raise HTTPException(400, f"workflow {info.workflow!r} is not served here; use `durable-flows send`")
            value = body.get("value") or {}
            if isinstance(value, str):
                value = json.loads(value) if value.strip() else {}
            event = self.served.registries[name].parse({"qualified_name": body.get("type"), "value": value})
            await self.served.send(run_id, event)
        except ValueError as exc:  # EventEnvelopeError is one, and so is bad JSON in the form
            raise HTTPException(400, str(exc).splitlines()[0]) from exc
        except (EventNotAcceptedError, EventNotSerializableError) as exc:
            raise HTTPException(400, str(exc)) from exc
        except RunNotFoundError as exc:
            raise HTTPException(404, f"no run {run_id!r}") from exc
        except RunFinishedError as exc:
            raise HTTPException(409, str(exc)) from exc
        return JSONResponse({"status": "sent"})

    async def cancel(self, request: Request) -> JSONResponse:
        run_id = request.path_params["run_id"]
        try:
            return JSONResponse({"status": await self.served.cancel(run_id)})
        except RunNotFoundError as exc:
            raise HTTPException(404, f"no run {run_id!r}") from exc
        except RunFinishedError as exc:
            raise HTTPException(409, str(exc)) from exc

    async def fork(self, request: Request) -> JSONResponse:
        run_id = request.path_params["run_id"]
        body = await _body(request)
        try:
            at = int(body.get("at", 0))
            new_id = await self.served.store.fork(run_id, at)
        except (ValueError, ForkPointError) as exc:
            raise HTTPException(400, str(exc)) from exc
        except RunNotFoundError as exc:
            raise HTTPException(404, f"no run {run_id!r}") from exc
        return JSONResponse({"run_id": new_id, "url": f"/runs/{new_id}"})


def _live(signature: Callable[[], Awaitable[Any]]) -> StreamingResponse:
    async def changes() -> AsyncIterator[tuple[int, Any]]:
        last: Any = object()
        n = 0
        while True:
            now = await signature()
            if now != last:
                n += 1
                last = now
                yield n, {"changed": n}
            await asyncio.sleep(LIVE_POLL)

    return StreamingResponse(sse_frames(changes()), media_type="text/event-stream")


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError as exc:
        raise HTTPException(400, f"the request body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise HTTPException(400, "the request body must be a JSON object")
    return body


def web_routes(served: ServedWorkflows) -> list[Any]:
    """The web view's routes: ``/``, ``/runs/{id}``, ``/ui/...`` and ``/static``."""
    view = WebView(served)
    return [
        Route("/", view.runs, methods=["GET"]),
        Route("/runs/{run_id}", view.run, methods=["GET"]),
        Route("/ui/fragments/runs", view.runs_fragment, methods=["GET"]),
        Route("/ui/fragments/runs/{run_id}", view.run_fragment, methods=["GET"]),
        Route("/ui/live/runs", view.runs_live, methods=["GET"]),
        Route("/ui/live/runs/{run_id}", view.run_live, methods=["GET"]),
        Route("/ui/runs/{run_id}/send", view.send, methods=["POST"]),
        Route("/ui/runs/{run_id}/cancel", view.cancel, methods=["POST"]),
        Route("/ui/runs/{run_id}/fork", view.fork, methods=["POST"]),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]


"""The HTTP API of llama-agents-server 0.8, answered from the journal.

Paths, bodies and status codes follow upstream's server so that its client,
``llama_agents.client.WorkflowClient``, works unchanged. A handler id is a
run id. Statuses map onto upstream's four: ``waiting`` is ``running``,
``timed_out`` is ``failed``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ..errors import (
    EventEnvelopeError,
    EventNotAcceptedError,
    EventNotSerializableError,
    RunExistsError,
    RunFinishedError,
    RunNotFoundError,
)
from ..representation import get_workflow_representation
from ..storage.rows import ALL_STATUSES
from .service import HANDLER_STATUS, ServedWorkflows
from .streams import current_end, has_more, run_events

#: Seconds of silence after which an SSE stream sends a comment line.
HEARTBEAT_SECONDS = 10.0


class ProtocolApi:
    """Route handlers for upstream's endpoints over ``served``."""

    def __init__(self, served: ServedWorkflows) -> None:
        self.served = served

    def routes(self) -> list[Route]:
        """The API's routes, at upstream's paths."""
        return [
            Route("/health", self.health, methods=["GET"]),
            Route("/workflows", self.list_workflows, methods=["GET"]),
            Route("/workflows/{name}/run", self.run, methods=["POST"]),
            Route("/workflows/{name}/run-nowait", self.run_nowait, methods=["POST"]),
            Route("/workflows/{name}/schema", self.schema, methods=["GET"]),
            Route("/workflows/{name}/events", self.event_schemas, methods=["GET"]),
            Route("/workflows/{name}/representation", self.representation, methods=["GET"]),
            Route("/results/{handler_id}", self.result, methods=["GET"]),
            Route("/events/{handler_id}", self.stream, methods=["GET"]),
            Route("/events/{handler_id}", self.post_event, methods=["POST"]),
            Route("/handlers", self.handlers, methods=["GET"]),
            Route("/handlers/{handler_id}", self.handler, methods=["GET"]),
            Route("/handlers/{handler_id}/cancel", self.cancel, methods=["POST"]),
        ]

    # -- workflows ---------------------------------------------------------------------

    def _workflow_name(self, request: Request) -> str:
        name = request.path_params["name"]
        if name not in self.served.by_name:
            raise HTTPException(404, f"Workflow '{name}' not found")
        return str(name)

    async def health(self, request: Request) -> JSONResponse:
        return JSONResponse({"status": "healthy"})

    async def list_workflows(self, request: Request) -> JSONResponse:
        return JSONResponse({"workflows": list(self.served.by_name)})

    async def schema(self, request: Request) -> JSONResponse:
        wf = self.served.by_name[self._workflow_name(request)]
        return JSONResponse(
            {"start": wf.start_event_class.model_json_schema(), "stop": wf.stop_event_class.model_json_schema()}
        )

    async def event_schemas(self, request: Request) -> JSONResponse:
        registry = self.served.registries[self._workflow_name(request)]
        return JSONResponse({"events": [cls.model_json_schema() for cls in registry.by_name.values()]})

    async def representation(self, request: Request) -> JSONResponse:
        wf = self.served.by_name[self._workflow_name(request)]
        return JSONResponse({"graph": get_workflow_representation(wf).model_dump(mode="json")})

    # -- starting runs -------------------------------------------------------------------

    async def _start(self, request: Request) -> dict[str, Any]:
        name = self._workflow_name(request)
        body = await _json_body(request)
        if body.get("context"):
            raise HTTPException(
                400,
                "Restoring a context is not supported: the journal is the context. "
                "Continue a run by its handler id instead.",
            )
        wf = self.served.by_name[name]
        raw = body.get("start_event", body.get("kwargs"))
        try:
            start = self.served.registries[name].parse(raw or {}, bare_as=wf.start_event_class)
        except EventEnvelopeError as exc:
            raise HTTPException(400, f"Validation error for 'start_event': {exc}") from exc
        if not isinstance(start, wf.start_event_class):
            raise HTTPException(400, f"Start event must be an instance of {wf.start_event_class.__name__}")
        run_id = str(body.get("handler_id") or uuid.uuid4().hex)
        try:
            info = await self.served.submit(name, start, run_id)
        except RunExistsError as exc:
            raise HTTPException(409, str(exc)) from exc
        return self.served.handler_data(info)

    async def run_nowait(self, request: Request) -> JSONResponse:
        return JSONResponse(await self._start(request))

    async def run(self, request: Request) -> JSONResponse:
        started = await self._start(request)
        info = await self.served.wait_finished(started["handler_id"])
        data = self.served.handler_data(info)
        return JSONResponse(data, status_code=200 if data["status"] == "completed" else 500)

    # -- handlers ------------------------------------------------------------------------

    async def _handler_data(self, request: Request) -> dict[str, Any]:
        try:
            info = await self.served.run_info(request.path_params["handler_id"])
        except RunNotFoundError as exc:
            raise HTTPException(404, "Handler not found") from exc
        return self.served.handler_data(info)

    async def handler(self, request: Request) -> JSONResponse:
        data = await self._handler_data(request)
        return JSONResponse(data, status_code=_status_code(data))

    async def result(self, request: Request) -> JSONResponse:
        data = await self._handler_data(request)
        envelope = data["result"]
        if envelope is not None:
            value = envelope["value"]
            data["result"] = value.get("result") if envelope["type"] == "StopEvent" else value
        return JSONResponse(data, status_code=_status_code(data))

    async def handlers(self, request: Request) -> JSONResponse:
        wanted = _list_param(request, "status")
        names = _list_param(request, "workflow_name")
        statuses = None if wanted is None else {s for s in ALL_STATUSES if HANDLER_STATUS[s] in wanted}
        out = []
        for info in await self.served.store.list_runs():
            name = self.served.name_of(info)
            if name is None or (names is not None and name not in names):
                continue
            if statuses is not None and info.status not in statuses:
                continue
            out.append(self.served.handler_data(info))
        return JSONResponse({"handlers": out})

    async def cancel(self, request: Request) -> JSONResponse:
        if request.query_params.get("purge", "false").lower() == "true":
            raise HTTPException(
                400, "purge=true is not supported: the journal keeps every run; "
                "delete finished runs with `durable-flows gc`",
            )
        run_id = request.path_params["handler_id"]
        try:
            outcome = await self.served.cancel(run_id)
        except RunNotFoundError as exc:
            raise HTTPException(404, "Handler not found") from exc
        except RunFinishedError as exc:
            raise HTTPException(409, "Workflow already completed") from exc
        return JSONResponse({"status": "cancelled" if outcome in ("cancelled", "requested") else outcome})

    # -- events --------------------------------------------------------------------------

    async def post_event(self, request: Request) -> JSONResponse:
        run_id = request.path_params["handler_id"]
        body = await _json_body(request)
        if not body.get("event"):
            raise HTTPException(400, "Event data is required")
        if body.get("step"):
            raise HTTPException(
                400, "Sending to one step ('step') is not supported: the event goes to the "
                "run's inbox and its waiting steps; send it without 'step'",
            )
        try:
            info = await self.served.run_info(run_id)
            name = self.served.name_of(info)
            if name is None:
                raise HTTPException(404, f"Handler's workflow {info.workflow!r} is not served here")
            event = self.served.registries[name].parse(body["event"])
            await self.served.send(run_id, event)
        except RunNotFoundError as exc:
            raise HTTPException(404, "Handler not found") from exc
        except RunFinishedError as exc:
            raise HTTPException(409, "Workflow already completed") from exc
        except (EventEnvelopeError, EventNotAcceptedError, EventNotSerializableError) as exc:
            raise HTTPException(400, str(exc)) from exc
        return JSONResponse({"status": "sent"})

    async def stream(self, request: Request) -> Response:
        run_id = request.path_params["handler_id"]
        params = request.query_params
        sse = params.get("sse", "true").lower() == "true"
        include_internal = params.get("include_internal", "false").lower() == "true"
        qualified = params.get("include_qualified_name", "true").lower() == "true"
        raw = params.get("after_sequence", "now")
        if sse and request.headers.get("last-event-id", "").lstrip("-").isdigit():
            raw = request.headers["last-event-id"]
        try:
            after = await current_end(self.served, run_id) if raw.lower() == "now" else int(raw)
            more = await has_more(self.served, run_id, after)
        except ValueError as exc:
            raise HTTPException(400, f"Invalid after_sequence: '{raw}'") from exc
        except RunNotFoundError as exc:
            raise HTTPException(404, "Handler not found") from exc
        if not more:
            return Response(status_code=204)
        events = run_events(self.served, run_id, after, include_internal, qualified)
        if not sse:
            return StreamingResponse(_ndjson(events), media_type="application/x-ndjson")
        return StreamingResponse(sse_frames(events), media_type="text/event-stream")


async def _ndjson(events: AsyncIterator[tuple[int, dict[str, Any]]]) -> AsyncIterator[str]:
    async for _seq, envelope in events:
        yield json.dumps(envelope) + "\n"


async def sse_frames(
    events: AsyncIterator[tuple[int, Any]], heartbeat: float = HEARTBEAT_SECONDS
) -> AsyncIterator[str]:
    """``id: SEQ`` / ``data: JSON`` frames, with a comment line after ``heartbeat`` s of silence.

    The events are read by a separate task so that a heartbeat never cancels
    the generator in the middle of a store read.
    """
    queue: asyncio.Queue[tuple[int, Any] | None] = asyncio.Queue()

    async def feed() -> None:
        try:
            async for item in events:
                await queue.put(item)
        finally:
            await queue.put(None)

    feeder = asyncio.ensure_future(feed())
    try:
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), heartbeat)
            except asyncio.TimeoutError:
                yield ": heartbeat\n\n"
                continue
            if item is None:
                break
            seq, data = item
            yield f"id: {seq}\ndata: {json.dumps(data)}\n\n"
        await feeder  # re-raises what the reader hit
    finally:
        feeder.cancel()
        with contextlib.suppress(BaseException):
            await feeder


def _status_code(data: dict[str, Any]) -> int:
    return {"running": 202, "completed": 200}.get(data["status"], 500)


def _list_param(request: Request, name: str) -> list[str] | None:
    values = [v.strip() for v in request.query_params.getlist(name) if v.strip()]
    return values or None


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise HTTPException(400, f"Invalid JSON body: {exc}") from exc
    if not isinstance(body, dict):
        raise HTTPException(400, "The request body must be a JSON object")
    return body

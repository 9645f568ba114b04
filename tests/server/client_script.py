"""Drives a durable_flows server with upstream's unmodified ``WorkflowClient``.

Run by the python of a separate virtualenv that has ``llama-agents-client``
(it brings llama-index-workflows, which durable_flows' own environment must
not have): ``python client_script.py BASE_URL SCENARIO [ARGS...]``. Prints
one JSON object with what the client saw; the pytest side asserts on it.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import httpx
from llama_agents.client import WorkflowClient
from workflows.events import HumanResponseEvent, StartEvent, StopEvent


def seen(seq: Any, ev: Any) -> dict[str, Any]:
    return {"seq": seq, "type": ev.type, "types": ev.types, "qualified_name": ev.qualified_name, "value": ev.value}


async def basics(client: WorkflowClient) -> dict[str, Any]:
    out: dict[str, Any] = {"health": (await client.is_healthy()).status}
    out["workflows"] = (await client.list_workflows()).workflows
    done = await client.run_workflow("greet", start_event=StartEvent(name="Ada"))
    out["run"] = done.model_dump()
    out["loaded_result"] = done.result.load_event().result if done.result else None
    started = await client.run_workflow_nowait("greet", start_event=StartEvent(name="Bob"))
    out["nowait"] = started.model_dump()
    stream = client.get_workflow_events(started.handler_id)
    out["events"] = [seen(stream.last_sequence, ev) async for ev in stream]
    out["after_first"] = [
        seen(None, ev) async for ev in client.get_workflow_events(
            started.handler_id, after_sequence=out["events"][0]["seq"]
        )
    ]
    out["handler"] = (await client.wait_for_handler(started.handler_id, timeout=20)).model_dump()
    out["result"] = (await client.get_result(started.handler_id)).model_dump()
    listed = await client.get_handlers(status=["completed"], workflow_name=["greet"])
    out["listed"] = sorted(h.handler_id for h in listed.handlers)
    out["schema_keys"] = sorted((await client.get_workflow_schema("greet")).model_dump())
    out["graph_nodes"] = len((await client.get_workflow_graph("greet")).graph.nodes)
    return out


async def hitl(client: WorkflowClient) -> dict[str, Any]:
    started = await client.run_workflow_nowait("approval", start_event=StartEvent(item="laptop"))
    hid = started.handler_id
    out: dict[str, Any] = {"handler_id": hid, "events": []}
    stream = client.get_workflow_events(hid)
    async for ev in stream:
        out["events"].append(seen(stream.last_sequence, ev))
        if ev.type == "InputRequiredEvent":
            out["waiting"] = (await client.get_handler(hid)).model_dump()
            out["sent"] = (await client.send_event(hid, HumanResponseEvent(response="yes"))).status
    out["handler"] = (await client.wait_for_handler(hid, timeout=20)).model_dump()
    return out


async def cancel(client: WorkflowClient) -> dict[str, Any]:
    started = await client.run_workflow_nowait("approval", start_event=StartEvent(item="car"))
    hid = started.handler_id
    for _ in range(100):
        if (await client.get_handler(hid)).status == "running":
            break
    out: dict[str, Any] = {"cancel": (await client.cancel_handler(hid)).status}
    try:  # as upstream's server does, a handler that ended otherwise than completed answers 500
        await client.get_handler(hid)
    except httpx.HTTPStatusError as exc:
        out["handler_code"] = exc.response.status_code
        out["handler"] = exc.response.json()
    try:
        await client.send_event(hid, HumanResponseEvent(response="late"))
        out["late_send"] = "accepted"
    except Exception as exc:  # noqa: BLE001 - the test reads the status code
        out["late_send"] = getattr(getattr(exc, "response", None), "status_code", repr(exc))
    listed = await client.get_handlers(status=["cancelled"])
    out["listed"] = [h.handler_id for h in listed.handlers]
    return out


async def start_slow(client: WorkflowClient, ticks: str, pause: str) -> dict[str, Any]:
    started = await client.run_workflow_nowait(
        "slow", start_event=StartEvent(ticks=int(ticks), pause=float(pause))
    )
    return {"handler_id": started.handler_id}


async def events_until(client: WorkflowClient, hid: str, count: str) -> dict[str, Any]:
    stream = client.get_workflow_events(hid)
    got = []
    async for ev in stream:
        got.append(seen(stream.last_sequence, ev))
        if len(got) >= int(count):
            break
    return {"events": got, "last_sequence": stream.last_sequence}


async def finish(client: WorkflowClient, hid: str, after: str) -> dict[str, Any]:
    stream = client.get_workflow_events(hid, after_sequence=int(after))
    out: dict[str, Any] = {"events": [seen(stream.last_sequence, ev) async for ev in stream]}
    for ev in out["events"]:
        ev["seq"] = None
    handler = await client.wait_for_handler(hid, timeout=60)
    out["handler"] = handler.model_dump()
    assert handler.result is not None
    out["stop_is_stop"] = isinstance(handler.result.load_event(), StopEvent)
    return out


SCENARIOS: dict[str, Any] = {
    "basics": basics,
    "hitl": hitl,
    "cancel": cancel,
    "start-slow": start_slow,
    "events-until": events_until,
    "finish": finish,
}


async def main() -> None:
    base_url, scenario, *args = sys.argv[1:]
    client = WorkflowClient(base_url=base_url)
    result = await SCENARIOS[scenario](client, *args)
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    asyncio.run(main())

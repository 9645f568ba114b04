"""Page "Writing async workflows" (async_workflows.md).

``requests.get`` is replaced by a blocking function that records the thread
it ran on; the checks are that the event loop stays free while it blocks.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .lib import Event, StartEvent, StopEvent, Workflow, step

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="unset")
threads: list[int] = []


class Response:
    def __init__(self, data: dict[str, object]) -> None:
        self._data = data

    def json(self) -> dict[str, object]:
        return self._data


def blocking_get(url: str) -> Response:
    """Stands in for requests.get: blocks its thread for a moment."""
    threads.append(threading.get_ident())
    time.sleep(0.2)
    return Response({"url": url, "request_id": request_id.get()})


class SyncStepWorkflow(Workflow):
    @step
    def fetch_data(self, ev: StartEvent) -> StopEvent:
        # This runs in a thread automatically — the event loop stays free
        response = blocking_get("https://api.example.com/data")
        return StopEvent(result=response.json())


class BlockingIOWorkflow(Workflow):
    @step
    async def fetch_data(self, ev: StartEvent) -> StopEvent:
        # Good: run the blocking call in a thread so the event loop stays free
        response = await asyncio.to_thread(blocking_get, "https://api.example.com/data")
        return StopEvent(result=response.json())


async def _ticks_while(awaitable: object) -> tuple[object, int]:
    """Run the workflow while counting 10 ms ticks of the event loop."""
    ticks = 0
    done = False

    async def ticker() -> None:
        nonlocal ticks
        while not done:
            await asyncio.sleep(0.01)
            ticks += 1

    t = asyncio.create_task(ticker())
    try:
        result = await awaitable  # type: ignore[misc]
    finally:
        done = True
        await t
    return result, ticks


async def test_sync_step_runs_in_a_thread_and_keeps_contextvars() -> None:
    threads.clear()
    request_id.set("req-7")
    result, ticks = await _ticks_while(SyncStepWorkflow().run())
    assert result == {"url": "https://api.example.com/data", "request_id": "req-7"}
    assert threads and threads[0] != threading.get_ident()
    assert ticks >= 5  # the loop kept ticking during the 0.2 s block


async def test_blocking_io_offloaded_with_to_thread() -> None:
    threads.clear()
    result, ticks = await _ticks_while(BlockingIOWorkflow().run())
    assert result["url"] == "https://api.example.com/data"  # type: ignore[index]
    assert threads[0] != threading.get_ident()
    assert ticks >= 5


def read_large_file(path: str) -> dict:  # type: ignore[type-arg]
    """A synchronous function that reads and parses a large JSON file."""
    return json.loads(Path(path).read_text())


class FileReaderWorkflow(Workflow):
    @step
    async def process_file(self, ev: StartEvent) -> StopEvent:
        data = await asyncio.to_thread(read_large_file, ev.file_path)
        return StopEvent(result=data)


async def test_file_reader(tmp_path: Path) -> None:
    f = tmp_path / "big.json"
    f.write_text(json.dumps({"rows": list(range(1000))}))
    result = await FileReaderWorkflow().run(file_path=str(f))
    assert result == {"rows": list(range(1000))}


cpu_pool = ThreadPoolExecutor(max_workers=2)


def expensive_computation(data: str) -> str:
    """A CPU-intensive operation, e.g. data parsing or transformation."""
    result = data
    for _ in range(100_000):
        result = result.strip()
    return result


class ComputeEvent(Event):
    data: str


class CPUWorkflow(Workflow):
    @step
    async def start(self, ev: StartEvent) -> ComputeEvent:
        return ComputeEvent(data=ev.input_data)

    @step
    async def compute(self, ev: ComputeEvent) -> StopEvent:
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(cpu_pool, expensive_computation, ev.data)
        return StopEvent(result=result)


async def test_cpu_work_in_a_dedicated_pool() -> None:
    assert await CPUWorkflow().run(input_data="  padded  ") == "padded"

"""Watching a ``durable-flows worker``: log lines (text or JSON) and a health file or port.

Log records come from the ``durable_flows`` loggers; the worker adds an
``event`` (``started``, ``claimed``, ``parked``, ``finished``, ``failed``,
``stopping``, ``stopped``) and the ``run_id`` it concerns, which the JSON
format writes as fields. The health file is rewritten (atomically) every
``interval`` seconds with the worker's counts; the health port answers any
HTTP request on 127.0.0.1 with the same JSON. A supervisor judges the worker
alive while the file's ``ts`` (or the answer) is fresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import Callable
from typing import Any

#: Attributes every LogRecord has; anything else came in ``extra=`` and is a field.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, and the record's extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": record.created,
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        out.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def configure_logging(fmt: str) -> None:
    """Log ``durable_flows`` at INFO to stderr, as text lines or JSON lines."""
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


def _health(status: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    return {"ok": True, "pid": os.getpid(), "ts": time.time(), **status()}


async def write_health_file(path: str, status: Callable[[], dict[str, Any]], interval: float = 1.0) -> None:
    """Rewrite ``path`` with the worker's health every ``interval`` seconds until cancelled."""
    tmp = f"{path}.tmp{os.getpid()}"

    def write(text: str) -> None:  # a small local file: cheap, but not on the event loop
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)

    while True:
        await asyncio.to_thread(write, json.dumps(_health(status)))
        await asyncio.sleep(interval)


async def serve_health(port: int, status: Callable[[], dict[str, Any]]) -> asyncio.AbstractServer:
    """Answer every HTTP request on 127.0.0.1:``port`` with the worker's health as JSON."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        body = json.dumps(_health(status)).encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode() + body
        )
        with contextlib.suppress(Exception):
            await writer.drain()
        writer.close()

    return await asyncio.start_server(answer, "127.0.0.1", port)

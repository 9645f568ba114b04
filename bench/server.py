"""What the HTTP server costs: request latency and runs/s through ``durable-flows serve``.

    python bench/server.py [--runs 200] [--clients 8]

Starts ``durable-flows serve`` on a fresh SQLite file (the test workflows in
tests/server/served_flows.py) and measures, from plain HTTP clients on
loopback: the latency of ``POST /workflows/greet/run`` (start, execute,
answer; one at a time), of ``POST .../run-nowait`` (journaled, not executed),
the time from ``run-nowait`` to the first streamed event, and runs/s with
CLIENTS clients each running ``/run`` back to back.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLOWS = ROOT / "tests" / "server"


def _post(url: str, body: dict) -> dict:
    req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())


def _ms(values: list[float]) -> str:
    values = sorted(values)
    p95 = values[int(len(values) * 0.95) - 1] if len(values) >= 20 else values[-1]
    return f"median {statistics.median(values) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        port = 18000 + os.getpid() % 1000
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [sys.executable, "-m", "durable_flows.cli", "serve", "--db", f"{tmp}/bench.db", "--port", str(port),
             "--workflow", "greet=served_flows:Greet"],
            env={**os.environ, "PYTHONPATH": f"{FLOWS}{os.pathsep}{ROOT}"}, cwd=FLOWS,
        )
        try:
            for _ in range(200):
                try:
                    urllib.request.urlopen(base + "/health", timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.1)
            start = {"start_event": {"name": "Ada"}}
            run = []
            for _ in range(args.runs // 4):
                t = time.perf_counter()
                assert _post(base + "/workflows/greet/run", start)["status"] == "completed"
                run.append(time.perf_counter() - t)
            nowait, first = [], []
            for _ in range(args.runs // 4):
                t = time.perf_counter()
                hid = _post(base + "/workflows/greet/run-nowait", start)["handler_id"]
                nowait.append(time.perf_counter() - t)
                with urllib.request.urlopen(f"{base}/events/{hid}?after_sequence=-1", timeout=30) as resp:
                    while not resp.readline().startswith(b"data:"):
                        pass
                first.append(time.perf_counter() - t)
            t = time.perf_counter()
            with ThreadPoolExecutor(args.clients) as pool:
                done = list(pool.map(lambda _: _post(base + "/workflows/greet/run", start)["status"], range(args.runs)))
            elapsed = time.perf_counter() - t
            assert done.count("completed") == args.runs
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(30)
    print(f"POST /run (one at a time, {len(run)} runs):        {_ms(run)}")
    print(f"POST /run-nowait ({len(nowait)}):                      {_ms(nowait)}")
    print(f"run-nowait to first SSE event ({len(first)}):        {_ms(first)}")
    print(f"{args.runs} runs with {args.clients} clients:              {args.runs / elapsed:.0f} runs/s")


if __name__ == "__main__":
    main()

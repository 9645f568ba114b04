"""A worker you can watch (issue 15, item 6): one log line per event, JSON
lines with --log-format json, a health file and a health port."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from cli_helpers import start_cli, subprocess_env

from durable_flows import SqliteStore

pytestmark = pytest.mark.timeout(120)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_worker_logs_json_lines_and_reports_health(tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import flows

    db = tmp_path / "runs.db"
    health = tmp_path / "health.json"
    port = free_port()
    assert subprocess.run([sys.executable, "-m", "durable_flows.cli", "migrate", "--create", "--db", str(db)],
                          env=subprocess_env(), timeout=60).returncode == 0  # fmt: skip
    proc = start_cli(
        "worker", "--workflow", "flows:Chain", "--workflow", "flows:AskName", "--db", str(db),
        "--log-format", "json", "--health-file", str(health), "--health-port", str(port), "--json",
    )  # fmt: skip

    async def submit() -> None:
        store = SqliteStore(str(db))
        await flows.Chain(store=store).submit(n=2, run_id="chained")
        await flows.AskName(store=store).submit(run_id="asks")
        for _ in range(600):
            a, b = await store.get_run("chained"), await store.get_run("asks")
            if a and b and a.status == "completed" and b.status == "waiting" and b.owner is None:
                break
            await asyncio.sleep(0.05)
        await store.close()

    try:
        asyncio.run(submit())
        for _ in range(100):
            if health.exists() and json.loads(health.read_text())["finished"] == 1:
                break
            time.sleep(0.05)
        file_health = json.loads(health.read_text())
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10) as answer:
            port_health = json.loads(answer.read())
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert (file_health["ok"], file_health["finished"], file_health["parked"]) == (True, 1, 1)
    assert port_health["finished"] == 1 and abs(port_health["ts"] - time.time()) < 60
    lines = [json.loads(line) for line in err.splitlines() if line.strip()]
    events = [(line.get("event"), line.get("run_id")) for line in lines if line.get("event")]
    assert events[0][0] == "started" and events[-1][0] == "stopped"
    assert ("claimed", "chained") in events and ("finished", "chained") in events
    assert ("claimed", "asks") in events and ("parked", "asks") in events
    [started] = [line for line in lines if line.get("event") == "started"]
    assert started["concurrency"] == 8 and started["workflows"] == ["flows.AskName", "flows.Chain"]
    assert json.loads(out) == {**json.loads(out), "finished": 1, "failed": 0, "parked": 1}


def test_worker_text_logs_say_what_happens(tmp_path: Path) -> None:
    db, health = tmp_path / "runs.db", tmp_path / "health.json"
    proc = start_cli("worker", "--workflow", "flows:Chain", "--db", str(db), "--create", "--health-file", str(health))
    for _ in range(600):  # started (a supervisor and its child start one after the other: no fixed sleep)
        if health.exists() or proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "worker started: database" in err and "workflows flows.Chain, concurrency 8" in err
    assert "worker stopped: 0 finished, 0 failed, 0 parked" in err
    assert out.strip() == "worker stopped: 0 runs finished, 0 failed, 0 released while waiting"

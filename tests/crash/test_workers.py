"""Many worker processes on one store: 300 submitted runs, one worker SIGKILLed midway.

Every run must finish exactly once with the right result, and no step whose
completion was journaled may run again afterwards. Runs against SQLite always,
and against PostgreSQL when DURABLE_FLOWS_TEST_PG is set.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from harness import EXPECTED

HERE = Path(__file__).parent
RUNS = int(os.environ.get("DURABLE_FLOWS_WORKER_RUNS", "300"))
pytestmark = pytest.mark.timeout(600)


def store_urls() -> list[str]:
    urls = ["sqlite"]
    if os.environ.get("DURABLE_FLOWS_TEST_PG"):
        urls.append("postgres")
    return urls


@pytest.fixture(params=store_urls())
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "workers.db")
    from pg_schema import fresh_schema_url  # a helper next to this file

    return fresh_schema_url(request)


def start_worker(url: str, effects: Path) -> subprocess.Popen[str]:
    env = dict(
        os.environ,
        PYTHONPATH=str(HERE),
        SIDE_EFFECTS=str(effects),
        SIDE_EFFECTS_TS="1",
        DURABLE_FLOWS_FAULTS="",
    )
    return subprocess.Popen(
        [sys.executable, "-m", "durable_flows.cli", "worker", "--workflow", "refwf:Reference", "--db", url, "--concurrency", "16"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


async def submit_and_answer(url: str, kill: subprocess.Popen[str]) -> dict[str, dict]:
    from refwf import Reference

    from durable_flows import HumanResponseEvent, open_store

    store = open_store(url)
    wf = Reference(store=store, timeout=120)
    handles = await asyncio.gather(*(wf.submit(base=10) for _ in range(RUNS)))
    answered: set[str] = set()
    killed = False
    deadline = time.monotonic() + 400
    while time.monotonic() < deadline:
        runs = {r.run_id: r for r in await store.list_runs(workflow=wf.workflow_name)}
        finished = [r for r in runs.values() if r.status in ("completed", "failed", "timed_out", "cancelled")]
        if not killed and len(finished) >= RUNS // 3:
            kill.send_signal(signal.SIGKILL)  # a worker dies with runs in flight
            killed = True
        for r in runs.values():
            if r.status == "waiting" and r.run_id not in answered:
                await store.send_event(r.run_id, HumanResponseEvent(response="yes"))
                answered.add(r.run_id)
        if len(finished) == RUNS:
            break
        await asyncio.sleep(0.2)
    assert killed
    results = {}
    for h in handles:
        results[h.run_id] = await asyncio.wait_for(h, 30)
    histories = {h.run_id: await store.history(h.run_id) for h in handles}
    await store.close()
    return {"results": results, "histories": histories}  # type: ignore[return-value]


def test_three_workers_one_killed(tmp_path: Path, store_url: str) -> None:
    effects = tmp_path / "effects.txt"
    workers = [start_worker(store_url, effects) for _ in range(3)]
    try:
        out = asyncio.run(submit_and_answer(store_url, workers[0]))
    finally:
        for w in workers[1:]:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            try:
                w.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                w.kill()
    assert all(w.returncode == 0 for w in workers[1:]), [w.stderr for w in workers[1:] if w.stderr]
    results, histories = out["results"], out["histories"]
    assert len(results) == RUNS and all(r == EXPECTED for r in results.values())
    # Exactly one outcome per run.
    for run_id, hist in histories.items():
        stops = [e for e in hist if e["kind"] == "produced" and e["event_type"] == "durable_flows.events.StopEvent"]
        assert len(stops) == 1, run_id
    # No step ran again after its completion was journaled.
    completed_at: dict[tuple[str, str], float] = {}
    for run_id, hist in histories.items():
        event_of = {e["seq"]: e["payload"].get("event") for e in hist if e["kind"] in ("sent", "produced")}
        accepted = {e["payload"]["exec"]: event_of.get(e["payload"]["event_seq"]) or {} for e in hist if e["kind"] == "accepted"}
        produced = {e["payload"]["exec"] for e in hist if e["kind"] == "produced"}
        for e in hist:
            if e["kind"] not in ("completed", "failed"):
                continue
            p, step = e["payload"], e["step"]
            ev = accepted.get(p["exec"], {})
            key = {
                "work": f"work:{ev.get('i')}",
                "check": f"check:{p['attempt']}",
                "gather": "gather" if p["exec"] in produced else f"gather-wait:{ev.get('i')}",
            }.get(step, step)
            completed_at.setdefault((run_id, key), e["ts"])
    late = []
    counts: dict[tuple[str, str], int] = {}
    for line in effects.read_text().splitlines():
        run_id, key, ts = line.split("|")
        counts[(run_id, key)] = counts.get((run_id, key), 0) + 1
        done = completed_at.get((run_id, key))
        if done is not None and float(ts) > done + 0.001:
            late.append((run_id, key))
    assert not late, f"steps ran again after their completion was journaled: {late[:5]}"
    assert max(counts.values()) <= 2
    reruns = sum(1 for c in counts.values() if c == 2)
    print(f"{RUNS} runs, {reruns} step executions re-run after the kill (in flight when it died)")

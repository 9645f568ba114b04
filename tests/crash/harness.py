"""Run the reference workflow in real subprocesses, kill them at fault points, inspect the journal."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent
EXPECTED = {"total": 60, "answer": "yes", "done": 3}


@dataclass
class Outcome:
    killed: bool
    result: dict | None
    stdout: str
    stderr: str


def run_driver(db: Path, run_id: str, effects: Path, faults: str = "", *extra: str) -> Outcome:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")])
    env["SIDE_EFFECTS"] = str(effects)
    env["DURABLE_FLOWS_FAULTS"] = faults
    proc = subprocess.run(
        [sys.executable, str(HERE / "driver.py"), str(db), run_id, *extra],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    killed = proc.returncode == -signal.SIGKILL
    result = None
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            result = json.loads(line).get("result", result)
    if not killed and proc.returncode != 0:
        raise AssertionError(f"driver failed ({proc.returncode}):\n{proc.stderr}")
    return Outcome(killed, result, proc.stdout, proc.stderr)


def journal(db: Path, run_id: str) -> list[tuple[int, str, str | None, dict]]:
    con = sqlite3.connect(db)
    try:
        rows = con.execute(
            "SELECT seq, kind, step, payload FROM journal WHERE run_id=? ORDER BY seq", (run_id,)
        ).fetchall()
        return [(seq, kind, step, json.loads(p)) for seq, kind, step, p in rows]
    finally:
        con.close()


def integrity_ok(db: Path) -> bool:
    con = sqlite3.connect(db)
    try:
        return con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        con.close()


def committed_keys(rows: list[tuple[int, str, str | None, dict]], before_seq: int) -> set[str]:
    """Side-effect keys of step executions whose end (completed/failed) is journaled before ``before_seq``."""
    events = {seq: p.get("event") for seq, kind, _, p in rows if kind in ("sent", "produced")}
    accepted_event = {}
    for _seq, kind, _, p in rows:
        if kind == "accepted":
            accepted_event[p["exec"]] = events.get(p["event_seq"]) or {}
    produced_by = {p["exec"] for seq, kind, _, p in rows if kind == "produced"}
    keys = set()
    for seq, kind, step, p in rows:
        if seq >= before_seq or kind not in ("completed", "failed"):
            continue
        ev = accepted_event.get(p["exec"], {})
        if step == "work":
            keys.add(f"work:{ev['i']}")
        elif step == "check":
            keys.add(f"check:{p['attempt']}")
        elif step == "gather":
            keys.add("gather" if p["exec"] in produced_by else f"gather-wait:{ev['i']}")
        else:
            keys.add(str(step))
    return keys


def first_resume_seq(rows: list[tuple[int, str, str | None, dict]]) -> int:
    return next((seq for seq, kind, _, _ in rows if kind == "resumed"), 0)

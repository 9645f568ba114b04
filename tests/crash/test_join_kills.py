"""SIGKILL around every append of a run with a list[E] return, a join and a collect step, then resume.

Pins the durable rules of joins, fan-out returns and collection streams (issue
14): the resumed run ends with the uninterrupted result; a join, split or
collect execution whose completion is journaled never runs again; in the final
journal every Left and Right event was consumed by exactly one committed join
execution, and the collect step was released exactly once, so every event is
counted once however the kills fell.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from harness import first_resume_seq, integrity_ok, journal

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from joinwf import EXPECTED  # noqa: E402

pytestmark = pytest.mark.timeout(300)


def _run(db: Path, effects: Path, faults: str = "") -> tuple[bool, object]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    env["SIDE_EFFECTS"], env["DURABLE_FLOWS_FAULTS"] = str(effects), faults
    proc = subprocess.run(
        [sys.executable, str(HERE / "joinwf.py"), str(db), "j"], env=env, capture_output=True, text=True, timeout=60
    )
    if proc.returncode == -signal.SIGKILL:
        return True, None
    assert proc.returncode == 0, proc.stderr
    return False, json.loads(proc.stdout.strip().splitlines()[-1])["result"]


def _committed(rows: list[tuple[int, str, str | None, dict]], before: int) -> set[str]:
    """Effect keys of join and split executions whose completion is journaled before seq ``before``."""
    produced = {p["exec"]: p.get("event") for seq, kind, _, p in rows if kind == "produced" and seq < before}
    keys = set()
    for seq, kind, step, p in rows:
        if kind != "completed" or seq >= before or p["exec"] not in produced:
            continue
        ev = produced[p["exec"]] or {}
        if step == "join":
            keys.add(f"join:{ev['left']}:{ev['right']}")
        elif step == "split":
            keys.add(f"split:{ev['i']}")
        elif step == "gather":
            keys.add("gather")
    return keys


@pytest.mark.parametrize("point", ["before_append", "after_append"])
def test_kill_at_every_append_then_resume(tmp_path: Path, point: str) -> None:
    n = 1
    while True:
        case = tmp_path / f"{point}-{n}"
        case.mkdir()
        db, effects = case / "j.db", case / "effects.txt"
        killed, result = _run(db, effects, f"{point}={n}")
        if not killed:
            assert result == EXPECTED
            break
        before = effects.read_text().split() if effects.exists() else []
        if not db.exists() or not journal(db, "j"):
            n += 1  # killed before the run existed: nothing to resume
            continue
        killed, result = _run(db, effects)
        assert not killed and result == EXPECTED, (point, n)
        assert integrity_ok(db)
        rows = journal(db, "j")
        after = effects.read_text().split()[len(before):]
        redone = _committed(rows, first_resume_seq(rows)) & set(after)
        assert not redone, f"{point}={n}: journaled executions ran again after resume: {redone}"
        pairs = [p["event"] for _, kind, step, p in rows if kind == "produced" and step == "join"]
        consumed = Counter([f"L{e['left']}" for e in pairs] + [f"R{e['right']}" for e in pairs])
        assert consumed == Counter(["L1", "L3", "L5", "R0", "R2", "R4"]), (point, n, consumed)
        released = [p for _, kind, step, p in rows if kind == "accepted" and step == "gather"]
        assert len({p["exec"] for p in released}) == 1, (point, n, released)
        n += 1
    assert n > 8  # the run has many appends: it really was killed at each

"""The worker supervisor (ops/supervisor.py) with real child processes: restarts with backoff,
deaths recorded in the store, a child that cannot start, a graceful stop."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from durable_flows.ops.supervisor import ENV_READY_FD, Supervisor, how_it_ended
from durable_flows.storage import SqliteStore

pytestmark = pytest.mark.timeout(60)

#: A child that says it is ready, then runs CODE.
READY = f"import os, signal, time; os.write(int(os.environ[{ENV_READY_FD!r}]), b'ready'); "


async def until(condition: Callable[[], bool], seconds: float = 30) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


def child(code: str) -> list[str]:
    return [sys.executable, "-c", READY + code]


async def test_a_child_dying_young_is_restarted_with_a_doubling_delay_and_each_death_recorded(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "j.db"
    sup = Supervisor(child("os._exit(3)"), lambda: SqliteStore(db), grace=1.0)
    stop = asyncio.Event()
    caplog.set_level(logging.INFO, logger="durable_flows.ops.supervisor")
    task = asyncio.create_task(sup.run(stop))
    await until(lambda: sum(getattr(r, "event", None) == "child_died" for r in caplog.records) >= 3)
    stop.set()  # during the third delay: no child runs
    assert await asyncio.wait_for(task, 30) == 0
    assert sup.restarts == 2
    delays = [r.restart_in for r in caplog.records if getattr(r, "event", None) == "child_died"]  # type: ignore[attr-defined]
    assert delays[:3] == [0.5, 1.0, 2.0]
    assert all("exited with status 3" in r.getMessage() for r in caplog.records if getattr(r, "event", None))
    async with SqliteStore(db) as store:
        deaths = [await store.find_death(socket.gethostname(), int(r.pid), 0) for r in caplog.records if getattr(r, "event", None)]  # type: ignore[attr-defined]
    assert len(deaths) >= 3 and all(d is not None and (d.exit_code, d.signal) == (3, None) for d in deaths)


async def test_a_child_that_lived_long_enough_is_restarted_at_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import durable_flows.ops.supervisor as supervisor

    monkeypatch.setattr(supervisor, "STABLE_AFTER", 0.3)
    sup = Supervisor(child("time.sleep(0.5); os.kill(os.getpid(), signal.SIGKILL)"), lambda: SqliteStore(tmp_path / "j.db"), 1.0)
    stop = asyncio.Event()
    caplog.set_level(logging.INFO, logger="durable_flows.ops.supervisor")
    task = asyncio.create_task(sup.run(stop))
    await until(lambda: sup.restarts >= 2)
    stop.set()
    await asyncio.wait_for(task, 30)
    died = [r for r in caplog.records if getattr(r, "event", None) == "child_died"]
    assert [r.restart_in for r in died[:2]] == [0.0, 0.0]  # type: ignore[attr-defined]
    assert "killed by SIGKILL" in died[0].getMessage()


async def test_a_child_that_fails_before_it_is_ready_ends_the_supervisor_with_its_status(tmp_path: Path) -> None:
    sup = Supervisor([sys.executable, "-c", "raise SystemExit(2)"], lambda: SqliteStore(tmp_path / "j.db"), 1.0)
    assert await asyncio.wait_for(sup.run(asyncio.Event()), 30) == 2
    assert sup.restarts == 0 and not (tmp_path / "j.db").exists()  # nothing recorded, nothing created


async def test_stop_forwards_sigterm_and_restarts_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "got-term"
    code = (f"signal.signal(signal.SIGTERM, lambda *a: (open({str(marker)!r}, 'w').close(), os._exit(0))); "
            "time.sleep(60)")  # fmt: skip
    sup = Supervisor(child(code), lambda: SqliteStore(tmp_path / "j.db"), grace=5.0)
    stop = asyncio.Event()
    task = asyncio.create_task(sup.run(stop))
    await until(lambda: sup.child is not None)
    await asyncio.sleep(0.5)
    t0 = time.monotonic()
    stop.set()
    assert await asyncio.wait_for(task, 30) == 0
    assert marker.exists() and sup.restarts == 0 and time.monotonic() - t0 < 5
    assert sup.child.returncode == 0


def test_how_it_ended() -> None:
    assert how_it_ended(-signal.SIGKILL) == "killed by SIGKILL"
    assert how_it_ended(1) == "exited with status 1"

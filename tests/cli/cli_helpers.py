"""Shared by the CLI tests (imported, not fixtures): the prepared journal and subprocess helpers.

The journal of real runs is written once per session and copied per test.

The runs: completed (chain, fan-out, retried, recovered by a catch handler),
failed, waiting for a human (parked: no process owns it), waiting in
wait_for_event (parked), cancelled, forked, and one interrupted mid-step
(parked ``running``: what a crashed process leaves).
"""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import flows
import pytest

from durable_flows.storage import SqliteStore

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Journal:
    """Run ids of the prepared journal (``path`` is the pristine session copy)."""

    path: Path
    chain: str
    fan_out: str
    flaky: str
    tools: str
    broken: str
    asking: str
    approval: str
    cancelled: str
    forked: str
    interrupted: str


async def _park(handler: Any) -> None:
    """Stop a run's driver in this process as if the process had gone (lease kept until close)."""
    handler._task.cancel()
    await asyncio.gather(handler._task, return_exceptions=True)


async def write_journal(path: Path) -> Journal:
    """Run the workflows of ``flows`` into a new journal at ``path``."""
    store = SqliteStore(path)
    chain = flows.Chain(store=store).run(n=4, run_id="chain")
    assert await chain == 52
    fan = flows.FanOut(store=store).run(count=24, run_id="fanout")
    assert await fan == sum(i * i for i in range(24))
    flows.Flaky.calls = 0
    assert await flows.Flaky(store=store).run(run_id="flaky") == "ok"
    assert await flows.Tools(store=store).run(fail=True, run_id="tools") == "recovered from call"
    broken = flows.Broken(store=store).run(text="oops", run_id="broken")
    with pytest.raises(ValueError, match="cannot parse"):
        await broken
    waiting = [
        flows.AskName(store=store).run(run_id="asking"),
        flows.Approval(store=store).run(run_id="approval"),
        flows.Approval(store=store).run(run_id="to-cancel"),
    ]
    slow = flows.Slow(store=store, timeout=None).run(seconds=0.4, run_id="interrupted")
    for _ in range(100):
        infos = [await store.get_run(h.run_id) for h in waiting]
        if [i.status if i else None for i in infos] == ["waiting"] * 3 and len(await store.read("interrupted")) >= 3:
            break
        await asyncio.sleep(0.02)
    for handler in [*waiting, slow]:
        await _park(handler)
    await store.close()  # releases the leases: these runs are now parked
    store = SqliteStore(path)
    assert await store.cancel("to-cancel", "no longer needed") == "cancelled"
    forked = await store.fork("chain", 6, "chain-fork")
    await store.close()
    return Journal(
        path, "chain", "fanout", "flaky", "tools", "broken", "asking", "approval", "to-cancel", forked, "interrupted"
    )


def subprocess_env() -> dict[str, str]:
    """The environment for a real ``durable-flows`` process: ``flows`` importable."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.pop("DURABLE_FLOWS_DB", None)
    return env


def console_script() -> str | None:
    """The installed ``durable-flows`` script next to this interpreter, if any."""
    candidate = Path(sys.executable).parent / "durable-flows"
    return str(candidate) if candidate.exists() else None


def start_cli(*args: str, cwd: Path | None = None) -> Any:
    """A ``durable-flows`` process left running (``worker``): stop it with SIGTERM, then communicate()."""
    import subprocess

    return subprocess.Popen(
        [sys.executable, "-m", "durable_flows.cli", *args],
        cwd=cwd, env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip

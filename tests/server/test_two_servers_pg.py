"""Two server processes on one PostgreSQL journal: either answers for any run,
and when one is killed (SIGKILL) mid-run the other finishes its run.
Runs when DURABLE_FLOWS_TEST_PG is set; skipped otherwise."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from server_harness import Http, ServerProcess

sys.path.insert(0, str(Path(__file__).parent.parent))
from pg_support import drop_schema, new_schema_name, pg_dsn_or_skip  # noqa: E402


@pytest.fixture
def pg_url() -> Iterator[str]:
    dsn = pg_dsn_or_skip()
    schema = new_schema_name()
    sep = "&" if "?" in dsn else "?"
    try:
        yield f"{dsn}{sep}schema={schema}"
    finally:
        asyncio.run(drop_schema(dsn, schema))


def _until(check: object, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_any_server_answers_and_a_killed_servers_run_is_finished(pg_url: str, tmp_path: Path) -> None:
    log = tmp_path / "steps.log"
    a = ServerProcess(pg_url, tmp_path / "a.log", env={"SLOW_LOG": str(log)}).start()
    b = ServerProcess(pg_url, tmp_path / "b.log", env={"SLOW_LOG": str(log)}).start()
    try:
        ha, hb = Http(a.url), Http(b.url)
        # a run started on A is answered through B and read on A
        hid = ha.post("/workflows/approval/run-nowait", json={"start_event": {"item": "pg"}}).json()["handler_id"]
        _until(lambda: _waiting(hb, hid), "the run to wait")
        assert hb.post(f"/events/{hid}", json={"event": {"type": "HumanResponseEvent",
                                                          "value": {"response": "ok"}}}).json() == {"status": "sent"}
        _until(lambda: ha.get(f"/handlers/{hid}").status_code == 200, "the run to complete")
        assert ha.get(f"/handlers/{hid}").json()["result"]["value"] == {"result": "pg: ok"}
        lines = hb.get(f"/events/{hid}", params={"sse": "false", "after_sequence": "-1"}).text.splitlines()
        assert [json.loads(x)["type"] for x in lines] == ["InputRequiredEvent", "StopEvent"]

        # a run A executes when A is killed is finished by B
        slow = ha.post("/workflows/slow/run-nowait", json={"start_event": {"ticks": 6, "pause": 0.3}}).json()
        sid = slow["handler_id"]
        _until(lambda: log.exists() and len(log.read_text().split()) >= 2, "two ticks")
        a.kill()
        _until(lambda: hb.get(f"/handlers/{sid}").status_code == 200, "B to finish A's run", timeout=60)
        assert hb.get(f"/handlers/{sid}").json()["result"]["value"] == {"result": 6}
        ran = [int(x) for x in log.read_text().split()]
        assert sorted(set(ran)) == list(range(6)) and len(ran) <= 7
    finally:
        a.stop()
        b.stop()


def _waiting(http: Http, hid: str) -> bool:
    return hid in http.get("/ui/fragments/runs", params={"status": "waiting"}).text

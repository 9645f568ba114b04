"""owner_is_dead and make_owner_id: how a store spots a crashed lease holder."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from durable_flows.storage import make_owner_id, owner_is_dead


def test_owner_id_names_this_host_and_process() -> None:
    host, pid, suffix = make_owner_id().rsplit(":", 2)
    assert (host, int(pid)) == (socket.gethostname(), os.getpid()) and len(suffix) == 8
    assert make_owner_id() != make_owner_id()


def test_a_finished_process_is_dead_and_a_running_one_is_not() -> None:
    host = socket.gethostname()
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert owner_is_dead(f"{host}:{proc.pid}:x") is False
    finally:
        proc.kill()
        proc.wait()
    assert owner_is_dead(f"{host}:{proc.pid}:x") is True


def test_owners_that_cannot_be_checked_count_as_alive() -> None:
    assert owner_is_dead(make_owner_id()) is False  # this process
    assert owner_is_dead("some-other-host:1:x") is False
    assert owner_is_dead("garbage") is False
    assert owner_is_dead(f"{socket.gethostname()}:notapid:x") is False

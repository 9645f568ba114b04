"""A real ``durable-flows serve`` subprocess on a free loopback port, and the
upstream client run from its own virtualenv."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
REPO = HERE.parent.parent

#: Served names -> the test workflows.
WORKFLOWS = {"greet": "served_flows:Greet", "approval": "served_flows:Approval", "slow": "served_flows:Slow"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """``durable-flows serve`` on ``db``, started by :meth:`start`, killed by :meth:`kill`."""

    def __init__(self, db: str, log: Path, env: dict[str, str] | None = None) -> None:
        self.db = db
        self.log = log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "PYTHONPATH": str(HERE), **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> ServerProcess:
        args = [sys.executable, "-m", "durable_flows.cli", "serve", "--db", self.db, "--port", str(self.port)]
        for name, target in WORKFLOWS.items():
            args += ["--workflow", f"{name}={target}"]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=self.env, cwd=HERE)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=1) as resp:
                    if resp.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not answer within {timeout}s: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def get_json(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=10) as resp:
            return json.loads(resp.read())


def client_python() -> str | None:
    """The python of the client virtualenv (``$DURABLE_FLOWS_CLIENT_PYTHON``, else ``.client-venv``)."""
    explicit = os.environ.get("DURABLE_FLOWS_CLIENT_PYTHON")
    candidates = [explicit] if explicit else [str(REPO / ".client-venv" / "bin" / "python")]
    for path in candidates:
        if path and Path(path).exists():
            return path
    return None


def run_client(python: str, url: str, *args: str, timeout: float = 90.0) -> Any:
    """Run one client scenario; its printed JSON."""
    done = subprocess.run(
        [python, str(HERE / "client_script.py"), url, *args],
        capture_output=True, text=True, timeout=timeout, cwd=HERE,
    )
    if done.returncode != 0:
        raise AssertionError(f"client {args} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


class Reply:
    """An HTTP answer: status, body text, and the body as JSON."""

    def __init__(self, status_code: int, text: str) -> None:
        self.status_code = status_code
        self.text = text

    def json(self) -> Any:
        return json.loads(self.text)


class Http:
    """A few lines of urllib for plain requests to the server under test."""

    def __init__(self, base: str) -> None:
        self.base = base

    def request(self, method: str, path: str, json_body: Any = None, content: bytes | None = None,
                params: dict[str, str] | None = None, headers: dict[str, str] | None = None) -> Reply:
        url = self.base + path + ("?" + urllib.parse.urlencode(params) if params else "")
        data = content if content is not None else (None if json_body is None else json.dumps(json_body).encode())
        req = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return Reply(resp.status, resp.read().decode())
        except urllib.error.HTTPError as err:
            return Reply(err.code, err.read().decode())

    def get(self, path: str, params: dict[str, str] | None = None, headers: dict[str, str] | None = None) -> Reply:
        return self.request("GET", path, params=params, headers=headers)

    def post(self, path: str, json: Any = None, content: bytes | None = None) -> Reply:
        return self.request("POST", path, json_body=json, content=content)

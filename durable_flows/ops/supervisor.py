"""Supervising a worker: run it in a child process, restart it when it dies, record how it died.

``durable-flows worker`` (supervised, the default) is a small parent process
that runs the real worker as a child (``worker --single-process``) and:

- restarts the child whenever it ends without being asked to, at once after
  a child that lived :data:`STABLE_AFTER` seconds, else after a delay that
  doubles from :data:`RESTART_FIRST` up to :data:`RESTART_MAX` (a crash loop
  does not spin);
- knows how the child ended (exit status, or the signal that killed it) and
  records each abnormal end in the store (``storage/deaths.py``) together
  with the head of the fatal-error report faulthandler wrote
  (``storage/crash_files.py``), before it starts the next child: whoever
  resumes a run the dead child held journals that in the ``resumed`` record;
- forwards SIGTERM and SIGINT to the child as a graceful stop (the child
  finishes or releases its runs within its ``--grace``) and then exits with
  the child's status, restarting nothing.

A child that ends before it is ready (its store opened and its workflows
loaded) the first time is a configuration error: the supervisor exits with
its status instead of restarting it. A child exiting 0 on its own was told to
stop (a SIGTERM sent to it directly): the supervisor stops too. The child
dies with its supervisor (Linux: the parent-death signal; elsewhere it stops
gracefully once it sees its parent gone).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from ..storage.base import JournalStore
from ..storage.crash_files import crash_dir, read_report, report_files
from ..storage.deaths import ProcessDeath

logger = logging.getLogger(__name__)

#: A child that lived this many seconds is restarted at once, and resets the backoff.
STABLE_AFTER = 10.0
#: Delay before restarting a child that died young; doubles per such death ...
RESTART_FIRST = 0.5
#: ... up to this many seconds.
RESTART_MAX = 8.0
#: Seconds a stopping child gets beyond its --grace before it is killed.
STOP_MARGIN = 15.0
#: Most seconds a stop waits for a starting child to be ready (then it is told to stop).
READY_WAIT = 60.0
#: The supervisor's pid, and the file descriptor a child writes ``ready`` to.
ENV_SUPERVISOR = "DURABLE_FLOWS_SUPERVISOR_PID"
ENV_READY_FD = "DURABLE_FLOWS_READY_FD"


def how_it_ended(returncode: int) -> str:
    """``killed by SIGKILL`` or ``exited with status 1``."""
    if returncode < 0:
        return f"killed by {signal_name(-returncode)}"
    return f"exited with status {returncode}"


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


class Supervisor:
    """Runs ``argv`` (a single-process worker) as a child and keeps one alive until stopped.

    Args:
        argv: The child's command line.
        open_store: Makes a store on the worker's journal (opened only to
            record a death, then closed).
        grace: The child's ``--grace``: how long a stopping child may take.
    """

    def __init__(self, argv: Sequence[str], open_store: Callable[[], JournalStore], grace: float) -> None:
        self.argv = list(argv)
        self.open_store = open_store
        self.grace = grace
        self.restarts = 0
        self.child: asyncio.subprocess.Process | None = None

    async def run(self, stop: asyncio.Event) -> int:
        """Supervise until ``stop`` is set (or a child fails to start); the exit status to use."""
        short_lives = 0
        first = True
        while True:
            started = time.time()
            proc, ready = await self._spawn()
            self.child = proc
            waiting = asyncio.ensure_future(proc.wait())
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait({waiting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not waiting.done():  # asked to stop: the child stops gracefully, once it started
                starting: set[asyncio.Future[Any]] = {waiting, ready}
                await asyncio.wait(starting, timeout=READY_WAIT, return_when=asyncio.FIRST_COMPLETED)
                return await self._stop_child(proc, waiting, started)
            stopping.cancel()
            code = waiting.result()
            was_ready = await ready
            if code == 0:
                logger.info("worker process %d exited on its own: stopping", proc.pid)
                return 0
            if first and not was_ready:
                return code if code > 0 else 128 - code  # a bad --workflow or --db: nothing to supervise
            first = False
            lived = time.time() - started
            await self._record(proc.pid, code, started)
            short_lives = 0 if lived >= STABLE_AFTER else short_lives + 1
            delay = 0.0 if short_lives == 0 else min(RESTART_MAX, RESTART_FIRST * 2 ** (short_lives - 1))
            logger.warning(
                "worker process %d %s after %.1f s; restarting it in %.1f s",
                proc.pid, how_it_ended(code), lived, delay,
                extra={"event": "child_died", "pid": proc.pid, "returncode": code, "restart_in": delay},
            )  # fmt: skip
            if delay:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
            if stop.is_set():
                return 0
            self.restarts += 1

    async def _spawn(self) -> tuple[asyncio.subprocess.Process, asyncio.Future[bool]]:
        read_end, write_end = os.pipe()
        env = dict(os.environ, **{ENV_SUPERVISOR: str(os.getpid()), ENV_READY_FD: str(write_end)})
        try:
            proc = await asyncio.create_subprocess_exec(*self.argv, env=env, pass_fds=(write_end,))
        finally:
            os.close(write_end)
        logger.log(logging.INFO if self.restarts else logging.DEBUG, "started worker process %d", proc.pid)
        return proc, asyncio.ensure_future(asyncio.to_thread(_read_ready, read_end))

    async def _stop_child(self, proc: asyncio.subprocess.Process, waiting: asyncio.Future[int], started: float) -> int:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.wait_for(asyncio.shield(waiting), self.grace + STOP_MARGIN)
        except asyncio.TimeoutError:
            logger.warning("worker process %d did not stop in time: killing it", proc.pid)
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            code = await waiting
        if code in (0, -signal.SIGTERM):  # it ended as asked (before it could stop gracefully, for SIGTERM)
            return 0
        logger.warning("worker process %d %s while stopping", proc.pid, how_it_ended(code),
                       extra={"event": "child_died", "pid": proc.pid, "returncode": code, "restart_in": None})  # fmt: skip
        await self._record(proc.pid, code, started)
        return code if code > 0 else 128 - code

    async def _record(self, pid: int, code: int, started: float) -> None:
        """Record the child's end in the store, with faulthandler's report; then drop its file."""
        host = socket.gethostname()
        store = self.open_store()
        folder = crash_dir(store)
        death = ProcessDeath(
            host=host,
            pid=pid,
            started_at=started,
            ended_at=time.time(),
            exit_code=code if code >= 0 else None,
            signal=signal_name(-code) if code < 0 else None,
            fatal_error=read_report(folder, host, pid, started),
            recorded_by=f"{host}:{os.getpid()}",
        )
        try:
            await store.record_death(death)
        except Exception as exc:  # noqa: BLE001 - the next child must start anyway
            logger.warning("could not record how worker process %d died: %s", pid, exc)
            return
        finally:
            await store.close()
        for path in report_files(folder, host, pid) if folder else []:
            with contextlib.suppress(OSError):
                os.remove(path)


def _read_ready(fd: int) -> bool:
    """True once the child wrote ``ready``; False when it ended first (end of file)."""
    try:
        return os.read(fd, 16).startswith(b"ready")
    finally:
        os.close(fd)


# -- the child's side -------------------------------------------------------------------


class _Early:
    stop = False


def _stop_early(signum: int, frame: object) -> None:
    _Early.stop = True


def stop_requested() -> bool:
    """A SIGTERM/SIGINT reached a supervised child before its event loop took the signals over."""
    return _Early.stop


def bind_to_supervisor() -> int | None:
    """In a supervised child: die with the supervisor, and note a stop asked while starting
    (see :func:`stop_requested`); returns the supervisor's pid (None when unsupervised)."""
    text = os.environ.pop(ENV_SUPERVISOR, None)
    if not text:
        return None
    parent = int(text)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _stop_early)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):  # PR_SET_PDEATHSIG: SIGKILL when the parent dies
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # it died before we could ask
        os._exit(1)
    return parent


def signal_ready() -> None:
    """In a supervised child: tell the supervisor the worker started (store open, workflows loaded)."""
    text = os.environ.pop(ENV_READY_FD, None)
    if text:
        with contextlib.suppress(OSError):
            os.write(int(text), b"ready")
            os.close(int(text))


async def watch_parent(parent: int, stop: asyncio.Event, interval: float = 1.0) -> None:
    """Set ``stop`` once the supervisor is gone (where no parent-death signal exists)."""
    while not stop.is_set():
        if os.getppid() != parent:
            logger.warning("the supervisor (pid %d) is gone: stopping", parent)
            stop.set()
            return
        await asyncio.sleep(interval)

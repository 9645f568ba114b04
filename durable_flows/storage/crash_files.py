"""Fatal-error files: where a process running runs lets faulthandler write its last words.

A process that runs runs enables :mod:`faulthandler` to a file of its own,
``HOST-PID-STARTMS.log`` in the store's crash directory, so that after a
SIGSEGV, SIGABRT, SIGBUS, SIGFPE or SIGILL the next process that resumes one
of its runs can read the fatal signal and the Python traceback. The directory
is ``DURABLE_FLOWS_CRASH_DIR`` when set, else ``<journal file>-crashes`` next
to a SQLite journal, else (PostgreSQL) ``$XDG_STATE_HOME/durable_flows/crashes``
(``~/.local/state/...``). The first store that runs a run in a process picks
the directory for the whole process.

A process that exits normally removes its file (and the directory, if that
leaves it empty). Files of dead processes are swept by the next process that
enables one in the directory: at once when empty (the process left no report:
SIGKILL, ``os._exit``), after :data:`KEEP_FOR` otherwise. A supervisor that
recorded a child's report in the store removes the child's file itself.

Nothing here runs for a process that only reads, nor when faulthandler was
already enabled by someone else (``python -X faulthandler``, pytest): their
choice of where fatal errors go is kept.
"""

from __future__ import annotations

import atexit
import contextlib
import faulthandler
import os
import socket
import time
from typing import IO, Any

from .owners import owner_is_dead

#: Reports of dead processes are kept this long (seconds) for a late resume.
KEEP_FOR = 7 * 86400.0
#: Most characters of a report kept (in the store, in a ``resumed`` record).
REPORT_CHARS = 4000

_SUFFIX = ".log"


class _Enabled:
    """This process's fatal-error file, once enabled."""

    path: str | None = None
    file: IO[str] | None = None
    #: faulthandler is on because the parent process enabled ours before forking.
    inherited = False
    #: Directories where no file could be made (not tried again).
    failed: set[str] = set()


def _forked() -> None:
    # The child shares the parent's file: it is not the child's to remove, and
    # the child gets a file of its own if it runs runs.
    _Enabled.path, _Enabled.file, _Enabled.inherited = None, None, _Enabled.path is not None or _Enabled.inherited


os.register_at_fork(after_in_child=_forked)


def crash_dir(store: Any) -> str | None:
    """The crash directory for ``store``'s processes; None for a store no other process can resume from."""
    named = os.environ.get("DURABLE_FLOWS_CRASH_DIR")
    if named:
        return named
    path = getattr(store, "path", None)
    if not isinstance(path, str) or path.startswith("memory:") or path == ":memory:":
        return None
    if "://" in path:  # a server database: a local directory of this user's
        state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
        return os.path.join(state, "durable_flows", "crashes")
    return os.path.abspath(path) + "-crashes"


def fatal_error_file_pending(store: Any) -> bool:
    """Whether :func:`enable_fatal_error_file` has file work to do for ``store``: call it
    off the event loop then (a cheap check, for every run started)."""
    if _Enabled.path is not None or (faulthandler.is_enabled() and not _Enabled.inherited):
        return False
    folder = crash_dir(store)
    return folder is not None and folder not in _Enabled.failed


def enable_fatal_error_file(store: Any) -> str | None:
    """Send this process's fatal-error reports to its file in ``store``'s crash directory.

    Idempotent; returns the file's path, or None when not enabled (no
    directory for this store, faulthandler already enabled elsewhere, or the
    directory cannot be written: a crash then simply leaves no report).
    """
    if _Enabled.path is not None:
        return _Enabled.path
    if faulthandler.is_enabled() and not _Enabled.inherited:
        return None
    folder = crash_dir(store)
    if folder is None:
        return None
    host = socket.gethostname()
    path = os.path.join(folder, f"{host}-{os.getpid()}-{int(time.time() * 1000)}{_SUFFIX}")
    try:
        os.makedirs(folder, exist_ok=True)
        sweep(folder)
        file = open(path, "w", encoding="utf-8")  # noqa: SIM115 - open while the process lives
    except OSError:
        _Enabled.failed.add(folder)
        return None
    faulthandler.enable(file, all_threads=True)
    _Enabled.path, _Enabled.file, _Enabled.inherited = path, file, False
    return path


def _remove_at_exit() -> None:
    if _Enabled.path is None:
        return
    with contextlib.suppress(Exception):
        faulthandler.disable()
    if _Enabled.file is not None:
        with contextlib.suppress(OSError):
            _Enabled.file.close()
    with contextlib.suppress(OSError):
        os.remove(_Enabled.path)
    with contextlib.suppress(OSError):
        os.rmdir(os.path.dirname(_Enabled.path))  # only when nothing else is in it
    _Enabled.path = None


atexit.register(_remove_at_exit)


def _parse_name(name: str) -> tuple[str, int, float] | None:
    """(host, pid, start time) of a file name ``HOST-PID-STARTMS.log``; None for other files."""
    if not name.endswith(_SUFFIX):
        return None
    try:
        host, pid, start = name[: -len(_SUFFIX)].rsplit("-", 2)
        return host, int(pid), int(start) / 1000.0
    except ValueError:
        return None


def sweep(folder: str, now: float | None = None) -> None:
    """Remove the files of dead processes: empty ones at once, others after :data:`KEEP_FOR`.

    A file of another host is judged by age alone (its process cannot be seen).
    """
    now = time.time() if now is None else now
    here = socket.gethostname()
    with os.scandir(folder) as entries:
        for entry in entries:
            parsed = _parse_name(entry.name)
            if parsed is None or parsed[1] == os.getpid():
                continue
            host, pid, _ = parsed
            try:
                stat = entry.stat()
            except OSError:
                continue
            old = now - stat.st_mtime > KEEP_FOR
            dead = host == here and owner_is_dead(f"{host}:{pid}:x")
            if (dead and (stat.st_size == 0 or old)) or (host != here and old):
                with contextlib.suppress(OSError):
                    os.remove(entry.path)


def report_files(folder: str, host: str, pid: int) -> list[str]:
    """Paths of the fatal-error files of ``host``/``pid`` in ``folder``, oldest first."""
    found = []
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        for entry in entries:
            parsed = _parse_name(entry.name)
            if parsed is not None and parsed[:2] == (host, pid):
                found.append((parsed[2], entry.path))
    return [path for _, path in sorted(found)]


def read_report(folder: str | None, host: str, pid: int, after: float) -> str | None:
    """The fatal-error report ``host``/``pid`` wrote at or after ``after`` (truncated), if any."""
    if folder is None:
        return None
    for path in report_files(folder, host, pid):
        try:
            if os.path.getmtime(path) < after - 1.0:  # an earlier process with the same pid
                continue
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read(REPORT_CHARS)
        except OSError:
            continue
        if text.strip():
            return text
    return None


def take_report(folder: str | None, host: str, pid: int, after: float) -> str | None:
    """:func:`read_report`, then remove that process's files (a supervisor that stored it)."""
    text = read_report(folder, host, pid, after)
    if folder is not None:
        for path in report_files(folder, host, pid):
            with contextlib.suppress(OSError):
                os.remove(path)
    return text

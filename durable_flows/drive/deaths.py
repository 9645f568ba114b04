"""How a run's previous owner died: the evidence a resume journals (``resumed.died``).

When a run is claimed from an owner that never gave it back, the claim names
that owner (``Lease.previous_owner``, ``host:pid:...``). Before journaling
its ``resumed`` record, the resuming process gathers what is known of that
owner's end, best first:

1. a death its supervisor recorded in the store (``storage/deaths.py``):
   exit status or signal, and faulthandler's report if it wrote one;
2. the owner's fatal-error file (``storage/crash_files.py``), when the owner
   was supervised by nobody or its supervisor has not recorded it yet;
3. whether the owner still lives (same host): then only its lease lapsed.

The note is a plain dict: ``owner``, and when known ``signal``, ``exit_code``,
``step`` (the in-flight step whose function is in the fatal error's
traceback), ``traceback`` (the report's head), ``source`` (``supervisor`` or
``faulthandler``), ``alive``. Replay ignores it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
from collections.abc import Collection
from typing import Any

from ..storage.base import JournalStore
from ..storage.crash_files import crash_dir, read_report
from ..storage.owners import owner_is_dead
from ..storage.rows import Lease

logger = logging.getLogger(__name__)

#: faulthandler's first line names the signal by its description.
_FATAL_SIGNALS = {
    "Segmentation fault": "SIGSEGV",
    "Aborted": "SIGABRT",
    "Bus error": "SIGBUS",
    "Floating-point exception": "SIGFPE",
    "Floating point exception": "SIGFPE",
    "Illegal instruction": "SIGILL",
}
_FRAME = re.compile(r'^\s*File "(?P<file>[^"]*)", line (?P<line>\d+) in (?P<func>\S+)')
#: Lines of the traceback kept in the note.
TRACEBACK_LINES = 6
TRACEBACK_CHARS = 1200


def split_owner(owner: str) -> tuple[str, int] | None:
    """(host, pid) of an owner id ``host:pid:random``; None for another shape."""
    try:
        host, pid, _ = owner.rsplit(":", 2)
        return host, int(pid)
    except ValueError:
        return None


async def previous_owner_death(
    store: JournalStore, lease: Lease, last_write: float, steps: Collection[str]
) -> dict[str, Any] | None:
    """What is known of how ``lease.previous_owner`` ended; None when it gave the run back.

    Args:
        last_write: When the run was last written (its row's ``updated_at``):
            the previous owner's end came after it.
        steps: Names of the steps that were in flight (a fatal error's
            traceback is searched for their functions).
    """
    owner = lease.previous_owner
    if not owner or owner == lease.owner:
        return None
    note: dict[str, Any] = {"owner": owner}
    where = split_owner(owner)
    if where is None:
        return note
    host, pid = where
    report = None
    try:
        death = await store.find_death(host, pid, last_write - 1.0)
    except Exception as exc:  # noqa: BLE001 - evidence is a bonus: never block a resume
        logger.warning("could not look up how process %s:%d died: %s", host, pid, exc)
        death = None
    if death is not None:
        note["source"] = "supervisor"
        if death.signal:
            note["signal"] = death.signal
        if death.exit_code is not None:
            note["exit_code"] = death.exit_code
        report = death.fatal_error
    if report is None:
        report = await asyncio.to_thread(read_report, crash_dir(store), host, pid, last_write)
        if report is not None:
            note.setdefault("source", "faulthandler")
    if report is not None:
        note.update(read_fatal_error(report, steps))
    elif death is None and host == socket.gethostname() and pid != os.getpid() and not owner_is_dead(owner):
        note["alive"] = True  # its lease lapsed while it still ran
    return note


def read_fatal_error(report: str, steps: Collection[str]) -> dict[str, Any]:
    """``signal``, ``step`` and ``traceback`` (head) of a faulthandler report."""
    out: dict[str, Any] = {}
    lines = report.splitlines()
    first = next((line for line in lines if line.strip()), "")
    if first.startswith("Fatal Python error:"):
        what = first.split(":", 1)[1].strip()
        out["signal"] = _FATAL_SIGNALS.get(what, what)
    # The crashing thread's frames ("Current thread") first, then the other threads'.
    blocks: list[tuple[bool, list[str]]] = []
    for line in lines:
        if line.startswith(("Current thread", "Thread ")):
            blocks.append((line.startswith("Current"), []))
        elif _FRAME.match(line):
            if not blocks:
                blocks.append((True, []))
            blocks[-1][1].append(line.strip())
    blocks.sort(key=lambda block: not block[0])
    frames = [frame for _, block in blocks for frame in block]
    names = set(steps)
    for frame in frames:
        match = _FRAME.match(frame)
        if match is not None and match["func"] in names:
            out["step"] = match["func"]
            break
    head = blocks[0][1] if blocks else []
    if head:
        out["traceback"] = "\n".join(head[:TRACEBACK_LINES])[:TRACEBACK_CHARS]
    return out

"""Named fault points that crash tests arm to kill the process at an exact place.

Arm them with the environment variable ``DURABLE_FLOWS_FAULTS``, a comma list
of ``point=N`` (kill the process with SIGKILL on the N-th time the point is
reached, counting from 1), read once at import. Points:

``before_append``  a batch is encoded but not yet handed to the store
``after_append``   the store returned: the batch is committed (on disk too if it ends the run or waits)
``step_started``   a step task began running user code
``step_finished``  user code returned, its effects are not yet journaled

When nothing is armed, :func:`fault` is a dict lookup on an empty dict.
"""

from __future__ import annotations

import os
import signal

_armed: dict[str, int] = {}
_hits: dict[str, int] = {}


def _parse(text: str) -> dict[str, int]:
    armed = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, count = part.partition("=")
        armed[name.strip()] = int(count or "1")
    return armed


def arm(spec: str) -> None:
    """Arm points from a ``point=N,...`` string (replaces what was armed)."""
    _armed.clear()
    _hits.clear()
    _armed.update(_parse(spec))


def fault(point: str) -> None:
    """Kill this process with SIGKILL if ``point`` is armed and its count is reached."""
    if not _armed or point not in _armed:
        return
    _hits[point] = _hits.get(point, 0) + 1
    if _hits[point] >= _armed[point]:
        os.kill(os.getpid(), signal.SIGKILL)


arm(os.environ.get("DURABLE_FLOWS_FAULTS", ""))

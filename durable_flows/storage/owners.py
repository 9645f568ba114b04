"""Who executes a run: owner names, and telling that an owner process is gone.

An owner is ``host:pid:random``: a store on the same host can see at once that
the process holding a lease died, and take the run over without waiting for
the lease to expire.
"""

from __future__ import annotations

import os
import socket
import uuid


def make_owner_id() -> str:
    """A process-unique owner name: ``host:pid:random``.

    The host and pid let a store on the same host see at once that an owner
    process died (its lease can then be taken over without waiting for expiry).
    """
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_is_dead(owner: str) -> bool:
    """True when ``owner`` names a process on this host that no longer exists."""
    try:
        host, pid_text, _ = owner.rsplit(":", 2)
        pid = int(pid_text)
    except ValueError:
        return False
    if host != socket.gethostname() or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    """A killed process its parent has not reaped yet: it will never renew its lease."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False
    # "pid (comm) state ...": comm may hold spaces and parentheses, so split at the last ")".
    return stat[stat.rfind(b")") + 2 : stat.rfind(b")") + 3] == b"Z"

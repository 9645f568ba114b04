"""Who sent an outside event: the ``origin`` stored with each inbox item.

``JournalStore.send_event`` (and the CLI's ``send``) record the host, process
id and OS user of the sender, the interface used (``via``: ``api``, ``cli``,
...) and an optional ``actor``, the application's own name for the person or
system behind it. The run's owner copies it into the ``sent`` journal record
that takes the event in, so it is covered by the journal's hash chain.
"""

from __future__ import annotations

import getpass
import json
import os
import socket


def _os_user() -> str | None:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name (containers without passwd entries)
        return None


def make_origin(via: str = "api", actor: str | None = None) -> str:
    """The origin of an event sent from this process, as compact JSON text."""
    data: dict[str, object] = {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "user": _os_user(),
        "via": via,
    }
    if actor is not None:
        data["actor"] = actor
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def describe_origin(origin: object) -> str:
    """One line for people: ``by alice (actor) via cli as bob@host pid 42``."""
    if isinstance(origin, str):
        text = origin
        try:
            origin = json.loads(text)
        except ValueError:
            return text
    if not isinstance(origin, dict):
        return ""
    parts = []
    if origin.get("actor"):
        parts.append(f"actor {origin['actor']}")
    if origin.get("via"):
        parts.append(f"via {origin['via']}")
    who = f"{origin.get('user') or '?'}@{origin.get('host') or '?'}"
    parts.append(f"by {who} pid {origin.get('pid', '?')}")
    return ", ".join(parts)


def origin_data(origin: str) -> object:
    """A stored origin decoded for a journal record (the text itself if it is not JSON)."""
    try:
        return json.loads(origin)
    except ValueError:
        return origin

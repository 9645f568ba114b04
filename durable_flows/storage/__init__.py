"""Journal stores: the protocol, the SQLite store, the in-memory twin, and the picker.

:func:`open_store` is the one function that chooses a concrete store.
"""

from __future__ import annotations

import os

from ..errors import StoreOpenError
from .base import (
    ACTIVE_STATUSES,
    ALL_STATUSES,
    CANCELLED,
    COMPLETED,
    FAILED,
    FINISHED_STATUSES,
    RUNNING,
    TIMED_OUT,
    WAITING,
    InboxItem,
    JournalEntry,
    JournalStore,
    Lease,
    NewRun,
    RunInfo,
    RunUpdate,
    make_owner_id,
    owner_is_dead,
)
from .memory import MemoryStore
from .sqlite import SqliteStore

__all__ = [
    "ACTIVE_STATUSES",
    "ALL_STATUSES",
    "CANCELLED",
    "COMPLETED",
    "DEFAULT_DB_PATH",
    "FAILED",
    "FINISHED_STATUSES",
    "RUNNING",
    "TIMED_OUT",
    "WAITING",
    "InboxItem",
    "JournalEntry",
    "JournalStore",
    "Lease",
    "MemoryStore",
    "NewRun",
    "RunInfo",
    "RunUpdate",
    "SqliteStore",
    "make_owner_id",
    "open_store",
    "owner_is_dead",
]

#: Where runs are journaled when neither an argument nor DURABLE_FLOWS_DB says.
DEFAULT_DB_PATH = "./durable_flows.db"


def open_store(url_or_path: str | None = None) -> JournalStore:
    """Pick the store for a URL or path; the store opens itself on first use.

    Args:
        url_or_path: ``memory://`` for a :class:`MemoryStore`; ``sqlite:///path``
            (SQLAlchemy style: ``sqlite:////abs/path.db`` for an absolute path)
            or a plain file path for a :class:`SqliteStore`. ``None`` means the
            ``DURABLE_FLOWS_DB`` environment variable, else ``./durable_flows.db``.

    Raises:
        StoreOpenError: a ``postgresql://`` URL (not supported yet) or another
            unknown scheme.
    """
    target = url_or_path
    if target is None:
        target = os.environ.get("DURABLE_FLOWS_DB") or DEFAULT_DB_PATH
    if target == "memory://":
        return MemoryStore()
    if target.startswith("sqlite:///"):
        return SqliteStore(target[len("sqlite:///") :])
    scheme, sep, _ = target.partition("://")
    if sep and scheme.isidentifier():
        if scheme in ("postgresql", "postgres"):
            reason = "PostgreSQL support is not available yet; use a SQLite file path"
        else:
            reason = (
                f"unknown scheme {scheme + '://'!r}; use a file path, sqlite:///path or memory://"
            )
        raise StoreOpenError(target, reason)
    return SqliteStore(target)

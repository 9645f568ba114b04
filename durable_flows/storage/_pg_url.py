"""PostgreSQL URLs: the ``schema=`` option durable_flows adds, and redaction for messages.

Kept apart from ``postgres.py`` so that :func:`~durable_flows.storage.open_store`
can name a URL in an error without importing asyncpg.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# One entry of a search_path: a "quoted" name (with "" for ") or a plain one.
_SEARCH_PATH_ITEM = re.compile(r'\s*(?:"((?:[^"]|"")*)"|([^,]*?))\s*(?:,|$)')


def split_schema(dsn: str) -> tuple[str, str | None]:
    """Take a ``schema=NAME`` option out of a PostgreSQL URL: ``(url without it, NAME)``."""
    parts = urlsplit(dsn)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = None
    kept = []
    for key, value in query:
        if key == "schema":
            schema = value or None
        else:
            kept.append((key, value))
    if schema is None:
        return dsn, None
    return urlunsplit(parts._replace(query=urlencode(kept))), schema


def redact(dsn: str) -> str:
    """The URL with its password (if any) replaced by ``***``, for messages and logs."""
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def first_schema(search_path: str) -> str | None:
    """The first schema named in a ``search_path`` setting (``$user`` skipped), unquoted.

    >>> first_schema('"$user", public')
    'public'
    >>> first_schema('"My ""odd"" schema",public')
    'My "odd" schema'
    """
    for quoted, plain in _SEARCH_PATH_ITEM.findall(search_path):
        name = quoted.replace('""', '"') if quoted else plain
        if name and name != "$user":
            return name
    return None

"""The hash chain that makes a run's journal tamper-evident.

Every journal entry written by a store carries ``hash``: a digest of the
previous entry's hash and of all of the entry's columns (run id, seq, kind,
step, event type, payload as stored, time, codec). The store computes it in
its writer, in the same transaction as the row, and keeps the newest one in
``runs.chain_head``. Changing, deleting, inserting or reordering any entry
therefore breaks every later link, which ``durable_flows.audit.verify`` finds.

The digest is SHA-256, key-less, by default: it proves that a journal was not
altered by accident or by someone who did not bother to recompute the chain.
With a key in the environment variable :data:`KEY_ENV` it is an HMAC-SHA256
instead, which nobody without the key can recompute. Each hash says which it
is by its prefix (``s:`` or ``h:``).

Payloads are hashed as the exact text stored, never parsed: what a record
holds is the runtime's business, the chain only vouches for the bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable, Sequence

from .rows import JournalEntry

#: Environment variable holding the HMAC key (any text); unset: key-less SHA-256.
KEY_ENV = "DURABLE_FLOWS_JOURNAL_KEY"
#: The previous hash of a run's first entry, and of the first entry written
#: after entries journaled before chaining existed.
GENESIS = ""
PLAIN_PREFIX = "s:"
KEYED_PREFIX = "h:"


def chain_key() -> bytes | None:
    """The HMAC key from :data:`KEY_ENV`, or None when it is unset or empty."""
    value = os.environ.get(KEY_ENV)
    return value.encode() if value else None


def entry_digest_input(prev: str, entry: JournalEntry) -> bytes:
    """The bytes hashed for ``entry`` after an entry whose hash is ``prev``.

    Every text field is length-prefixed (``5:hello``) so that no two different
    rows give the same bytes, and None (``-``) differs from "" (``0:``). One
    f-string: this runs for every entry written, inside the writer's transaction.
    """
    run_id, seq, kind, step, event_type, payload, ts, codec = entry
    return (
        f"{len(prev)}:{prev}|{len(run_id)}:{run_id}|{seq}|{len(kind)}:{kind}|"
        f"{'-' if step is None else f'{len(step)}:{step}'}|"
        f"{'-' if event_type is None else f'{len(event_type)}:{event_type}'}|"
        f"{float(ts)!r}|{len(codec)}:{codec}|{len(payload)}:{payload}"
    ).encode()


def entry_hash(prev: str | None, entry: JournalEntry, key: bytes | None) -> str:
    """The chained hash of ``entry``; ``prev`` None (an unchained entry before it) counts as GENESIS."""
    data = entry_digest_input(prev or GENESIS, entry)
    if key is None:
        return PLAIN_PREFIX + hashlib.sha256(data).hexdigest()
    return KEYED_PREFIX + hmac.new(key, data, hashlib.sha256).hexdigest()


def chain_hashes(prev: str | None, entries: Sequence[JournalEntry], key: bytes | None) -> list[str]:
    """The hashes of consecutive ``entries`` following an entry whose hash is ``prev``."""
    out: list[str] = []
    for entry in entries:
        prev = entry_hash(prev, entry, key)
        out.append(prev)
    return out


def rechain(
    run_id: str, rows: Iterable[JournalEntry], key: bytes | None
) -> tuple[list[tuple[JournalEntry, str]], str | None]:
    """``rows`` moved to ``run_id`` with a fresh chain (a fork's copy); and the new head."""
    out: list[tuple[JournalEntry, str]] = []
    head: str | None = None
    for row in rows:
        entry = row._replace(run_id=run_id)
        head = entry_hash(head, entry, key)
        out.append((entry, head))
    return out, head

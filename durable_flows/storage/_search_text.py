"""How search text is split into words, the same for every store.

SQLite's FTS5 (tokenizer ``unicode61``) and PostgreSQL's ``simple``
configuration both cut text at anything that is not a letter or a digit and
ignore case; a query is the list of its words, all of which must occur. The
in-memory store matches with these same functions.
"""

from __future__ import annotations

import re
import unicodedata

from .rows import JournalEntry

_WORD = re.compile(r"[^\W_]+")

#: Kinds the search index leaves out: ``snapshot`` (a copy of the whole state),
#: ``accepted`` and ``completed`` (ids, attempt numbers, durations). The
#: migrations (0005_audit) spell the same list in their triggers and index;
#: storage/sqlite/search_index.py builds its SQL list from this set.
UNINDEXED_KINDS = frozenset({"snapshot", "accepted", "completed"})


def search_words(text: str, fold: bool = True) -> list[str]:
    """The words of ``text`` (runs of letters and digits), lower-cased and, with
    ``fold``, without diacritics (``Naïve`` -> ``naive``) as FTS5's unicode61
    sees them (PostgreSQL's ``simple`` configuration keeps them)."""
    return [_fold(w) if fold else w.lower() for w in _WORD.findall(text)]


def _fold(word: str) -> str:
    word = word.lower()
    if word.isascii():
        return word
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


def entry_text(entry: JournalEntry) -> str:
    """The text of an entry the search index holds."""
    return f"{entry.kind} {entry.step or ''} {entry.event_type or ''} {entry.payload}"


def fts5_query(words: list[str]) -> str:
    """An FTS5 MATCH expression requiring every word (each quoted: no query syntax)."""
    return " ".join(f'"{w}"' for w in words)


def snippet_of(text: str, words: list[str], width: int = 80) -> str:
    """A piece of ``text`` around the first of ``words`` found in it, words in [brackets]."""
    lower = text.lower()
    at = min((i for i in (lower.find(w) for w in words) if i >= 0), default=0)
    start = max(0, at - width // 3)
    piece = text[start : start + width]
    for w in sorted(set(words), key=len, reverse=True):
        piece = re.sub(rf"(?i)(?<![^\W_]){re.escape(w)}(?![^\W_])", lambda m: f"[{m[0]}]", piece)
    return ("…" if start else "") + piece + ("…" if start + width < len(text) else "")

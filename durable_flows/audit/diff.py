"""Align two runs' journals by step and event and find where they diverge.

Each journal entry is reduced to what two runs can share: its kind, step,
event type and payload without the fields that differ between any two runs
(execution ids, inbox ids, times, workers, sender origin, tracebacks);
snapshots and ``resumed`` entries, facts about processes, are left out. The
two lists are aligned with :class:`difflib.SequenceMatcher`; the first non-matching block
is the divergence: a fork from its origin diverges right after the fork
point, a run before and after a code change where the steps did something
else, two runs of the same input where a step's output differed.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import Any

#: Payload fields left out of the comparison: they differ between runs by nature
#: (ids, times, durations, which worker or process, who sent an outside event).
VOLATILE_FIELDS = frozenset(
    {"exec", "inbox", "worker", "origin", "deadline", "retry_in", "duration", "event_seq",
     "waiter_id", "op", "owner", "token", "rerun"}
)  # fmt: skip
#: Entries about the process rather than the run's history: not aligned at all.
SKIPPED_KINDS = frozenset({"snapshot", "resumed"})


def entry_key(entry: dict[str, Any]) -> tuple[Any, ...]:
    """What two runs' entries must share to count as the same step of history."""
    payload = entry.get("payload")
    if isinstance(payload, dict):
        payload = {k: v for k, v in payload.items() if k not in VOLATILE_FIELDS}
        if isinstance(payload.get("error"), dict):  # tracebacks name files and lines
            payload["error"] = {k: v for k, v in payload["error"].items() if k != "traceback"}
    return (
        entry.get("kind"),
        entry.get("step"),
        entry.get("event_type"),
        json.dumps(payload, sort_keys=True, default=str),
    )


@dataclass
class RunDiff:
    """Two runs aligned.

    Attributes:
        rows: One per aligned pair: ``(tag, a_entry, b_entry)`` where tag is
            ``same``, ``changed``, ``only_a`` or ``only_b`` and an entry is
            None on the side that has none.
        common: How many leading entries the two runs share.
        first: Index in ``rows`` of the first divergence (None: same history).
    """

    run_a: str
    run_b: str
    rows: list[tuple[str, dict[str, Any] | None, dict[str, Any] | None]] = field(default_factory=list)
    common: int = 0
    first: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        first = None
        if self.first is not None:
            tag, a, b = self.rows[self.first]
            first = {"tag": tag, "a": a, "b": b}
        return {
            "run_a": self.run_a,
            "run_b": self.run_b,
            "same": self.first is None,
            "common_prefix": self.common,
            "first_divergence": first,
            "rows": [
                {"tag": tag, "a_seq": a and a["seq"], "b_seq": b and b["seq"],
                 "kind": (a or b or {}).get("kind"), "step": (a or b or {}).get("step")}
                for tag, a, b in self.rows
            ],
        }  # fmt: skip


def diff_histories(
    run_a: str, history_a: list[dict[str, Any]], run_b: str, history_b: list[dict[str, Any]]
) -> RunDiff:
    """Align two histories (``JournalStore.history``; :data:`SKIPPED_KINDS` left out)."""
    a = [e for e in history_a if e["kind"] not in SKIPPED_KINDS]
    b = [e for e in history_b if e["kind"] not in SKIPPED_KINDS]
    keys_a, keys_b = [entry_key(e) for e in a], [entry_key(e) for e in b]
    diff = RunDiff(run_a, run_b)
    matcher = difflib.SequenceMatcher(None, keys_a, keys_b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            diff.rows += [("same", a[i], b[j]) for i, j in zip(range(i1, i2), range(j1, j2), strict=True)]
            continue
        if diff.first is None:
            diff.first = len(diff.rows)
        left, right = a[i1:i2], b[j1:j2]
        paired = min(len(left), len(right)) if tag == "replace" else 0
        diff.rows += [("changed", left[k], right[k]) for k in range(paired)]
        diff.rows += [("only_a", e, None) for e in left[paired:]]
        diff.rows += [("only_b", None, e) for e in right[paired:]]
    diff.common = diff.first if diff.first is not None else len(diff.rows)
    return diff

"""Error text for a shell user: the library's messages without Python in them.

The errors in ``durable_flows.errors`` speak to library users too, so some
suggest Python calls (``store.list_runs()``, ``wf.resume(run_id)``); the
command says what to type instead, and never prints an exception's class name.
"""

from __future__ import annotations

import re

from ..errors import LeaseHeldError, RunExistsError, RunNotFoundError

#: A sentence that suggests a Python call: ``store.x(...)``, ``wf.x(...)``, ``name()``.
_PYTHON_CALL = re.compile(r"\b(?:store|wf|workflow|handler|ctx)\.\w+\(|\b\w+\(\)|\(store\.\w+\)")


def shell_message(exc: BaseException) -> str:
    """What to print for ``exc`` (one line is made of it by the caller)."""
    if isinstance(exc, RunNotFoundError):
        return f"no run with id {exc.run_id!r} in this journal. `durable-flows runs` lists them"
    if isinstance(exc, RunExistsError):
        return (
            f"a run with id {exc.run_id!r} already exists in this journal (left as it was); "
            f"continue it with `durable-flows resume {exc.run_id} --workflow MODULE:CLASS`, or pick another id"
        )
    if isinstance(exc, LeaseHeldError):
        return (
            f"run {exc.run_id!r} is being executed by the live process {exc.owner!r} (lease valid for "
            f"another {exc.expires_in:.1f}s): send it events with `durable-flows send`, or resume it "
            "after that process stops"
        )
    text = str(exc) or exc.__class__.__doc__ or "failed"
    sentences = re.split(r"(?<=[.;])\s+", text)
    kept = [s for s in sentences if not _PYTHON_CALL.search(s)]
    return " ".join(kept or sentences).strip()

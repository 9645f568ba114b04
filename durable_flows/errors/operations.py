"""Errors of the operating tools: an optional extra not installed, archives that
cannot be written or imported, and full-text search queries."""

from __future__ import annotations

from .root import DurableFlowsError


class ExtraMissingError(DurableFlowsError, ImportError):
    """An optional part (the HTTP server, OpenTelemetry) was used without its extra installed."""

    def __init__(self, missing: str, extra: str) -> None:
        self.missing = missing
        self.extra = extra
        super().__init__(
            f"this needs {missing!r}, which is not installed; "
            f"install it with: pip install 'durable_flows[{extra}]'"
        )


class ArchiveError(DurableFlowsError):
    """An archive file cannot be written or read (gc deletes nothing then)."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(
            f"archive {path!r}: {reason}. Nothing was deleted or imported; fix the path "
            "or the file and run the command again."
        )


class ArchiveImportError(DurableFlowsError):
    """An archived run cannot be imported: the target journal already has it."""

    def __init__(self, run_id: str, detail: str) -> None:
        self.run_id = run_id
        super().__init__(
            f"cannot import run {run_id!r}: {detail}. Nothing was imported; import into "
            "a journal without this run (or delete it there first)."
        )


class SearchError(DurableFlowsError):
    """The search index cannot answer this query."""

    def __init__(self, query: str, reason: str) -> None:
        self.query = query
        super().__init__(
            f"cannot search for {query!r}: {reason}. Search for plain words (letters and digits)."
        )

"""Archives of runs: gzip-compressed JSON lines, written before ``gc`` deletes.

An archive holds, per run, its ``runs`` row, its journal entries (with their
chain hashes) and its inbox rows, exactly as stored, one JSON object per line:

    {"archive": "durable_flows", "version": 1}
    {"table": "runs", "row": {...}}
    {"table": "journal", "row": {...}}
    ...

Columns are those of ``storage.rows.ARCHIVE_COLUMNS``, in that order, for
every store, and the gzip header carries no time or name, so exporting the
same runs always gives the same bytes: an archive loaded into any journal
(SQLite or PostgreSQL) and exported again is identical to the original.
"""

from __future__ import annotations

import gzip
import io
import json
import os
from collections.abc import Callable, Collection, Iterator
from typing import IO, Any

from ..errors import ArchiveError
from ..storage import JournalStore
from ..storage.rows import ARCHIVE_COLUMNS, ArchivedRun

HEADER = {"archive": "durable_flows", "version": 1}


def _lines(runs: list[ArchivedRun]) -> Iterator[bytes]:
    for run in runs:
        for table, rows in (("runs", [run.run]), ("journal", run.journal), ("inbox", run.inbox)):
            for row in rows:
                ordered = {c: row.get(c) for c in ARCHIVE_COLUMNS[table]}
                yield _dump({"table": table, "row": ordered})


def _dump(value: Any) -> bytes:
    return (json.dumps(value, separators=(",", ":"), ensure_ascii=False) + "\n").encode()


class ArchiveWriter:
    """Writes an archive to ``path`` (a new file), batch by batch; ``close`` makes it durable."""

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            self._raw: IO[bytes] = open(path, "xb")  # noqa: SIM115 - closed in close()
        except FileExistsError:
            raise ArchiveError(path, "the file exists; choose a new path") from None
        except OSError as exc:
            raise ArchiveError(path, f"cannot create it ({exc.strerror or exc})") from exc
        self._gz = gzip.GzipFile(filename="", mode="wb", fileobj=self._raw, mtime=0)
        self._write([_dump(HEADER)])

    def _write(self, lines: Iterator[bytes] | list[bytes]) -> None:
        try:
            for line in lines:
                self._gz.write(line)
        except OSError as exc:
            raise ArchiveError(self.path, f"cannot write it ({exc.strerror or exc})") from exc

    def add(self, runs: list[ArchivedRun]) -> None:
        """Append runs."""
        self._write(_lines(runs))

    def close(self) -> None:
        """Finish the gzip stream, flush and fsync the file."""
        try:
            self._gz.close()
            self._raw.flush()
            os.fsync(self._raw.fileno())
        except OSError as exc:
            raise ArchiveError(self.path, f"cannot finish it ({exc.strerror or exc})") from exc
        finally:
            self._raw.close()


def write_archive(path: str, runs: list[ArchivedRun]) -> None:
    """Write ``runs`` to a new archive file at ``path``.

    Raises:
        ArchiveError: the file exists or cannot be written.
    """
    writer = ArchiveWriter(path)
    try:
        writer.add(runs)
    finally:
        writer.close()


def archive_bytes(runs: list[ArchivedRun]) -> bytes:
    """The bytes :func:`write_archive` would write for ``runs``."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as gz:
        gz.write(_dump(HEADER))
        for line in _lines(runs):
            gz.write(line)
    return buffer.getvalue()


def read_archive(path: str) -> list[ArchivedRun]:
    """The runs of an archive file, in the order written.

    Raises:
        ArchiveError: missing, not gzip, not an archive, or damaged.
    """
    runs: list[ArchivedRun] = []
    try:
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            first = json.loads(next(lines, "null"))
            if not isinstance(first, dict) or first.get("archive") != "durable_flows":
                raise ArchiveError(path, "not a durable_flows archive (no header line)")
            for number, line in enumerate(lines, start=2):
                record = json.loads(line)
                table, row = record.get("table"), record.get("row")
                if table == "runs":
                    runs.append(ArchivedRun(row, [], []))
                elif table in ("journal", "inbox") and runs and row.get("run_id") == runs[-1].run["run_id"]:
                    getattr(runs[-1], table).append(row)
                else:
                    raise ArchiveError(path, f"line {number} is not a row of the run before it")
    except FileNotFoundError:
        raise ArchiveError(path, "no such file") from None
    except (OSError, EOFError, ValueError, AttributeError) as exc:
        raise ArchiveError(path, f"damaged or not an archive ({exc})") from exc
    return runs


async def archive_and_delete(
    store: JournalStore,
    finished_before: float,
    path: str,
    *,
    batch_size: int = 100,
    progress: Callable[[str, int, int], None] | None = None,
    only: Collection[str] | None = None,
) -> list[str]:
    """Archive the runs ``delete_runs(finished_before, only=only)`` would delete, then delete those.

    The archive is written and fsynced in full before the first delete; if it
    fails nothing is deleted. Only runs that are in the archive are deleted
    (a run that changed since is kept by ``delete_runs``' own checks).

    Returns:
        The ids deleted, oldest first.

    Raises:
        ArchiveError: the archive cannot be written (nothing deleted).
    """
    candidates = await store.delete_runs(finished_before, dry_run=True, only=only)
    writer = ArchiveWriter(path)
    archived: list[str] = []
    try:
        for start in range(0, len(candidates), batch_size):
            runs = await store.dump_runs(candidates[start : start + batch_size])
            writer.add(runs)
            archived += [run.run["run_id"] for run in runs]
            if progress is not None:
                progress("archived", len(archived), len(candidates))
    finally:
        writer.close()

    def deleted(done: int, total: int) -> None:
        if progress is not None:
            progress("deleted", done, total)

    return await store.delete_runs(
        finished_before, batch_size=batch_size, progress=deleted, only=archived
    )


async def import_archive(store: JournalStore, path: str) -> list[str]:
    """Load every run of the archive at ``path`` into ``store`` (all or none); returns their ids.

    Raises:
        ArchiveError: the file cannot be read.
        ArchiveImportError: a run or inbox id is already in ``store``.
    """
    runs = read_archive(path)
    await store.load_runs(runs)
    return [run.run["run_id"] for run in runs]

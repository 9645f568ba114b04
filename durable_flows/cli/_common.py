"""What every command shares: the ``--db`` and ``--json`` options, opening the
journal, one-line errors, importing user code, and progress on a terminal."""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO, Any, TypeVar

import click

from ..errors import AmbiguousRunIdError, DurableFlowsError
from ..storage import DEFAULT_DB_PATH, JournalStore, RunInfo, open_store
from ..views import lookup
from ._errors import shell_message

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


#: Exit status of ``resume`` when the run ended failed, timed out or cancelled.
EXIT_RUN_UNSUCCESSFUL = 3


class CliError(click.ClickException):
    """A bad input or a refused operation: printed as ``Error: <one line>``, exit 1."""

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))


def one_line(message: object) -> str:
    """``message`` with all whitespace runs (newlines included) collapsed to one space."""
    return " ".join(str(message).split())


def db_option(fn: F) -> F:
    """The ``--db PATH`` option (default: ``$DURABLE_FLOWS_DB``, else ``./durable_flows.db``)."""
    return click.option(
        "--db",
        "db",
        envvar="DURABLE_FLOWS_DB",
        default=DEFAULT_DB_PATH,
        show_default=True,
        show_envvar=True,
        metavar="PATH",
        help="Journal database file (or sqlite:///path).",
    )(fn)


def json_option(fn: F) -> F:
    """The ``--json`` flag: print machine-readable JSON instead of tables."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(fn)


def create_option(fn: F) -> F:
    """The ``--create`` flag of commands that write: start a new journal if there is none."""
    return click.option(
        "--create",
        is_flag=True,
        help="Create the journal (file or PostgreSQL schema) if it does not exist yet.",
    )(fn)


def db_file(db: str) -> str | None:
    """The file behind a ``--db`` value, or None for ``memory://``."""
    if db == "memory://" or db.startswith(("postgresql://", "postgres://")):
        return None
    return db[len("sqlite:///") :] if db.startswith("sqlite:///") else db


def existing_store(db: str, *, write: bool = False, create: bool = False) -> JournalStore:
    """A store on the journal at ``db``; never creates one unless ``create``.

    Commands that only read (``write=False``) open it read-only: nothing is
    created, migrated or written, and a database that is not a durable_flows
    journal is refused. Commands that write may migrate an older journal.

    Raises:
        CliError: the file does not exist (and ``create`` is false) or is a directory.
    """
    path = db_file(db)
    if path is not None:
        if not os.path.exists(path) and not create:
            hint = " or --create to start a new journal" if write else ""
            raise CliError(
                f"no journal database at {path!r}: pass --db PATH or set DURABLE_FLOWS_DB{hint} "
                "(nothing was created)"
            )
        if os.path.isdir(path):
            raise CliError(f"--db {path!r} is a directory, not a journal database file")
    try:
        return open_store(db, read_only=not write, create=create)
    except DurableFlowsError as exc:
        raise CliError(shell_message(exc)) from exc


def run_with_store(
    db: str, work: Callable[[JournalStore], Awaitable[T]], *, write: bool = False, create: bool = False
) -> T:
    """Open the journal at ``db``, run ``work(store)`` on a fresh event loop, close it.

    The journal is opened read-only unless ``write`` (see :func:`existing_store`).
    """

    async def main() -> T:
        store = existing_store(db, write=write, create=create)
        try:
            await store.open()
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(main())


async def find_run(store: JournalStore, run_id: str) -> RunInfo:
    """The run ``run_id`` names (see :func:`durable_flows.views.lookup.find_run`).

    Raises:
        RunNotFoundError: no run has that id or prefix.
        CliError: several runs start with it.
    """
    try:
        return await lookup.find_run(store, run_id)
    except AmbiguousRunIdError as exc:
        raise CliError(str(exc)) from exc


def check_output_dir(path: Path | None) -> None:
    """Refuse, before any work, an output file whose folder does not exist.

    Raises:
        CliError: naming the missing folder.
    """
    if path is not None and not path.resolve().parent.is_dir():
        raise CliError(f"cannot write {str(path)!r}: the folder {str(path.resolve().parent)!r} does not exist")


def echo_json(value: Any) -> None:
    """Print ``value`` as indented JSON (non-JSON values as their text)."""
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def import_object(spec: str, what: str) -> Any:
    """The object named by ``module:attr`` or ``module.attr`` (cwd is importable).

    Raises:
        CliError: the module or attribute cannot be found or fails to import.
    """
    from ..codec.names import import_qualified

    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        if ":" in spec:
            module_name, _, attr = spec.partition(":")
            if not module_name or not attr:
                raise ImportError("expected module:Name")
            obj: Any = importlib.import_module(module_name)
            for part in attr.split("."):
                obj = getattr(obj, part)
            return obj
        if "." not in spec:
            raise ImportError("expected module:Name or module.Name")
        return import_qualified(spec)
    except (ImportError, AttributeError, ValueError) as exc:
        raise CliError(f"cannot import {what} {spec!r}: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - the user's module raised while importing
        raise CliError(f"importing {what} {spec!r} failed: {exc or exc.__class__.__doc__}") from exc


def load_workflow(spec: str, store: JournalStore) -> Any:
    """A Workflow instance from ``module:Class`` (or an instance there), journaling to ``store``.

    Raises:
        CliError: ``spec`` does not name a Workflow class or instance.
    """
    from ..workflow import Workflow

    obj = import_object(spec, "workflow")
    if isinstance(obj, type) and issubclass(obj, Workflow):
        try:
            obj = obj()
        except Exception as exc:  # noqa: BLE001 - the user's constructor
            raise CliError(f"cannot create workflow {spec!r}: {exc or exc.__class__.__doc__}") from exc
    if not isinstance(obj, Workflow):
        raise CliError(f"{spec!r} is not a durable_flows Workflow class or instance")
    obj._store = store  # the journal the command was pointed at, whatever the code says
    return obj


class Progress:
    """One status line, rewritten in place on a terminal; silent otherwise.

    Args:
        stream: Where to write (default stderr, so stdout stays clean for data).
        enabled: Force on or off; default: whether ``stream`` is a terminal.
    """

    #: Seconds between redraws: a busy run changes state far faster than anyone reads.
    interval = 0.1

    def __init__(self, stream: IO[str] | None = None, enabled: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self._shown = False
        self._drawn_at = -1.0

    def update(self, text: str) -> None:
        """Replace the status line with ``text`` (at most every :attr:`interval` seconds)."""
        now = time.monotonic()
        if self.enabled and now - self._drawn_at >= self.interval:
            self.stream.write("\r\x1b[2K" + text[:200])
            self.stream.flush()
            self._shown = True
            self._drawn_at = now

    def note(self, text: str) -> None:
        """Print a lasting line above the status line (terminal only)."""
        if self.enabled:
            self.stream.write("\r\x1b[2K" + text + "\n")
            self.stream.flush()

    def close(self) -> None:
        """Clear the status line."""
        if self.enabled and self._shown:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
            self._shown = False

"""The ``durable-flows`` command: audit and operate runs from the shell.

Every command takes ``--db PATH`` (default ``$DURABLE_FLOWS_DB``, else
``./durable_flows.db``) and ``--json``, and prints tables for people or, with
``--json``, data for scripts. Commands that only read open the journal
read-only; commands that write never create one unless ``--create``. Bad
input ends the command with one line on stderr and exit status 1 (2 for
usage errors); ``resume`` exits 3 when a run ended failed, timed out or
cancelled; ``check`` exits 4 when it found no run to judge.

The top layer: one module per command, shared options and errors in
``_common``/``_errors``. May import everything in durable_flows (the server
only to serve it); nothing in durable_flows imports it.
"""

from __future__ import annotations

from typing import Any

import click

from ..errors import DurableFlowsError
from ._common import CliError
from ._errors import shell_message

__all__ = ["main"]


class _Group(click.Group):
    """Turns the package's own errors into one-line messages instead of tracebacks."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DurableFlowsError as exc:
            raise CliError(shell_message(exc)) from exc


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="durable_flows", prog_name="durable-flows")
def main() -> None:
    """Inspect and operate durable_flows runs journaled in a SQLite file."""


def _register() -> None:
    from . import (
        audit,
        cancel,
        check,
        draw,
        export,
        gc,
        migrate,
        operate,
        report,
        resume,
        running,
        runs,
        serve,
        show,
        worker,
    )

    for module in (runs, show, operate, cancel, resume, running, export, draw, report, gc, check, worker, migrate, serve, audit):
        for command in module.COMMANDS:
            main.add_command(command)


_register()

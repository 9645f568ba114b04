"""The ``durable-flows`` command: audit and operate runs from the shell.

Every command takes ``--db PATH`` (default ``$DURABLE_FLOWS_DB``, else
``./durable_flows.db``) and prints tables for people or, with ``--json``,
data for scripts. Bad input ends the command with one line on stderr and exit
status 1 (2 for usage errors); ``resume`` exits 3 when the run ended failed,
timed out or cancelled.
"""

from __future__ import annotations

from typing import Any

import click

from ..errors import DurableFlowsError
from ._common import CliError

__all__ = ["main"]


class _Group(click.Group):
    """Turns the package's own errors into one-line messages instead of tracebacks."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DurableFlowsError as exc:
            raise CliError(str(exc)) from exc


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="durable_flows", prog_name="durable-flows")
def main() -> None:
    """Inspect and operate durable_flows runs journaled in a SQLite file."""


def _register() -> None:
    from . import audit, check, draw, export, gc, operate, report, running, runs, show, worker

    for module in (runs, show, operate, running, export, draw, report, gc, check, worker, audit):
        for command in module.COMMANDS:
            main.add_command(command)


_register()

"""Choosing runs for bulk work: run ids (or unique prefixes) and filters.

``cancel``, ``resume`` and ``gc`` take several run ids and the filters
``--status``, ``--workflow`` and ``--before``, and ``--dry-run`` to list what
they would act on without acting.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from ..storage import FINISHED_STATUSES, JournalStore, RunInfo
from ..storage.run_state import ALL_STATES
from ..storage.store_helpers import workflow_matches
from ..views.format import parse_when
from ._common import find_run

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Selection:
    """Run ids (or prefixes) named on the command line, and the filters."""

    run_ids: tuple[str, ...] = ()
    states: frozenset[str] | None = None
    workflow: str | None = None
    before: float | None = None

    @property
    def filtered(self) -> bool:
        return self.states is not None or self.workflow is not None or self.before is not None

    def empty(self) -> bool:
        return not self.run_ids and not self.filtered


def selection_options(states: Collection[str] = tuple(sorted(ALL_STATES)), workflow: bool = True) -> Callable[[F], F]:
    """``--status`` (repeatable), ``--workflow`` and ``--before WHEN``."""

    def wrap(fn: F) -> F:
        fn = click.option("--before", "before", metavar="WHEN",
                          help="Only runs whose last activity is before WHEN (ISO date/time or 7d, 12h).")(fn)
        if workflow:
            fn = click.option("--workflow", "workflow_filter", metavar="NAME",
                              help="Only runs of this workflow (full name, or its class name).")(fn)
        return click.option("--status", "states", multiple=True, type=click.Choice(sorted(states)),
                            help="Only runs in this state (repeatable; see `runs`).")(fn)

    return wrap


def make_selection(
    run_ids: tuple[str, ...], states: tuple[str, ...], workflow: str | None, before: str | None
) -> Selection:
    return Selection(run_ids, frozenset(states) if states else None, workflow, parse_when(before) if before else None)


async def select_runs(store: JournalStore, sel: Selection, *, finished: bool | None = None) -> list[RunInfo]:
    """The runs ``sel`` names: each id (or prefix) given, then, when filters are
    given, every run matching all of them (among the ids, when ids are given).

    Args:
        finished: Keep only finished (True) or unfinished (False) runs found by
            filters; runs named by id are kept whatever their status.

    Raises:
        RunNotFoundError, CliError: an id matches no run, or several.
    """
    named = [await find_run(store, r) for r in sel.run_ids]
    pool = named if sel.run_ids else await store.list_runs()
    if not sel.filtered:
        return _unique(named)
    found = []
    for info in pool:
        if sel.states is not None and info.state not in sel.states:
            continue
        if sel.workflow is not None and not workflow_matches(info.workflow, sel.workflow):
            continue
        if sel.before is not None and info.updated_at >= sel.before:
            continue
        if finished is not None and (info.status in FINISHED_STATUSES) != finished and not sel.run_ids:
            continue
        found.append(info)
    return _unique(found)


def _unique(infos: list[RunInfo]) -> list[RunInfo]:
    seen: set[str] = set()
    out = []
    for info in infos:
        if info.run_id not in seen:
            seen.add(info.run_id)
            out.append(info)
    return out

"""``durable-flows migrate``: bring a journal to this code's schema (or create one with --create)."""

from __future__ import annotations

import click

from ..storage import JournalStore
from ._common import create_option, db_option, echo_json, json_option, run_with_store


@click.command("migrate")
@db_option
@create_option
@json_option
def migrate_command(db: str, create: bool, as_json: bool) -> None:
    """Apply the schema migrations a journal lacks. Commands that only read
    never migrate; this one (like every command that writes) does. With
    --create, a missing journal is created."""

    async def work(store: JournalStore) -> str:
        return getattr(store, "path", db)

    where = run_with_store(db, work, write=True, create=create)
    if as_json:
        echo_json({"db": where, "migrated": True})
        return
    click.echo(f"journal {where} is at the current schema")


COMMANDS = [migrate_command]

"""``durable-flows worker``: a long-running process that executes runs from a shared store."""

from __future__ import annotations

import asyncio
import logging
import signal

import click

from ..worker import Worker
from ._common import create_option, db_option, existing_store, load_workflow


@click.command()
@click.option("--workflow", "workflows", multiple=True, required=True, metavar="MODULE:CLASS",
              help="A workflow whose runs this worker executes (repeatable).")
@click.option("--concurrency", default=8, show_default=True, help="Most runs executed at once.")
@click.option("--grace", default=10.0, show_default=True,
              help="Seconds to let runs finish on SIGTERM before releasing them.")
@db_option
@create_option
def worker(workflows: tuple[str, ...], concurrency: int, grace: float, db: str, create: bool) -> None:
    """Claim and execute runs (submitted, resumable, or orphaned) until SIGTERM.

    Runs that wait for input are released at once and picked up again, by any
    worker, when input arrives. On SIGTERM or SIGINT the worker stops claiming,
    lets running runs finish for up to --grace seconds, then releases the rest.
    A --db that names no journal is refused (not created) unless --create.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    async def serve() -> Worker:
        store = existing_store(db, write=True, create=create)
        await store.open()  # a mistyped --db fails here, before the worker idles on it
        w = Worker([load_workflow(spec, store) for spec in workflows], store=store, concurrency=concurrency)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            await w.run(stop, grace=grace)
        finally:
            await store.close()
        return w

    done = asyncio.run(serve())
    click.echo(f"worker stopped: {done.finished} runs finished, {done.parked} released while waiting")


COMMANDS = [worker]

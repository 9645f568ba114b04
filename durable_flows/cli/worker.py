"""``durable-flows worker``: a long-running process that executes runs from a shared store."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys

import click

from ..ops.supervisor import (
    Supervisor,
    bind_to_supervisor,
    signal_ready,
    stop_requested,
    watch_parent,
)
from ..ops.worker import Worker
from ._common import create_option, db_option, echo_json, existing_store, json_option, load_workflow
from ._worker_watch import configure_logging, serve_health, write_health_file


@click.command()
@click.option("--workflow", "workflows", multiple=True, required=True, metavar="MODULE:CLASS",
              help="A workflow whose runs this worker executes (repeatable).")
@click.option("--concurrency", default=8, show_default=True, help="Most runs executed at once.")
@click.option("--grace", default=10.0, show_default=True,
              help="Seconds to let runs finish on SIGTERM before releasing them.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Log lines on stderr: for people, or one JSON object per line for machines.")
@click.option("--health-file", metavar="PATH",
              help="Rewrite PATH every second with the worker's health as JSON (ts, pid, counts).")
@click.option("--health-port", type=click.IntRange(min=0, max=65535), metavar="PORT",
              help="Answer HTTP requests on 127.0.0.1:PORT with the worker's health as JSON.")
@click.option("--supervise/--single-process", default=True, show_default=True,
              help="Run the worker in a child process that is restarted when it dies, and record "
              "how it died for the runs it held; or run it in this process only.")
@db_option
@create_option
@json_option
def worker(
    workflows: tuple[str, ...], concurrency: int, grace: float, log_format: str, health_file: str | None,
    health_port: int | None, supervise: bool, db: str, create: bool, as_json: bool,
) -> None:  # fmt: skip
    """Claim and execute runs (submitted, resumable, or orphaned) until SIGTERM.

    Runs that wait for input are released at once and picked up again, by any
    worker, when input arrives. On SIGTERM or SIGINT the worker stops claiming,
    lets running runs finish for up to --grace seconds, then releases the rest.
    A --db that names no journal is refused (not created) unless --create.
    It logs one line per event (start, claim, park, finish, failure,
    shutdown) on stderr; --json prints the final counts as JSON on stdout.

    Supervised (the default), the worker runs in a child process: when the
    child dies it is restarted (with a growing delay if it keeps dying young)
    and how it died (signal or exit status, and a fatal error's traceback) is
    recorded, so that each run it held says so in its resumed record (see
    `show`). SIGTERM/SIGINT stop the child gracefully and restart nothing.
    """
    configure_logging(log_format)
    if supervise:
        argv = [sys.executable, "-m", "durable_flows.cli", "worker", "--single-process",
                "--concurrency", str(concurrency), "--grace", repr(grace), "--log-format", log_format, "--db", db]
        for spec in workflows:
            argv += ["--workflow", spec]
        argv += ["--health-file", health_file] if health_file else []
        argv += ["--health-port", str(health_port)] if health_port is not None else []
        argv += ["--create"] * create + ["--json"] * as_json
        raise SystemExit(asyncio.run(_supervise(argv, db, create, grace)))
    parent = bind_to_supervisor()

    async def serve() -> Worker:
        store = existing_store(db, write=True, create=create)
        await store.open()  # a mistyped --db fails here, before the worker idles on it
        w = Worker([load_workflow(spec, store) for spec in workflows], store=store, concurrency=concurrency)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        watchers = []
        if parent is not None:
            if stop_requested():
                stop.set()
            signal_ready()
            watchers.append(asyncio.create_task(watch_parent(parent, stop)))
        if health_file:
            watchers.append(asyncio.create_task(write_health_file(health_file, w.status)))
        server = await serve_health(health_port, w.status) if health_port is not None else None
        try:
            await w.run(stop, grace=grace)
        finally:
            for task in watchers:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if server is not None:
                server.close()
            await store.close()
        return w

    done = asyncio.run(serve())
    if as_json:
        echo_json({k: v for k, v in done.status().items() if k != "active_runs"})
        return
    click.echo(f"worker stopped: {done.finished} runs finished, {done.failed} failed, "
               f"{done.parked} released while waiting")  # fmt: skip


async def _supervise(argv: list[str], db: str, create: bool, grace: float) -> int:
    store = existing_store(db, write=True, create=create)
    try:
        await store.open()  # a mistyped --db fails here, in one line, before any child starts
    finally:
        await store.close()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return await Supervisor(argv, lambda: existing_store(db, write=True, create=create), grace).run(stop)


COMMANDS = [worker]

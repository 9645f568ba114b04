"""``durable-flows serve``: the HTTP API (llama-agents-server's) and the live web view."""

from __future__ import annotations

import click

from ._common import CliError, db_option, echo_json, json_option, load_workflow


def _named(spec: str) -> tuple[str, str]:
    """``name=module:Class`` -> (name, module:Class); a bare ``module:Class`` is named by its class."""
    name, sep, target = spec.partition("=")
    if not sep:
        target = spec
        name = spec.replace(":", ".").rsplit(".", 1)[-1]
    if not name or not target:
        raise CliError(f"--workflow {spec!r}: expected NAME=module:Class (or module:Class)")
    return name, target


@click.command("serve")
@click.option("--workflow", "workflows", multiple=True, required=True, metavar="NAME=MODULE:CLASS",
              help="A workflow served under NAME (repeatable); NAME defaults to the class name.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option("--concurrency", default=8, show_default=True, help="Most runs executed at once by this process.")
@click.option("--no-worker", is_flag=True, help="Only answer requests; `durable-flows worker` processes execute runs.")
@click.option("--otel", is_flag=True,
              help="Trace and measure runs with OpenTelemetry (needs durable_flows[otel] and an SDK configured).")
@db_option
@json_option
def serve_command(
    workflows: tuple[str, ...], host: str, port: int, concurrency: int, no_worker: bool, otel: bool, db: str,
    as_json: bool,
) -> None:
    """Serve workflows over HTTP with the API of llama-agents-server (so its
    WorkflowClient works unchanged) and a live web view of the runs at /.

    Runs live in the journal: stop or kill the server, start it again (or
    another one on the same PostgreSQL database) and every run, its result
    and its event stream continue where they were.
    """
    try:
        import uvicorn
    except ImportError as exc:
        raise CliError("serve needs the server extra: pip install 'durable_flows[server]'") from exc
    from ..server import create_app
    from ..storage import open_store

    store = open_store(db)
    served = {}
    for spec in workflows:
        name, target = _named(spec)
        if name in served:
            raise CliError(f"--workflow: the name {name!r} is given twice; give each workflow its own NAME=")
        served[name] = load_workflow(target, store)
    if otel:
        from ..otel import instrument

        instrument()
    app = create_app(served, store, concurrency=concurrency, run_worker=not no_worker)
    url = f"http://{host}:{port}"
    if as_json:  # one line a supervisor can parse: what is served where
        echo_json({"url": url, "workflows": sorted(served), "web_view": url + "/", "worker": not no_worker})
    else:
        click.echo(f"serving {', '.join(served)} on {url} (web view at /)", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", lifespan="on")


COMMANDS = [serve_command]

"""``durable-flows draw MODULE:CLASS``: a workflow's graph as Mermaid, SVG or HTML."""

from __future__ import annotations

from typing import IO

import click

from ..graph.svg import esc, legend_svg
from ..representation import FlowGraph, get_workflow_graph
from ..views.page import page
from ._common import echo_json, import_object


def graph_html(graph: FlowGraph, direction: str) -> str:
    """A self-contained page with the graph as inline SVG and its Mermaid source."""
    body = (
        f"<h1>{esc(graph.name)}</h1>"
        f'<p class="sub">{sum(n.kind == "step" for n in graph.nodes)} steps · '
        f"{sum(n.kind not in ('step', 'resource', 'human', 'outside') for n in graph.nodes)} event types</p>"
        f'<section><div class="legend">{legend_svg([n.kind for n in graph.nodes])}</div>'
        f'<div class="scroll">{graph.to_svg(direction=direction, standalone=False)}</div></section>'
        f"<section><details><summary>Mermaid source</summary><pre>{esc(graph.to_mermaid())}</pre>"
        "</details></section>"
    )
    return page(f"{graph.name}: workflow graph", body)


@click.command("draw")
@click.argument("workflow_spec", metavar="MODULE:CLASS")
@click.option("--format", "fmt", type=click.Choice(["mermaid", "html", "svg"]), default="mermaid", show_default=True)
@click.option("--direction", type=click.Choice(["LR", "TB"]), default="LR", show_default=True,
              help="Layout of the html and svg drawings: left to right or top to bottom.")
@click.option("-o", "--output", type=click.File("w", encoding="utf-8"), default="-", help="Write to FILE instead of stdout.")
@click.option("--json", "as_json", is_flag=True, help="Print the graph's nodes and edges as JSON.")
@click.option("--db", hidden=True, help="Accepted like every command's, but draw reads no journal.")
def draw_command(
    workflow_spec: str, fmt: str, direction: str, output: IO[str], as_json: bool, db: str | None
) -> None:
    """Draw a workflow's graph: steps, events, start and stop, human input and
    resources. Needs no journal (--db is not used)."""
    target = import_object(workflow_spec, "workflow")
    try:
        graph = get_workflow_graph(target)
    except TypeError as exc:
        raise click.ClickException(f"{workflow_spec!r} is not a durable_flows Workflow class or instance") from exc
    if as_json:
        echo_json(graph.to_dict())
        return
    if fmt == "mermaid":
        output.write(graph.to_mermaid())
    elif fmt == "svg":
        output.write(graph.to_svg(direction=direction) + "\n")
    else:
        output.write(graph_html(graph, direction))


COMMANDS = [draw_command]

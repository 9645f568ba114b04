"""The side-by-side view of two runs (``diff --html``, ``report --compare``)."""

from __future__ import annotations

from typing import Any

from ..audit.diff import RunDiff
from ..graph.svg import esc
from ..views.format import entry_detail
from ..views.page import page

_ROW_STYLE = {
    "same": "",
    "changed": ' style="background:#fef3c7"',
    "only_a": ' style="background:#fee2e2"',
    "only_b": ' style="background:#dcfce7"',
}
_TAG_TEXT = {"same": "", "changed": "differs", "only_a": "only left", "only_b": "only right"}


def _cells(entry: dict[str, Any] | None) -> str:
    if entry is None:
        return "<td></td><td></td><td></td>"
    return (
        f'<td class="num">{entry["seq"]}</td><td>{esc(entry["kind"])}'
        f'{" · " + esc(entry["step"]) if entry.get("step") else ""}</td>'
        f'<td class="mono">{esc(entry_detail(entry, 110))}</td>'
    )


def diff_section(diff: RunDiff) -> str:
    """An HTML section: the two journals aligned, divergences highlighted."""
    if diff.first is None:
        summary = f"Same history: {len(diff.rows)} entries align one to one."
    else:
        summary = (
            f"The runs share their first {diff.common} entries; the first divergence is "
            f'<a href="#d{diff.first}">row {diff.first + 1}</a>.'
        )
    rows = []
    for i, (tag, a, b) in enumerate(diff.rows):
        anchor = f' id="d{i}"' if i == diff.first else ""
        rows.append(f"<tr{anchor}{_ROW_STYLE[tag]}>{_cells(a)}<td>{_TAG_TEXT[tag]}</td>{_cells(b)}</tr>")
    head = (
        f'<tr><th colspan="3">{esc(diff.run_a)}</th><th></th><th colspan="3">{esc(diff.run_b)}</th></tr>'
        "<tr><th>seq</th><th>entry</th><th>detail</th><th></th><th>seq</th><th>entry</th><th>detail</th></tr>"
    )
    return (
        f"<section><h2>{esc(diff.run_a)} beside {esc(diff.run_b)}</h2>"
        f'<p class="sub">{summary}</p><div class="scroll tall"><table>'
        f"<thead>{head}</thead><tbody>{''.join(rows)}</tbody></table></div></section>"
    )


def diff_html(diff: RunDiff) -> str:
    """A whole page holding :func:`diff_section`."""
    return page(f"{diff.run_a} vs {diff.run_b}", f"<h1>{esc(diff.run_a)} vs {esc(diff.run_b)}</h1>\n{diff_section(diff)}")

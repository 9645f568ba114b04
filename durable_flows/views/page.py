"""The HTML page around ``draw --format html`` and ``report``: one file, no external resources.

No scripts, fonts, images or style sheets are fetched: styles are inline
and every drawing is inline SVG. Text goes through :func:`esc`, which also
writes ``://`` as an entity, so not even user data puts a URL in the file.
"""

from __future__ import annotations

from ..graph.svg import FONT, esc

CSS = f"""
:root {{ color-scheme: light; }}
body {{ font-family: {FONT}; margin: 0; background: #f6f7f9; color: #1f2937; font-size: 14px; }}
main {{ max-width: 1320px; margin: 0 auto; padding: 20px 24px 48px; }}
h1 {{ font-size: 20px; margin: 0 0 4px; }}
h2 {{ font-size: 15px; margin: 0 0 10px; color: #111827; }}
section {{ background: #fff; border: 1px solid #e5e7eb; border-radius: 8px; padding: 14px 16px; margin-top: 16px; }}
.sub {{ color: #4b5563; margin: 2px 0; }}
.facts {{ display: flex; flex-wrap: wrap; gap: 8px 22px; margin-top: 10px; }}
.facts div {{ min-width: 90px; }}
.facts b {{ display: block; font-size: 11px; color: #6b7280; font-weight: 600; text-transform: uppercase; letter-spacing: .03em; }}
.badge {{ display: inline-block; padding: 1px 9px; border-radius: 10px; font-size: 12px; font-weight: 600; vertical-align: 2px; }}
.completed {{ background: #dcfce7; color: #166534; }} .failed, .timed_out {{ background: #fee2e2; color: #991b1b; }}
.waiting {{ background: #fef3c7; color: #92400e; }} .running {{ background: #dbeafe; color: #1e40af; }}
.cancelled {{ background: #f3e8ff; color: #6b21a8; }}
.scroll {{ overflow-x: auto; }}
table {{ border-collapse: collapse; width: 100%; font-size: 12.5px; }}
th {{ text-align: left; color: #6b7280; font-weight: 600; border-bottom: 1px solid #e5e7eb; padding: 4px 8px; position: sticky; top: 0; background: #fff; }}
td {{ border-bottom: 1px solid #f1f5f9; padding: 3px 8px; vertical-align: top; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
td.mono, pre, code {{ font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }}
tr.out td {{ background: #fafafa; }}
.tall {{ max-height: 560px; overflow-y: auto; }}
pre {{ background: #0f172a; color: #e2e8f0; padding: 10px 12px; border-radius: 6px; overflow-x: auto; white-space: pre-wrap; }}
.error {{ color: #991b1b; font-weight: 600; }}
details > summary {{ cursor: pointer; color: #374151; font-weight: 600; margin: 6px 0; }}
.legend {{ display: flex; gap: 16px; flex-wrap: wrap; align-items: center; color: #4b5563; font-size: 12px; margin: 6px 0 2px; }}
.sw {{ display: inline-block; width: 22px; height: 10px; border-radius: 2px; vertical-align: -1px; margin-right: 5px; }}
"""


def page(title: str, body: str) -> str:
    """A complete HTML document with the shared styles."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head>\n"
        f"<body><main>\n{body}\n</main></body></html>\n"
    )

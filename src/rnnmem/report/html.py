"""Self-contained HTML pages: one file that opens offline and can be mailed or archived.

Images are inlined as base64 data URIs and the CSS sits in a <style> element; there are
no fonts or links to anything outside the file, and the only script is plotly.js, inlined
in the interactive pages (`rnnmem.report.interactive`). Every piece of text goes
through `html.escape`, since unit names, corpus paths and error messages come from users.
"""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #222;
       max-width: 1100px; margin: 2em auto; padding: 0 1em; line-height: 1.45; }
h1 { border-bottom: 2px solid #0072B2; padding-bottom: .2em; }
h2 { margin-top: 1.8em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .6em 0 1.2em; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: right; vertical-align: top; }
th { background: #f2f5f8; text-align: center; }
td:first-child, th:first-child { text-align: left; font-weight: 600; }
td.text { text-align: left; font-weight: normal; }
figure { margin: 1em 0 2em; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption, .note { color: #555; font-size: .93em; }
.rec { font-size: 1.05em; }
code { background: #f4f4f4; padding: 0 .2em; }
"""


def data_uri(path: str | Path) -> str:
    """A PNG file as a data: URI, so the page carries its images."""
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def table(header: list[str], rows: list[list], text_columns: tuple[int, ...] = ()) -> str:
    """An HTML table of plain-text cells (escaped); columns in ``text_columns`` are left-aligned prose."""
    head = "".join(f"<th>{escape(str(h))}</th>" for h in header)
    body = []
    for row in rows:
        cells = "".join(f'<td class="text">{escape(str(c))}</td>' if j in text_columns and j else
                        f"<td>{escape(str(c))}</td>" for j, c in enumerate(row))
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def page(title: str, body: str, links: dict[str, str] | None = None) -> str:
    """A complete HTML document around ``body`` (already-escaped HTML); ``links`` (text -> relative address) are
    the pages written beside this one, listed under the title."""
    nav = " · ".join(f'<a href="{escape(address, quote=True)}">{escape(text)}</a>' for text, address in
                     (links or {}).items())
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{CSS}</style></head>\n"
            f"<body><h1>{escape(title)}</h1>\n" + (f'<nav class="note">See also: {nav}</nav>\n' if nav else "") +
            f"{body}\n</body></html>\n")

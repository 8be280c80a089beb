"""Self-contained HTML pages: one file that opens offline and can be mailed or archived.

Images are inlined as base64 data URIs and the CSS sits in a <style> element; there are
no scripts, fonts or links to anything outside the file. Every piece of text goes
through `html.escape`, since unit names, corpus paths and error messages come from users.
"""

from __future__ import annotations

import base64
import re
from html import escape
from pathlib import Path

from rnnmem.report.markdown import _num

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


def table(header: list[str], rows: list[list], text_columns: tuple[int, ...] = (), render=None) -> str:
    """An HTML table; columns in ``text_columns`` are left-aligned prose.

    ``render`` turns a cell's value into HTML; the default escapes it as plain text.
    """
    render = render or (lambda value: escape(str(value)))
    head = "".join(f"<th>{render(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = "".join(f'<td class="text">{render(c)}</td>' if j in text_columns and j else
                        f"<td>{render(c)}</td>" for j, c in enumerate(row))
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def figure(title: str, text: str, path: str | Path) -> str:
    """A figure with its heading and a paragraph on what to read from it."""
    return (f"<h3>{escape(title)}</h3><p>{escape(text)}</p><figure>"
            f'<img src="{data_uri(path)}" alt="{escape(title, quote=True)}">'
            f"<figcaption>{escape(Path(path).name)}</figcaption></figure>")


def page(title: str, body: str) -> str:
    """A complete HTML document around ``body`` (already-escaped HTML)."""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{CSS}</style></head>\n"
            f"<body><h1>{escape(title)}</h1>\n{body}\n</body></html>\n")


def markdown_body(text: str, image_dir: str | Path) -> str:
    """HTML for the Markdown rnnmem writes itself (headings, pipe tables, bullets, images, paragraphs).

    Not a general Markdown parser: it covers exactly the constructs of `render_markdown`,
    with images read from ``image_dir`` and inlined. The first-level heading is left to `page`.
    """
    out, bullets, rows = [], [], []

    def flush():
        if bullets:
            out.append("<ul>" + "".join(f"<li>{item}</li>" for item in bullets) + "</ul>")
            bullets.clear()
        if rows:
            cells = [[c.strip() for c in r.strip().strip("|").split("|")] for r in rows if not set(r) <= set("|:- ")]
            out.append(table(cells[0], cells[1:], render=_inline))
            rows.clear()

    for line in text.splitlines():
        image = re.fullmatch(r"!\[(.*)\]\((.+\.png)\)", line.strip())
        if line.startswith("|"):
            rows.append(line)
            continue
        if line.startswith("- ") or (line.startswith("  ") and bullets):
            if line.startswith("- "):
                bullets.append(_inline(line[2:]))
            else:
                bullets[-1] += " " + _inline(line.strip())
            continue
        flush()
        if line.startswith("# "):
            continue
        if line.startswith("## "):
            out.append(f"<h2>{_inline(line[3:])}</h2>")
        elif image and (Path(image_dir) / image.group(2)).exists():
            out.append(f'<figure><img src="{data_uri(Path(image_dir) / image.group(2))}" '
                       f'alt="{escape(image.group(1), quote=True)}"><figcaption>{escape(image.group(1))}</figcaption></figure>')
        elif line.strip():
            out.append(f"<p>{_inline(line)}</p>")
    flush()
    return "\n".join(out)


def _inline(text: str) -> str:
    """Escape, then **bold** and `code`; pipe-table escapes (\\|) become plain bars."""
    text = escape(text.replace("\\|", "|"))
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", text)


def _recommendation_table(recs: dict[str, dict]) -> str:
    rows = []
    for unit, rec in recs.items():
        evidence = "; ".join(f"L = {n}: {_num(v)}" + _accuracy(rec["accuracy"].get(n))
                             for n, v in rec["by_length"].items())
        rows.append([unit, f"{rec['length']} tokens", rec["from_length"], evidence, " / ".join(rec["rules"])])
    return table(["unit", "recommended length", "from models trained at L", "median recommendation by training "
                  "length (test accuracy)", "rule applied"], rows, text_columns=(3, 4))


def _accuracy(interval) -> str:
    if not interval:
        return ""
    mean, lo, hi = interval
    return f" (acc. {_num(mean)})" if lo != lo else f" (acc. {_num(mean)} ± {_num((hi - lo) / 2)})"


def render_study_html(summary_lines: list[str], recs: dict[str, dict], rec_lines: list[str], tables: list[dict],
                      fails: list[dict], figures: list[tuple[str, str, Path]], ci_note: str) -> str:
    """The study report page: summary, recommendations, figures with their reading, tables, failures."""
    parts = ["<h2>Study</h2><ul>" + "".join(f"<li>{escape(line)}</li>" for line in summary_lines) + "</ul>"]
    parts.append("<h2>Recommended training length</h2>")
    parts.append('<ul class="rec">' + "".join(f"<li>{escape(line)}</li>" for line in rec_lines) + "</ul>")
    parts.append(_recommendation_table(recs))
    parts.append('<p class="note">Each model recommends the shortest training length that keeps the tokens it can '
                 "still use; the unit's recommendation is the median over seeds of the models trained at its longest "
                 "training length, which saw the most context.</p>")
    parts.append("<h2>Figures</h2>")
    parts += [figure(title, text, path) for title, text, path in figures]
    parts.append("<h2>Comparison tables</h2>")
    parts.append(f'<p class="note">Rows: unit; columns: training length L. Cells: {escape(ci_note)}. '
                 "&quot;&gt; D&quot;: every seed stayed above τ over the measured distances 0..D; "
                 "&quot;≥&quot;: some seeds did and count as D + 1, so the mean is a lower bound.</p>")
    for t in tables:
        parts.append(f"<h3>{escape(t['title'])}</h3>" + table(t["header"], t["rows"]))
    parts.append("<h2>Failed cells</h2>")
    if fails:
        parts.append(table(["unit", "L", "seed", "key", "error (first line)"],
                           [[f["unit"], f["max_len"], f["seed"], f["key"], f["error"]] for f in fails],
                           text_columns=(4,)))
    else:
        parts.append("<p>None.</p>")
    return page("rnnmem study report", "\n".join(parts))

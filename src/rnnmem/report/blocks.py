"""A report as a list of blocks (headings, paragraphs, bullets, tables, images), written out as Markdown or HTML.

Each report is built once, from its numbers, as blocks; `to_markdown` and `to_html` only
lay them out, so the two files always say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from pathlib import Path

from rnnmem.report import html


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    text: str
    note: bool = False  # a reading aid set in smaller grey type on the page


@dataclass(frozen=True)
class Bullets:
    """Items are plain text, or (label, text) pairs whose label is set in bold."""

    items: list
    emphasis: bool = False


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[list]
    align: list[str] | None = None  # per column "l" or "r" (default: first left, the others right)


@dataclass(frozen=True)
class Image:
    """A PNG beside the report, linked by its file name."""

    name: str
    alt: str


# -- Markdown ----------------------------------------------------------------------------
def to_markdown(blocks: list, title: str) -> str:
    out = [f"# {title}", ""]
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"{'#' * block.level} {block.text}")
        elif isinstance(block, Paragraph):
            out.append(block.text)
        elif isinstance(block, Bullets):
            out += [f"- **{item[0]}**: {item[1]}" if isinstance(item, tuple) else f"- {item}" for item in block.items]
        elif isinstance(block, Table):
            out.append(pipe_table(block.header, block.rows, block.align))
        elif isinstance(block, Image):
            out.append(f"![{block.alt}]({block.name})")
        out.append("")
    return "\n".join(out)


def pipe_table(header: list[str], rows: list[list], align: list[str] | None = None) -> str:
    """A GitHub pipe table; ``align`` per column is "l" or "r" (default: first column left, others right)."""
    align = align or ["l"] + ["r"] * (len(header) - 1)
    rule = [":---" if a == "l" else "---:" for a in align]
    lines = [_pipe_row(header), _pipe_row(rule)]
    lines += [_pipe_row(row) for row in rows]
    return "\n".join(lines)


def _pipe_row(cells) -> str:
    return "| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |"


# -- HTML --------------------------------------------------------------------------------
def to_html(blocks: list, title: str, image_dir: str | Path, links: dict[str, str] | None = None) -> str:
    """A self-contained page: images are read from ``image_dir`` and inlined (an absent one is left out);
    ``links`` (text -> address) lead to the pages written beside it."""
    return html.page(title, html_body(blocks, image_dir), links)


def html_body(blocks: list, image_dir: str | Path | None) -> str:
    """The blocks as HTML, images inlined from ``image_dir`` (left out when it is None, or an image is absent)."""
    parts = []
    for block in blocks:
        if isinstance(block, Heading):
            parts.append(f"<h{block.level}>{escape(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            parts.append(f'<p class="note">{escape(block.text)}</p>' if block.note else f"<p>{escape(block.text)}</p>")
        elif isinstance(block, Bullets):
            items = "".join(f"<li><strong>{escape(item[0])}</strong>: {escape(item[1])}</li>" if isinstance(item, tuple)
                            else f"<li>{escape(item)}</li>" for item in block.items)
            parts.append(f'<ul class="rec">{items}</ul>' if block.emphasis else f"<ul>{items}</ul>")
        elif isinstance(block, Table):
            prose = tuple(j for j, a in enumerate(block.align or []) if a == "l")
            parts.append(html.table(block.header, block.rows, text_columns=prose))
        elif isinstance(block, Image) and image_dir is not None and (Path(image_dir) / block.name).is_file():
            parts.append(f'<figure><img src="{html.data_uri(Path(image_dir) / block.name)}" '
                         f'alt="{escape(block.alt, quote=True)}"><figcaption>{escape(block.name)}</figcaption></figure>')
    return "\n".join(parts)

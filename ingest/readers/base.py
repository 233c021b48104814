"""What every reader shares: the :class:`Block` structure converted formats produce, and :func:`new_document`.

A reader turns the bytes of one file into a :class:`~kensaku.ingest.models.Document` whose ``lines`` are
markdown-like, so that the generic segmenter (:mod:`kensaku.ingest.segment`) cuts every format the same way:

* a heading is ``#`` × level + space + text (level 1–6);
* a list item is ``- `` + text;
* a paragraph is one line (or several lines of one paragraph, for PDF);
* blocks are separated by one blank line, so that every block is at least one finding;
* a table row is one paragraph, ``列名: 値／列名: 値`` when the table has a header row, else cells joined by ``／``.

``Document.origins`` keeps, for every line, the number a reader would look for in the original (line on the PDF
page, DOCX paragraph, HTML source line), and ``Document.pages`` the page.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from kensaku.errors import KensakuError
from kensaku.ingest.models import Document
from kensaku.ingest.normalize import clean_text, strip_controls

TITLE_MAX_CHARS = 120
MAX_HEADING_LEVEL = 6
HEADER_CELL_MAX_CHARS = 20
# A match starts where a run of whitespace does, so that a long run is scanned once, not from each of its characters.
_BREAK = re.compile(r"(?<!\s)\s*\n\s*")
_WIDE = frozenset("FWHA")


class ReadError(KensakuError, ValueError):
    """A file that cannot be read: why, and how to fix it (without the path, which :func:`read_document` adds)."""


@dataclass(frozen=True)
class Block:
    """One structural unit of a converted document.

    Attributes:
        text: The text (may contain newlines; they are joined Japanese-style).
        origin: The number cited for it: DOCX paragraph, HTML source line, line on the PDF page.
        level: 1–6 for a heading, 0 otherwise.
        item: True for a list item.
        page: 1-based page for paged formats, else ``None``.
    """

    text: str
    origin: int
    level: int = 0
    item: bool = False
    page: int | None = None


@dataclass(frozen=True)
class Cell:
    """One table cell, placed on the table grid.

    Attributes:
        text: The cell's text, cleaned.
        col: Its first grid column (0-based).
        span: How many grid columns it covers.
        header: True for a header cell (HTML ``<th>``); a row starting with one reads ``見出し: 値``.
    """

    text: str
    col: int = 0
    span: int = 1
    header: bool = False


def join_breaks(text: str) -> str:
    """Join the lines of one paragraph the way a browser does, then clean the text.

    A line break between two full-width (or ambiguous-width) characters disappears, any other one becomes a space.

    >>> join_breaks("市民参画の\\n推進\\nfor smart\\ncity")
    '市民参画の推進 for smart city'
    """

    def glue(m: re.Match[str]) -> str:
        before, after = text[m.start() - 1 : m.start()], text[m.end() : m.end() + 1]
        wide = all(ch and unicodedata.east_asian_width(ch) in _WIDE for ch in (before, after))
        return "" if wide else " "

    return clean_text(_BREAK.sub(glue, text))


def _looks_like_header(rows: Sequence[Sequence[Cell]]) -> bool:
    """A first row of two or more short, non-empty cells without 。 above at least one more row."""
    if len(rows) < 2 or len(rows[0]) < 2:
        return False
    return all(c.text and len(c.text) <= HEADER_CELL_MAX_CHARS and "。" not in c.text for c in rows[0])


def _row_text(row: Sequence[Cell], names: dict[int, str], width: int) -> str:
    """One row as ``列名: 値／…`` (with column names) or ``値／…``; empty cells are skipped."""
    cells = [c for c in row if c.text]
    if not cells:
        return ""
    if names and not (len(cells) == 1 and cells[0].span >= width > 1):
        return "／".join(f"{names[c.col]}: {c.text}" if names.get(c.col) else c.text for c in cells)
    if cells[0].header and len(cells) > 1:
        return f"{cells[0].text}: " + "／".join(c.text for c in cells[1:])
    return "／".join(c.text for c in cells)


def table_texts(rows: Sequence[Sequence[Cell]], *, header: bool | None = None) -> list[str]:
    """The text of each table row.

    Args:
        rows: The rows, each a sequence of cells in grid order.
        header: Whether the first row is a header row; ``None`` guesses (2+ short non-empty cells, no 。).

    Returns:
        One string per row, in order: ``""`` for the header row itself and for rows without text.

    >>> rows = [[Cell("項目", 0), Cell("内容", 1)], [Cell("体制", 0), Cell("CDOを置く。", 1)], [Cell("予算", 0)]]
    >>> table_texts(rows)
    ['', '項目: 体制／内容: CDOを置く。', '項目: 予算']
    >>> table_texts([[Cell("加賀市", 0), Cell("", 1), Cell("人口6万人。", 2)]])
    ['加賀市／人口6万人。']
    """
    if header is None:
        header = _looks_like_header(rows)
    if not header or not rows:
        return [_row_text(row, {}, 0) for row in rows]
    names: dict[int, str] = {}
    for cell in rows[0]:
        for col in range(cell.col, cell.col + cell.span):
            names[col] = cell.text
    width = max(names) + 1 if names else 0
    return ["", *(_row_text(row, names, width) for row in rows[1:])]


def render_blocks(blocks: Sequence[Block]) -> tuple[list[str], list[int], list[int]]:
    """Render blocks as markdown-like lines with a blank line after each.

    Returns:
        ``(lines, origins, pages)``, all of the same length; ``pages`` is empty when no block has a page. A blank
        separator line takes the origin and page of the block before it.

    >>> render_blocks([Block("概要", 1, level=2), Block("本文です。", 2), Block("項目", 3, item=True)])[0]
    ['## 概要', '', '本文です。', '', '- 項目', '']
    """
    lines: list[str] = []
    origins: list[int] = []
    pages: list[int] = []
    paged = any(b.page is not None for b in blocks)
    for block in blocks:
        text = clean_text(block.text)
        if not text:
            continue
        if block.level:
            text = "#" * min(block.level, MAX_HEADING_LEVEL) + " " + text
        elif block.item:
            text = "- " + text
        lines += [text, ""]
        origins += [block.origin, block.origin]
        if paged:
            pages += [block.page or (pages[-1] if pages else 1)] * 2
    return lines, origins, pages


def first_heading(lines: Sequence[str]) -> str:
    """The text of the first markdown heading in ``lines``, or ``""``."""
    for line in lines:
        if line.startswith("#"):
            text = clean_text(line.lstrip("#"))
            if text:
                return text
    return ""


def short_title(text: str) -> str:
    """``text`` cleaned and cut to 120 characters (with …)."""
    text = clean_text(text)
    return text if len(text) <= TITLE_MAX_CHARS else text[: TITLE_MAX_CHARS - 1] + "…"


def new_document(
    path: Path,
    data: bytes,
    lines: Sequence[str],
    *,
    title: str = "",
    origins: Sequence[int] = (),
    pages: Sequence[int] = (),
    page_labels: Sequence[str] = (),
    line_unit: Literal["L", "¶"] = "L",
    problems: Sequence[str] = (),
) -> Document:
    """Assemble a :class:`Document` from what a reader extracted.

    Args:
        path: The file.
        data: Its raw bytes (hashed for the manifest and incremental builds).
        lines: Markdown-like lines (see the module docstring); control characters other than tab are removed
            (:func:`~kensaku.ingest.normalize.strip_controls`), for every format.
        title: Document title; defaults to the first heading, else the file stem.
        origins: Number cited per line (empty: the line index itself).
        pages: Page per line (paged formats only).
        page_labels: Printed page labels, index ``page - 1``.
        line_unit: ``L`` or ``¶``.
        problems: Warnings to report while still indexing the document.

    Raises:
        ReadError: No line holds text, or ``origins``/``pages`` do not match ``lines``.
    """
    lines = [strip_controls(line) for line in lines]
    if not any(line.strip() for line in lines):
        raise ReadError("contains no text to index (scanned images or an empty document?). OCR it or remove it.")
    for name, values in (("origins", origins), ("pages", pages)):
        if values and len(values) != len(lines):
            raise ValueError(f"{name} has {len(values)} entries for {len(lines)} lines; give one per line")
    return Document(
        path=str(path),
        name=path.name,
        title=short_title(title) or first_heading(lines) or path.stem,
        lines=tuple(lines),
        sha256=hashlib.sha256(data).hexdigest(),
        origins=tuple(origins),
        pages=tuple(pages),
        page_labels=tuple(page_labels),
        line_unit=line_unit,
        problems=tuple(problems),
    )

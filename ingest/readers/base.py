"""What every reader shares: the :class:`Block` structure converted formats produce, and :func:`new_document`.

A reader turns the bytes of one file into a :class:`~ingest.models.Document` whose ``lines`` are markdown-like, so
that the generic segmenter (:mod:`ingest.segment`) cuts every format the same way:

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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ingest.models import Document
from ingest.normalize import clean_text

TITLE_MAX_CHARS = 120
MAX_HEADING_LEVEL = 6


class ReadError(ValueError):
    """A file that cannot be read; the message says why and how to fix it (without the path, which callers add)."""


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
        lines: Markdown-like lines (see the module docstring).
        title: Document title; defaults to the first heading, else the file stem.
        origins: Number cited per line (empty: the line index itself).
        pages: Page per line (paged formats only).
        page_labels: Printed page labels, index ``page - 1``.
        line_unit: ``L`` or ``¶``.
        problems: Warnings to report while still indexing the document.

    Raises:
        ReadError: No line holds text, or ``origins``/``pages`` do not match ``lines``.
    """
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

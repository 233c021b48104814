"""Markdown: read as text (any encoding :mod:`~kensaku.ingest.readers.text` reads); pipe tables become one finding
per row.

Everything else (headings, lists, front matter, code fences, comments, links) is left to the generic segmenter,
which understands markdown. A table::

    | 項目 | 内容 |
    |------|------|
    | 費用 | 国の交付金 |

becomes the line ``項目: 費用／内容: 国の交付金`` cited at its own source line, with a blank line after each row so
that every row is one finding; the header and the ``|---|`` rule become blank lines.
"""

from __future__ import annotations

import re
from pathlib import Path

from kensaku.config import DEFAULTS, MB
from kensaku.ingest.models import Document
from kensaku.ingest.normalize import clean_text
from kensaku.ingest.readers.base import Cell, new_document, table_texts
from kensaku.ingest.readers.text import split_text_lines, text_title

SUFFIXES: tuple[str, ...] = (".md", ".markdown")
MAX_BYTES: int = DEFAULTS.max_text_mb * MB
_ROW = re.compile(r"^\s*\|(.*)\|\s*$")
_RULE_CELL = re.compile(r"^\s*:?-{3,}:?\s*$")


def _cells(line: str) -> list[str] | None:
    """The cells of a pipe-table row, or ``None`` when the line is not one."""
    m = _ROW.match(line)
    if not m:
        return None
    return [clean_text(cell) for cell in re.split(r"(?<!\\)\|", m.group(1))]


def _is_rule(cells: list[str]) -> bool:
    return bool(cells) and all(_RULE_CELL.match(cell) for cell in cells)


def table_lines(lines: list[str]) -> tuple[list[str], list[int]]:
    """Rewrite pipe tables into one line per row followed by a blank line; returns ``(lines, origins)``."""
    out: list[str] = []
    origins: list[int] = []
    i = 0
    while i < len(lines):
        header = _cells(lines[i])
        rule = _cells(lines[i + 1]) if header is not None and i + 1 < len(lines) else None
        if header is None or rule is None or not _is_rule(rule):
            out.append(lines[i])
            origins.append(i + 1)
            i += 1
            continue
        out += ["", ""]
        origins += [i + 1, i + 2]
        i += 2
        rows = [[Cell(text, col) for col, text in enumerate(header)]]
        while i < len(lines) and (cells := _cells(lines[i])) is not None:
            rows.append([Cell(text, col) for col, text in enumerate(cells)])
            i += 1
        for number, text in enumerate(table_texts(rows, header=True)[1:]):
            row_line = i - len(rows) + 2 + number
            out += [text, ""]
            origins += [row_line, row_line]
    return out, origins


def read(data: bytes, path: Path) -> Document:
    """Read a markdown file.

    Raises:
        ReadError: Binary or undecodable data, or only whitespace.
    """
    lines = split_text_lines(data)
    rewritten, origins = table_lines(lines)
    if rewritten == lines:
        return new_document(path, data, lines, title=text_title(lines, path.stem))
    return new_document(path, data, rewritten, title=text_title(lines, path.stem), origins=origins)

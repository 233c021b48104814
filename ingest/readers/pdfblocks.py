"""Paragraphs from the lines of a PDF's pages: running heads and page numbers removed, blocks rebuilt.

A PDF has no blank lines, so :func:`render` decides where blocks end from the lines' text and widths:

* Body lines: the non-empty lines of a page, minus page-number lines (``3``, ``- 3 -``, ``－3－``, ``3 / 40``, ``p.3``)
  among its first and last two lines, minus running headers and footers (a line among the first or last two that,
  with digits ignored, recurs there on at least 3 pages and on half the pages with text), except on a page that
  would be left without text: pages that differ only in digits (``第1回 議事録``, ``第2回 議事録``…, a numbered form)
  keep their lines, with a warning.
* A blank line is inserted after a line that ends a sentence (``。！？.``) and is *short*: narrower than the page's
  full lines by 1–2 full-width characters (10% of the width) or more. The full width is the page's widest line when
  it has 6+ lines, else the median of those pages' full widths, else the document's widest line; a document of
  under 6 lines has none, and every sentence end there ends a block;
* after a label: a line under half the full width without punctuation that ends in a noun (a title, a caption);
* around headings (``第1章 …``, ``1. …``, ``(1) …``, ``■ …``: the segmenter's ``line_heading`` rules on a line that is
  not full) and before list items (``・`` → ``- ``; ``①``, ``○``, ``1)``, ``(1)`` and listed ``1.`` lines get
  ``- `` in front and keep their number).

A line that does not end its sentence (a full line, or one ending in ``、``) is never cut from the next one, across a
page break too (that finding then spans two pages): headings and numbered items are only recognized after a line
that ended, and ``・`` cannot start a continued line (kinsoku).

Line numbers (``origin``) count a page's body lines from 1: the running header, the page number and blank lines are
not counted.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from kensaku.ingest.headings import line_heading
from kensaku.ingest.normalize import has_text

EDGE_LINES = 2
RUNNING_MIN_PAGES = 3
RUNNING_MIN_SHARE = 0.5
TYPICAL_MIN_LINES = 6
LABEL_MAX_SHARE = 0.5
# A line narrower than the full width by more than this (display width: 2 per full-width character) is short.
SLACK_SHARE, SLACK_MIN, SLACK_MAX = 0.1, 2.0, 4.0

_SENTENCE_END = re.compile(r"[。！？!?．.][」』）)】〕〉》”’\"']*$")
_PUNCTUATION = re.compile(r"[。、，,．.！？!?：:]")
_OPEN_END = "、，,"
# Possessive (`*+`): no two parts can take the same spaces, so a line of spaces costs linear time, not quadratic.
_DASHES = r"[-－―‐–—−~～〜\s]*+"
_PAGE_NUMBER = re.compile(
    "^"
    + _DASHES
    + r"(?:[pPｐＰ][.．]?\s*+)?(?:[0-9０-９]++|[ivx]{1,6}|[IVX]{1,6})"
    + r"(?:\s*+[/／]\s*+[0-9０-９]++)?(?:\s*+(?:ページ|頁))?"
    + _DASHES
    + "$"
)
_DIGITS = re.compile(r"[0-9０-９]+")
# `・` cannot start a line that continues a sentence (kinsoku), so it always starts an item; the others only
# start one after a line that ended its sentence.
_DOT_BULLET = re.compile(r"^[・•◦▪‣∙]\s*")
_ITEM = re.compile(
    r"^(?:[①-⑳○■□◆◇●]|[0-9０-９]{1,2}[)）]|[0-9０-９]{1,2}[.．](?![0-9０-９])|[（(][0-9０-９]{1,2}[）)])"
)


def _hiragana(ch: str) -> bool:
    return "\u3041" <= ch <= "\u309f"


@dataclass(frozen=True)
class Line:
    """One body line: text, 1-based page, number on the page, display width, the page's full-line width."""

    text: str
    page: int
    origin: int
    width: int
    typical: float | None

    @property
    def full(self) -> bool:
        """Within 10% (1–2 full-width characters) of the full-line width, so the text may go on in the next line."""
        if self.typical is None:
            return False
        return self.width > self.typical - max(SLACK_MIN, min(SLACK_MAX, SLACK_SHARE * self.typical))

    @property
    def label(self) -> bool:
        """A short line without punctuation that ends in a noun (a title or caption), not in a particle."""
        short = self.typical is not None and self.width <= LABEL_MAX_SHARE * self.typical
        return short and not _PUNCTUATION.search(self.text) and not _hiragana(self.text[-1])


def _running_key(line: str) -> str:
    """The line with digits and spaces ignored: ``報告書 3`` and ``報告書 4`` are the same running header."""
    return _DIGITS.sub("#", line).replace(" ", "")


_KEPT_RUNNING = "p.{}: every line recurs on other pages with other digits, like a running header; kept as its text"


def strip_running(pages: Sequence[Sequence[str]]) -> tuple[list[list[str]], list[str]]:
    """Remove page-number lines and running headers/footers from the first and last two lines of each page.

    A page whose text would all be removed (pages that differ only in digits: ``第1回 議事録``, ``第2回 議事録``…)
    keeps its running lines, with a warning.

    Returns:
        The lines of each page, and a warning for each page whose running lines were kept.

    >>> pages = [[f"第{n}回 議事録"] for n in range(1, 5)]
    >>> strip_running(pages)[0]
    [['第1回 議事録'], ['第2回 議事録'], ['第3回 議事録'], ['第4回 議事録']]
    """
    trimmed = [_drop_page_numbers(lines) for lines in pages]
    needed = max(RUNNING_MIN_PAGES, math.ceil(RUNNING_MIN_SHARE * sum(1 for p in trimmed if p)))
    top = Counter(k for p in trimmed for k in {_running_key(line) for line in p[:EDGE_LINES]})
    bottom = Counter(k for p in trimmed for k in {_running_key(line) for line in p[-EDGE_LINES:]})
    heads = {k for k, n in top.items() if n >= needed}
    feet = {k for k, n in bottom.items() if n >= needed}
    out: list[list[str]] = []
    problems: list[str] = []
    for number, lines in enumerate(trimmed, 1):
        last = len(lines) - EDGE_LINES
        body = [
            line
            for i, line in enumerate(lines)
            if not (i < EDGE_LINES and _running_key(line) in heads) and not (i >= last and _running_key(line) in feet)
        ]
        if len(body) < len(lines) and not any(map(has_text, body)) and any(map(has_text, lines)):
            body = lines
            problems.append(_KEPT_RUNNING.format(number))
        out.append(body)
    return out, problems


def _drop_page_numbers(lines: Sequence[str]) -> list[str]:
    """``lines`` without page-number-only lines among the first and last two."""
    last = len(lines) - EDGE_LINES
    return [line for i, line in enumerate(lines) if not ((i < EDGE_LINES or i >= last) and _PAGE_NUMBER.match(line))]


def _width(text: str) -> int:
    """Display width: 2 for wide (kanji, kana, full-width) and ambiguous characters, 1 for the rest."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WFA" else 1 for ch in text)


def _typical(widths: Sequence[int]) -> float | None:
    """The full-line width of a page: its widest line; ``None`` for fewer than 6 lines (too few to tell).

    A wide outlier (two text runs merged into one line) only makes more lines look short, and a short line only
    ends a block at a sentence end, so overestimating never cuts a sentence.
    """
    return float(max(widths)) if len(widths) >= TYPICAL_MIN_LINES else None


def body_lines(pages: Sequence[Sequence[str]]) -> list[Line]:
    """Number the lines of each page and attach the typical width (pages under 6 lines: the median page's).

    An empty line (a line the reader left out, e.g. mojibake) is counted but not kept.
    """
    widths = [[_width(t) for t in texts if t] for texts in pages]
    known = sorted(w for w in map(_typical, widths) if w is not None)
    fallback = known[len(known) // 2] if known else _typical([w for page in widths for w in page])
    body: list[Line] = []
    for number, (texts, page_widths) in enumerate(zip(pages, widths, strict=True), 1):
        typical = _typical(page_widths) or fallback
        body += [Line(t, number, i, _width(t), typical) for i, t in enumerate(texts, 1) if t]
    return body


def _is_open(line: Line, kind: str) -> bool:
    """True when the sentence on ``line`` goes on in the next line (a full line, or one ending in 、)."""
    if kind == "heading" or _SENTENCE_END.search(line.text):
        return False
    return line.full or line.text[-1] in _OPEN_END


def _ends_block(line: Line, kind: str, nxt: Line) -> bool:
    """True when a blank line goes between ``line`` (of ``kind``) and the text line ``nxt``."""
    if kind == "heading":
        return True
    if _SENTENCE_END.search(line.text):
        return not line.full
    # A particle starting the next line means the label's sentence goes on.
    return line.label and not _hiragana(nxt.text[0])


def _classify(line: Line, after_open: bool, prev: str, nxt: str) -> tuple[str, str]:
    """``(kind, heading text)``: kind is ``heading``, ``dot`` (a ``・`` item), ``item`` or ``text``."""
    if _DOT_BULLET.match(line.text):
        return "dot", ""
    if after_open:
        return "text", ""
    heading = line_heading(line.text, prev, nxt)
    if heading is not None and (not line.full or line.text[0] in "■□◆◇●"):
        return "heading", heading.text
    return ("item" if _ITEM.match(line.text) else "text"), ""


def render(body: Sequence[Line]) -> tuple[list[str], list[int], list[int], str]:
    """``(lines, origins, pages, first heading)``: the body lines with blank lines between blocks."""
    lines: list[str] = []
    origins: list[int] = []
    pages: list[int] = []
    first_heading = ""
    prev: Line | None = None
    prev_kind = ""
    for i, line in enumerate(body):
        nxt = body[i + 1].text if i + 1 < len(body) else ""
        after_open = prev is not None and _is_open(prev, prev_kind)
        kind, heading = _classify(line, after_open, prev.text if prev else "", nxt)
        if prev is not None and (kind != "text" or _ends_block(prev, prev_kind, line)):
            lines.append("")
            origins.append(prev.origin)
            pages.append(prev.page)
        text = line.text
        if kind == "dot":
            text = "- " + _DOT_BULLET.sub("", text, count=1)
        elif kind == "item":
            text = "- " + text
        lines.append(text)
        origins.append(line.origin)
        pages.append(line.page)
        first_heading = first_heading or heading
        prev, prev_kind = line, kind
    if prev is not None:
        lines.append("")
        origins.append(prev.origin)
        pages.append(prev.page)
    return lines, origins, pages, first_heading

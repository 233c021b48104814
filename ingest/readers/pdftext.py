"""The text lines of one PDF page as a reader sees them, from PDFium's character boxes (pypdfium2).

PDFium decodes what other extractors lose: CID fonts without a ToUnicode map (``Ryumin-Light`` with
``Identity-H``/``Identity-V``, ``EUC-H``, ``H``, ``90ms-RKSJ-H``) are mapped through the Adobe-Japan1 tables it
carries. What it gives is characters in content-stream order, each with a box, plus the spaces and line breaks it
generates from their positions. This module turns that into lines:

* **Horizontal pages**: one line per PDFium line (a visual line: text objects placed one word at a time, or
  letter-spaced, come out as one line). A space PDFium generated between two Japanese characters (letter-spacing
  in ``報 告 書``) is dropped; spaces that are in the text are kept.
* **Vertical pages** (縦書き: most consecutive characters step downwards): the characters are regrouped into columns
  (by their horizontal centre), columns are cut where the text breaks off, and read top to bottom, columns right to
  left; a page in tiers (段組) is read tier by tier from the top. Each column is one line, which is what a reader of
  vertical text counts as 行. Vertical presentation forms (``︵`` ``﹁`` ``︑``) become the ordinary characters.

Line numbers cited for a page count these lines from the top of the page, in this reading order.
"""

from __future__ import annotations

import ctypes
import itertools
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pypdfium2 import PdfTextPage


# Vertical presentation forms (U+FE10–U+FE19, U+FE30–U+FE4F) → the characters they stand for, by NFKC.
_VERTICAL_FORMS = {
    code: unicodedata.normalize("NFKC", chr(code))
    for code in [*range(0xFE10, 0xFE1A), *range(0xFE30, 0xFE50)]
    if unicodedata.normalize("NFKC", chr(code)) != chr(code)
}
# A page is vertical when at least this many character steps go down a column, and more than go along a line.
VERTICAL_MIN_STEPS = 5
# Characters whose centres are closer than this share of the character size belong to the same column.
COLUMN_SHARE = 0.5
# A column breaks where a step between character centres is over this many times the column's usual step (the
# tiers of a gazette page are less than one character apart: a step of about 1.8).
COLUMN_GAP = 1.5
# On a vertical page, this many characters in a row along a line are a horizontal line (a running head).
RUN_MIN_CHARS = 3


@dataclass(frozen=True)
class Char:
    """One character of the page and its box (PDF units, y upwards)."""

    text: str
    left: float
    bottom: float
    right: float
    top: float
    generated: bool = False

    @property
    def cx(self) -> float:
        """Horizontal centre."""
        return (self.left + self.right) / 2

    @property
    def cy(self) -> float:
        """Vertical centre."""
        return (self.bottom + self.top) / 2

    @property
    def size(self) -> float:
        """The larger side of the box (at least 1 unit)."""
        return max(self.right - self.left, self.top - self.bottom, 1.0)


@dataclass(frozen=True)
class PageText:
    """The lines of one page, whether it was read as vertical text, and how many characters had no Unicode."""

    lines: tuple[str, ...]
    vertical: bool
    chars: int
    unmapped: int


def page_text(textpage: PdfTextPage) -> PageText:
    """The lines of a page from its pypdfium2 ``PdfTextPage`` (see the module docstring).

    Args:
        textpage: ``page.get_textpage()`` of a pypdfium2 page.

    Returns:
        The page's lines (not cleaned), the orientation and the count of characters PDFium could not map.
    """
    chars, unmapped = _chars(textpage)
    placed = [c for c in chars if not c.generated]
    visible = [c for c in placed if not c.text.isspace()]
    if _is_vertical(visible):
        # Spaces drawn in the text (全角空白 after 第一条) fill their place in the column.
        return PageText(tuple(_mixed_lines([c for c in placed if c.text not in "\r\n"])), True, len(visible), unmapped)
    return PageText(tuple(_horizontal_lines(chars)), False, len(visible), unmapped)


def _chars(textpage: PdfTextPage) -> tuple[list[Char], int]:
    """Every character with its loose box (surrogate pairs joined), and the count of unmapped ones."""
    import pypdfium2.raw as pdfium_c

    handle = textpage.raw
    count = pdfium_c.FPDFText_CountChars(handle)
    rect = pdfium_c.FS_RECTF()
    chars: list[Char] = []
    unmapped = 0
    pending = ""
    for i in range(max(count, 0)):
        code = pdfium_c.FPDFText_GetUnicode(handle, i)
        if code == 0:
            unmapped += 1
            continue
        if 0xD800 <= code < 0xDC00:
            pending = chr(code)
            continue
        text = chr(code)
        if pending and 0xDC00 <= code < 0xE000:
            text = (pending + text).encode("utf-16", "surrogatepass").decode("utf-16")
        pending = ""
        pdfium_c.FPDFText_GetLooseCharBox(handle, i, ctypes.byref(rect))
        generated = pdfium_c.FPDFText_IsGenerated(handle, i) == 1
        chars.append(
            Char(_VERTICAL_FORMS.get(ord(text[0]), text), rect.left, rect.bottom, rect.right, rect.top, generated)
        )
    return chars, unmapped


def _is_vertical(chars: Sequence[Char]) -> bool:
    """True when consecutive characters mostly step down a column rather than along a line."""
    down = along = 0
    for a, b in itertools.pairwise(chars):
        size = max(a.size, b.size)
        if abs(b.cx - a.cx) < COLUMN_SHARE * size and 0 < a.cy - b.cy < 2 * size:
            down += 1
        elif _steps_along(a, b):
            along += 1
    return down >= VERTICAL_MIN_STEPS and down > along


def _japanese(ch: str) -> bool:
    """Kana, kanji or full-width punctuation: characters written without spaces between them."""
    code = ord(ch[0])
    return 0x3000 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or 0xFF01 <= code <= 0xFF60 or code >= 0x20000


def _horizontal_lines(chars: Sequence[Char]) -> list[str]:
    """PDFium's lines: split at its line breaks, without generated spaces between Japanese characters."""
    lines: list[str] = []
    current: list[Char] = []
    for char in [*chars, Char("\n", 0, 0, 0, 0, True)]:
        if char.text in "\r\n":
            if current:
                lines.append(_join_horizontal(current))
            current = []
        else:
            current.append(char)
    return lines


def _join_horizontal(chars: Sequence[Char]) -> str:
    """The text of one line, dropping generated spaces between two Japanese characters."""
    out: list[str] = []
    for i, char in enumerate(chars):
        if char.generated and char.text == " " and 0 < i < len(chars) - 1:
            if _japanese(chars[i - 1].text) and _japanese(chars[i + 1].text):
                continue
        out.append(char.text)
    return "".join(out)


def _mixed_lines(chars: Sequence[Char]) -> list[str]:
    """A vertical page's lines: horizontal runs above the columns (a running head), the columns, the other runs."""
    runs = _horizontal_runs(chars)
    in_runs = {id(c) for run in runs for c in run}
    column_chars = [c for c in chars if id(c) not in in_runs]
    if not column_chars:
        return ["".join(c.text for c in run) for run in runs]
    top = max(c.top for c in column_chars)
    above = ["".join(c.text for c in run) for run in runs if run[0].bottom >= top]
    below = ["".join(c.text for c in run) for run in runs if run[0].bottom < top]
    return [*above, *_vertical_lines(column_chars), *below]


def _horizontal_runs(chars: Sequence[Char]) -> list[list[Char]]:
    """Runs of 3+ characters that follow each other along a line (in stream order) on a vertical page."""
    runs: list[list[Char]] = []
    current: list[Char] = []
    for char in chars:
        if current and _steps_along(current[-1], char):
            current.append(char)
            continue
        if len(current) >= RUN_MIN_CHARS:
            runs.append(current)
        current = [char]
    if len(current) >= RUN_MIN_CHARS:
        runs.append(current)
    return runs


def _steps_along(a: Char, b: Char) -> bool:
    """True when ``b`` follows ``a`` on the same horizontal line (allowing a gap of two characters)."""
    size = max(a.size, b.size)
    return abs(b.cy - a.cy) < COLUMN_SHARE * size and 0 < b.cx - a.cx < 3 * size


def _vertical_lines(chars: Sequence[Char]) -> list[str]:
    """Columns read top to bottom, right to left, tier by tier from the top."""
    size = median(c.size for c in chars)
    columns: list[list[Char]] = []
    for char in sorted(chars, key=lambda c: -c.cx):
        if columns and columns[-1][-1].cx - char.cx < COLUMN_SHARE * size:
            columns[-1].append(char)
        else:
            columns.append([char])
    segments = [seg for column in columns for seg in _cut_column(column, size)]
    tiers = _tiers(segments)
    ordered = sorted(segments, key=lambda seg: (tiers[id(seg)], -seg[0].cx))
    return ["".join(c.text for c in seg) for seg in ordered]


def _cut_column(column: list[Char], size: float) -> list[list[Char]]:
    """One column's characters top to bottom, cut where the step is over 1.5 times the column's usual step."""
    ordered = sorted(column, key=lambda c: -c.cy)
    steps = [a.cy - b.cy for a, b in itertools.pairwise(ordered)]
    pitch = max(median(steps), COLUMN_SHARE * size) if steps else size
    segments: list[list[Char]] = [[ordered[0]]]
    for step, char in zip(steps, ordered[1:], strict=True):
        if step > COLUMN_GAP * pitch:
            segments.append([char])
        else:
            segments[-1].append(char)
    return segments


def _tiers(segments: Sequence[list[Char]]) -> dict[int, int]:
    """Tier number (0 = top) of each segment: segments whose vertical extents overlap share a tier."""
    spans = sorted(((seg[0].top, seg[-1].bottom, id(seg)) for seg in segments), reverse=True)
    tier_of: dict[int, int] = {}
    tier, floor = -1, float("inf")
    for top, bottom, key in spans:
        if top < floor:
            tier += 1
            floor = bottom
        else:
            floor = min(floor, bottom)
        tier_of[key] = tier
    return tier_of

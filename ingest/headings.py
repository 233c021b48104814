"""What a heading line looks like in any document: markdown ``#``, numbered (``第1章``, ``1.``, ``(1)``) and symbol
(``■``) headings with their nesting ranks.

These are layout rules about single lines, shared by the readers (the PDF reader keeps blank lines around
headings) and the generic segmenter (which nests headings by rank); neither imports the other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kensaku.ingest.normalize import clean_text

NUMBERED_HEADING_MAX_CHARS = 40
SYMBOL_HEADING_MAX_CHARS = 60

MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
# (style regex, rank): a lower rank is a higher level. Markdown levels use rank = 10 × level.
_NUMBERED: tuple[tuple[re.Pattern[str], int], ...] = (
    (re.compile(r"^第[0-9０-９一二三四五六七八九十百]+章"), 10),
    (re.compile(r"^第[0-9０-９一二三四五六七八九十百]+節"), 20),
    (re.compile(r"^[0-9０-９]+[-－.．][0-9０-９]+[-－.．][0-9０-９]+\.?(?![0-9０-９])"), 45),
    (re.compile(r"^[0-9０-９]+[-－][0-9０-９]+[.．]?(?![0-9０-９])|^[0-9０-９]+[.．][0-9０-９]+\.?\s"), 40),
    (re.compile(r"^[0-9０-９]+[.．](?![0-9０-９])"), 30),
    (re.compile(r"^[（(][0-9０-９]+[）)]"), 50),
)
_SYMBOL_RANKS = {"■": 60, "□": 62, "◆": 64, "◇": 65, "●": 66}
_LIST_NUMBER = _NUMBERED[-2][0]


@dataclass(frozen=True)
class Heading:
    """A heading line: its nesting rank (lower = higher level) and its cleaned text."""

    rank: int
    text: str


def line_heading(line: str, prev: str, nxt: str) -> Heading | None:
    """The heading on ``line`` (``prev``/``nxt`` are the neighbouring lines), or ``None``."""
    m = MD_HEADING.match(line)
    if m:
        return Heading(10 * len(m.group(1)), clean_text(m.group(2)))
    text = clean_text(line)
    if not text or text.endswith("。"):
        return None
    if text[0] in _SYMBOL_RANKS:
        body = clean_text(text[1:])
        return Heading(_SYMBOL_RANKS[text[0]], body) if body and len(text) <= SYMBOL_HEADING_MAX_CHARS else None
    if len(text) > NUMBERED_HEADING_MAX_CHARS or "。" in text:
        return None
    for pattern, rank in _NUMBERED:
        if pattern.match(text):
            # `1. 項目` with another numbered line right next to it is an ordered list, not a heading.
            listed = rank == 30 and any(_LIST_NUMBER.match(clean_text(s)) for s in (prev, nxt))
            return None if listed else Heading(rank, text)
    return None

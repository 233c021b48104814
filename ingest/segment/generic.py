"""Generic segmenter for any document, whatever format it was read from (readers produce markdown-like lines).

Rules:

* Skipped: markdown front matter (``---`` … ``---`` on the first line), fenced code blocks, HTML comments,
  horizontal rules and image-only lines.
* Headings (:mod:`kensaku.ingest.headings`): markdown ``#``…``######``; ``■□◆◇●`` lines; numbered lines ``第1章``,
  ``第1節``, ``1.``, ``1-1.``, ``1.1``, ``（1）``/``(1)`` when short (≤ 40 chars) and without 。. A ``1.`` or
  ``(1)`` line whose previous (next) non-blank line has the number before (after) it in the same style (a run:
  ``(1)`` then ``(2)``) is a list item, not a heading, so ``1. はじめに`` followed by a paragraph stays a
  heading. Headings nest by style rank (``#`` < ``##`` < … and ``第1章`` < ``1.`` < ``1-1.`` < ``(1)`` < ``■``);
  the path gives chapter (top), section (second) and heading (deepest); chapter and section lose their numbering
  (``第1章 推進体制`` → ``推進体制``, :func:`~kensaku.ingest.models.normalize_heading`), the heading keeps it. A
  document whose first heading is its only ``#`` heading treats it as the title, not as a chapter.
* Bullets (``-``, ``*``, ``+``, ``・``, ``•``, ``○``, ``①``…, ``(1)``/``（１）``, ``1)``, listed ``1.``) are one
  finding each, joined with unmarked lines that directly follow; paragraphs (blank-line separated) are one finding
  each. Lines are joined without a space between Japanese characters and with one space between ASCII words.
* ``kind`` is ``lesson`` when the nearest heading mentions 知見/課題/教訓/lesson, else ``practice``.

Ordinances and statutes (a document with ``第N条`` lines) are cut by :mod:`kensaku.ingest.segment.ordinance`
instead, which reuses :func:`visible_lines`.
"""

from __future__ import annotations

import re
from pathlib import PurePath

from kensaku.config import DEFAULTS
from kensaku.ingest.headings import Heading, item_number, line_heading, md_heading
from kensaku.ingest.models import Document, Finding, Kind
from kensaku.ingest.normalize import clean_text, has_text, join_lines
from kensaku.ingest.segment.draft import Draft, finish_findings

_FENCE = re.compile(r"^\s*(```|~~~)")
_RULE = re.compile(r"^\s*([-*_])(?:\s*\1){2,}\s*$")
_IMAGE_ONLY = re.compile(r"^\s*!\[[^\]]*\]\([^)]*\)\s*$")
# Link text and target hold no brackets, so a run of `[` or `[a](` costs linear time, not quadratic: each `[` scans
# only up to the next one (as in CommonMark, `[a [b](c)` links only `b`).
_LINK = re.compile(r"!?\[([^\[\]]*)\]\([^)\[\]]*\)")
_LESSON = re.compile(r"知見|課題|教訓|lessons?\b", re.IGNORECASE)
# ASCII markers and `・` are dropped from the text; circled numbers (①) and `(1)` are kept, they read as part of the
# text (`第2条第1号` is cited by that number).
_BULLET = re.compile(
    r"^\s*(?:[-*+]\s+|[・•○]\s*|[0-9０-９]+(?:[)）]|[.．]\s)\s*(?=\S)|(?=[①-⑳])|(?=[（(][0-9０-９]+[）)]))"
)
# Heading ranks of the numbered styles that are list items when lines numbered alike stand next to each other.
_LISTABLE_RANKS = (30, 50)


def drop_comments(line: str) -> str:
    """``line`` without its complete HTML comments ``<!-- … -->``, in linear time (``re.sub(r"<!--.*?-->", "", …)``
    is quadratic in a run of ``<!--``: every one of them scans the rest of the line for a ``-->``).

    >>> drop_comments("本文<!-- メモ -->です<!-- 未完")
    '本文です<!-- 未完'
    """
    pieces: list[str] = []
    pos = 0
    while (start := line.find("<!--", pos)) >= 0 and (end := line.find("-->", start + 4)) >= 0:
        pieces.append(line[pos:start])
        pos = end + 3
    pieces.append(line[pos:])
    return "".join(pieces)


def visible_lines(lines: tuple[str, ...]) -> list[str]:
    """Lines with front matter, code fences and HTML comments blanked out (numbering is kept)."""
    out = list(lines)
    start = 0
    if out and out[0].strip() == "---":
        end = next((i for i in range(1, len(out)) if out[i].strip() in ("---", "...")), None)
        if end is not None:
            start = end + 1
            out[:start] = [""] * start
    fenced = in_comment = False
    for i in range(start, len(out)):
        line = out[i]
        if _FENCE.match(line):
            fenced, out[i] = not fenced, ""
            continue
        if fenced:
            out[i] = ""
            continue
        if in_comment:
            in_comment = "-->" not in line
            line = line.split("-->", 1)[1] if "-->" in line else ""
        line = drop_comments(line)
        if "<!--" in line:
            line, in_comment = line.split("<!--", 1)[0], True
        out[i] = "" if _RULE.match(line) or _IMAGE_ONLY.match(line) else _LINK.sub(r"\1", line)
    return out


class _Generic:
    """Walks visible lines with a heading stack and emits drafts."""

    def __init__(self, doc: Document) -> None:
        self.lines = visible_lines(doc.lines)
        self.stack: list[Heading] = []
        self.drafts: list[Draft] = []
        self.title_heading: int | None = self._title_line()

    def _title_line(self) -> int | None:
        """Index of a lone leading ``#`` heading, which is the document title rather than a chapter."""
        h1 = [i for i, line in enumerate(self.lines) if (md := md_heading(line)) and md[0] == 1]
        first = next((i for i in range(len(self.lines)) if self._heading_at(i)), None)
        return h1[0] if len(h1) == 1 and first == h1[0] else None

    def _heading_at(self, i: int) -> Heading | None:
        prev = self.lines[i - 1] if i > 0 else ""
        nxt = self.lines[i + 1] if i + 1 < len(self.lines) else ""
        heading = line_heading(self.lines[i], prev, nxt)
        if heading is not None and heading.rank in _LISTABLE_RANKS and self._in_run(i):
            return None
        return heading

    def _in_run(self, i: int) -> bool:
        """True when the nearest non-blank line before (after) line ``i`` has the number before (after) it in the
        same style: ``(1)`` then ``(2)`` is a list; ``(2)`` then a heading ``（1）`` is not."""
        mine = item_number(self.lines[i])
        if mine is None:
            return False
        style, number = mine
        before = next((j for j in range(i - 1, -1, -1) if clean_text(self.lines[j])), None)
        after = next((j for j in range(i + 1, len(self.lines)) if clean_text(self.lines[j])), None)
        near = ((before, number - 1), (after, number + 1))
        return any(j is not None and item_number(self.lines[j]) == (style, n) for j, n in near)

    def _is_plain(self, i: int) -> bool:
        line = self.lines[i]
        return bool(clean_text(line)) and not _BULLET.match(line) and self._heading_at(i) is None

    def run(self) -> list[Draft]:
        i = 0
        while i < len(self.lines):
            i = self._step(i)
        return self.drafts

    def _step(self, i: int) -> int:
        if not clean_text(self.lines[i]):
            return i + 1
        heading = self._heading_at(i)
        if heading is not None:
            if i != self.title_heading:
                while self.stack and self.stack[-1].rank >= heading.rank:
                    self.stack.pop()
                self.stack.append(heading)
            return i + 1
        j = i + 1
        while j < len(self.lines) and self._is_plain(j):
            j += 1
        first = _BULLET.sub("", self.lines[i], count=1) if _BULLET.match(self.lines[i]) else self.lines[i]
        self._add(join_lines([first, *self.lines[i + 1 : j]]), i + 1, j)
        return j

    def _add(self, text: str, start: int, end: int) -> None:
        if not has_text(text):
            return
        chapter = self.stack[0].text if self.stack else ""
        section = self.stack[1].text if len(self.stack) > 1 else ""
        heading = self.stack[-1].text if self.stack else ""
        kind: Kind = "lesson" if _LESSON.search(heading) else "practice"
        path = (chapter, section, heading)
        self.drafts.append(Draft(text, start, end, heading, kind, path, chapter, section))


def segment_generic(
    doc: Document, *, max_chars: int = DEFAULTS.max_chars, id_prefix: str | None = None
) -> list[Finding]:
    """Cut any text or markdown document into findings (see the module docstring for the rules).

    Args:
        doc: The document.
        max_chars: Longer bullets/paragraphs are split at sentence ends; one over-long sentence stays whole.
        id_prefix: Id prefix; defaults to the file stem.

    Returns:
        The findings in document order.
    """
    prefix = id_prefix or PurePath(doc.name).stem
    return finish_findings(_Generic(doc).run(), doc, id_prefix=prefix, max_chars=max_chars)

"""Segmenter for ordinances and statutes (例規: 条例, 規則, 規程, 要綱; laws): any document with a ``第N条`` line.

Line shapes are in :func:`kensaku.ingest.headings.ordinance_line`. Rules:

* Skipped like the generic segmenter: front matter, code fences, comments, rules, image-only lines.
* Headings: ``第N編``/``第N章``/``第N節``/``第N款``/``第N目`` (the chapter, section … of the path), ``附則`` (each
  ``附則(平成10年…)`` too), ``別表``/``別記``/``様式``, markdown ``#`` and ``■`` lines. ``附則``, ``別表`` and ``第N編``
  are top level: they close the open chapter.
* Articles: ``第7条 …`` is the heading path element ``第7条（使用料）`` when its caption line
  ``（使用料）``/``(使用料)`` comes before it (or ``第7条（使用料）`` is written on the line), else ``第7条``;
  captions are written with full-width brackets. The article line itself (``第7条 駐車場等の使用料は、無料と
  する。``) is a finding, as is each paragraph (項: ``2 …``), both cited at their lines. A caption followed by a
  paragraph or a sentence, not an article (``附則`` → ``(施行期日)`` → ``1 この条例は…``), is a heading of the
  article's level; one followed by anything else (``（平成五年法律第八十八号）``) is a finding.
* Items (号: ``(1)``, ``（１）``, ``一``, ``①``, ``1.``, ``1)``) and table rows are one finding each, with their
  sub-items (``イ``, ``ア``, ``(ア)``) and wrapped lines; never headings. An item alone (``(2) 市長が特に必要と認める
  もの``) says little, so the lead sentence it completes, the last sentence of the article, paragraph or text line
  before the run of items (``表彰は、次の各号に該当する者について町長がこれを行う。``), is the deepest element of
  its heading path: the heading, and so the context that is indexed with it, is that sentence, below ``第2条``.
* Any other line starts a finding of its own (the opening title, date and number lines each one); a line without
  a marker that directly follows one that does not end its sentence (no blank line between: wrapped PDF text) is
  joined to it.
* ``chapter``/``section`` are the first two headings above the article, without their ``第N章``/``第N節``
  (:func:`~kensaku.ingest.models.normalize_heading`: ``総則``, so that filters agree across documents; the heading
  path and the citation keep ``第一章 総則`` as written); ``kind`` is always ``practice``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

from kensaku.config import DEFAULTS
from kensaku.ingest.headings import (
    ARTICLE_RANK,
    Heading,
    OrdinanceLine,
    is_article_line,
    markup_heading,
    md_heading,
    ordinance_line,
)
from kensaku.ingest.models import Document, Finding
from kensaku.ingest.normalize import clean_text, has_text, join_lines, split_sentences
from kensaku.ingest.segment.draft import Draft, finish_findings
from kensaku.ingest.segment.generic import visible_lines

# Kinds whose findings get the lead sentence in their path (a sub-item with no item before it stands alone).
_LISTED = ("item", "row", "subitem")
# The kinds of the lines a finding takes after its first, by the kind of that line (default: wrapped text).
_CONTINUED_BY: dict[str, tuple[str, ...]] = {"item": ("text", "subitem"), "row": (), "header": ()}
_SENTENCE_END = ("。", "！", "？")


def looks_like_ordinance(doc: Document) -> bool:
    """True if any line of ``doc`` is an article with text or a caption (``第1条 この条例は…``)."""
    return any(is_article_line(line) for line in visible_lines(doc.lines))


@dataclass(frozen=True)
class _Line:
    """A visible line, classified; ``row`` is a table row (tab-separated cells)."""

    index: int
    shape: OrdinanceLine
    row: bool = False

    @property
    def kind(self) -> str:
        return "row" if self.row else self.shape.kind


def _classify(line: str, index: int) -> _Line | None:
    """The shape of a visible line, or ``None`` for a blank one."""
    if not has_text(clean_text(line)):
        return None
    if md := md_heading(line):
        inner = ordinance_line(md[1])
        if inner.kind in ("heading", "article"):
            return _Line(index, inner)
    marked = markup_heading(line)
    if marked is not None:
        return _Line(index, OrdinanceLine("heading", marked.text, marked.rank))
    shape = ordinance_line(line)
    row = shape.kind == "text" and sum(1 for cell in line.split("\t") if clean_text(cell)) >= 2
    return _Line(index, shape, row)


class _Ordinance:
    """Walks the classified lines with a heading stack and the current lead sentence, and emits drafts."""

    def __init__(self, doc: Document) -> None:
        lines = visible_lines(doc.lines)
        self.lines = [c for i, line in enumerate(lines) if (c := _classify(line, i)) is not None]
        self.stack: list[Heading] = []
        self.lead = ""
        self.drafts: list[Draft] = []

    def run(self) -> list[Draft]:
        k = 0
        while k < len(self.lines):
            k = self._step(k)
        return self.drafts

    def _step(self, k: int) -> int:
        line = self.lines[k]
        kind = line.kind
        if kind == "heading":
            self._push(Heading(line.shape.rank, line.shape.text))
            return k + 1
        if kind == "caption":
            return self._caption(k)
        if kind == "article":
            return self._article(k, "")
        end = self._unit_end(k)
        text = join_lines(self._text(j) for j in range(k, end))
        listed = kind in _LISTED
        self._emit(text, line.index, self.lines[end - 1].index, listed=listed)
        if kind == "header":
            self.lead = ""
        elif not listed:
            body = line.shape.body if kind == "paragraph" else line.shape.text
            self.lead = _last_sentence(join_lines([body, *(self._text(j) for j in range(k + 1, end))]))
        return end

    def _caption(self, k: int) -> int:
        """A caption line: the caption of the article after it, a heading, or (before a heading) a finding."""
        caption = self.lines[k].shape.label
        nxt = self.lines[k + 1] if k + 1 < len(self.lines) else None
        if nxt is not None and nxt.kind == "article":
            return self._article(k + 1, caption)
        sentence = nxt is not None and nxt.kind in ("paragraph", "text") and nxt.shape.text.endswith("。")
        if sentence:
            self._push(Heading(ARTICLE_RANK, caption))
            return k + 1
        index = self.lines[k].index
        self._emit(self._text(k), index, index, listed=False)
        return k + 1

    def _article(self, k: int, caption: str) -> int:
        """An article line: pushed as ``第N条（caption）``; its text (and wrapped lines) is a finding."""
        shape = self.lines[k].shape
        label = shape.label if shape.label.endswith("）") or not caption else shape.label + caption
        self._push(Heading(ARTICLE_RANK, label))
        if not shape.body:
            return k + 1
        end = self._unit_end(k)
        text = join_lines(self._text(j) for j in range(k, end))
        self._emit(text, self.lines[k].index, self.lines[end - 1].index, listed=False)
        self.lead = _last_sentence(join_lines([shape.body, *(self._text(j) for j in range(k + 1, end))]))
        return end

    def _unit_end(self, k: int) -> int:
        """Index after the last line that belongs to the finding starting at line ``k``."""
        takes = _CONTINUED_BY.get(self.lines[k].kind, ("text",))
        end = k + 1
        while end < len(self.lines) and self.lines[end].kind in takes and self._continues(end):
            end += 1
        return end

    def _continues(self, k: int) -> bool:
        """True when line ``k`` goes on from the line before it: no blank line between, and a sub-item or a line
        after one that does not end its sentence (a wrapped line)."""
        prev, line = self.lines[k - 1], self.lines[k]
        if line.index != prev.index + 1:
            return False
        return line.kind == "subitem" or not prev.shape.text.endswith(_SENTENCE_END)

    def _text(self, k: int) -> str:
        return self.lines[k].shape.text

    def _push(self, heading: Heading) -> None:
        while self.stack and self.stack[-1].rank >= heading.rank:
            self.stack.pop()
        self.stack.append(heading)
        self.lead = ""

    def _emit(self, text: str, first: int, last: int, *, listed: bool) -> None:
        """Add a draft for ``text`` on visible lines ``first``…``last`` (0-based); items get the lead in the path."""
        if not has_text(text):
            return
        path = [h.text for h in self.stack]
        if listed and self.lead:
            path.append(self.lead)
        upper = [h.text for h in self.stack if h.rank < ARTICLE_RANK]
        chapter = upper[0] if upper else ""
        section = upper[1] if len(upper) > 1 else ""
        heading = path[-1] if path else ""
        self.drafts.append(Draft(text, first + 1, last + 1, heading, "practice", tuple(path), chapter, section))


def _last_sentence(text: str) -> str:
    """The last sentence of ``text`` (the one that introduces a list of items), or ``""``."""
    sentences = split_sentences(clean_text(text))
    return sentences[-1] if sentences else ""


def segment_ordinance(
    doc: Document, *, max_chars: int = DEFAULTS.max_chars, id_prefix: str | None = None
) -> list[Finding]:
    """Cut an ordinance or statute into findings (see the module docstring for the rules).

    Args:
        doc: The document (normally one for which :func:`looks_like_ordinance` is true).
        max_chars: Longer findings are split at sentence ends; one over-long sentence stays whole.
        id_prefix: Id prefix; defaults to the file stem.

    Returns:
        The findings in document order.
    """
    prefix = id_prefix or PurePath(doc.name).stem
    return finish_findings(_Ordinance(doc).run(), doc, id_prefix=prefix, max_chars=max_chars)

"""Segmenter for the smart-city case-study report layout (``smartcity_model_project_cases.txt`` and its siblings).

Layout, as converted from the PDF (one page per municipality and topic)::

    1. 推進体制 ～②人材育成・人材活用～          <- chapter banner, repeated on every page
    加賀市(2/3)                                  <- municipality, with a page counter
    ■ フェローの位置づけ                          <- practice heading
    - 加賀市では市長から外部人材へ…               <- one finding per bullet
    ■ 取組みを通じた知見・課題                    <- lesson heading: its bullets are lessons about the topic above
    - 自治体や地域の全体像を把握し…
    ◀ 行政内の推進体制イメージ                    <- figure caption: not a finding
    ※ヒアリング結果より作成。                     <- source note: attached to the page's findings

Rules for the quirks (the numbers are the constants below):

* Everything before the first banner (the table of contents) is skipped.
* After a banner, the next non-blank line is the municipality when it is short; a page counter ``(1/3)`` /
  ``（1/2）`` is removed, other parentheses (``仙台市（泉区）``) are kept. Inside a page, a line that is exactly a
  municipality name (``松山市``) followed by a ``■`` heading switches the municipality.
* A paragraph (adjacent non-marker lines) is a *caption* when it is under 50 characters and is not a sentence of
  at least 20 characters ending in 。. Captions are never findings. The first caption after a ``■`` block (or any
  ``●…`` / ``◀…`` / ``<…>`` / ``『…』`` / ``【…】`` label) opens a *figure region*: until the next ``■`` heading,
  findings get the caption as heading, kind ``practice`` and ``extra["topic"]`` = the practice heading they
  illustrate.
* Short bullets (under 30 characters, no 。) are figure items; a run of them (blank lines allowed between) is one
  finding, items joined by ``／`` and prefixed by the caption(s) right before them (``3つの戦略: 1 …／2 …``); the
  line span then starts at that caption. Runs shorter than 20 characters in total are dropped as fragments.
* A tab-separated table becomes one finding (records: ``多気町（総人口14,450人、…）、…``) or, for alternating
  name/description rows, one finding per cell pair spanning the two rows.
* ``出典：`` / ``出典:`` / ``ほかの出典：`` lines, ``※…より引用。`` / ``※…より作成。`` notes and credit lines
  such as ``(日本電気(株)資料)`` are not findings;
  each is attached as ``source_note`` to every finding of the current page (since the last banner or municipality
  switch) that has none yet. Other ``※`` footnotes are ignored.

Pages of the published report (``extra["report_page"]``, cited ``報告書 p.3`` beside the line): the text is a slide
report, and each banner starts one slide; a page with two municipalities (``加賀市`` then ``つくば市`` under one
banner) is one slide, and the page counters agree (``加賀市(1/3)``…``(3/3)`` sit under three banners). So the
banner numbered ``k`` (from 0) is on page ``first + k``, where ``first`` is the table of contents' page of the
first chapter. The rule is used only when every chapter the table of contents lists (``1. 推進体制 p.2``) starts,
by it, on the page listed, with at least two chapters listed; otherwise no finding gets a report page. For the seed
the contents list 推進体制 p.2, 費用負担 p.20, 市民参画 p.26, and the banners fit exactly: 18 banners of chapter
1 (pages 2–19), 6 of chapter 2 (20–25), 5 of chapter 3 (26–30). Chapter 4 (その他, 7 banners) is not in the table
of contents; its pages 31–37 follow from the same rule and are not confirmed by it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from kensaku.ingest.models import REPORT_PAGE, Document, Finding, Kind
from kensaku.ingest.normalize import clean_text, has_text, join_lines
from kensaku.ingest.segment.draft import Draft, finish_findings

# Every pattern here costs linear time in the line's length: quantifiers that could take the same spaces are possessive
# (`*+`), a lazy group ends on a non-space (`.*?\S`), a search starts only where a run of spaces does, and
# `_HEADER_UNIT`, which would stay quadratic, only looks at a header of up to 100 characters.
LESSON_HEADING = re.compile(r"取組み?を通じた知見\s*+[・、,，]?\s*+課題")
_BANNER = re.compile(r"^(\d{1,2})\.\s*+([^\s～〜~]{1,20}?)\s*+(?:[～〜~]\s*+[①-⑳]?\s*+(.*?\S)\s*+[～〜~])?$")
_PAGE_COUNTER = re.compile(r"(?<!\s)\s*+[（(]\s*+\d++\s*+/\s*+\d++\s*+[）)]\s*+$")
_MUNICIPALITY = re.compile(r"^[^\s、。，,・:：|｜()（）「」]{1,13}(?:市|町|村|区)(?:ほか)?$")
_SOURCE_NOTE = re.compile(r"^(?:ほかの)?出典\s*[：:]|^※.*(?:より引用|より作成|出典)|^[(（].*(?:資料|出典)[)）]$")
_BULLET = re.compile(r"^\s*(?:[-*+]\s+|[・○]\s*)")
_LABEL = re.compile(r"^(?:[●◀▶]\s*(?P<mark>.+)|[<＜](?P<angle>.+)[>＞]|『(?P<quote>.+)』|【(?P<lenticular>.+)】)$")
_INDEX_HEADERS = frozenset({"No", "No.", "NO", "no", "番号", "#", "№"})
_INDEX_VALUE = re.compile(r"^(?:[①-⑳]|\d+)$")
_HEADER_UNIT = re.compile(r"^(?=.{0,100}$)(?P<name>.+?)\s*[（(](?P<unit>[^）)]+)[）)]$")
_NUMERIC = re.compile(r"^[-+]?[\d,.]+$")
# A table-of-contents row: `1. 推進体制<TAB>p.2<TAB>1` (cleaned: tabs are spaces).
_TOC_ROW = re.compile(r"^(\d{1,2})\.\s*+(\S{1,20})\s++p\.\s*+(\d{1,4})(?:\s|$)")

CAPTION_MAX_CHARS = 50
SENTENCE_MIN_CHARS = 20
SHORT_BULLET_CHARS = 30
MUNICIPALITY_MAX_CHARS = 20
MIN_FINDING_CHARS = 20
_BANNER_MIN = 3
_TOC_MIN_CHAPTERS = 2


def _banner(line: str) -> re.Match[str] | None:
    """Match a chapter banner (``1. 推進体制 ～①庁内体制～``); TOC rows carry tabs and page numbers, so no match."""
    return None if "\t" in line else _BANNER.match(clean_text(line))


def report_pages(lines: Sequence[str]) -> dict[int, int]:
    """The page of the published report each banner starts, by 0-based line index (see the module docstring).

    Args:
        lines: The document's lines.

    Returns:
        Banner line index → page; empty when the table of contents lists fewer than two chapters or does not fit.
    """
    banners = [(i, m) for i, line in enumerate(lines) if (m := _banner(line))]
    if not banners:
        return {}
    contents = [m for line in lines[: banners[0][0]] if "\t" in line and (m := _TOC_ROW.match(clean_text(line)))]
    if len(contents) < _TOC_MIN_CHAPTERS:
        return {}
    starts: dict[tuple[str, str], int] = {}
    for k, (_, m) in enumerate(banners):
        starts.setdefault((m.group(1), m.group(2)), k)
    first = int(contents[0].group(3)) - starts.get((contents[0].group(1), contents[0].group(2)), 0)
    for row in contents:
        start = starts.get((row.group(1), row.group(2)))
        if start is None or first + start != int(row.group(3)) or first < 1:
            return {}
    return {i: first + k for k, (i, _) in enumerate(banners)}


def looks_like_case_report(doc: Document) -> bool:
    """True if the document has the case-report layout: 3+ banners with a ``～section～`` and ``■`` headings."""
    banners = sum(1 for line in doc.lines if (m := _banner(line)) and m.group(3))
    return banners >= _BANNER_MIN and any(line.lstrip().startswith("■") for line in doc.lines)


def _is_table_row(line: str) -> bool:
    return "\t" in line and sum(1 for c in line.split("\t") if clean_text(c)) >= 2


def _classify(line: str) -> str:
    """Line type: blank, banner, heading, note, footnote, table, bullet or text."""
    text = clean_text(line)
    if not has_text(text):
        return "blank"
    if _banner(line):
        return "banner"
    if text.startswith("■"):
        return "heading"
    if _SOURCE_NOTE.match(text):
        return "note"
    if text.startswith("※"):
        return "footnote"
    if _is_table_row(line):
        return "table"
    if _BULLET.match(line):
        return "bullet"
    return "text"


def _is_caption(text: str) -> bool:
    """Short figure/box text: under 50 chars and not a real sentence (20+ chars containing 。)."""
    if _LABEL.match(text):
        return True
    return len(text) < CAPTION_MAX_CHARS and not ("。" in text and len(text) >= SENTENCE_MIN_CHARS)


def _is_short_bullet(text: str) -> bool:
    return len(text) < SHORT_BULLET_CHARS and "。" not in text


def _with_unit(header: str, value: str) -> str:
    """``総人口(人)`` + ``14,450`` → ``総人口14,450人``; non-numeric values read ``header：value``."""
    m = _HEADER_UNIT.match(header)
    if m and _NUMERIC.match(value):
        return f"{m['name']}{value}{m['unit']}"
    return f"{header}{value}" if _NUMERIC.match(value) else f"{header}：{value}"


def render_records(rows: Sequence[Sequence[str]]) -> str:
    """Render a header + records table as one readable line: ``多気町（総人口14,450人、人口増加率-3.6%）、…``.

    Args:
        rows: Cleaned cells; the first row is the header.

    Returns:
        The rendered text; without a usable header, rows joined by ``／``.
    """
    header, body = list(rows[0]), [list(r) for r in rows[1:]]
    if not body or any(len(c) > MUNICIPALITY_MAX_CHARS for c in header):
        return "／".join(" ".join(r) for r in rows)
    if header[0] in _INDEX_HEADERS or all(r and _INDEX_VALUE.match(r[0]) for r in body):
        header, body = header[1:], [r[1:] for r in body]
    rendered = []
    for row in body:
        attrs = "、".join(_with_unit(h, v) for h, v in zip(header[1:], row[1:], strict=False))
        rendered.append(f"{row[0]}（{attrs}）" if attrs else row[0])
    return "、".join(rendered)


def _is_paired(rows: Sequence[Sequence[str]]) -> bool:
    """Alternating rows of short names and long descriptions (the 6町 overview)."""
    if len(rows) < 2 or len(rows) % 2 or len({len(r) for r in rows}) != 1:
        return False
    names, descriptions = rows[0::2], rows[1::2]
    short = all(len(c) <= MUNICIPALITY_MAX_CHARS and "。" not in c for r in names for c in r)
    return short and all(sum(map(len, r)) / len(r) >= SENTENCE_MIN_CHARS for r in descriptions)


class _Cutter:
    """Walks the lines once, keeping the banner/municipality/heading/region state, and emits drafts."""

    def __init__(self, doc: Document) -> None:
        self.lines = doc.lines
        self.kinds = [_classify(line) for line in doc.lines]
        self.drafts: list[Draft] = []
        self.chapter = self.section = self.municipality = ""
        self.pages = report_pages(doc.lines)
        self.page: int | None = None
        self._reset_page()

    def _reset_page(self) -> None:
        self.heading, self.lesson, self.topic = "", False, ""
        self.region, self.region_line = "", 0
        self.captions: list[tuple[int, str]] = []
        self.page_start = len(self.drafts)

    def _next_nonblank(self, i: int) -> int | None:
        return next((j for j in range(i, len(self.lines)) if self.kinds[j] != "blank"), None)

    def run(self) -> list[Draft]:
        i = self.kinds.index("banner") if "banner" in self.kinds else len(self.lines)
        while i < len(self.lines):
            i = self._step(i)
        return self.drafts

    def _step(self, i: int) -> int:
        kind = self.kinds[i]
        if kind == "banner":
            return self._on_banner(i)
        if kind == "heading":
            self._on_heading(clean_text(self.lines[i].lstrip()[1:]))
        elif kind == "note":
            self._on_note(clean_text(self.lines[i]))
        elif kind == "table" and i + 1 < len(self.lines) and self.kinds[i + 1] == "table":
            return self._on_table(i)
        elif kind == "bullet":
            return self._on_bullets(i)
        elif kind in ("text", "table") and not self._on_municipality_switch(i):
            return self._on_paragraph(i)
        return i + 1

    def _on_banner(self, i: int) -> int:
        m = _banner(self.lines[i])
        if m is None:  # unreachable: the line was classified as a banner
            return i + 1
        chapter, section = m.group(2), m.group(3) or ""
        self.page = self.pages.get(i)
        same_topic = (chapter, section) == (self.chapter, self.section)
        self.chapter, self.section = chapter, section
        self._reset_page()
        j = self._next_nonblank(i + 1)
        if j is not None and self.kinds[j] == "text":
            name = clean_text(self.lines[j])
            if len(name) <= MUNICIPALITY_MAX_CHARS and "。" not in name:
                self.municipality = _PAGE_COUNTER.sub("", name)
                return j + 1
        if not same_topic:
            self.municipality = ""
        return i + 1

    def _on_municipality_switch(self, i: int) -> bool:
        name = _PAGE_COUNTER.sub("", clean_text(self.lines[i]))
        j = self._next_nonblank(i + 1)
        if not _MUNICIPALITY.match(name) or j is None or self.kinds[j] != "heading":
            return False
        self.municipality = name
        self._reset_page()
        return True

    def _on_heading(self, text: str) -> None:
        self.heading = text
        self.lesson = bool(LESSON_HEADING.search(text))
        if not self.lesson:
            self.topic = text
        self.region, self.region_line, self.captions = "", 0, []

    def _on_note(self, note: str) -> None:
        for d in self.drafts[self.page_start :]:
            if not d.source_note:
                d.source_note = note
        self.captions = []

    def _add(self, text: str, start: int, end: int, extra: dict[str, str] | None = None) -> None:
        """Emit a draft for 1-based lines ``start``–``end`` under the current state."""
        info = dict(extra or {})
        kind: Kind
        if self.region:
            heading, kind = self.region, "practice"
            path: tuple[str, ...] = (self.chapter, self.section, self.topic, self.region)
        elif self.lesson:
            heading, kind = self.heading, "lesson"
            path = (self.chapter, self.section, self.topic, self.heading)
        else:
            heading, kind = self.heading, "practice"
            path = (self.chapter, self.section, self.heading)
        if (self.region or self.lesson) and self.topic:
            info["topic"] = self.topic
        if self.page is not None:
            info[REPORT_PAGE] = str(self.page)
        self.drafts.append(
            Draft(text, start, end, heading, kind, path, self.chapter, self.section, self.municipality, extra=info)
        )
        self.captions = []

    def _take_prefix(self) -> tuple[str, int | None]:
        """The caption(s) right before a figure list or table, as text and 1-based start line."""
        others = [c for c in self.captions if c[0] != self.region_line]
        chosen = others[-2:] or self.captions[-1:]
        if not chosen:
            return "", None
        return " ".join(t for _, t in chosen), chosen[0][0]

    def _on_paragraph(self, i: int) -> int:
        j = i + 1
        while j < len(self.lines) and self.kinds[j] in ("text", "table"):
            j += 1
        text = join_lines(self.lines[i:j])
        if not _is_caption(text):
            self._add(text, i + 1, j)
            return j
        m = _LABEL.match(text)
        title = next(g for g in m.groups() if g) if m else text
        title = clean_text(title)
        if m or not self.region:
            self.region, self.region_line = title, i + 1
        self.captions.append((i + 1, title))
        return j

    def _read_bullet(self, i: int) -> tuple[str, int]:
        """A bullet plus directly following unmarked lines; returns its text and the index after it."""
        j = i + 1
        while j < len(self.lines) and self.kinds[j] == "text":
            j += 1
        return join_lines([_BULLET.sub("", self.lines[i], count=1), *self.lines[i + 1 : j]]), j

    def _on_bullets(self, i: int) -> int:
        text, j = self._read_bullet(i)
        if not _is_short_bullet(text):
            self._add(text, i + 1, j)
            return j
        items, end = [text], j
        while (k := self._next_nonblank(end)) is not None and self.kinds[k] == "bullet":
            text, after = self._read_bullet(k)
            if not _is_short_bullet(text):
                break
            items.append(text)
            end = after
        prefix, start = self._take_prefix()
        body = "／".join(items)
        merged = f"{prefix}: {body}" if prefix else body
        if len(merged) >= MIN_FINDING_CHARS:
            self._add(merged, start or i + 1, end)
        self.captions = []
        return end

    def _on_table(self, i: int) -> int:
        j = i
        while j < len(self.lines) and self.kinds[j] == "table":
            j += 1
        rows = [[clean_text(c) for c in line.split("\t") if clean_text(c)] for line in self.lines[i:j]]
        if _is_paired(rows):
            for r in range(0, len(rows), 2):
                for name, description in zip(rows[r], rows[r + 1], strict=True):
                    self._add(f"{name}: {description}", i + r + 1, i + r + 2, {"source": "table"})
            return j
        prefix, start = self._take_prefix()
        body = render_records(rows)
        self._add(f"{prefix}: {body}" if prefix else body, start or i + 1, j, {"source": "table"})
        return j


def segment_report(doc: Document, *, max_chars: int, id_prefix: str) -> list[Finding]:
    """Cut a case-report document into findings (see the module docstring for the rules).

    Args:
        doc: A document for which :func:`looks_like_case_report` is true.
        max_chars: Longer findings are split at sentence ends.
        id_prefix: Id prefix, normally the file stem.

    Returns:
        The findings in document order.
    """
    return finish_findings(_Cutter(doc).run(), doc, id_prefix=id_prefix, max_chars=max_chars)

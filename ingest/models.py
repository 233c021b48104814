"""Typed values produced by ingestion: a source :class:`Document` and the :class:`Finding` segments cut from it."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Kind = Literal["lesson", "practice"]
KINDS: tuple[Kind, ...] = ("lesson", "practice")
# ``Finding.extra`` key of the page of the published report (the seed report's slides), as a decimal string.
REPORT_PAGE = "report_page"
QUOTE_CHARS = 20


@dataclass(frozen=True)
class Document:
    """One source file, read into lines.

    Attributes:
        path: Path of the file as given to the reader (used for display and citation).
        name: File name shown in citations (e.g. ``smartcity_model_project_cases.txt``).
        title: Human title of the document (first heading or the file stem).
        lines: The decoded text, split into lines without their line ends; line ``n`` (1-based) is ``lines[n-1]``.
        sha256: Hex digest of the raw bytes, recorded in the index manifest.
        origins: For converted formats, the number cited for each line instead of its index: the line on its page
            (PDF), the paragraph number (DOCX) or the source line (HTML). Empty: line ``n`` is cited as ``n``.
        pages: 1-based page of each line for paged sources (PDF); empty for unpaged ones.
        page_labels: Printed label of each page (PDF ``/PageLabels``: ``iv``, ``A-3``), index ``page - 1``;
            empty when the source has none.
        line_unit: How positions are cited: ``L`` (lines) or ``¶`` (paragraphs, for DOCX).
        problems: Warnings found while reading (e.g. pages whose text layer is ``(cid:…)`` garbage); the document
            is still indexed.
        quotes: For DOCX, the text of each line as Word's search finds it (a table row's longest cell, since the
            row is rendered ``列名: 値／…``); empty, or ``""`` for a line: the line itself without its markup.
    """

    path: str
    name: str
    title: str
    lines: tuple[str, ...]
    sha256: str
    origins: tuple[int, ...] = ()
    pages: tuple[int, ...] = ()
    page_labels: tuple[str, ...] = ()
    line_unit: Literal["L", "¶"] = "L"
    problems: tuple[str, ...] = ()
    quotes: tuple[str, ...] = ()

    def origin(self, line: int) -> int:
        """The number cited for 1-based ``line``."""
        return self.origins[line - 1] if self.origins else line

    def page(self, line: int) -> int | None:
        """The page of 1-based ``line``, or ``None`` for unpaged documents."""
        return self.pages[line - 1] if self.pages else None

    def page_label(self, page: int | None) -> str:
        """The printed label of ``page`` when it differs from the page number, else ``""``."""
        if page is None or page > len(self.page_labels):
            return ""
        label = self.page_labels[page - 1]
        return "" if label == str(page) else label

    def quote(self, line: int) -> str:
        """The text of 1-based ``line`` as a reader finds it in the original: its quote, else the line without the
        markdown-like markers readers add (``# ``, ``- ``).

        >>> Document("p.docx", "p.docx", "", ("# 見出し", "- 項目です"), "0").quote(2)
        '項目です'
        """
        quoted = self.quotes[line - 1] if line <= len(self.quotes) else ""
        return quoted or _MARKUP.sub("", self.lines[line - 1]).strip()


@dataclass(frozen=True)
class Finding:
    """One lesson or practice: the unit that is indexed, searched, cited and exported.

    Attributes:
        id: Stable identifier derived from the document and the start line (``<doc-stem>:L<line>``), identical
            across rebuilds of the same file.
        text: Clean text (markdown emphasis removed, whitespace normalized, original wording kept).
        document: File name of the source document.
        municipality: Municipality the finding is about (``加賀市``, ``北海道更別村``, ``三重県多気町ほか``);
            empty if none.
        chapter: Top-level chapter (``推進体制``, ``費用負担``, ``市民参画``, ``その他``) or the top heading.
        section: Section inside the chapter (``庁内体制``, ``人材育成・人材活用``, ...); may be empty.
        heading: The nearest heading (the ``■`` title in the seed report).
        kind: ``lesson`` for bullets under 「取組み(を)通じた知見・課題」, ``practice`` otherwise.
        line_start: First source line (1-based, inclusive).
        line_end: Last source line (1-based, inclusive).
        citation: Human-readable citation (document, municipality, chapter › section › heading, lines).
        source_note: 「出典：…」 text that belongs to this finding's block, if any.
        page: 1-based page number (first page of the finding) for paged sources (PDF); ``None`` for plain text.
        title: Title of the source document.
        page_end: Last page of the finding when it runs onto a later page, else ``None``.
        page_label: Printed label of ``page`` (``iv``) when the PDF has page labels that differ from the number.
        line_unit: What ``line_start``/``line_end`` count: ``L`` lines (on the page, for PDF; in the source, for
            HTML) or ``¶`` paragraphs (DOCX).
    """

    id: str
    text: str
    document: str
    municipality: str
    chapter: str
    section: str
    heading: str
    kind: Kind
    line_start: int
    line_end: int
    citation: str
    source_note: str = ""
    page: int | None = None
    title: str = ""
    page_end: int | None = None
    page_label: str = ""
    line_unit: str = "L"
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def context_text(self) -> str:
        """The text with its heading in front, as fed to the embedder when context embedding is on."""
        if self.heading and self.heading not in self.text:
            return f"{self.heading}: {self.text}"
        return self.text

    @property
    def report_page(self) -> int | None:
        """The page of the published report the finding is on (seed report), or ``None`` (see ``REPORT_PAGE``)."""
        value = self.extra.get(REPORT_PAGE, "")
        return int(value) if value.isdecimal() else None

    @property
    def location(self) -> str:
        """Where in the document, as cited: ``L10–12``, ``p.3 L5–7``, ``p.3 L40–p.4 L2``, ``p.iv [4] L2``, ``¶7``."""
        return format_location(
            self.line_start,
            self.line_end,
            page=self.page,
            page_end=self.page_end,
            page_label=self.page_label,
            unit=self.line_unit,
        )

    def to_dict(self) -> dict[str, Any]:
        """All fields as a JSON-ready dict (``extra`` omitted when empty)."""
        data = asdict(self)
        if not data["extra"]:
            del data["extra"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        """Inverse of :meth:`to_dict`."""
        values = dict(data)
        values["extra"] = dict(values.get("extra") or {})
        return cls(**values)


def format_location(
    line_start: int,
    line_end: int,
    *,
    page: int | None = None,
    page_end: int | None = None,
    page_label: str = "",
    unit: str = "L",
) -> str:
    """Where a finding is, as cited.

    >>> format_location(10, 12)
    'L10–12'
    >>> format_location(7, 7, unit="¶")
    '¶7'
    >>> format_location(5, 7, page=3)
    'p.3 L5–7'
    >>> format_location(40, 2, page=3, page_end=4)
    'p.3 L40–p.4 L2'
    >>> format_location(2, 2, page=4, page_label="iv")
    'p.iv [4] L2'
    """
    if page is None:
        return f"{unit}{line_start}" if line_start == line_end else f"{unit}{line_start}–{line_end}"
    shown = f"p.{page_label} [{page}]" if page_label else f"p.{page}"
    if page_end is not None and page_end != page:
        return f"{shown} {unit}{line_start}–p.{page_end} {unit}{line_end}"
    lines = f"{unit}{line_start}" if line_start == line_end else f"{unit}{line_start}–{line_end}"
    return f"{shown} {lines}"


def format_citation(
    *,
    document: str,
    municipality: str,
    path: tuple[str, ...],
    location: str,
    report_page: int | None = None,
    quote: str = "",
) -> str:
    """Build the human-readable citation string from its parts (``location`` from :func:`format_location`).

    Path parts that repeat the municipality or an earlier part (compared by :func:`normalize_heading`) are left out.
    ``report_page`` (the page of a published report, when the document is its text) is a part of its own, ahead of
    the line: ``報告書 p.3｜L214–216`` reads as page 3 of the report and line 214 of the text, never as line 214 on
    page 3 (which a PDF citation writes ``p.3 L214``). ``quote`` (the start of the paragraph, for DOCX) follows the
    location in 「」, cut by :func:`quote_start`.

    >>> format_citation(document="report.txt", municipality="加賀市", path=("推進体制", "庁内体制", "見出し"),
    ...                 location=format_location(10, 12))
    'report.txt｜加賀市｜推進体制 › 庁内体制 › 見出し｜L10–12'
    >>> format_citation(document="白書.pdf", municipality="", path=("第1章",), location=format_location(3, 9, page=12))
    '白書.pdf｜第1章｜p.12 L3–9'
    >>> format_citation(document="r.txt", municipality="加賀市", path=("推進体制", "1. 推進体制"),
    ...                 location="L214–216", report_page=3)
    'r.txt｜加賀市｜推進体制｜報告書 p.3｜L214–216'
    >>> format_citation(document="計画.docx", municipality="", path=("第2章 推進体制",), location="¶7",
    ...                 quote="市の職員を対象にした研修は毎年度開催し、受講者を増やした。")
    '計画.docx｜第2章 推進体制｜¶7「市の職員を対象にした研修は毎年度開催し…」'
    """
    parts = [document]
    if municipality:
        parts.append(municipality)
    crumbs = " › ".join(distinct_parts(path, after=(municipality,)))
    if crumbs:
        parts.append(crumbs)
    if report_page is not None:
        parts.append(f"報告書 p.{report_page}")
    shown = quote_start(quote)
    parts.append(f"{location}「{shown}」" if shown else location)
    return "｜".join(parts)


def quote_start(text: str, limit: int = QUOTE_CHARS) -> str:
    """The first ``limit`` characters of ``text`` on one line (runs of whitespace read as one space), with ``…``
    when it is cut (and a trailing 、 or space dropped before it).

    The cut never splits a character from the marks that belong to it (combining marks, variation selectors, a
    zero-width joiner and what it joins), so the start can be typed into Word's search as shown.

    >>> quote_start("市の職員を対象にした研修は毎年度開催し、受講者を増やした。")
    '市の職員を対象にした研修は毎年度開催し…'
    >>> quote_start("短い段落。"), quote_start("")
    ('短い段落。', '')
    >>> quote_start("葛\U000e0100城市の計画", 1)
    '葛\U000e0100…'
    """
    text = _SPACES.sub(" ", text).strip()
    if len(text) <= limit:
        return text
    end = limit
    while end < len(text) and (_attached(text[end]) or text[end - 1] == _ZWJ):
        end += 1
    return text[:end].rstrip(" 、，,") + ("…" if end < len(text) else "")


def _attached(char: str) -> bool:
    """True for a character that belongs to the one before it: a combining mark (variation selectors are marks too)
    or a zero-width joiner."""
    return unicodedata.category(char) in ("Mn", "Mc", "Me") or char == _ZWJ


# --- Headings as filter values ---------------------------------------------------------------------------------------

_ZWJ = "\u200d"
_SPACES = re.compile(r"\s+")
_MARKUP = re.compile(r"^(?:#{1,6}\s+|[-*+]\s+)")
_D = "[0-9０-９]"
_KANJI_NUMBER = "[一二三四五六七八九十百〇]+"
_NUM = f"(?:{_D}+|{_KANJI_NUMBER})"
# A counter or unit right after ``1 `` makes the number content (``10 年後``, ``1 万人``), not numbering.
_COUNTER = "(?![年月日度回件人名個歳％%倍割円万億兆時分秒週km])"
_SEPARATOR = r"(?:\s*+[.．、，,:：]\s*+|\s++)"
_NUMBERING = re.compile(
    "^(?:"
    rf"第\s*+{_NUM}\s*+[章節編]\s*+[.．、，,:：]?\s*+"  # 第1章 推進体制, 第一章推進体制
    rf"|第?\s*+{_NUM}\s*+[章節編部款]{_SEPARATOR}"  # 1章 推進体制, 第2部 事例 (部 and 款 need a separator)
    rf"|{_D}+(?:[-－‐.．]{_D}+)+(?:[.．]\s*+|\s*+[:：、]\s*+|\s++)"  # 1-2. 推進体制, 1.2 推進体制, 2-1-3 …
    rf"|{_D}+[.．](?!{_D})\s*+"  # 1. 推進体制, １．推進体制 (not 1.5次産業)
    rf"|{_D}+[、，,:：](?!{_D})\s*+"  # 1、推進体制 (not 1,000人)
    rf"|{_D}+[)）]\s*+"  # 1) 推進体制
    rf"|{_D}{{1,2}}\s++{_COUNTER}"  # 1 推進体制 (not 2025 年, 10 年後)
    # (1) （１） 【1】 （ア） (a)
    rf"|[(（〔【\[［]\s*+(?:{_D}{{1,3}}|{_KANJI_NUMBER}|[A-Za-zＡ-Ｚａ-ｚ]|[ァ-ヶ])\s*+[)）〕】\]］]\s*+"
    r"|[①-⑳㉑-㉟㊱-㊿⑴-⒇⒈-⒛❶-❿➀-➓]\s*+[.．、]?\s*+"  # ①推進体制, ⑴
    rf"|[Ⅰ-Ⅻⅰ-ⅻ]+{_SEPARATOR}"  # Ⅰ．推進体制, Ⅱ 費用負担
    r"|(?=[IVX])X{0,3}(?:IX|IV|V?I{0,3})[.．)）]\s*+"  # I. 推進体制, IV) 課題
    r"|[A-Za-zＡ-Ｚａ-ｚ][.．)）]\s++"  # A. 推進体制, a) 課題
    rf"|{_KANJI_NUMBER}(?:\s*+[、.．)）]\s*+|\s++)"  # 一、推進体制, 二 費用負担
    r"|[ァ-ヶ][.．、)）]\s*+"  # ア．推進体制
    r"|[■□◆◇●○◎▼▽▶►・]\s*+"  # ■ 推進体制
    ")"
)
_WIDE_ALNUM = str.maketrans(
    {chr(c): chr(c - 0xFEE0) for r in ("０９", "ＡＺ", "ａｚ") for c in range(ord(r[0]), ord(r[1]) + 1)}
)


def normalize_heading(value: str) -> str:
    """A chapter or section name without its numbering, so that filter values agree across documents.

    Numbering goes when a separator or a chapter marker follows it: ``1.`` ``１．`` ``第1章`` ``第１章　`` ``1 ``
    ``(1)`` ``（ア）`` ``①`` ``Ⅰ．`` ``1-2.`` ``1.2 `` ``一、`` ``A.``, and a leading ``■``-style symbol (at most
    three in a row: ``第1章 1. 推進体制``). Digits that are content stay: ``3D都市モデル``, ``5G活用``,
    ``2025年大阪万博``, ``1.5次産業``, ``10 年後``, ``第3回 協議会``. Full-width ASCII letters and digits are
    folded to half-width (``５Ｇ`` → ``5G``); other characters and the wording are kept. A value that is only
    numbering (``第1章``) is kept whole.

    >>> [normalize_heading(v) for v in ("1. 推進体制", "第１章　推進体制", "(1) 推進体制", "①推進体制", "3D都市モデル")]
    ['推進体制', '推進体制', '推進体制', '推進体制', '3D都市モデル']
    """
    text = _SPACES.sub(" ", value).strip()
    for _ in range(3):
        m = _NUMBERING.match(text)
        rest = text[m.end() :].strip() if m else ""
        if not rest:
            break
        text = rest
    return text.translate(_WIDE_ALNUM)


def distinct_parts(parts: Iterable[str], *, after: Iterable[str] = ()) -> list[str]:
    """``parts`` without empty ones and without one that repeats an earlier part (or one of ``after``), compared
    by :func:`normalize_heading`; the first spelling is kept.

    >>> distinct_parts(["推進体制", "1. 推進体制", "", "庁内体制"])
    ['推進体制', '庁内体制']
    """
    seen = {normalize_heading(p) for p in after if p}
    kept: list[str] = []
    for part in parts:
        key = normalize_heading(part)
        if part and key not in seen:
            seen.add(key)
            kept.append(part)
    return kept


def breadcrumb_parts(finding: Finding) -> list[str]:
    """Where a finding is, for a card's breadcrumb: municipality, chapter, section, topic, heading, with empty and
    repeated parts left out (a part equal to an earlier one by :func:`normalize_heading`, so never
    「推進体制 › 推進体制」).

    >>> f = Finding("d:L1", "本文", "d.txt", "加賀市", "推進体制", "推進体制", "1. 推進体制", "practice", 1, 1, "")
    >>> breadcrumb_parts(f)
    ['加賀市', '推進体制']
    """
    parts = (finding.municipality, finding.chapter, finding.section, finding.extra.get("topic", ""), finding.heading)
    return distinct_parts(parts)

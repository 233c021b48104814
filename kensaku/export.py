"""Export search results as cited excerpts: Markdown, CSV, XLSX, JSON and DOCX, each a pure ``(hits, meta) -> bytes``.

Document text is untrusted: spreadsheet cells are neutralized against formula injection, Markdown is escaped so
that HTML and Markdown in a finding render literally, and characters XML cannot hold are dropped from XLSX/DOCX.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from docx import Document as new_docx
from docx.document import Document as DocxDocument
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.shared import Mm, Pt
from docx.text.paragraph import Paragraph
from docx.text.run import Run
from openpyxl import Workbook
from openpyxl.cell.cell import Cell as XlCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from kensaku.errors import InputError
from kensaku.index.search import Hit
from kensaku.ingest.models import Finding

FORMATS = ("md", "csv", "xlsx", "json", "docx")
SCHEMA = "kensaku.export/v1"
MIME: dict[str, str] = {
    "md": "text/markdown; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
KIND_LABELS = {"lesson": "知見・課題", "practice": "取組"}
FILTER_LABELS = {
    "municipality": "自治体",
    "municipalities": "自治体",
    "chapter": "章",
    "chapters": "章",
    "section": "節",
    "sections": "節",
    "kind": "種別",
    "kinds": "種別",
    "exclude_municipalities": "除外する自治体",
}
COLUMNS: tuple[str, ...] = tuple(
    "順位 スコア 抜粋 自治体 章 節 見出し 種別 文書 開始行 終了行 頁 位置 出典注記 引用 ID".split()
)
COLUMN_WIDTHS = (6, 9, 80, 14, 12, 18, 28, 10, 30, 8, 8, 6, 16, 30, 60, 34)
WRAPPED_COLUMNS = frozenset({"抜粋", "出典注記", "引用"})
TITLE = "kensaku 検索結果の抜粋"
NO_HITS = "該当する抜粋はありません。"
EXCEL_CELL_LIMIT = 32_767
TRUNCATION_MARK = "…（以下省略）"
# OWASP's list, plus the full-width forms defensively (Japanese Excel may turn ＝ into = when a cell is edited).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
BODY_FONT = "游明朝"
HEADING_FONT = "游ゴシック"

_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_MD_INLINE = re.compile(r"([\\`*\[\]~|]|(?<![^\W_])_|_(?![^\W_]))")  # an intraword _ (file_name.txt) is literal already
# Line starts that open a block: ordered list `1.`, heading or bullet `# ` `- `, rule or setext `--` `==`.
_MD_BLOCK_START = re.compile(
    r"^(?:(?P<digits>\d{1,9})(?=[.)](?:\s|$))|(?:#{1,6}|[-+])(?=\s|$)|(?P<rule>[-=])(?=(?P=rule)))"
)

Cell = str | int | float | None


@dataclass(frozen=True)
class ExportMeta:
    """What the exported results answer, recorded at the top of every file.

    Attributes:
        query: The question (検索語) as typed.
        created: When the search was run; timezone-aware (rendered ISO 8601, e.g. ``+09:00`` for JST).
        filters: Active filters by field, e.g. ``{"municipality": ["加賀市"], "kind": ["lesson"]}``.
        index_fingerprint: Identifies the index the results came from.
        tool_version: kensaku version that produced the export.
    """

    query: str
    created: datetime
    filters: dict[str, list[str]] = field(default_factory=dict, hash=False)
    index_fingerprint: str = ""
    tool_version: str = ""

    def __post_init__(self) -> None:
        """Refuse a naive ``created``: a timestamp without a zone cannot be cited unambiguously."""
        if self.created.tzinfo is None or self.created.utcoffset() is None:
            raise InputError(
                "ExportMeta.created has no time zone", "give an aware time, e.g. datetime.now(ZoneInfo('Asia/Tokyo'))"
            )

    @property
    def created_iso(self) -> str:
        """``created`` as ISO 8601 to the second with its UTC offset."""
        return self.created.isoformat(timespec="seconds")


def check_format(fmt: str) -> str:
    """Return ``fmt`` if it is one of :data:`FORMATS`.

    Raises:
        InputError: Naming the value and the allowed formats.
    """
    if fmt not in FORMATS:
        raise InputError(f"unknown export format {fmt!r}", f"use one of {', '.join(FORMATS)}")
    return fmt


def file_name(fmt: str, created: datetime) -> str:
    """ASCII download name with the search time.

    >>> from datetime import timezone, timedelta
    >>> file_name("csv", datetime(2026, 11, 25, 10, 30, tzinfo=timezone(timedelta(hours=9))))
    'kensaku_excerpts_20261125-1030.csv'
    """
    return f"kensaku_excerpts_{created:%Y%m%d-%H%M}.{check_format(fmt)}"


def export(hits: Sequence[Hit], meta: ExportMeta, fmt: str) -> bytes:
    """Render ``hits`` in format ``fmt`` (one of :data:`FORMATS`).

    Raises:
        InputError: Unknown format.
    """
    writers: dict[str, Callable[[Sequence[Hit], ExportMeta], bytes]] = {
        "md": to_markdown,
        "csv": to_csv,
        "xlsx": to_xlsx,
        "json": to_json,
        "docx": to_docx,
    }
    return writers[check_format(fmt)](hits, meta)


# --- shared text helpers -------------------------------------------------------------------------------------------


def kind_label(kind: str) -> str:
    """Japanese label of a finding kind (知見・課題 / 取組); unknown kinds pass through."""
    return KIND_LABELS.get(kind, kind)


def filter_lines(filters: dict[str, list[str]]) -> list[str]:
    """One ``label: value、value`` line per non-empty filter (kinds shown in Japanese)."""
    lines = []
    for key, values in filters.items():
        shown = [kind_label(v) if key in ("kind", "kinds") else v for v in values]
        if shown:
            lines.append(f"{FILTER_LABELS.get(key, key)}: {'、'.join(shown)}")
    return lines


def meta_rows(meta: ExportMeta, count: int) -> list[tuple[str, str]]:
    """The search conditions as (label, value) pairs, shown at the top of every format but JSON."""
    rows = [("検索語", meta.query), ("作成日時", meta.created_iso)]
    rows += [("絞り込み", line) for line in filter_lines(meta.filters)] or [("絞り込み", "なし")]
    rows.append(("件数", str(count)))
    if meta.index_fingerprint:
        rows.append(("索引", meta.index_fingerprint))
    if meta.tool_version:
        rows.append(("kensaku", meta.tool_version))
    return rows


def breadcrumbs(finding: Finding) -> str:
    """``chapter › section › topic › heading`` with empty parts (and a repeated topic) left out."""
    topic = finding.extra.get("topic", "")
    parts = [finding.chapter, finding.section, topic if topic != finding.heading else "", finding.heading]
    return " › ".join(p for p in parts if p)


def short_citation(finding: Finding) -> str:
    """Citation for a quote: ``municipality｜crumbs｜『document』 p.N L10–12`` (or ``¶7`` for DOCX)."""
    parts = [finding.municipality, breadcrumbs(finding), f"『{finding.document}』 {finding.location}"]
    return "｜".join(p for p in parts if p)


def full_citation(finding: Finding) -> str:
    """Reference-list entry: 『title』, the finding's citation and its source note."""
    text = f"『{finding.title}』 {finding.citation}" if finding.title else finding.citation
    return f"{text}（{finding.source_note}）" if finding.source_note else text


# --- Markdown ------------------------------------------------------------------------------------------------------


def md_escape(text: str) -> str:
    r"""Make ``text`` render literally: HTML as entities, Markdown punctuation backslash-escaped.

    >>> md_escape("<b>**x**</b> [a](b)")
    '&lt;b&gt;\\*\\*x\\*\\*&lt;/b&gt; \\[a\\](b)'
    """
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_INLINE.sub(r"\\\1", text)
    lines = (line.strip() for line in text.split("\n"))  # leading spaces would make an indented code block
    return "\n".join(_MD_BLOCK_START.sub(_escape_block_marker, line) for line in lines)


def _escape_block_marker(match: re.Match[str]) -> str:
    """Escape a block marker: ``# x`` → ``\\# x``, ``1. x`` → ``1\\. x``, ``---`` → ``\\---``."""
    return match[0] + "\\" if match["digits"] else "\\" + match[0]


def _md_quote(text: str) -> list[str]:
    return [f"> {line}" if line.strip() else ">" for line in md_escape(text).splitlines() or [""]]


def to_markdown(hits: Sequence[Hit], meta: ExportMeta) -> bytes:
    """Markdown (UTF-8, no BOM): metadata, each excerpt as a block quote with its citation, references at the end."""
    out = [f"# {TITLE}", "", *(f"- {label}: {md_escape(value)}" for label, value in meta_rows(meta, len(hits))), ""]
    if not hits:
        out += [NO_HITS, ""]
    for n, hit in enumerate(hits, start=1):
        finding = hit.finding
        out += [f"## {n}. {md_escape(finding.municipality or finding.document)}（{kind_label(finding.kind)}）", ""]
        out += [*_md_quote(finding.text), "", f"— {md_escape(short_citation(finding))} [^{n}]", ""]
    if hits:
        out += ["## 出典", ""]
        out += [
            f"[^{n}]: {md_escape(full_citation(h.finding))} (id: {md_escape(h.finding.id)})"
            for n, h in enumerate(hits, start=1)
        ]
        out.append("")
    return "\n".join(out).encode("utf-8")


# --- CSV / XLSX ----------------------------------------------------------------------------------------------------


def neutralize(text: str) -> str:
    """Prefix ``'`` to a cell a spreadsheet would run as a formula and fit it into Excel's cell limit.

    >>> neutralize('=HYPERLINK("http://x")'), neutralize("加賀市")
    ('\\'=HYPERLINK("http://x")', '加賀市')
    """
    if text.startswith(FORMULA_TRIGGERS):
        text = "'" + text
    if len(text) > EXCEL_CELL_LIMIT:
        text = text[: EXCEL_CELL_LIMIT - len(TRUNCATION_MARK)] + TRUNCATION_MARK
    return text


def row_of(hit: Hit) -> list[Cell]:
    """One spreadsheet row in :data:`COLUMNS` order: numbers as numbers, every text cell neutralized."""
    f = hit.finding
    texts = [f.text, f.municipality, f.chapter, f.section, f.heading, kind_label(f.kind), f.document]
    tail = [f.location, f.source_note, f.citation, f.id]
    return [
        hit.rank,
        round(hit.score, 6),
        *map(neutralize, texts),
        f.line_start,
        f.line_end,
        f.page,
        *map(neutralize, tail),
    ]


def to_csv(hits: Sequence[Hit], meta: ExportMeta) -> bytes:
    """CSV for Excel: UTF-8 with BOM, CRLF, Japanese header, one row per excerpt (``meta`` is in the file name)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(["" if v is None else v for v in row_of(hit)] for hit in hits)
    return buffer.getvalue().encode("utf-8-sig")


def _xml_safe(value: Cell) -> Cell:
    return _XML_ILLEGAL.sub("", value) if isinstance(value, str) else value


def _put(sheet: Worksheet, row: int, column: int, value: Cell) -> XlCell:
    cell = sheet.cell(row=row, column=column, value=_xml_safe(value))
    if isinstance(value, str):
        cell.data_type = "s"  # never a formula, whatever the text starts with
    return cell


def to_xlsx(hits: Sequence[Hit], meta: ExportMeta) -> bytes:
    """Excel workbook: sheet 抜粋 (frozen header, widths, wrapped excerpts) and sheet 検索条件 (the metadata)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "抜粋"
    top = Alignment(vertical="top")
    wrapped = Alignment(vertical="top", wrap_text=True)
    for column, (name, width) in enumerate(zip(COLUMNS, COLUMN_WIDTHS, strict=True), start=1):
        _put(sheet, 1, column, name).font = Font(bold=True)
        sheet.column_dimensions[get_column_letter(column)].width = width
    for row, hit in enumerate(hits, start=2):
        for column, value in enumerate(row_of(hit), start=1):
            _put(sheet, row, column, value).alignment = wrapped if COLUMNS[column - 1] in WRAPPED_COLUMNS else top
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    info = book.create_sheet("検索条件")
    info.column_dimensions["A"].width = 12
    info.column_dimensions["B"].width = 80
    for row, (label, value) in enumerate(meta_rows(meta, len(hits)), start=1):
        _put(info, row, 1, label).font = Font(bold=True)
        _put(info, row, 2, neutralize(value)).alignment = wrapped
    book.properties.creator = "kensaku"
    book.properties.title = _XML_ILLEGAL.sub("", f"{TITLE}: {meta.query}")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- JSON ----------------------------------------------------------------------------------------------------------


def to_json(hits: Sequence[Hit], meta: ExportMeta) -> bytes:
    """JSON (UTF-8, not ASCII-escaped) in schema ``kensaku.export/v1`` with every hit's :meth:`Hit.to_dict`."""
    data: dict[str, Any] = {
        "schema": SCHEMA,
        "query": meta.query,
        "created": meta.created_iso,
        "filters": {key: list(values) for key, values in meta.filters.items()},
        "index": {"fingerprint": meta.index_fingerprint},
        "tool_version": meta.tool_version,
        "results": [hit.to_dict() for hit in hits],
    }
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


# --- DOCX ----------------------------------------------------------------------------------------------------------


def _set_fonts(r_pr: BaseOxmlElement, font: str) -> None:
    """Set ascii/hAnsi/eastAsia fonts on an ``w:rPr``, dropping theme fonts that would override them."""
    fonts = r_pr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        r_pr.insert(0, fonts)
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(theme), None)
    for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia"):
        fonts.set(qn(attribute), font)


def _style_docx(doc: DocxDocument) -> None:
    """A4 page, Japanese fonts and language on Normal, Quote and the headings."""
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = section.top_margin = section.bottom_margin = Mm(25)
    normal = doc.styles["Normal"]
    normal.font.size = Pt(10.5)
    _set_fonts(normal.element.get_or_add_rPr(), BODY_FONT)
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "ja-JP")
    normal.element.get_or_add_rPr().append(lang)
    quote = doc.styles["Quote"]
    quote.font.italic = False  # Japanese has no italics; Word would slant the glyphs
    quote.paragraph_format.left_indent = Mm(8)
    _set_fonts(quote.element.get_or_add_rPr(), BODY_FONT)
    for name in ("Title", "Heading 1", "Heading 2"):
        _set_fonts(doc.styles[name].element.get_or_add_rPr(), HEADING_FONT)


def _run(paragraph: Paragraph, text: str, font: str = BODY_FONT, size: float | None = None) -> Run:
    """Add a run with its fonts (East Asian included) set on the run itself, as Word needs for Japanese."""
    run = paragraph.add_run(_XML_ILLEGAL.sub("", text))
    _set_fonts(run._element.get_or_add_rPr(), font)
    if size is not None:
        run.font.size = Pt(size)
    return run


def _heading(doc: DocxDocument, text: str, level: int) -> None:
    _run(doc.add_heading("", level=level), text, HEADING_FONT)


def to_docx(hits: Sequence[Hit], meta: ExportMeta) -> bytes:
    """Word document: the question as heading, a metadata paragraph, each excerpt as a quote with its citation."""
    doc = new_docx()
    _style_docx(doc)
    _heading(doc, f"「{meta.query}」の検索結果", 1)
    lines = [f"{label}: {value}" for label, value in meta_rows(meta, len(hits))[1:]]  # the query is the heading
    info = doc.add_paragraph()
    for n, line in enumerate(lines):
        run = _run(info, line, size=9)
        if n < len(lines) - 1:
            run.add_break()
    if not hits:
        _run(doc.add_paragraph(), NO_HITS)
    for n, hit in enumerate(hits, start=1):
        finding = hit.finding
        _heading(doc, f"{n}. {finding.municipality or finding.document}（{kind_label(finding.kind)}）", 2)
        _run(doc.add_paragraph(style="Quote"), finding.text)
        citation = doc.add_paragraph()
        _run(citation, f"— {short_citation(finding)}", size=9)
        _run(citation, f"\n{full_citation(finding)}（ID: {finding.id}）", size=8)
    props = doc.core_properties
    props.title = _XML_ILLEGAL.sub("", meta.query)[:255]
    props.author = props.last_modified_by = "kensaku"
    props.created = props.modified = meta.created.astimezone(UTC)  # python-docx writes the time with a "Z"
    props.language = "ja-JP"
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()

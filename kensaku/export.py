"""Export search results as cited excerpts: Markdown, CSV, XLSX, JSON and DOCX, each a pure ``(hits, meta) -> bytes``.

Each excerpt carries its own question and note (:class:`Excerpt`): a basket collected over several searches lists
every question in its header and each excerpt's question beside it. A score that is not known (``NaN``, e.g. an
excerpt picked in an earlier session) is left empty, never shown as 0.

Document text is untrusted: spreadsheet cells are neutralized against formula injection, Markdown is escaped so
that HTML and Markdown in a finding render literally, and characters XML cannot hold are dropped from XLSX/DOCX.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

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
    "exclude_documents": "除外する文書",
    "document": "文書",
    "documents": "文書",
    "year": "年度",
    "years": "年度",
}
COLUMNS: tuple[str, ...] = tuple(
    "順位 スコア 抜粋 自治体 章 節 見出し 種別 文書 開始行 終了行 頁 位置 出典注記 引用 ID 質問 メモ".split()
)
COLUMN_WIDTHS = (6, 9, 80, 14, 12, 18, 28, 10, 30, 8, 8, 6, 16, 30, 60, 34, 30, 40)
WRAPPED_COLUMNS = frozenset({"抜粋", "出典注記", "引用", "質問", "メモ"})
TITLE = "kensaku 検索結果の抜粋"
NO_HITS = "該当する抜粋はありません。"
EXCEL_CELL_LIMIT = 32_767
TRUNCATION_MARK = "…（以下省略）"
# OWASP's list, plus the full-width forms defensively (Japanese Excel may turn ＝ into = when a cell is edited).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")

XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
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
        query: The question (検索語) as typed; for excerpts of several questions, see ``questions``.
        created: When the search was run; timezone-aware (rendered ISO 8601, e.g. ``+09:00`` for JST).
        filters: Active filters by field, e.g. ``{"municipality": ["加賀市"], "kind": ["lesson"]}``.
        index_fingerprint: Identifies the index the results came from.
        tool_version: kensaku version that produced the export.
        questions: Every question the excerpts answer, in order; :func:`export` fills it from the excerpts (empty:
            ``query`` alone).
    """

    query: str
    created: datetime
    filters: dict[str, list[str]] = field(default_factory=dict, hash=False)
    index_fingerprint: str = ""
    tool_version: str = ""
    questions: tuple[str, ...] = ()

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

    @property
    def all_questions(self) -> tuple[str, ...]:
        """``questions``, else ``query`` alone (none when it is empty)."""
        return self.questions or ((self.query,) if self.query else ())

    @property
    def several(self) -> bool:
        """Whether the excerpts answer more than one question."""
        return len(self.all_questions) > 1

    @property
    def subject(self) -> str:
        """What the file answers in a title: the question, or 「N 件の質問」 for several."""
        return f"{len(self.all_questions)} 件の質問" if self.several else self.query


@dataclass(frozen=True)
class Excerpt:
    """One exported excerpt: a hit with the question it was found for and the user's note on it.

    Attributes:
        hit: The hit (its ``score`` may be ``NaN`` when not known: shown empty).
        query: The question this excerpt answers (default: the export's query).
        note: The user's note on it (メモ); may be empty.
    """

    hit: Hit
    query: str = ""
    note: str = ""


Items = Sequence[Hit] | Sequence[Excerpt]


def excerpts_of(
    hits: Sequence[Hit], query: str = "", queries: Sequence[str] | None = None, notes: Sequence[str] | None = None
) -> list[Excerpt]:
    """Pair ``hits[i]`` with ``queries[i]`` (default ``query``) and ``notes[i]`` (default empty).

    Raises:
        InputError: ``queries`` or ``notes`` of another length than ``hits``.
    """
    for name, values in (("queries", queries), ("notes", notes)):
        if values is not None and len(values) != len(hits):
            raise InputError(f"{len(values)} {name} for {len(hits)} hits", f"give one of {name} per hit, in order")
    return [
        Excerpt(hit, queries[i] if queries is not None else query, notes[i] if notes is not None else "")
        for i, hit in enumerate(hits)
    ]


def prepare(items: Items, meta: ExportMeta) -> tuple[list[Excerpt], ExportMeta]:
    """The items as excerpts (a bare hit answers ``meta.query``), and ``meta`` with the questions they answer."""
    excerpts = [i if isinstance(i, Excerpt) else Excerpt(i, meta.query) for i in items]
    asked = tuple(dict.fromkeys(e.query for e in excerpts if e.query))
    if not meta.questions and asked and asked != (meta.query,):
        meta = replace(meta, questions=asked)
    return excerpts, meta


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


def export(
    hits: Sequence[Hit],
    meta: ExportMeta,
    fmt: str,
    *,
    queries: Sequence[str] | None = None,
    notes: Sequence[str] | None = None,
) -> bytes:
    """Render ``hits`` in format ``fmt`` (one of :data:`FORMATS`); ``queries[i]`` and ``notes[i]`` belong to
    ``hits[i]`` (by default every hit answers ``meta.query`` and has no note).

    Raises:
        InputError: Unknown format, or ``queries``/``notes`` not one per hit.
    """
    writers: dict[str, Callable[[Items, ExportMeta], bytes]] = {
        "md": to_markdown,
        "csv": to_csv,
        "xlsx": to_xlsx,
        "json": to_json,
        "docx": to_docx,
    }
    return writers[check_format(fmt)](excerpts_of(hits, meta.query, queries, notes), meta)


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


def question_rows(meta: ExportMeta) -> list[tuple[str, str]]:
    """``("検索語", query)``; for several questions ``("検索語", "N 件の質問")`` and ``("質問 n", question)`` each."""
    if not meta.several:
        return [("検索語", meta.query or "".join(meta.all_questions))]
    return [("検索語", meta.subject)] + [(f"質問 {n}", q) for n, q in enumerate(meta.all_questions, start=1)]


def meta_rows(meta: ExportMeta, count: int) -> list[tuple[str, str]]:
    """The search conditions as (label, value) pairs, shown at the top of every format but JSON."""
    rows = [*question_rows(meta), ("作成日時", meta.created_iso)]
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


def excerpt_lines(excerpt: Excerpt, meta: ExportMeta) -> list[tuple[str, str]]:
    """``(label, value)`` shown above an excerpt in Markdown and Word: its question (when the export has several)
    and its note (when it has one)."""
    lines = [("質問", excerpt.query)] if meta.several and excerpt.query else []
    return lines + ([("メモ", excerpt.note)] if excerpt.note else [])


def to_markdown(hits: Items, meta: ExportMeta) -> bytes:
    """Markdown (UTF-8, no BOM): metadata, each excerpt as a block quote with its citation (and its question when
    the excerpts answer several, its note when it has one), references at the end."""
    excerpts, meta = prepare(hits, meta)
    out = [f"# {TITLE}", "", *(f"- {label}: {md_escape(value)}" for label, value in meta_rows(meta, len(excerpts)))]
    out.append("")
    if not excerpts:
        out += [NO_HITS, ""]
    for n, excerpt in enumerate(excerpts, start=1):
        finding = excerpt.hit.finding
        out += [f"## {n}. {md_escape(finding.municipality or finding.document)}（{kind_label(finding.kind)}）", ""]
        extra = [f"- {label}: {md_escape(value)}" for label, value in excerpt_lines(excerpt, meta)]
        out += [*extra, ""] if extra else []
        out += [*_md_quote(finding.text), "", f"— {md_escape(short_citation(finding))} [^{n}]", ""]
    if excerpts:
        out += ["## 出典", ""]
        out += [
            f"[^{n}]: {md_escape(full_citation(e.hit.finding))} (id: {md_escape(e.hit.finding.id)})"
            for n, e in enumerate(excerpts, start=1)
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


def known(score: float) -> float | None:
    """``score`` rounded to 6 places, or ``None`` when it is not known (``NaN``, infinite)."""
    return round(score, 6) if math.isfinite(score) else None


def row_of(item: Hit | Excerpt) -> list[Cell]:
    """One spreadsheet row in :data:`COLUMNS` order: numbers as numbers (an unknown score empty), every text cell
    neutralized."""
    excerpt = item if isinstance(item, Excerpt) else Excerpt(item)
    hit, f = excerpt.hit, excerpt.hit.finding
    texts = [f.text, f.municipality, f.chapter, f.section, f.heading, kind_label(f.kind), f.document]
    tail = [f.location, f.source_note, f.citation, f.id, excerpt.query, excerpt.note]
    return [
        hit.rank,
        known(hit.score),
        *map(neutralize, texts),
        f.line_start,
        f.line_end,
        f.page,
        *map(neutralize, tail),
    ]


def to_csv(hits: Items, meta: ExportMeta) -> bytes:
    """CSV for Excel: UTF-8 with BOM, CRLF, Japanese header, one row per excerpt with its question and note
    (``meta`` is in the file name)."""
    excerpts, meta = prepare(hits, meta)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(["" if v is None else v for v in row_of(excerpt)] for excerpt in excerpts)
    return buffer.getvalue().encode("utf-8-sig")


def to_xlsx(hits: Items, meta: ExportMeta) -> bytes:
    """Excel workbook (:func:`kensaku.export_xlsx.xlsx_bytes`; openpyxl is imported only when one is written)."""
    from kensaku.export_xlsx import xlsx_bytes

    return xlsx_bytes(hits, meta)


def stable_zip(data: bytes, created: datetime) -> bytes:
    """The archive ``data`` rewritten with every entry dated ``created`` (its wall-clock time; ZIP has no zone), in
    the same order with the same compression: an XLSX or DOCX whose bytes do not depend on when it was written."""
    when = max(created.timetuple()[:6], (1980, 1, 1, 0, 0, 0))  # the earliest time a ZIP entry can hold
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for entry in source.infolist():
            info = zipfile.ZipInfo(entry.filename, date_time=when)
            info.compress_type, info.external_attr = entry.compress_type, entry.external_attr
            info.create_system = entry.create_system
            target.writestr(info, source.read(entry))
    return out.getvalue()


# --- JSON ----------------------------------------------------------------------------------------------------------


def result_dict(excerpt: Excerpt) -> dict[str, Any]:
    """:meth:`Hit.to_dict` with the excerpt's ``query`` and ``note``; an unknown (``NaN``) number is ``null``."""
    data = {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in excerpt.hit.to_dict().items()}
    return {**data, "query": excerpt.query, "note": excerpt.note}


def to_json(hits: Items, meta: ExportMeta) -> bytes:
    """JSON (UTF-8, not ASCII-escaped) in schema ``kensaku.export/v1`` with every hit's :meth:`Hit.to_dict`, its
    question and note; ``queries`` lists every question (``query`` is empty when there are several)."""
    excerpts, meta = prepare(hits, meta)
    data: dict[str, Any] = {
        "schema": SCHEMA,
        "query": "" if meta.several else meta.query or "".join(meta.all_questions),
        "queries": list(meta.all_questions),
        "created": meta.created_iso,
        "filters": {key: list(values) for key, values in meta.filters.items()},
        "index": {"fingerprint": meta.index_fingerprint},
        "tool_version": meta.tool_version,
        "results": [result_dict(excerpt) for excerpt in excerpts],
    }
    return (json.dumps(data, ensure_ascii=False, indent=2, allow_nan=False) + "\n").encode("utf-8")


# --- DOCX ----------------------------------------------------------------------------------------------------------


def to_docx(hits: Items, meta: ExportMeta) -> bytes:
    """Word document (:func:`kensaku.export_docx.docx_bytes`; python-docx is imported only when one is written)."""
    from kensaku.export_docx import docx_bytes

    return docx_bytes(hits, meta)

"""Export: every format written to a real file and parsed back with its own reader (csv, openpyxl, python-docx)."""

from __future__ import annotations

import csv
import dataclasses
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import docx
import openpyxl
import pytest
from docx.oxml.ns import qn

from kensaku.export import (
    COLUMNS,
    EXCEL_CELL_LIMIT,
    FORMATS,
    MIME,
    NO_HITS,
    SCHEMA,
    TRUNCATION_MARK,
    ExportMeta,
    export,
    file_name,
    short_citation,
)
from kensaku.index.build import build_bundle
from kensaku.index.search import Filters, Hit, Searcher
from kensaku.index.tokenizer import Tokenizer
from kensaku.ingest.models import Finding, format_citation
from tests.support import SMALL_FINDINGS, KeywordEmbedder, make_finding

JST = timezone(timedelta(hours=9))
CREATED = datetime(2026, 11, 25, 10, 30, 5, tzinfo=JST)
META = ExportMeta(
    query="フェローの契約形態は",
    created=CREATED,
    filters={"municipality": ["加賀市", "会津若松市"], "kind": ["lesson"]},
    index_fingerprint="sha256:abc123",
    tool_version="0.1.0",
)
EMPTY_META = ExportMeta(query="存在しない話題", created=CREATED)
TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
HOSTILE = "<script>alert(1)</script> **bold** [link](http://x) __強調__ `code` ![img](x.png)"


def _finding(line: int, text: str, **changes: object) -> Finding:
    """A finding like the ingester makes, its id and citation rebuilt from the changed fields."""
    f = dataclasses.replace(make_finding(line, text), **changes)  # type: ignore[arg-type]
    path = (f.chapter, f.section, f.extra.get("topic", ""), f.heading)
    citation = format_citation(document=f.document, municipality=f.municipality, path=path, location=f.location)
    return dataclasses.replace(f, id=f"{Path(f.document).stem}:L{line}", citation=citation)


FINDINGS = [
    _finding(
        200,
        "加賀市においては、「加賀市地方創生デジタル化・スマートシティフェロー」という制度を行っている。",
        section="人材育成・人材活用",
        heading="フェローとの契約関係",
        document="smartcity_model_project_cases.txt",
        title="スマートシティモデルプロジェクト における取組事例",
        source_note="※ヒアリング結果より作成。",
    ),
    _finding(
        191,
        "市長や局長以上の人材と並列な位置で助言等の活動を行うべきである。",
        kind="lesson",
        heading="取組みを通じた知見・課題",
        extra={"topic": "フェローの位置づけ"},
        line_end=193,
        page=4,
    ),
    _finding(3, '=HYPERLINK("http://x")', municipality="=CMD()", heading="@見出し"),
    _finding(4, "-1+2"),
    _finding(5, "@SUM(A1)"),
    _finding(6, HOSTILE + "\n# 見出しではない\n1. 番号ではない", source_note="+81 3 0000 0000"),
    _finding(7, "\t=1+1 タブで始まる本文\x07制御文字つき"),
]
HITS = [
    Hit(rank=n, score=1.5 - n * 0.5, finding=f, bm25=2.0, dense=0.5, bm25_rank=n, dense_rank=n)
    for n, f in enumerate(FINDINGS, start=1)
]


def _neutral(value: str) -> str:
    return "'" + value if value.startswith(TRIGGERS) else value


def _expected_text(finding: Finding) -> dict[str, str]:
    """Column → expected cell text, as a spreadsheet shows it (formula triggers prefixed with ')."""
    kind = {"lesson": "知見・課題", "practice": "取組"}[finding.kind]
    fields = {
        "抜粋": finding.text,
        "自治体": finding.municipality,
        "章": finding.chapter,
        "節": finding.section,
        "見出し": finding.heading,
        "種別": kind,
        "文書": finding.document,
        "出典注記": finding.source_note,
        "引用": finding.citation,
        "ID": finding.id,
    }
    return {k: _neutral(v) for k, v in fields.items()}


def _write(tmp_path: Path, hits: list[Hit], meta: ExportMeta, fmt: str) -> Path:
    path = tmp_path / file_name(fmt, meta.created)
    path.write_bytes(export(hits, meta, fmt))
    return path


# --- CSV -----------------------------------------------------------------------------------------------------------


def test_csv_bom_crlf_and_every_citation_field(tmp_path: Path) -> None:
    path = _write(tmp_path, HITS, META, "csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.split(b"\r\n", 1)[0].decode("utf-8-sig") == ",".join(COLUMNS)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(HITS)
    for row, hit in zip(rows, HITS, strict=True):
        f = hit.finding
        assert {k: row[k] for k in _expected_text(f)} == _expected_text(f)
        assert row["順位"] == str(hit.rank)
        assert float(row["スコア"]) == pytest.approx(hit.score)
        assert (row["開始行"], row["終了行"]) == (str(f.line_start), str(f.line_end))
        assert row["頁"] == ("" if f.page is None else str(f.page))


def test_csv_neutralizes_formula_cells(tmp_path: Path) -> None:
    with _write(tmp_path, HITS, META, "csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    excerpts = [row["抜粋"] for row in rows]
    for text in ('=HYPERLINK("http://x")', "-1+2", "@SUM(A1)"):
        assert "'" + text in excerpts
    assert rows[2]["自治体"] == "'=CMD()" and rows[2]["見出し"] == "'@見出し"
    assert rows[5]["出典注記"] == "'+81 3 0000 0000"
    assert rows[6]["抜粋"].startswith("'\t=1+1")
    text_columns = set(_expected_text(FINDINGS[0]))
    for row in rows:
        assert not any(row[c].startswith(TRIGGERS) for c in text_columns)
    assert rows[-1]["スコア"] == "-2.0"  # numbers are numbers, not neutralized text


def test_csv_truncates_over_excel_cell_limit(tmp_path: Path) -> None:
    long = Hit(1, 1.0, _finding(9, "長" * 40_000), 0.0, 0.0, 0, 0)
    with _write(tmp_path, [long], META, "csv").open(encoding="utf-8-sig", newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert len(row["抜粋"]) <= EXCEL_CELL_LIMIT
    assert row["抜粋"].endswith(TRUNCATION_MARK)


# --- XLSX ----------------------------------------------------------------------------------------------------------


def test_xlsx_values_types_layout_and_metadata(tmp_path: Path) -> None:
    book = openpyxl.load_workbook(_write(tmp_path, HITS, META, "xlsx"))
    assert book.sheetnames == ["抜粋", "検索条件"]
    sheet = book["抜粋"]
    assert [c.value for c in sheet[1]] == list(COLUMNS)
    assert sheet.freeze_panes == "A2"
    assert sheet.max_row == len(HITS) + 1
    header = {name: i for i, name in enumerate(COLUMNS)}
    for cells, hit in zip(sheet.iter_rows(min_row=2), HITS, strict=True):
        f = hit.finding
        values = {name: "" if cells[i].value is None else cells[i].value for name, i in header.items()}
        expected = _expected_text(f)
        if "\x07" in f.text:
            expected["抜粋"] = expected["抜粋"].replace("\x07", "")  # XML cannot hold it
        assert {k: values[k] for k in expected} == expected
        assert values["順位"] == hit.rank and values["スコア"] == pytest.approx(hit.score)
        assert (values["開始行"], values["終了行"]) == (f.line_start, f.line_end)
        assert cells[header["頁"]].value == f.page
        assert cells[header["抜粋"]].alignment.wrap_text
    assert sheet.column_dimensions["C"].width >= 40
    for ws in book.worksheets:
        for row in ws.iter_rows():
            assert all(cell.data_type != "f" for cell in row)
    info = {row[0]: row[1] for row in book["検索条件"].iter_rows(values_only=True)}
    assert info["検索語"] == META.query
    assert info["作成日時"] == "2026-11-25T10:30:05+09:00"
    assert info["索引"] == "sha256:abc123" and info["kensaku"] == "0.1.0"
    filters = [row[1] for row in book["検索条件"].iter_rows(values_only=True) if row[0] == "絞り込み"]
    assert filters == ["自治体: 加賀市、会津若松市", "種別: 知見・課題"]


def test_xlsx_neutralizes_a_formula_query(tmp_path: Path) -> None:
    meta = dataclasses.replace(META, query='=WEBSERVICE("http://x")')
    book = openpyxl.load_workbook(_write(tmp_path, HITS[:1], meta, "xlsx"))
    cell = book["検索条件"]["B1"]
    assert cell.value == "'" + meta.query and cell.data_type == "s"


# --- JSON ----------------------------------------------------------------------------------------------------------


def test_json_schema_metadata_and_results(tmp_path: Path) -> None:
    path = _write(tmp_path, HITS, META, "json")
    raw = path.read_bytes()
    assert "フェロー".encode() in raw and b"\\u30" not in raw  # not ASCII-escaped
    data = json.loads(raw.decode("utf-8"))
    assert data["schema"] == SCHEMA == "kensaku.export/v1"
    assert data["query"] == META.query
    assert data["created"] == "2026-11-25T10:30:05+09:00"
    assert data["filters"] == META.filters
    assert data["index"] == {"fingerprint": "sha256:abc123"}
    assert data["tool_version"] == "0.1.0"
    assert [r["id"] for r in data["results"]] == [h.finding.id for h in HITS]
    assert [r["citation"] for r in data["results"]] == [h.finding.citation for h in HITS]
    assert data["queries"] == [META.query]
    assert data["results"] == [{**h.to_dict(), "query": META.query, "note": ""} for h in HITS]
    assert Finding.from_dict({k: data["results"][1][k] for k in FINDINGS[1].to_dict()}) == FINDINGS[1]


# --- DOCX ----------------------------------------------------------------------------------------------------------


def test_docx_quotes_citations_and_east_asian_fonts(tmp_path: Path) -> None:
    document = docx.Document(str(_write(tmp_path, HITS, META, "docx")))
    paragraphs = document.paragraphs
    texts = [p.text for p in paragraphs]
    assert META.query in paragraphs[0].text and paragraphs[0].style.name.startswith("Heading")
    assert "2026-11-25T10:30:05+09:00" in texts[1] and "自治体: 加賀市、会津若松市" in texts[1]
    quotes = [p.text for p in paragraphs if p.style.name == "Quote"]
    assert quotes == [h.finding.text.replace("\x07", "") for h in HITS]
    body = "\n".join(texts)
    for hit in HITS:
        assert short_citation(hit.finding) in body and hit.finding.citation in body and hit.finding.id in body
    assert "『smartcity_model_project_cases.txt』 L200" in body
    assert "フェローの位置づけ" in body and "p.4 L191–193" in body
    runs = [run for p in paragraphs for run in p.runs]
    assert runs and all(run._element.rPr.rFonts.get(qn("w:eastAsia")) for run in runs)
    assert {run._element.rPr.rFonts.get(qn("w:eastAsia")) for run in paragraphs[0].runs} == {"游ゴシック"}
    assert {run._element.rPr.rFonts.get(qn("w:eastAsia")) for run in document.paragraphs[3].runs} == {"游明朝"}
    normal = document.styles["Normal"].element.rPr.rFonts
    assert normal.get(qn("w:eastAsia")) == "游明朝" and normal.get(qn("w:eastAsiaTheme")) is None
    assert document.core_properties.created == CREATED


# --- Markdown ------------------------------------------------------------------------------------------------------


def test_markdown_quotes_citations_references_and_inert_markup(tmp_path: Path) -> None:
    raw = _write(tmp_path, HITS, META, "md").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8")
    assert text.startswith("# ")
    assert META.query in text and "2026-11-25T10:30:05+09:00" in text and "自治体: 加賀市、会津若松市" in text
    lines = text.splitlines()
    quoted = [line for line in lines if line.startswith(">")]
    assert all(line == ">" or line.startswith("> ") for line in quoted)
    assert len(quoted) == sum(len(h.finding.text.splitlines()) for h in HITS)
    assert "> 加賀市においては、「加賀市地方創生デジタル化・スマートシティフェロー」という制度を行っている。" in lines
    citation = "— 加賀市｜推進体制 › 人材育成・人材活用 › フェローとの契約関係｜"
    citation += "『smartcity_model_project_cases.txt』 L200"
    assert f"{citation} [^1]" in lines
    references = [line for line in lines if line.startswith("[^")]
    assert len(references) == len(HITS)
    assert references[0].startswith("[^1]: 『スマートシティモデルプロジェクト における取組事例』 ")
    assert references[0].endswith("（※ヒアリング結果より作成。） (id: smartcity_model_project_cases:L200)")
    assert all(f"(id: {h.finding.id})" in ref for ref, h in zip(references, HITS, strict=True))
    assert "<script>" not in text and "</script>" not in text
    assert "&lt;script&gt;" in text


def test_markdown_renders_hostile_text_literally(tmp_path: Path) -> None:
    markdown_it = pytest.importorskip("markdown_it")
    html = markdown_it.MarkdownIt("commonmark").render(_write(tmp_path, HITS, META, "md").read_text("utf-8"))
    for tag in ("<script", "<strong>", "<em>", "<a ", "<img", "<code>", "<ol>", "<ul>\n<li>見"):
        assert tag not in html
    assert (
        "**bold** [link](http://x) __強調__ `code` ![img](x.png)" in html
        and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    )
    assert html.count("<blockquote>") == len(HITS)
    assert "<h1>見出しではない" not in html and "# 見出しではない" in html


# --- names, empty results, errors, real search output ----------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_file_name_is_ascii_with_timestamp(fmt: str) -> None:
    name = file_name(fmt, CREATED)
    assert name == f"kensaku_excerpts_20261125-1030.{fmt}"
    assert name.isascii()
    assert MIME[fmt]


def test_empty_hits_give_valid_files(tmp_path: Path) -> None:
    with _write(tmp_path, [], EMPTY_META, "csv").open(encoding="utf-8-sig", newline="") as handle:
        assert list(csv.reader(handle)) == [list(COLUMNS)]
    book = openpyxl.load_workbook(_write(tmp_path, [], EMPTY_META, "xlsx"))
    assert book["抜粋"].max_row == 1
    assert ("検索語", EMPTY_META.query) in set(book["検索条件"].iter_rows(values_only=True))
    data = json.loads(_write(tmp_path, [], EMPTY_META, "json").read_text("utf-8"))
    assert data["results"] == [] and data["filters"] == {} and data["query"] == EMPTY_META.query
    texts = [p.text for p in docx.Document(str(_write(tmp_path, [], EMPTY_META, "docx"))).paragraphs]
    assert EMPTY_META.query in texts[0] and NO_HITS in texts
    md = _write(tmp_path, [], EMPTY_META, "md").read_text("utf-8")
    assert EMPTY_META.query in md and NO_HITS in md and "[^" not in md and "絞り込み: なし" in md


def test_unknown_format_and_naive_time_refused() -> None:
    with pytest.raises(ValueError, match=r"'pdf'.*md, csv, xlsx, json, docx"):
        export(HITS, META, "pdf")
    with pytest.raises(ValueError, match="'txt'"):
        file_name("txt", CREATED)
    with pytest.raises(ValueError, match="no time zone"):
        ExportMeta(query="q", created=datetime(2026, 11, 25, 10, 30))


def test_exports_real_search_results(tmp_path: Path) -> None:
    embedder = KeywordEmbedder()
    bundle = build_bundle(SMALL_FINDINGS, [], embedder=embedder, tokenizer=Tokenizer(), show_progress=False)
    hits = Searcher(bundle=bundle, embedder=embedder).search("フェローの契約形態は", k=4, filters=Filters())
    assert hits
    meta = ExportMeta(query="フェローの契約形態は", created=datetime.now(UTC).astimezone(JST))
    with _write(tmp_path, hits, meta, "csv").open(encoding="utf-8-sig", newline="") as handle:
        assert [row["ID"] for row in csv.DictReader(handle)] == [h.finding.id for h in hits]
    data = json.loads(export(hits, meta, "json"))
    assert [r["rank"] for r in data["results"]] == [1, 2, 3, 4]
    assert data["created"].endswith("+09:00")
    for fmt in FORMATS:
        assert export(hits, meta, fmt)


def test_pdf_and_docx_locations_in_csv_and_markdown(tmp_path: Path) -> None:
    pdf = dataclasses.replace(
        make_finding(5, "事業費は国の交付金で負担した。"),
        id="白書:p3.L40",
        document="白書.pdf",
        line_start=40,
        line_end=2,
        page=3,
        page_end=4,
        page_label="iii",
    )
    word = dataclasses.replace(
        make_finding(7, "専任三名を配置した。"), id="計画:P7", document="計画.docx", line_unit="¶"
    )
    hits = [Hit(i, 1.0 / i, f, 0.0, 0.0, 0, 0) for i, f in enumerate([pdf, word], start=1)]
    with _write(tmp_path, hits, META, "csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["頁"], r["位置"]) for r in rows] == [("3", "p.iii [3] L40–p.4 L2"), ("", "¶7")]
    markdown = export(hits, META, "md").decode("utf-8")
    # Markdown escapes the brackets so that [3] cannot become a link.
    assert "『白書.pdf』 p.iii \\[3\\] L40–p.4 L2" in markdown and "『計画.docx』 ¶7" in markdown

"""Read limits (issue 11): each refuses a real-shaped document before the work it bounds, and the message names the
value, the limit and how to raise it. Documents are real files written here (python-docx, zipfile, HTML) or the real
PDF fixtures; reading runs in this process (``file_timeout_s=0``): the worker process is tests/integration's."""

from __future__ import annotations

import io
import struct
import time
import zipfile
from dataclasses import replace
from pathlib import Path

import docx
import pytest
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

from kensaku.cli import _settings, build_parser
from kensaku.config import DEFAULTS, LIMIT_ENV, ReadLimits, Settings, limit_setting
from kensaku.errors import DocumentError, InputError
from kensaku.ingest.pipeline import ingest_paths
from kensaku.ingest.read import read_document
from kensaku.ingest.readers.base import ReadError
from kensaku.ingest.readers.docx import read as read_docx
from kensaku.ingest.readers.webpage import read as read_html
from tests.support import ROOT

IN_PROCESS = replace(DEFAULTS.limits, file_timeout_s=0)
PDF = ROOT / "tests" / "fixtures" / "real" / "pdf" / "pdfjs-issue19971.pdf"  # 6 pages
DOCUMENT_XML = "word/document.xml"
W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _docx_bytes(document: docx.document.Document) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _with_part(data: bytes, name: str, content: bytes, *, stored: bool = False) -> bytes:
    """The package with part ``name`` replaced (or added) by ``content``."""
    out = io.BytesIO()
    method = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename != name:
                dst.writestr(info, src.read(info))
        dst.writestr(name, content, compress_type=method)
    return out.getvalue()


def _claim_size(data: bytes, name: str, size: int) -> bytes:
    """The zip with the central directory entry of ``name`` claiming ``size`` unzipped bytes (the data unchanged)."""
    out = bytearray(data)
    at = out.find(b"PK\x01\x02")
    while at >= 0:
        name_length = struct.unpack_from("<H", out, at + 28)[0]
        if out[at + 46 : at + 46 + name_length] == name.encode():
            struct.pack_into("<I", out, at + 24, size)
            return bytes(out)
        at = out.find(b"PK\x01\x02", at + 4)
    raise AssertionError(f"{name} is not in the zip")


def _body(xml: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="{W_NS}"><w:body>{xml}'
        "</w:body></w:document>"
    ).encode()


# --- settings ---------------------------------------------------------------------------------------------------


def test_every_limit_is_read_from_its_environment_variable() -> None:
    environ = {env: "7" for env in LIMIT_ENV.values()}
    limits = Settings.from_env(environ).limits
    assert all(getattr(limits, name) == 7 for name in LIMIT_ENV)
    assert Settings.from_env({"KENSAKU_FILE_TIMEOUT": "0.5"}).limits.file_timeout_s == 0.5
    assert Settings.from_env({}).limits == DEFAULTS.limits == ReadLimits()


def test_a_limit_that_is_not_a_number_or_not_positive_is_refused_with_its_name() -> None:
    with pytest.raises(InputError, match=r"\$KENSAKU_MAX_DOC_FINDINGS='viele' is not a whole number"):
        Settings.from_env({"KENSAKU_MAX_DOC_FINDINGS": "viele"})
    with pytest.raises(InputError, match=r"max_pdf_pages=0 is zero; .*\$KENSAKU_MAX_PDF_PAGES"):
        ReadLimits(max_pdf_pages=0)
    with pytest.raises(InputError, match=r"file_timeout_s=-1.0 is not a positive number"):
        ReadLimits(file_timeout_s=-1.0)
    assert ReadLimits(file_timeout_s=0).file_timeout_s == 0  # 0: read in the calling process


def test_the_cli_sets_the_time_budget_of_build_and_add() -> None:
    for command in (["build", "--file-timeout", "45"], ["add", "a.md", "--file-timeout", "0"]):
        settings = _settings(build_parser().parse_args(command))
        assert settings.limits.file_timeout_s == float(command[-1])
        assert settings.limits.max_doc_findings == DEFAULTS.limits.max_doc_findings
    assert limit_setting("file_timeout_s") == "--file-timeout or $KENSAKU_FILE_TIMEOUT (Settings.limits.file_timeout_s)"


# --- DOCX: the zip directory, the zip ratio, paragraphs, tables ------------------------------------------------------


def test_docx_whose_zip_directory_claims_gigabytes_is_refused_without_unzipping(tmp_path: Path) -> None:
    d = docx.Document()
    d.add_paragraph("本文です。")
    data = _with_part(_docx_bytes(d), "word/media/image1.png", b"\x89PNG" + bytes(1000), stored=True)
    data = _claim_size(data, "word/media/image1.png", 3_000_000_000)
    with pytest.raises(ReadError, match=r"unzips to 2,8\d\d MB, over the limit of 512 MB for one \.docx") as caught:
        read_docx(data, tmp_path / "a.docx")
    assert "$KENSAKU_MAX_UNZIPPED_MB" in caught.value.fix


def test_docx_decompression_bomb_is_refused_by_its_zip_ratio(tmp_path: Path) -> None:
    d = docx.Document()
    d.add_paragraph("本文です。")
    data = _with_part(_docx_bytes(d), DOCUMENT_XML, _body("<w:p/>" * 1_000_000))  # 6 MB zipped into ~10 KB
    assert len(data) < 100_000
    started = time.monotonic()
    with pytest.raises(ReadError, match=r"its part word/document\.xml unzips [\d,]+ times larger .* limit is 200 ti"):
        read_docx(data, tmp_path / "bomb.docx")
    assert time.monotonic() - started < 5  # python-docx would build a 1,000,000-paragraph tree first


def test_docx_with_more_paragraphs_than_the_limit_is_refused_before_parsing(tmp_path: Path) -> None:
    d = docx.Document()
    d.add_heading("報告書", 1)
    for i in range(1200):
        d.add_paragraph(f"段落{i}です。")
    data = _docx_bytes(d)
    limits = replace(DEFAULTS.limits, max_docx_paragraphs=1000)
    with pytest.raises(ReadError, match=r"has 1,201 paragraphs, over the limit of 1,000 for one \.docx") as caught:
        read_docx(data, tmp_path / "long.docx", limits=limits)
    assert "$KENSAKU_MAX_DOCX_PARAGRAPHS" in caught.value.fix
    assert len(read_docx(data, tmp_path / "long.docx").lines) == 2 * 1201  # under the default it is read


def test_docx_table_grid_over_the_limit_is_refused(tmp_path: Path) -> None:
    d = docx.Document()
    d.add_paragraph("表の前の段落です。")
    table = d.add_table(rows=3, cols=4)
    table.cell(0, 0).merge(table.cell(0, 3)).text = "見出し"  # gridSpan 4
    for r in (1, 2):
        for c in range(4):
            table.cell(r, c).text = f"{r}-{c}"
    data = _docx_bytes(d)
    with pytest.raises(ReadError, match=r"has a table of 12 grid cells .* over the limit of 10") as caught:
        read_docx(data, tmp_path / "t.docx", limits=replace(DEFAULTS.limits, max_table_cells=10))
    assert "$KENSAKU_MAX_TABLE_CELLS" in caught.value.fix
    assert read_docx(data, tmp_path / "t.docx", limits=replace(DEFAULTS.limits, max_table_cells=12)).lines


def test_docx_merged_cells_that_repeat_past_the_characters_limit_are_refused(tmp_path: Path) -> None:
    d = docx.Document()
    table = d.add_table(rows=40, cols=2)
    merged = table.cell(0, 0).merge(table.cell(39, 0))  # vMerge: its text is repeated in each of the 40 rows
    merged.text = "長い説明文です。" * 75  # 600 characters
    for r in range(40):
        table.cell(r, 1).text = f"行{r}"
    data = _docx_bytes(d)
    limits = replace(DEFAULTS.limits, max_doc_chars=20_000)
    with pytest.raises(ReadError, match=r"merged cells repeat into 24,\d{3} characters of text, over the limit of 20"):
        read_docx(data, tmp_path / "m.docx", limits=limits)
    assert len(read_docx(data, tmp_path / "m.docx").lines) == 2 * 40


def test_docx_span_of_thousands_of_digits_is_clamped(tmp_path: Path) -> None:
    d = docx.Document()
    d.add_paragraph("本文です。")
    table = d.add_table(rows=1, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "加賀市", "防災です。"
    span = OxmlElement("w:gridSpan")
    span.set(qn("w:val"), "9" * 5000)  # int() refuses it; Word's grid has at most 63 columns anyway
    table.cell(0, 0)._tc.get_or_add_tcPr().append(span)
    assert "加賀市／防災です。" in read_docx(_docx_bytes(d), tmp_path / "a.docx").lines


# --- HTML: spans clamped, the grid checked before it is built -------------------------------------------------------


def _page(table: str) -> bytes:
    return f"<html><head><title>表</title></head><body><main><p>本文です。</p>{table}</main></body></html>".encode()


def test_html_span_bomb_is_refused_before_any_grid_is_built(tmp_path: Path) -> None:
    row = "<tr>" + '<td colspan="1000" rowspan="65534">セルの文章です。</td>' * 2 + "</tr>"
    started = time.monotonic()
    with pytest.raises(ReadError, match=r"has a table \(line 1\) of 20,000,000 grid cells") as caught:
        read_html(_page("<table>" + row * 100 + "</table>"), tmp_path / "bomb.html")
    assert time.monotonic() - started < 5  # trafilatura alone took 51 s on this page before the check
    assert "fix its colspan/rowspan, or raise $KENSAKU_MAX_TABLE_CELLS" in caught.value.fix


def test_html_spans_are_clamped_as_the_standard_says(tmp_path: Path) -> None:
    huge = "9" * 5000  # int() refuses strings this long; the standard clamps colspan to 1000, rowspan to 65534
    rest = "<td>防災です。</td></tr><tr><td>福祉です。</td></tr></table>"
    table = f'<table><tr><td colspan="{huge}" rowspan="{huge}">加賀市</td>{rest}'
    same = f'<table><tr><td colspan="1000" rowspan="2">加賀市</td>{rest}'
    lines = read_html(_page(table), tmp_path / "a.html").lines
    assert lines == read_html(_page(same), tmp_path / "a.html").lines
    assert "加賀市／福祉です。" in lines
    zeros = f'<table><tr><td colspan="{"0" * 5000}2">加賀市</td><td>防災です。</td></tr></table>'  # colspan 2
    assert "加賀市／防災です。" in read_html(_page(zeros), tmp_path / "a.html").lines


def test_html_rows_spanned_from_above_keep_their_columns(tmp_path: Path) -> None:
    table = (
        '<table><tr><td rowspan="3">市</td><td>一です。</td><td rowspan="2">右</td></tr>'
        "<tr><td>二です。</td></tr><tr><td>三です。</td><td>四</td></tr></table>"
    )
    lines = [line for line in read_html(_page(table), tmp_path / "a.html").lines if "／" in line]
    assert lines == ["市／一です。／右", "市／二です。／右", "市／三です。／四"]


def test_html_repeated_text_over_the_characters_limit_is_refused(tmp_path: Path) -> None:
    rows = '<tr><td rowspan="50">' + "長い説明文です。" * 100 + "</td><td>0</td></tr>"
    rows += "".join(f"<tr><td>{i}</td></tr>" for i in range(1, 50))
    with pytest.raises(ReadError, match=r"merged cells repeat into 40,\d{3} characters"):
        read_html(
            _page(f"<table>{rows}</table>"), tmp_path / "a.html", limits=replace(IN_PROCESS, max_doc_chars=30_000)
        )


# --- PDF pages, characters, findings ---------------------------------------------------------------------------------


def test_pdf_over_the_page_limit_is_refused_before_any_page_is_read() -> None:
    with pytest.raises(DocumentError, match=r"has 6 pages, over the limit of 5 pages for one PDF; split the PDF, or "):
        read_document(PDF, ocr=False, limits=replace(DEFAULTS.limits, max_pdf_pages=5))
    assert max(read_document(PDF, ocr=False, limits=replace(DEFAULTS.limits, max_pdf_pages=6)).pages) == 6


def test_characters_over_the_limit_are_refused_with_the_count(tmp_path: Path) -> None:
    path = tmp_path / "長文.txt"
    path.write_text("住民説明会を開いた。\n" * 200, encoding="utf-8")  # 2,000 characters
    with pytest.raises(DocumentError, match=r"長文\.txt: gives 2,000 characters of text, over the limit of 1,000"):
        read_document(path, limits=replace(DEFAULTS.limits, max_doc_chars=1000))
    assert len(read_document(path, limits=replace(DEFAULTS.limits, max_doc_chars=2000)).lines) == 200


def test_a_document_over_the_findings_limit_is_refused_whole_and_the_batch_goes_on(tmp_path: Path) -> None:
    many = tmp_path / "一覧.md"
    many.write_text("".join(f"- 項目{i}の説明です。\n\n" for i in range(300)), encoding="utf-8")
    good = tmp_path / "説明会.txt"
    good.write_text("住民説明会を三回開いた。\n", encoding="utf-8")
    result = ingest_paths([many, good], limits=replace(IN_PROCESS, max_doc_findings=100))
    [error] = result.errors
    assert error.path == str(many)
    assert error.reason.startswith("gives 300 findings, over the limit of 100 for one document")
    assert error.reason.endswith(
        "split it into smaller files, or raise $KENSAKU_MAX_DOC_FINDINGS (Settings.limits.max_doc_findings)"
    )
    assert [s.name for s in result.sources] == ["説明会.txt"]  # nothing of 一覧.md: refused, not cut short
    assert {f.id.split(":")[0] for f in result.findings} == {"説明会"}


def test_reused_findings_over_a_lowered_limit_are_read_again_and_refused(tmp_path: Path) -> None:
    many = tmp_path / "一覧.md"
    many.write_text("".join(f"- 項目{i}の説明です。\n\n" for i in range(300)), encoding="utf-8")
    earlier = ingest_paths([many], limits=IN_PROCESS).findings
    assert len(earlier) == 300
    result = ingest_paths([many], reuse=lambda *_: earlier, limits=replace(IN_PROCESS, max_doc_findings=100))
    assert [e.reason.split(",")[0] for e in result.errors] == ["gives 300 findings"]
    reused = ingest_paths([many], reuse=lambda *_: earlier, limits=IN_PROCESS)
    assert [s.reused for s in reused.sources] == [True]

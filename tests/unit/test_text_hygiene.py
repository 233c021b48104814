"""Text hygiene of every reader: no control characters reach the index, UTF-32 with a byte-order mark is read as
UTF-32, and a PDF whose pages differ only in digits keeps its text."""

from __future__ import annotations

import codecs
import io
import unicodedata
from pathlib import Path
from types import ModuleType

import docx
import pytest

from kensaku.ingest.models import Document
from kensaku.ingest.normalize import clean_text, strip_controls
from kensaku.ingest.readers import docx as docx_reader
from kensaku.ingest.readers import markdown, pdf, text, webpage
from kensaku.ingest.readers.base import ReadError
from kensaku.ingest.readers.htmlsource import decode_html
from kensaku.ingest.readers.pdfblocks import strip_running
from kensaku.ingest.segment import segment
from tests.pdfs import make_pdf

# (raw text, clean_text of it): control characters go, the whitespace ones become a space, ESC loses its escape.
CLEAN_CASES = (
    ("加賀市\x00の取組", "加賀市の取組"),
    ("\x1b[31m警告\x1b[0m：期限", "[31m警告[0m：期限"),
    ("第1条\x7f", "第1条"),
    ("\x08\x07ベル", "ベル"),
    ("前橋\x85市", "前橋 市"),
    ("\x9b31m赤字", "31m赤字"),
    ("\x80\x9f境界", "境界"),
    ("項目\x1c値\x1f", "項目 値"),
    ("改ページ\x0c次", "改ページ 次"),
    ("行末\r\n次行\t欄", "行末 次行 欄"),
    ("\u200bゼロ幅\ufeff", "ゼロ幅"),
    ("～①㈱ＡＢＣ", "～①㈱ＡＢＣ"),
)
# (raw line, strip_controls of it): tab and newline stay, other whitespace controls become a space.
LINE_CASES = (
    ("列1\t列2", "列1\t列2"),
    ("一行目\n二行目", "一行目\n二行目"),
    ("\x1b[1m太字\x1b[0m", "[1m太字[0m"),
    ("NUL\x00と\x1aSUB", "NULとSUB"),
    ("CR\rと\x0bVT\x0cFF", "CR と VT FF"),
    ("NEL\x85C1\x9c", "NEL C1"),
    ("DEL\x7f", "DEL"),
    ("全角　空白", "全角　空白"),
)
# NUL makes a file binary (refused); a few other controls among 800 characters of text are read, then dropped.
HOSTILE = "本文\x01です\x1b[31m。赤字\x1b[0mの説明\x7f\x9bと\x85改行。"
FILLER = "市民の参画を進めた。" * 80
PLAN = ("加賀市の取組", "第1回の報告です。", "市民の参画を進めた。")


def _controls(s: str) -> list[str]:
    """The control characters in ``s`` other than tab and newline."""
    return [ch for ch in s if unicodedata.category(ch) == "Cc" and ch not in "\t\n"]


def _assert_clean(doc: Document) -> None:
    findings = segment(doc)
    assert findings
    fields = [doc.title, *doc.lines] + [v for f in findings for v in (f.text, f.heading, f.citation, f.title)]
    assert [(s, _controls(s)) for s in fields if _controls(s)] == []
    assert any("本文です[31m。赤字[0mの説明と 改行。" in f.text for f in findings)


@pytest.mark.parametrize(("raw", "cleaned"), CLEAN_CASES)
def test_clean_text_drops_control_characters(raw: str, cleaned: str) -> None:
    assert clean_text(raw) == cleaned
    assert not _controls(clean_text(raw))


@pytest.mark.parametrize(("raw", "kept"), LINE_CASES)
def test_strip_controls_keeps_tab_and_newline(raw: str, kept: str) -> None:
    assert strip_controls(raw) == kept


@pytest.mark.parametrize(("reader", "name"), [(text, "h.txt"), (markdown, "h.md")])
def test_text_readers_index_no_control_characters(reader: ModuleType, name: str) -> None:
    data = f"# 加賀市の取組\n\n{HOSTILE}\n\n列\t値\x1b\n\n{FILLER}\n".encode()
    _assert_clean(reader.read(data, Path(name)))


def test_html_reader_indexes_no_control_characters() -> None:
    head = "<html><head><title>加賀市\x1bの取組</title></head>"
    page = f"{head}<body><h1>加賀市の取組</h1><p>{HOSTILE}</p><p>{FILLER}</p></body></html>"
    doc = webpage.read(page.encode(), Path("h.html"))
    _assert_clean(doc)
    assert doc.title == "加賀市の取組"


def test_docx_reader_indexes_no_control_characters(tmp_path: Path) -> None:
    d = docx.Document()
    d.add_heading("加賀市の取組", 1)
    d.add_paragraph("本文です\x9b。")  # XML allows C1 and DEL, which Word passes through
    d.add_paragraph("列\x7f値\x85です。")
    buffer = io.BytesIO()
    d.save(buffer)
    doc = docx_reader.read(buffer.getvalue(), tmp_path / "h.docx")
    findings = segment(doc)
    assert [f.text for f in findings] == ["本文です。", "列値 です。"]
    assert not [s for s in doc.lines if _controls(s)]


# -- UTF-32 and UTF-16 with a byte-order mark ----------------------------------------------------------------------

BOM_CASES = (
    ("utf-32-le", codecs.BOM_UTF32_LE),
    ("utf-32-be", codecs.BOM_UTF32_BE),
    ("utf-16-le", codecs.BOM_UTF16_LE),
    ("utf-16-be", codecs.BOM_UTF16_BE),
    ("utf-8", codecs.BOM_UTF8),
)


@pytest.mark.parametrize(("codec", "bom"), BOM_CASES, ids=[c for c, _ in BOM_CASES])
@pytest.mark.parametrize(("reader", "name"), [(text, "u.txt"), (markdown, "u.md")])
def test_text_with_bom_is_decoded_by_its_mark(reader: ModuleType, name: str, codec: str, bom: bytes) -> None:
    data = bom + "\n".join(PLAN).encode(codec)
    doc = reader.read(data, Path(name))
    assert doc.lines == PLAN
    assert doc.title == "加賀市の取組"


@pytest.mark.parametrize(("codec", "bom"), BOM_CASES, ids=[c for c, _ in BOM_CASES])
def test_html_with_bom_is_decoded_by_its_mark(codec: str, bom: bytes) -> None:
    page = "<html><body><h1>加賀市の取組</h1><p>第1回の報告です。</p></body></html>"
    assert decode_html(bom + page.encode(codec)) == page
    doc = webpage.read(bom + page.encode(codec), Path("u.html"))
    assert [f.text for f in segment(doc)] == ["第1回の報告です。"]


def test_truncated_utf32_is_a_read_error() -> None:
    data = codecs.BOM_UTF32_LE + "加賀市の取組".encode("utf-32-le")[:-2]
    with pytest.raises(ReadError, match=r"UTF-32 byte-order mark.*re-save the file as UTF-8"):
        text.read(data, Path("t.txt"))


# -- running headers never take a page's whole text ---------------------------------------------------------------

# (pages, pages after strip_running, pages kept whole by the rule)
RUNNING_CASES: tuple[tuple[list[list[str]], list[list[str]], list[int]], ...] = (
    # Minutes whose pages differ only in the meeting number: all of each page looks like a running header.
    ([[f"第{n}回 議事録"] for n in range(1, 5)], [[f"第{n}回 議事録"] for n in range(1, 5)], [1, 2, 3, 4]),
    # A numbered form: every page is the same four lines but the number.
    (
        [[f"様式第{n}号", f"申請番号 {n}", "氏名", "住所"] for n in (1, 2, 3)],
        [[f"様式第{n}号", f"申請番号 {n}", "氏名", "住所"] for n in (1, 2, 3)],
        [1, 2, 3],
    ),
    # A real running header and page numbers around body text: removed, no page kept whole.
    (
        [["市報かが 令和6年", text, f"- {n} -"] for n, text in enumerate(PLAN, 1)],
        [[text] for text in PLAN],
        [],
    ),
    # Mixed: the header is removed where a page has body text, kept on the page that has nothing else.
    (
        [["市報かが 3月号", "記事です。"], ["市報かが 3月号", "別の記事です。"], ["市報かが 3月号"]],
        [["記事です。"], ["別の記事です。"], ["市報かが 3月号"]],
        [3],
    ),
)


@pytest.mark.parametrize(("pages", "expected", "kept"), RUNNING_CASES)
def test_running_headers_never_empty_a_page(pages: list[list[str]], expected: list[list[str]], kept: list[int]) -> None:
    body, problems = strip_running(pages)
    assert body == expected
    assert [int(p.split(":")[0].removeprefix("p.")) for p in problems] == kept
    assert all("running header" in p for p in problems)


def test_pdf_of_pages_that_differ_only_in_digits_keeps_its_text(tmp_path: Path) -> None:
    data = make_pdf([[f"第{n}回 議事録"] for n in range(1, 5)])
    doc = pdf.read(data, tmp_path / "minutes.pdf")
    assert [line for line in doc.lines if line] == [f"第{n}回 議事録" for n in range(1, 5)]
    assert "第4回 議事録" in segment(doc)[-1].text
    assert [p.split(":")[0] for p in doc.problems] == ["p.1", "p.2", "p.3", "p.4"]

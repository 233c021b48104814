"""Tests for :mod:`ingest.readers.pdf` on real PDFs written with reportlab (PDFium is not mocked).

Font: reportlab's built-in CID font ``HeiseiKakuGo-W5``. It is not embedded; reportlab writes the strings with the
predefined ``UniJIS-UCS2-H`` CMap, and PDFium decodes that CMap back to exactly the Unicode that was drawn (kanji,
kana, full-width forms, even Kangxi radicals such as U+2F8F), so no TrueType font is needed. The installed Noto CJK
fonts would not do anyway: they are CFF-outline OTF/TTC files, which reportlab's ``TTFont`` refuses ("postscript
outlines are not supported"). Drawing the literal text ``(cid:12)(cid:345)…`` reproduces what pdfminer-style
extractors write for a font without a ToUnicode map, and ``GARBLED`` what pypdf made of such a font. Page labels and
encryption are added afterwards with pypdf's writer. Tests of skipped pages pass ``ocr=False``; OCR has its own tests
(they need Tesseract, which ``.ci/run`` installs).

Every page is drawn with one text line per ``drawString``; a full line is 30 characters (``WIDTH``).
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.constants import PageLabelStyle
from reportlab.pdfgen import canvas

from kensaku.ingest.readers.base import ReadError
from kensaku.ingest.readers.pdf import MAX_BYTES, SUFFIXES, read
from kensaku.ingest.segment import segment
from tests.pdfs import CID_GARBAGE, FONT, WIDTH, make_pdf, wrap

HEADER = "スマートシティ推進報告書"
NO_OCR = "build without --no-ocr to OCR it"
# What pypdf extracts from an Identity-H Japanese font without a ToUnicode map (unidic-mecab.pdf, page 5).
GARBLED = "ຊจॻͰ͸ unidic-mecab ʹ͍ͭͯઆ໌͠·͢ɻunidic-mecab ͸ܗଶૉղੳγεςϜ MeCab ༻ͷࣙॻͰ͋"

INTRO = "本市では行政の人材育成を進めており、令和五年度から外部人材の登用と職員研修を組み合わせた取組を始めている。"
CROSS = (
    "次に、推進体制の全体像を示す。推進体制は庁内の関係部署と外部の専門家で構成され、"
    "定期的に会議を開いて進捗を確認し、課題を共有している。"
)
TEAM = "推進体制の中心は市長直轄のプロジェクトチームである。チームには各部署から職員が参加している。"
COST = "事業費は国の交付金と市の一般財源で負担した。"
STEPS = "本市では事業の進め方を定めることとし、その詳細は別紙の手順書①のとおり定めた。"


def rewrite(data: bytes, edit: Callable[[PdfWriter], None]) -> bytes:
    """``data`` copied through pypdf's writer after ``edit`` (page labels, encryption)."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    edit(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def report_pages() -> list[list[str]]:
    """Three pages: two chapters, a list, and a paragraph (CROSS) that runs from page 1 onto page 2."""
    cross = wrap(CROSS)
    return [
        ["第1章 はじめに", *wrap(INTRO), "・職員研修の実施", "・外部人材の登用", *cross[:2]],
        [*cross[2:], "第2章 推進体制", *wrap(TEAM)],
        ["(1) 費用負担", COST],
    ]


@pytest.fixture()
def report_pdf() -> bytes:
    return make_pdf(report_pages(), header=HEADER, footer=lambda n: f"- {n} -")


def test_test_data_is_laid_out_as_intended() -> None:
    cross = wrap(CROSS)
    assert [len(line) for line in cross[:2]] == [WIDTH, WIDTH] and len(cross) == 3
    assert len(wrap(INTRO)[-1]) < WIDTH - 4 and len(wrap(TEAM)[-1]) < WIDTH - 4
    assert wrap(STEPS)[1].startswith("①")


def test_module_contract() -> None:
    assert SUFFIXES == (".pdf",)
    assert MAX_BYTES == 200 * 1024 * 1024


def test_lines_pages_and_origins(report_pdf: bytes, tmp_path: Path) -> None:
    doc = read(report_pdf, tmp_path / "report.pdf")
    intro, cross, team = wrap(INTRO), wrap(CROSS), wrap(TEAM)
    assert doc.lines == (
        "第1章 はじめに", "",
        intro[0], intro[1], "",
        "- 職員研修の実施", "",
        "- 外部人材の登用", "",
        cross[0], cross[1],
        cross[2], "",
        "第2章 推進体制", "",
        team[0], team[1], "",
        "(1) 費用負担", "",
        COST, "",
    )  # fmt: skip
    # The running header and the `- n -` footers are gone and not counted: page 1's heading is L1.
    assert doc.pages == (1,) * 11 + (2,) * 7 + (3,) * 4
    assert doc.origins == (1, 1, 2, 3, 3, 4, 4, 5, 5, 6, 7, 1, 1, 2, 2, 3, 4, 4, 1, 1, 2, 2)
    assert doc.problems == ()
    assert doc.name == "report.pdf"


def test_pipeline_ids_pages_and_citations(report_pdf: bytes, tmp_path: Path) -> None:
    findings = segment(read(report_pdf, tmp_path / "report.pdf"))
    by_id = {f.id: f for f in findings}
    assert list(by_id) == [
        "report:p1.L2",
        "report:p1.L4",
        "report:p1.L5",
        "report:p1.L6",
        "report:p2.L3",
        "report:p3.L2",
    ]
    team = by_id["report:p2.L3"]
    assert team.text == TEAM
    assert (team.page, team.page_end, team.line_start, team.line_end) == (2, None, 3, 4)
    assert team.chapter == "推進体制"  # the filter value; the citation keeps the heading as written
    assert team.citation == "report.pdf｜第2章 推進体制｜p.2 L3–4"
    assert by_id["report:p1.L2"].citation == "report.pdf｜第1章 はじめに｜p.1 L2–3"
    assert [by_id[k].text for k in ("report:p1.L4", "report:p1.L5")] == ["職員研修の実施", "外部人材の登用"]
    cost = by_id["report:p3.L2"]
    assert (cost.text, cost.heading, cost.chapter) == (COST, "(1) 費用負担", "推進体制")


def test_sentence_across_a_page_break_stays_one_finding(report_pdf: bytes, tmp_path: Path) -> None:
    findings = segment(read(report_pdf, tmp_path / "report.pdf"))
    cross = next(f for f in findings if f.text.startswith("次に、"))
    assert cross.text == CROSS
    assert (cross.page, cross.page_end, cross.line_start, cross.line_end) == (1, 2, 6, 1)
    assert cross.citation.endswith("｜p.1 L6–p.2 L1")
    assert cross.id == "report:p1.L6"


def test_page_labels_reach_findings_and_citations(report_pdf: bytes, tmp_path: Path) -> None:
    def label(writer: PdfWriter) -> None:
        writer.set_page_label(0, 1, style=PageLabelStyle.LOWERCASE_ROMAN, start=1)
        writer.set_page_label(2, 2, style=PageLabelStyle.DECIMAL, start=1)

    doc = read(rewrite(report_pdf, label), tmp_path / "report.pdf")
    assert doc.page_labels == ("i", "ii", "1")
    by_id = {f.id: f for f in segment(doc)}
    team, cost = by_id["report:p2.L3"], by_id["report:p3.L2"]
    assert team.page_label == "ii"
    assert team.citation == "report.pdf｜第2章 推進体制｜p.ii [2] L3–4"
    assert cost.page_label == "1"
    assert cost.citation.endswith("｜p.1 [3] L2")


def test_page_labels_default_to_page_numbers(report_pdf: bytes, tmp_path: Path) -> None:
    doc = read(report_pdf, tmp_path / "report.pdf")
    assert doc.page_labels == ("1", "2", "3")
    assert all(f.page_label == "" for f in segment(doc))


def test_running_headers_with_numbers_and_page_number_styles_are_removed(tmp_path: Path) -> None:
    footers = ["- 1 -", "－2－", "3 / 4", "p.4"]
    body = [
        "行政の人材育成を進めている。",
        "外部人材を登用している。",
        "職員研修を実施している。",
        "成果を公表している。",
    ]
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf)
    for number, (text, foot) in enumerate(zip(body, footers, strict=True), 1):
        pdf.setFont(FONT, 10)
        pdf.drawString(72, 810, f"令和5年度 事業報告書 {number}ページ")
        pdf.drawString(72, 780, text)
        pdf.drawString(290, 30, foot)
        pdf.showPage()
    pdf.save()
    doc = read(buf.getvalue(), tmp_path / "r.pdf")
    assert [line for line in doc.lines if line] == body
    assert doc.origins == (1, 1, 1, 1, 1, 1, 1, 1)


@pytest.mark.parametrize("style", ["{}", "- {} -", "－{}－", "{} / 3", "p.{}", "P. {}", "{}ページ", "— {} —"])
def test_page_number_lines_are_removed(tmp_path: Path, style: str) -> None:
    pages = [["第1章 概要"], ["行政の人材育成を進めている。"], ["外部人材を登用している。"]]
    doc = read(make_pdf(pages, footer=style.format), tmp_path / "n.pdf")
    assert [line for line in doc.lines if line] == [
        "第1章 概要",
        "行政の人材育成を進めている。",
        "外部人材を登用している。",
    ]


def test_a_line_repeated_on_only_two_pages_is_kept(tmp_path: Path) -> None:
    data = make_pdf([["事業の概要", "行政の人材育成を進めている。"], ["事業の概要", "外部人材を登用している。"]])
    doc = read(data, tmp_path / "two.pdf")
    assert [line for line in doc.lines if line].count("事業の概要") == 2


def test_paragraph_breaks_follow_sentence_ends_and_short_lines(tmp_path: Path) -> None:
    lines = [
        "令和5年度 事業報告",  # a short label: its own block
        "本市では、",  # short, but the sentence goes on
        "行政の人材育成を進めている。",  # ends the sentence on a short line: block end
        "地域の課題を",  # short and no punctuation, but ends in a particle
        "解決する仕組みを作った。",
        *wrap(INTRO),
        *wrap(STEPS),  # a full line without 。 then `①…`: the sentence goes on, no list item
    ]
    doc = read(make_pdf([lines]), tmp_path / "p.pdf")
    assert doc.lines == (
        "令和5年度 事業報告", "",
        "本市では、", "行政の人材育成を進めている。", "",
        "地域の課題を", "解決する仕組みを作った。", "",
        *wrap(INTRO), "",
        *wrap(STEPS), "",
    )  # fmt: skip


def test_cid_page_is_skipped_with_a_problem(tmp_path: Path) -> None:
    pages = [
        ["第1章 概要", "本市では(cid:12)(cid:3)行政の人材育成を進めている。", *wrap(INTRO)],
        [CID_GARBAGE, CID_GARBAGE + "(cid:5)"],
        ["外部人材を登用している。"],
    ]
    doc = read(make_pdf(pages), tmp_path / "cid.pdf", ocr=False)
    assert len(doc.problems) == 1
    assert doc.problems[0] == "p.2: text layer is (cid:…) codes (font without a ToUnicode map); " + NO_OCR
    assert "本市では行政の人材育成を進めている。" in doc.lines
    assert "外部人材を登用している。" in doc.lines
    assert not any("cid" in line for line in doc.lines)
    assert set(doc.pages) == {1, 3}
    assert {f.page for f in segment(doc)} == {1, 3}


def test_garbled_page_is_skipped_with_a_problem(tmp_path: Path) -> None:
    doc = read(make_pdf([["行政の人材育成を進めている。"], [GARBLED, GARBLED]]), tmp_path / "g.pdf", ocr=False)
    assert doc.problems == ("p.2: text layer is garbled (a font without a usable Unicode map); " + NO_OCR,)
    assert doc.lines == ("行政の人材育成を進めている。", "")


def test_real_pdf_with_japanese_fonts_without_tounicode_maps() -> None:
    # unidic-mecab.pdf ships with the unidic-lite dependency (dvipdfmx, 2013): Japanese in Identity-H fonts without
    # ToUnicode maps, English in Type1 fonts. pypdf garbled 7 of its 8 pages; PDFium maps the CIDs through
    # Adobe-Japan1 and reads every page.
    unidic_lite = pytest.importorskip("unidic_lite")
    path = Path(unidic_lite.__file__).parent / "dicdir" / "unidic-mecab.pdf"
    if not path.is_file():
        pytest.skip("unidic-mecab.pdf is not installed")
    doc = read(path.read_bytes(), path, ocr=False)
    assert set(doc.pages) == set(range(1, 9))
    assert doc.problems == ()
    assert doc.lines[0] == "unidic-mecab ver. 2.1.2 ユーザーズマニュアル"
    assert any("パッケージ版のインストール" in line for line in doc.lines)


def test_image_only_and_blank_pages_are_reported(tmp_path: Path) -> None:
    pages = [["行政の人材育成を進めている。"], [], [], ["外部人材を登用している。"]]
    doc = read(make_pdf(pages, images={2}), tmp_path / "scan.pdf", ocr=False)
    assert doc.problems == (
        f"p.2: no text layer (scanned image?); {NO_OCR}",
        f"p.3: no text layer (scanned image?); {NO_OCR}",
    )
    assert [line for line in doc.lines if line] == ["行政の人材育成を進めている。", "外部人材を登用している。"]
    assert doc.pages == (1, 1, 4, 4)


def test_a_pdf_with_most_pages_unreadable_says_so_first(tmp_path: Path) -> None:
    doc = read(make_pdf([["外部人材を登用している。"], [], []], images={2, 3}), tmp_path / "scan.pdf", ocr=False)
    assert doc.problems[0] == (
        "only 1 of 3 pages had readable text; 2 pages were left out (see the warnings for each page)"
    )
    assert len(doc.problems) == 3


@pytest.mark.parametrize(
    ("pages", "images", "expected"),
    [
        ([[CID_GARBAGE], [CID_GARBAGE]], (), "(cid:…) codes"),
        ([[CID_GARBAGE], [GARBLED]], (), "fonts without a Unicode map"),
        ([[], []], {1, 2}, "build without --no-ocr to OCR it"),
    ],
)
def test_no_readable_page_is_a_read_error(
    pages: list[list[str]], images: set[int], expected: str, tmp_path: Path
) -> None:
    with pytest.raises(ReadError, match=r"^has .* and add it again$") as info:
        read(make_pdf(pages, images=images), tmp_path / "bad.pdf", ocr=False)
    assert expected in str(info.value)
    assert "bad.pdf" not in str(info.value)


def test_user_password_is_a_read_error(report_pdf: bytes, tmp_path: Path) -> None:
    data = rewrite(report_pdf, lambda w: w.encrypt(user_password="secret", algorithm="AES-256"))
    with pytest.raises(ReadError, match=r"^is encrypted with a password; remove the password"):
        read(data, tmp_path / "locked.pdf")


@pytest.mark.parametrize("algorithm", ["RC4-128", "AES-128", "AES-256"])
def test_owner_password_only_reads_fine(report_pdf: bytes, tmp_path: Path, algorithm: str) -> None:
    data = rewrite(report_pdf, lambda w: w.encrypt(user_password="", owner_password="owner", algorithm=algorithm))
    assert PdfReader(io.BytesIO(data)).is_encrypted
    doc = read(data, tmp_path / "report.pdf")
    assert doc.lines == read(report_pdf, tmp_path / "report.pdf").lines


@pytest.mark.parametrize(
    ("make", "cause"),
    [
        (lambda d: d[: len(d) // 2], "truncated"),
        (lambda d: d[:-40], "truncated"),
        (lambda d: d[:300], "truncated"),
        (lambda d: os.urandom(4096), "no %PDF- header"),
        (lambda d: b"PK\x03\x04" + os.urandom(4096), "no %PDF- header"),  # a DOCX renamed to .pdf
        (lambda d: b"%PDF-1.4\n%%EOF\n", ""),
    ],
)
def test_broken_data_is_a_read_error(
    report_pdf: bytes, tmp_path: Path, make: Callable[[bytes], bytes], cause: str
) -> None:
    with pytest.raises(ReadError, match=r"^is not a readable PDF \(.+\); re-export or re-download it$") as info:
        read(make(report_pdf), tmp_path / "broken.pdf")
    assert cause in str(info.value)


def test_kangxi_radicals_come_out_as_kanji(tmp_path: Path) -> None:
    doc = read(make_pdf([["⾏政の⼈材と⻑野県の取組を紹介する。"]]), tmp_path / "k.pdf")
    assert doc.lines == ("行政の人材と長野県の取組を紹介する。", "")


def test_full_width_forms_are_kept(tmp_path: Path) -> None:
    doc = read(make_pdf([["令和５年度は①㈱ｶﾀｶﾅと連携した。"]]), tmp_path / "w.pdf")
    assert doc.lines[0] == "令和５年度は①㈱ｶﾀｶﾅと連携した。"


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("令和5年度 スマートシティ推進報告書", "令和5年度 スマートシティ推進報告書"),
        ("Microsoft Word - 報告書(案).docx", "第1章 はじめに"),
        ("報告書_最終版.pdf", "第1章 はじめに"),
        ("report_final_v2", "第1章 はじめに"),
        ("", "第1章 はじめに"),
        (None, "第1章 はじめに"),  # reportlab writes "untitled"
    ],
)
def test_title_from_metadata_or_first_heading(tmp_path: Path, title: str | None, expected: str) -> None:
    doc = read(make_pdf(report_pages(), title=title), tmp_path / "report.pdf")
    assert doc.title == expected


def test_title_falls_back_to_the_stem(tmp_path: Path) -> None:
    doc = read(make_pdf([["行政の人材育成を進めている。"]]), tmp_path / "白書2024.pdf")
    assert doc.title == "白書2024"


def test_without_tesseract_the_warning_says_how_to_get_ocr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import kensaku.ingest.readers.pdf as pdf_reader

    monkeypatch.setattr(pdf_reader, "ocr_available", lambda: False)
    doc = read(make_pdf([["外部人材を登用している。"], []], images={2}), tmp_path / "scan.pdf")
    assert doc.problems == (
        "p.2: no text layer (scanned image?); install Tesseract (apt install tesseract-ocr-jpn "
        "tesseract-ocr-jpn-vert) to OCR it",
    )


def test_mojibake_lines_are_left_out_with_a_warning(tmp_path: Path) -> None:
    # Short mojibake of the kind the garbled-page check let through (one script, a few characters). reportlab's
    # CMap cannot write a lone IPA `ɹ`, so that case is in the junk module's doctests only.
    pages = [["行政の人材育成を進めている。", "ABC ͍͋͏͓͑ 123", "外部人材を登用している。"]]
    doc = read(make_pdf(pages), tmp_path / "mixed.pdf", ocr=False)
    assert [line for line in doc.lines if line] == ["行政の人材育成を進めている。", "外部人材を登用している。"]
    assert doc.problems == ("p.1: 1 line(s) of mojibake left out",)
    # The left-out line still counts: the next line is cited as line 3 of the page, where a reader sees it.
    assert doc.origin(doc.lines.index("外部人材を登用している。") + 1) == 3


def _raw_pdf(objects: list[bytes]) -> bytes:
    """A PDF of the numbered ``objects`` (1-based) with a correct cross-reference table, root object 1."""
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_a_page_tree_that_contains_itself_is_read_page_by_page(tmp_path: Path) -> None:
    """PDFium cannot load the looping node's pages: they are failed pages with a warning, not a crash of the batch
    (found by bench/mutations.py)."""
    content = b"BT /F1 12 Tf 72 720 Td (loop) Tj ET"
    data = _raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 2 >>",
            b"<< /Type /Pages /Parent 2 0 R /Kids [3 0 R 4 0 R] /Count 2 >>",
            b"<< /Type /Page /Parent 3 0 R /MediaBox [0 0 595 842] /Contents 5 0 R >>",
            b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        ]
    )
    doc = read(data, tmp_path / "loop.pdf", ocr=False)
    assert doc.lines[0] == "loop"
    assert doc.problems == (
        "p.2: text could not be extracted (Failed to load page.); OCR the PDF or export the text from the source file",
    )

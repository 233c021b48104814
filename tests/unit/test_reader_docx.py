"""The DOCX reader on real Word files written here with python-docx, run through the whole segmenter."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import docx
import pytest
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls

from kensaku.ingest.models import Finding
from kensaku.ingest.readers.base import ReadError
from kensaku.ingest.readers.docx import MAX_BYTES, SUFFIXES, read
from kensaku.ingest.segment import segment

W = nsdecls("w")


def _save(document: docx.document.Document, path: Path) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    path.write_bytes(buffer.getvalue())
    return path.read_bytes()


def _plan(tmp_path: Path) -> tuple[bytes, Path]:
    """A plan with Japanese headings, a broken line, a bulleted list, a header table and a lessons section.

    Paragraph numbers (¶) as counted by the reader are in the comments.
    """
    d = docx.Document()
    d.add_heading("自治体DX推進計画", 0)  # ¶1 Title: the document title, not a finding
    d.add_heading("第1章 推進体制", 1)  # ¶2
    d.add_paragraph("首長のリーダーシップのもとで全庁的な体制を作る。")  # ¶3
    d.add_heading("庁内体制", 2)  # ¶4
    p = d.add_paragraph("CDOを外部から")  # ¶5, with a line break inside
    p.add_run().add_break()
    p.add_run("任用する。")
    d.add_paragraph("若手職員を各部署から集める。", style="List Bullet")  # ¶6
    d.add_paragraph("データ連携基盤を整備する。", style="List Bullet")  # ¶7
    d.add_paragraph("")  # ¶8: empty, still counted
    table = d.add_table(rows=4, cols=2)  # ¶9 header row, ¶10–12 rows
    rows = [("項目", "内容"), ("体制", "CDOを置く。"), ("予算", "重点施策に位置づける。"), ("人材", "")]
    for r, (name, value) in enumerate(rows):
        table.cell(r, 0).text = name
        table.cell(r, 1).text = value
    d.add_paragraph("表の後の段落です。")  # ¶13
    d.add_heading("取組を通じた知見・課題", 2)  # ¶14
    d.add_paragraph("丁寧な説明が必要である。", style="List Paragraph")  # ¶15
    d.add_heading("第2章 費用負担", 1)  # ¶16
    d.add_paragraph("国の補助金を活用した。")  # ¶17
    path = tmp_path / "計画.docx"
    return _save(d, path), path


CH1, CH2, LESSONS = "推進体制", "費用負担", "取組を通じた知見・課題"
# (id, chapter, section, heading, kind, text): chapters without 第N章 (normalize_heading), headings as written
PLAN_FINDINGS = [
    ("計画:P3", CH1, "", "第1章 推進体制", "practice", "首長のリーダーシップのもとで全庁的な体制を作る。"),
    ("計画:P5", CH1, "庁内体制", "庁内体制", "practice", "CDOを外部から任用する。"),
    ("計画:P6", CH1, "庁内体制", "庁内体制", "practice", "若手職員を各部署から集める。"),
    ("計画:P7", CH1, "庁内体制", "庁内体制", "practice", "データ連携基盤を整備する。"),
    ("計画:P10", CH1, "庁内体制", "庁内体制", "practice", "項目: 体制／内容: CDOを置く。"),
    ("計画:P11", CH1, "庁内体制", "庁内体制", "practice", "項目: 予算／内容: 重点施策に位置づける。"),
    ("計画:P12", CH1, "庁内体制", "庁内体制", "practice", "項目: 人材"),
    ("計画:P13", CH1, "庁内体制", "庁内体制", "practice", "表の後の段落です。"),
    ("計画:P15", CH1, LESSONS, LESSONS, "lesson", "丁寧な説明が必要である。"),
    ("計画:P17", CH2, "", "第2章 費用負担", "practice", "国の補助金を活用した。"),
]


@pytest.fixture
def plan(tmp_path: Path) -> list[Finding]:
    data, path = _plan(tmp_path)
    return segment(read(data, path))


def test_contract_constants() -> None:
    assert SUFFIXES == (".docx",)
    assert MAX_BYTES == 200 * 1024 * 1024


def test_plan_findings_in_order(plan: list[Finding]) -> None:
    assert [f.id for f in plan] == [row[0] for row in PLAN_FINDINGS]


@pytest.mark.parametrize(("fid", "chapter", "section", "heading", "kind", "text"), PLAN_FINDINGS)
def test_plan_finding(plan: list[Finding], fid: str, chapter: str, section: str, heading: str, kind: str, text: str):
    finding = next(f for f in plan if f.id == fid)
    assert (finding.chapter, finding.section, finding.heading) == (chapter, section, heading)
    assert (finding.kind, finding.text) == (kind, text)
    number = int(fid.split(":P")[1])
    assert (finding.line_start, finding.line_end, finding.line_unit) == (number, number, "¶")
    assert finding.document == "計画.docx"
    assert finding.title == "自治体DX推進計画"


@pytest.mark.parametrize(
    ("fid", "citation"),
    [
        ("計画:P3", "計画.docx｜第1章 推進体制｜¶3「首長のリーダーシップのもとで全庁的な体制…」"),
        ("計画:P5", "計画.docx｜第1章 推進体制 › 庁内体制｜¶5「CDOを外部から任用する。」"),
        ("計画:P6", "計画.docx｜第1章 推進体制 › 庁内体制｜¶6「若手職員を各部署から集める。」"),  # no list marker
        ("計画:P11", "計画.docx｜第1章 推進体制 › 庁内体制｜¶11「重点施策に位置づける。」"),  # the row's longest cell
        ("計画:P12", "計画.docx｜第1章 推進体制 › 庁内体制｜¶12「人材」"),
        ("計画:P15", "計画.docx｜第1章 推進体制 › 取組を通じた知見・課題｜¶15「丁寧な説明が必要である。」"),
        ("計画:P17", "計画.docx｜第2章 費用負担｜¶17「国の補助金を活用した。」"),
    ],
)
def test_plan_citation(plan: list[Finding], fid: str, citation: str) -> None:
    """The heading path as written and the paragraph's start, which Word's search finds (¶ numbers are not shown)."""
    finding = next(f for f in plan if f.id == fid)
    assert finding.citation == citation
    assert finding.location == fid.replace("計画:P", "¶")


def test_plan_document_lines(tmp_path: Path) -> None:
    data, path = _plan(tmp_path)
    doc = read(data, path)
    assert doc.line_unit == "¶"
    assert doc.title == "自治体DX推進計画"
    assert doc.lines[:8] == (
        "# 第1章 推進体制",
        "",
        "首長のリーダーシップのもとで全庁的な体制を作る。",
        "",
        "## 庁内体制",
        "",
        "CDOを外部から任用する。",
        "",
    )
    assert doc.origins[:8] == (2, 2, 3, 3, 4, 4, 5, 5)
    assert "- 若手職員を各部署から集める。" in doc.lines
    assert not any("項目: 項目" in line or line == "項目／内容" for line in doc.lines), "the header row is no finding"


def test_rereading_gives_the_same_ids(tmp_path: Path) -> None:
    data, path = _plan(tmp_path)
    assert [f.id for f in segment(read(data, path))] == [f.id for f in segment(read(path.read_bytes(), path))]


def _japanese_styles(tmp_path: Path) -> tuple[bytes, Path]:
    """Styles named as a Japanese Word names them, numbering and an outline level set on a plain paragraph."""
    d = docx.Document()
    for name in ("見出し 1", "見出し 2", "リスト段落"):
        d.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    d.add_paragraph("第1章 市民参画", style="見出し 1")  # ¶1
    d.add_paragraph("住民ワークショップ", style="見出し 2")  # ¶2
    d.add_paragraph("毎月ワークショップを開いた。", style="リスト段落")  # ¶3
    numbered = d.add_paragraph("参加者アンケートを集計した。")  # ¶4, numbered through w:numPr
    numbered._p.get_or_add_pPr().append(parse_xml(f'<w:numPr {W}><w:ilvl w:val="0"/><w:numId w:val="1"/></w:numPr>'))
    outline = d.add_paragraph("広報の工夫")  # ¶5, a heading by its outline level (level 2)
    outline._p.get_or_add_pPr().append(parse_xml(f'<w:outlineLvl {W} w:val="1"/>'))
    d.add_paragraph("広報誌とSNSで周知した。")  # ¶6
    d.add_paragraph("第2章 評価", style="見出し 1")  # ¶7: a second chapter, so 第1章 is no lone title heading
    d.add_paragraph("効果を検証した。")  # ¶8
    path = tmp_path / "参画.docx"
    return _save(d, path), path


@pytest.mark.parametrize(
    ("fid", "section", "text", "line"),
    [
        ("参画:P3", "住民ワークショップ", "毎月ワークショップを開いた。", "- 毎月ワークショップを開いた。"),
        ("参画:P4", "住民ワークショップ", "参加者アンケートを集計した。", "- 参加者アンケートを集計した。"),
        ("参画:P6", "広報の工夫", "広報誌とSNSで周知した。", "広報誌とSNSで周知した。"),
    ],
)
def test_japanese_style_names_numbering_and_outline_level(tmp_path: Path, fid: str, section: str, text: str, line: str):
    data, path = _japanese_styles(tmp_path)
    doc = read(data, path)
    assert doc.lines[:4] == ("# 第1章 市民参画", "", "## 住民ワークショップ", "")
    assert line in doc.lines
    finding = next(f for f in segment(doc) if f.id == fid)
    assert (finding.chapter, finding.section, finding.text) == ("市民参画", section, text)


def _titled(tmp_path: Path, core: str, title_paragraph: str, heading: str) -> tuple[bytes, Path]:
    d = docx.Document()
    d.core_properties.title = core
    if title_paragraph:
        d.add_heading(title_paragraph, 0)
    if heading:
        d.add_heading(heading, 2)
    d.add_paragraph("本文です。")
    path = tmp_path / "報告書.docx"
    return _save(d, path), path


@pytest.mark.parametrize(
    ("core", "title_paragraph", "heading", "expected"),
    [
        ("スマートシティ報告", "表題の段落", "概要", "スマートシティ報告"),
        ("", "表題の段落", "概要", "表題の段落"),
        ("", "", "概要", "概要"),
        ("", "", "", "報告書"),
    ],
)
def test_title_precedence(tmp_path: Path, core: str, title_paragraph: str, heading: str, expected: str) -> None:
    data, path = _titled(tmp_path, core, title_paragraph, heading)
    doc = read(data, path)
    assert doc.title == expected
    assert all(f.title == expected for f in segment(doc))


def test_merged_cells_are_not_repeated_within_a_row(tmp_path: Path) -> None:
    d = docx.Document()
    t = d.add_table(rows=4, cols=3)  # ¶1–4
    for r, cells in enumerate([("地域", "分野", "内容"), ("加賀市", "防災", "避難所の混雑を可視化した。")]):
        for c, text in enumerate(cells):
            t.cell(r, c).text = text
    t.cell(1, 0).merge(t.cell(2, 0))  # 加賀市 spans rows 2–3 (vertical merge)
    t.cell(2, 1).text, t.cell(2, 2).text = "医療", "オンライン診療を始めた。"
    wide = t.cell(3, 0).merge(t.cell(3, 2))  # one cell across the whole row
    wide.text = "※令和4年度の実績"
    path = tmp_path / "事例.docx"
    doc = read(_save(d, path), path)
    texts = {f.id: f.text for f in segment(doc)}
    assert texts == {
        "事例:P2": "地域: 加賀市／分野: 防災／内容: 避難所の混雑を可視化した。",
        "事例:P3": "地域: 加賀市／分野: 医療／内容: オンライン診療を始めた。",
        "事例:P4": "※令和4年度の実績",
    }


@pytest.mark.parametrize(
    ("rows", "marked", "expected"),
    [
        # Long cells ending in 。: no header, cells joined by ／.
        (
            [("加賀市ではフェローを任用した。", "成果が出た。"), ("会津若松市では基盤を整えた。", "")],
            False,
            ["加賀市ではフェローを任用した。／成果が出た。", "会津若松市では基盤を整えた。"],
        ),
        # A first row with a cell over 20 characters is no header, unless Word marks it as a repeated header row.
        (
            [("取組の概要と目的および期待される効果（令和4年度）", "担当課"), ("データ連携基盤の整備", "DX推進課")],
            False,
            ["取組の概要と目的および期待される効果（令和4年度）／担当課", "データ連携基盤の整備／DX推進課"],
        ),
        (
            [("取組の概要と目的および期待される効果（令和4年度）", "担当課"), ("データ連携基盤の整備", "DX推進課")],
            True,
            ["取組の概要と目的および期待される効果（令和4年度）: データ連携基盤の整備／担当課: DX推進課"],
        ),
    ],
)
def test_header_detection(tmp_path: Path, rows: list[tuple[str, str]], marked: bool, expected: list[str]) -> None:
    d = docx.Document()
    t = d.add_table(rows=len(rows), cols=2)
    for r, cells in enumerate(rows):
        for c, text in enumerate(cells):
            t.cell(r, c).text = text
    if marked:
        t.rows[0]._tr.get_or_add_trPr().append(parse_xml(f"<w:tblHeader {W}/>"))
    path = tmp_path / "表.docx"
    assert [f.text for f in segment(read(_save(d, path), path))] == expected


def test_nested_table_is_flattened_into_its_row(tmp_path: Path) -> None:
    d = docx.Document()
    outer = d.add_table(rows=1, cols=2)  # ¶1
    outer.cell(0, 0).text = "体制図"
    inner = outer.cell(0, 1).add_table(rows=2, cols=2)
    for r, cells in enumerate([("役職", "人数"), ("CDO", "1名")]):
        for c, text in enumerate(cells):
            inner.cell(r, c).text = text
    d.add_paragraph("次の段落。")  # ¶2
    path = tmp_path / "入れ子.docx"
    findings = segment(read(_save(d, path), path))
    assert [(f.id, f.text) for f in findings] == [
        ("入れ子:P1", "体制図／役職: CDO／人数: 1名"),
        ("入れ子:P2", "次の段落。"),
    ]


def test_ruby_deletions_headers_footers_and_comments_are_left_out(tmp_path: Path) -> None:
    d = docx.Document()
    d.sections[0].header.paragraphs[0].text = "ヘッダーの文言"
    d.sections[0].footer.paragraphs[0].text = "フッターの文言"
    p = d.add_paragraph()
    ruby = (
        f"<w:r {W}><w:ruby><w:rubyPr/><w:rt><w:r><w:t>かが</w:t></w:r></w:rt>"
        "<w:rubyBase><w:r><w:t>加賀</w:t></w:r></w:rubyBase></w:ruby></w:r>"
    )
    p._p.append(parse_xml(ruby))
    p.add_run("市では")
    p._p.append(parse_xml(f"<w:del {W} w:id='1' w:author='a'><w:r><w:delText>削除した文</w:delText></w:r></w:del>"))
    run = p.add_run("フェローを任用した。")
    d.add_comment(run, text="コメントの文言", author="査読者")
    path = tmp_path / "注記.docx"
    findings = segment(read(_save(d, path), path))
    assert [f.text for f in findings] == ["加賀市ではフェローを任用した。"]


def test_table_of_contents_paragraphs_are_skipped_but_counted(tmp_path: Path) -> None:
    d = docx.Document()
    d.styles.add_style("toc 1", WD_STYLE_TYPE.PARAGRAPH)
    d.add_paragraph("第1章 推進体制\t3", style="toc 1")  # ¶1
    d.add_heading("第1章 推進体制", 1)  # ¶2
    d.add_paragraph("本文です。")  # ¶3
    path = tmp_path / "目次.docx"
    assert [(f.id, f.chapter) for f in segment(read(_save(d, path), path))] == [("目次:P3", "")]


def _zip(entries: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, text in entries.items():
            z.writestr(name, text)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (os.urandom(2048).replace(b"PK", b"pk"), "is not a Word .docx file (not a zip archive); save it as .docx"),
        ("古い形式の文書".encode("cp932") * 50, "is not a Word .docx file (not a zip archive)"),
        (_zip({"memo.txt": "テキスト"}), "is not a Word .docx file (missing part:"),
        (bytes.fromhex("d0cf11e0a1b11ae1") + bytes(4096), "is a password-protected .docx or an old Word 97–2003 .doc"),
    ],
    ids=["random-bytes", "text-renamed", "zip-without-word", "ole-header"],
)
def test_bad_input(tmp_path: Path, data: bytes, expected: str) -> None:
    path = tmp_path / "壊れた.docx"
    path.write_bytes(data)
    with pytest.raises(ReadError) as info:
        read(path.read_bytes(), path)
    assert str(info.value).startswith(expected)
    assert str(path) not in str(info.value) and "壊れた" not in str(info.value)


def test_spreadsheet_renamed_to_docx(tmp_path: Path) -> None:
    import openpyxl

    buffer = io.BytesIO()
    openpyxl.Workbook().save(buffer)
    path = tmp_path / "表計算.docx"
    with pytest.raises(ReadError, match=r"is not a Word \.docx file \(its main part is .*spreadsheetml"):
        read(buffer.getvalue(), path)


@pytest.mark.parametrize("content", ["", "   ", "table-without-text"])
def test_document_without_text(tmp_path: Path, content: str) -> None:
    d = docx.Document()
    if content == "table-without-text":
        d.add_table(rows=2, cols=2)
    else:
        d.add_paragraph(content)
    d.sections[0].header.paragraphs[0].text = "ヘッダーだけに文字がある"
    path = tmp_path / "空.docx"
    with pytest.raises(ReadError, match="contains no text to index"):
        read(_save(d, path), path)


def _custom_styles(tmp_path: Path) -> tuple[bytes, Path]:
    """Headings in custom styles without an outline level, as many Japanese templates have them.

    No public DOCX with Japanese custom heading styles was found to use as a fixture, so this one is written with
    python-docx: 「章タイトル」 (based on Normal, bold 14 pt), 「節見出し」, and 「報告書の章」, based on 章タイトル.
    """
    from docx.shared import Pt

    d = docx.Document()
    chapter = d.styles.add_style("章タイトル", WD_STYLE_TYPE.PARAGRAPH)
    chapter.base_style = d.styles["Normal"]
    chapter.font.bold, chapter.font.size = True, Pt(14)
    d.styles.add_style("節見出し", WD_STYLE_TYPE.PARAGRAPH).base_style = d.styles["Normal"]
    d.styles.add_style("報告書の章", WD_STYLE_TYPE.PARAGRAPH).base_style = chapter
    d.styles.add_style("文章本文", WD_STYLE_TYPE.PARAGRAPH).base_style = d.styles["Normal"]
    d.add_paragraph("第1章 推進体制", style="章タイトル")  # ¶1
    d.add_paragraph("庁内体制", style="節見出し")  # ¶2
    d.add_paragraph("CDOを外部から任用した。", style="文章本文")  # ¶3: 章 inside 文章 is no chapter
    d.add_paragraph("第2章 費用負担", style="報告書の章")  # ¶4
    d.add_paragraph("国の補助金を活用した。")  # ¶5
    path = tmp_path / "様式.docx"
    return _save(d, path), path


def test_custom_heading_styles_by_name_and_base_style(tmp_path: Path) -> None:
    data, path = _custom_styles(tmp_path)
    doc = read(data, path)
    assert [line for line in doc.lines if line] == [
        "# 第1章 推進体制",
        "## 庁内体制",
        "CDOを外部から任用した。",
        "# 第2章 費用負担",
        "国の補助金を活用した。",
    ]
    rows = [(f.id, f.chapter, f.section, f.text) for f in segment(doc)]
    assert rows == [
        ("様式:P3", "推進体制", "庁内体制", "CDOを外部から任用した。"),
        ("様式:P5", "費用負担", "", "国の補助金を活用した。"),
    ]


def _formatted(tmp_path: Path, *, all_bold: bool = False) -> tuple[bytes, Path]:
    """Headings made by direct formatting only (Normal style): bold 16 pt, bold body size, and bold inside body."""
    from docx.shared import Pt

    d = docx.Document()

    def para(text: str, *, bold: bool = False, size: float | None = None) -> None:
        run = d.add_paragraph().add_run(text)
        run.bold = bold or all_bold
        if size:
            run.font.size = Pt(size)

    para("第1章 推進体制", bold=True, size=16)  # ¶1: larger and bold, a less emphasized line follows
    para("庁内体制", bold=True)  # ¶2: bold at body size, body text follows
    p = d.add_paragraph("首長の")  # ¶3: a bold phrase inside a sentence
    p.add_run("リーダーシップ").bold = True
    p.add_run("のもとで体制を作った。")
    para("若手職員を集めた。", bold=True)  # ¶4: a bold sentence (。) is body text
    para("第2章 費用負担", bold=True, size=16)  # ¶5
    para("国の補助金を活用した。")  # ¶6
    para("以上", bold=True)  # ¶7: bold, but no body text follows
    path = tmp_path / "書式.docx"
    return _save(d, path), path


def test_headings_by_formatting(tmp_path: Path) -> None:
    data, path = _formatted(tmp_path)
    doc = read(data, path)
    assert [line for line in doc.lines if line] == [
        "# 第1章 推進体制",
        "## 庁内体制",
        "首長のリーダーシップのもとで体制を作った。",
        "若手職員を集めた。",
        "# 第2章 費用負担",
        "国の補助金を活用した。",
        "以上",
    ]
    first = segment(doc)[0]
    assert (first.chapter, first.section, first.text) == ("推進体制", "庁内体制", doc.lines[4])


def test_bold_everywhere_is_no_heading_but_larger_text_is(tmp_path: Path) -> None:
    """When the body itself is bold, only the larger lines stand out as headings."""
    data, path = _formatted(tmp_path, all_bold=True)
    headings = [line for line in read(data, path).lines if line.startswith("#")]
    assert headings == ["# 第1章 推進体制", "# 第2章 費用負担"]

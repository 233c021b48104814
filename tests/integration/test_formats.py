"""Every format end to end: real PDF, DOCX, HTML, Shift_JIS text and markdown files in a folder whose name has
Japanese characters and spaces are indexed with the real default model; a question about each returns its finding
with the exact page/paragraph/line citation. Then a batch with bad files: one line per bad file naming it and the
reason, the good files indexed, a summary; and a failed build leaves the previous index untouched."""

from __future__ import annotations

import io
import json
from pathlib import Path

import docx
import pytest
from pypdf import PdfReader, PdfWriter

from kensaku import Index
from kensaku.cli import main
from kensaku.index.embed import Embedder, load_embedder
from kensaku.index.search import Searcher
from kensaku.index.store import load_index
from kensaku.ingest import read_document, segment
from tests.pdfs import CID_GARBAGE, make_pdf, wrap

FELLOW = "フェローの報酬は月額三十万円とし、任期は二年として毎年度の評価で更新を判断した。"
BUDGET = "年間五千万円を一般会計に計上した。"
MEETING = "住民説明会は市内の公民館三か所で開催し、延べ二百人が参加した。"
DATA = "地域のデータ連携基盤は県と共同で調達し、運用費を按分している。"
GUIDE = "オープンデータの公開はカタログサイトで行う。"


def write_pdf(path: Path) -> None:
    pages = [
        ["第1章 概要", "", *wrap("本報告書は人材の確保と育成の取組をまとめたものである。")],
        ["第2章 人材", "", *wrap(FELLOW)],
    ]
    path.write_bytes(make_pdf(pages, title="人材確保の報告書"))


def write_docx(path: Path) -> None:
    document = docx.Document()
    document.add_heading("推進計画", level=1)
    document.add_heading("推進体制", level=1)
    document.add_paragraph("庁内に推進本部を置き、部長級で構成する。")
    table = document.add_table(rows=3, cols=2)
    for row, (item, content) in enumerate([("項目", "内容"), ("予算", BUDGET), ("人員", "専任三名を配置した。")]):
        table.cell(row, 0).text, table.cell(row, 1).text = item, content
    document.save(str(path))


HTML = f"""<!DOCTYPE html>
<html lang="ja"><head><meta charset="utf-8"><title>お知らせ｜加賀市</title></head>
<body>
<header><nav><a href="/">トップ</a> <a href="/news">お知らせ一覧</a></nav></header>
<main>
<h1>お知らせ</h1>
<h2>住民説明会</h2>
<p>{MEETING}</p>
</main>
<footer>Copyright 加賀市</footer>
</body></html>
"""


@pytest.fixture(scope="module")
def embedder(default_model: Path) -> Embedder:
    return load_embedder("e5-small-int8")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("formats") / "取組 資料 2024"
    folder.mkdir()
    write_pdf(folder / "報告書 2024.pdf")
    write_docx(folder / "推進 計画.docx")
    (folder / "お知らせ.html").write_text(HTML, encoding="utf-8")
    (folder / "旧資料.txt").write_bytes(f"■ データ連携\n\n- {DATA}\n".encode("shift_jis"))
    (folder / "手引き.md").write_text(
        f"# 手引き\n\n## 公開\n\n| 項目 | 方法 |\n|---|---|\n| 公開 | {GUIDE} |\n", encoding="utf-8"
    )
    return folder


@pytest.fixture(scope="module")
def searcher(corpus: Path, embedder: Embedder, tmp_path_factory: pytest.TempPathFactory) -> Searcher:
    directory = tmp_path_factory.mktemp("formats-index") / "index"
    report = Index.build([corpus], directory, embedder=embedder).report
    assert report is not None and report.result is not None and report.result.errors == [] and report.documents == 5
    return Searcher(bundle=load_index(directory), embedder=embedder)


def html_line(text: str) -> int:
    return next(number for number, line in enumerate(HTML.splitlines(), 1) if text in line)


CASES = [
    # (question, id, text, citation)
    (
        "フェローの任期は何年か",
        "報告書 2024:p2.L2",
        FELLOW,
        "報告書 2024.pdf｜第2章 人材｜p.2 L2–3",
    ),
    (
        "予算はいくら計上したか",
        "推進 計画:P5",
        f"項目: 予算／内容: {BUDGET}",
        f"推進 計画.docx｜推進体制｜¶5「{BUDGET}」",  # the row's longest cell: what Word's search finds
    ),
    (
        "住民説明会はどこで開いたか",
        f"お知らせ:L{html_line(MEETING)}",
        MEETING,
        f"お知らせ.html｜住民説明会｜L{html_line(MEETING)}",
    ),
    ("データ連携基盤はどう調達したか", "旧資料:L3", DATA, "旧資料.txt｜データ連携｜L3"),
    ("オープンデータはどこで公開するか", "手引き:L7", f"項目: 公開／方法: {GUIDE}", "手引き.md｜公開｜L7"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("question", "fid", "text", "citation"), CASES, ids=[c[1] for c in CASES])
def test_question_finds_the_finding_with_its_citation(
    searcher: Searcher, question: str, fid: str, text: str, citation: str
) -> None:
    [top] = searcher.search(question, 1)
    assert (top.finding.id, top.finding.text, top.finding.citation) == (fid, text, citation)


def test_docx_citation_has_the_heading_path_and_the_paragraph_start(tmp_path: Path) -> None:
    """¶ numbers are not shown in Word: the citation carries the headings as written and the paragraph's first 20
    characters, which Word's search (Ctrl+F) finds in the file."""
    document = docx.Document()
    document.add_heading("第2章 推進体制", level=1)
    document.add_heading("2.1 人材育成", level=2)
    document.add_paragraph("市の職員を対象にした研修は毎年度開催し、受講者は延べ三百人となった。")
    document.add_heading("第3章 費用負担", level=1)
    document.add_paragraph("国の補助金を活用した。")
    path = tmp_path / "plan.docx"
    document.save(str(path))
    findings = segment(read_document(path))
    assert [f.citation for f in findings] == [
        "plan.docx｜第2章 推進体制 › 2.1 人材育成｜¶3「市の職員を対象にした研修は毎年度開催し…」",
        "plan.docx｜第3章 費用負担｜¶5「国の補助金を活用した。」",
    ]
    assert [(f.chapter, f.section, f.heading) for f in findings] == [
        ("推進体制", "人材育成", "2.1 人材育成"),
        ("費用負担", "", "第3章 費用負担"),
    ]
    body = "".join(p.text for p in docx.Document(str(path)).paragraphs)
    assert all(f.citation.split("「")[1].rstrip("…」") in body for f in findings)


@pytest.mark.slow
def test_pdf_findings_carry_pages(searcher: Searcher) -> None:
    fellow = next(f for f in searcher.bundle.findings if f.text == FELLOW)
    assert (fellow.page, fellow.page_end, fellow.line_start, fellow.line_end) == (2, None, 2, 3)
    assert fellow.title == "人材確保の報告書"


def encrypted_pdf() -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf([wrap(FELLOW)]))))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


BAD = {
    # file name: (bytes or None for a sparse 51 MB file, reason fragment)
    "暗号化 文書.pdf": (encrypted_pdf, "is encrypted with a password"),
    "壊れた 資料.pdf": (lambda: make_pdf([wrap(FELLOW)])[:300], "is not a readable PDF"),
    "空 の.txt": (lambda: b"", "file is 0 bytes"),
    "画像 です.txt": (lambda: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20, "binary data"),
    "古い 形式.docx": (lambda: bytes.fromhex("d0cf11e0a1b11ae1") + b"\x00" * 600, "password-protected"),
    "巨大 ログ.txt": (None, "file is 51.0 MB, over the 50 MB limit for one .txt document"),
}


@pytest.mark.slow
def test_bad_files_each_get_one_line_and_the_batch_goes_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "混在 フォルダ"
    folder.mkdir()
    (folder / "良い 文書.md").write_text(f"# 良い\n\n## 体制\n\n- {BUDGET}\n", encoding="utf-8")
    for name, (make, _) in BAD.items():
        if make is None:
            with (folder / name).open("wb") as handle:
                handle.truncate(51 * 1024 * 1024)
        else:
            (folder / name).write_bytes(make())
    (folder / "スライド.pptx").write_bytes(b"PK\x03\x04")
    half = folder / "一部 読めない.pdf"
    half.write_bytes(make_pdf([["第1章 概要", "", *wrap(MEETING)], [CID_GARBAGE, CID_GARBAGE]]))
    explicit = tmp_path / "表計算 シート.xlsx"
    explicit.write_bytes(b"PK\x03\x04")
    index = str(tmp_path / "index")
    assert main(["build", str(folder), str(explicit), "--index", index, "--no-progress"]) == 0
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    for name, (_, reason) in BAD.items():
        [line] = [x for x in lines if f"{folder / name}:" in x]
        assert line.startswith(f"kensaku: skipped {folder / name}: ") and reason in line
    [unsupported] = [x for x in lines if str(explicit) in x]
    assert "unsupported file type '.xlsx'" in unsupported
    [ignored] = [x for x in lines if "ignored" in x]
    assert ignored == f"kensaku: ignored 1 file(s) of unsupported types: {folder / 'スライド.pptx'}"
    [warning] = [x for x in lines if "warning" in x]
    assert warning.startswith(f"kensaku: warning: {half}: p.2: text layer is (cid:…) codes")
    assert len(lines) == len(BAD) + 3
    assert "indexed 2 findings from 2 document(s)" in captured.out
    assert f"{len(BAD) + 1} file(s) skipped, 1 warning(s)" in captured.out
    citations = [f.citation for f in load_index(Path(index)).findings]
    assert citations == ["一部 読めない.pdf｜第1章 概要｜p.1 L2–3", "良い 文書.md｜体制｜L5"]


@pytest.mark.slow
def test_a_build_that_fails_leaves_the_previous_index(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "良い 文書.md"
    good.write_text(f"# 良い\n\n- {BUDGET}\n", encoding="utf-8")
    index = tmp_path / "index"
    assert main(["build", str(good), "--index", str(index), "--no-progress"]) == 0
    before = (index / "manifest.json").read_bytes()
    bad = tmp_path / "空.txt"
    bad.write_bytes(b"")
    assert main(["build", str(bad), "--index", str(index), "--no-progress", "--format", "json"]) == 2
    err = capsys.readouterr().err
    assert "no findings to index" in err
    assert (index / "manifest.json").read_bytes() == before
    assert [f.text for f in load_index(index).findings] == [BUDGET]
    assert json.loads(before)["counts"]["findings"] == 1

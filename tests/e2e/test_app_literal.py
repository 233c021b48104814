"""The app shows file names and reasons literally: Markdown and HTML in a file name never render (AppTest, real
index and model). What Streamlit would render is checked by rendering the element's Markdown with a CommonMark
renderer that allows raw HTML, the most permissive reading.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from kensaku import Index
from kensaku.app.plaintext import markdown_literal
from tests.support import ROOT

APP = str(ROOT / "search_app.py")
DOCUMENTS_PAGE = "from kensaku.app import documents_page\ndocuments_page.main()\n"
NAME = "**bold**<img src=x>.txt"
GOOD = "# 推進体制\n\n加賀市ではフェローを任期付き職員として採用し、契約は要綱で定めた。\n"


def rendered(markdown: str) -> str:
    html: str = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"]).render(markdown)
    return html


def start(monkeypatch: pytest.MonkeyPatch, index: Path, page: str | None = None) -> AppTest:
    monkeypatch.setenv("KENSAKU_INDEX", str(index))
    monkeypatch.setenv("KENSAKU_DOCUMENTS", str(index.parent / "documents"))
    at = AppTest.from_string(page, default_timeout=180) if page else AppTest.from_file(APP, default_timeout=180)
    at.run()
    assert not at.exception
    return at


def test_rebuild_warning_shows_a_markdown_file_name_literally(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text(GOOD, encoding="utf-8")
    (corpus / NAME).write_bytes(b"")  # 0 bytes: skipped with a warning, the build goes on
    index = tmp_path / "index"
    report = Index.build([corpus], index).report
    assert report is not None and report.result is not None
    assert [Path(e.path).name for e in report.result.errors] == [NAME]
    at = start(monkeypatch, index, DOCUMENTS_PAGE)
    at.button(key="rebuild").click().run()
    assert not at.exception
    warnings = [w.value for w in at.warning]
    japanese = "は読み込めませんでした: ファイルが空（0 バイト）です。文章の入ったファイルを追加してください。"
    assert warnings == [markdown_literal(f"{NAME} {japanese}")]
    html = rendered(warnings[0])
    assert "<strong>" not in html and "<img" not in html
    assert f"**bold**&lt;img src=x&gt;.txt {japanese}" in html
    original = at.expander[0].markdown[0].value  # 詳細（原文）: the library's English, also literal
    assert at.expander[0].label == "詳細（原文）"
    assert markdown_literal(f"{corpus / NAME}: {report.result.errors[0].reason}") == original
    html = rendered(original)
    assert "<strong>" not in html and "<img" not in html
    assert f"{corpus}/**bold**&lt;img src=x&gt;.txt: file is 0 bytes" in html


def test_an_error_quoting_a_file_name_shows_it_literally(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    missing = tmp_path / "[クリック](javascript:alert(1))" / "index"
    at = start(monkeypatch, missing)
    assert at.error[0].value.startswith("索引を開けませんでした。")
    original = at.expander[0].markdown[0].value  # 詳細（原文）: the message that quotes the path
    html = rendered(original)
    assert "<a " not in html and "[クリック](javascript:alert(1))" in html

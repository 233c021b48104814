"""The 文書 page in Streamlit's AppTest with the real model and files: a change made by `kensaku add` in another
process shows on the next run (the loader reloads when the index on disk changes), and metadata edited on the page
reaches the table and the findings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kensaku import Index
from kensaku.app import loader
from kensaku.app.plaintext import markdown_literal

DOCUMENTS_PAGE = "from kensaku.app import documents_page\ndocuments_page.main()\n"
FIRST = "# 推進体制\n\n加賀市ではフェローを任期付き職員として採用し、契約は要綱で定めた。\n"
SECOND = "# 防災\n\n農業用ため池の一斉点検を毎年六月に実施し、堤体の漏水を確認している。\n"


def start(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[AppTest, Path]:
    first = tmp_path / "体制.md"
    first.write_text(FIRST, encoding="utf-8")
    index = tmp_path / "index"
    Index.build([first], index)
    monkeypatch.setenv("KENSAKU_INDEX", str(index))
    monkeypatch.setenv("KENSAKU_DOCUMENTS", str(tmp_path / "documents"))
    at = AppTest.from_string(DOCUMENTS_PAGE, default_timeout=180)
    at.run()
    assert not at.exception
    return at, index


def names(at: AppTest) -> list[str]:
    return [str(name).replace("\\", "") for name in at.table[0].value["名前"]]


def test_a_document_added_from_the_command_line_shows_on_the_next_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    at, index = start(monkeypatch, tmp_path)
    assert names(at) == ["体制.md"]
    second = tmp_path / "防災.md"
    second.write_text(SECOND, encoding="utf-8")
    kensaku = Path(sys.executable).with_name("kensaku")
    done = subprocess.run(
        [str(kensaku), "add", str(second), "--index", str(index)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    at.run()  # the next interaction
    assert not at.exception
    assert names(at) == ["体制.md", "防災.md"]
    assert at.subheader[1].value == "登録済みの文書（2 件）"


def test_metadata_edited_on_the_page_reaches_the_table_and_the_findings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    at, index = start(monkeypatch, tmp_path)
    field = {widget.label: widget for widget in at.text_input}
    field["自治体"].input("白山市")
    field["年度"].input("令和5年度")
    field["タグ（読点「、」で区切る）"].input("防災、人材")
    at.button[1].click()  # 情報を保存 (the first button is the uploader's 索引に追加)
    at.run()
    assert not at.exception and not at.error
    assert at.success[0].value.startswith(markdown_literal("体制.md の情報を保存しました"))
    row = at.table[0].value.iloc[0]
    assert (row["自治体"], row["年度"], row["表題"], row["タグ"]) == ("白山市", "2023", "推進体制", "防災、人材")
    findings = Index.open(index).findings
    assert findings and {f.municipality for f in findings} == {"白山市"}
    assert {f.extra.get("year") for f in findings} == {"2023"}


def test_a_damaged_index_is_explained_and_rebuilt_from_the_page(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    first = tmp_path / "体制.md"
    first.write_text(FIRST, encoding="utf-8")
    index = tmp_path / "index"
    Index.build([first], index)
    (index / "vectors.npy").write_bytes(b"broken")  # damaged before the app (a new process) opens it
    monkeypatch.setenv("KENSAKU_INDEX", str(index))
    monkeypatch.setenv("KENSAKU_DOCUMENTS", str(tmp_path / "documents"))
    loader.clear()  # AppTest runs in this process: forget indexes other tests loaded
    at = AppTest.from_string(DOCUMENTS_PAGE, default_timeout=180)
    at.run()
    assert not at.exception
    assert (
        at.error[0].value
        == "索引を開けませんでした。索引が壊れています。「文書」ページの「索引を作り直す」を押してください。"
    )
    assert "IndexCorruptError" in at.expander[0].markdown[0].value
    at.button(key="rebuild").click()
    at.run()
    assert not at.exception and not at.error
    assert at.success[0].value.startswith("索引を作り直しました（文書 1 件、事例 1 件")
    assert names(at) == ["体制.md"]

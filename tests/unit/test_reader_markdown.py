"""Markdown reader: pipe tables become one finding per row, cited at the row's own line; the rest is text."""

from __future__ import annotations

from pathlib import Path

import pytest

from kensaku.ingest.readers.markdown import read, table_lines
from kensaku.ingest.segment import segment

PAGE = """# 取組事例集

## 費用負担

| 項目 | 内容 | 備考 |
|:-----|-----:|------|
| 初期費用 | 国の交付金で賄った。 | 令和4年度 |
| 運営費 | 参加企業が負担する。 |  |

表の後の段落です。
"""


def test_table_rows_are_findings_with_their_own_lines(tmp_path: Path) -> None:
    findings = segment(read(PAGE.encode(), tmp_path / "事例 集.md"))
    got = [(f.id, f.text, f.citation) for f in findings]
    assert got == [
        ("事例 集:L7", "項目: 初期費用／内容: 国の交付金で賄った。／備考: 令和4年度", "事例 集.md｜費用負担｜L7"),
        ("事例 集:L8", "項目: 運営費／内容: 参加企業が負担する。", "事例 集.md｜費用負担｜L8"),
        ("事例 集:L10", "表の後の段落です。", "事例 集.md｜費用負担｜L10"),
    ]


TABLES = [
    # (lines, expected lines, expected origins)
    (["| a | b |", "|---|---|", "| 1 | 2 |"], ["", "", "a: 1／b: 2", ""], [1, 2, 3, 3]),
    # Without a rule line it is not a table: kept as text.
    (["| a | b |", "| 1 | 2 |"], ["| a | b |", "| 1 | 2 |"], [1, 2]),
    # Escaped pipes stay inside their cell; a short row names the columns it has.
    (
        ["| 名 | 説明 |", "| --- | --- |", "| A\\|B | 区切り |", "| 単独 |"],
        ["", "", "名: A\\|B／説明: 区切り", "", "名: 単独", ""],
        [1, 2, 3, 3, 4, 4],
    ),
]


@pytest.mark.parametrize(("lines", "expected", "origins"), TABLES)
def test_table_lines(lines: list[str], expected: list[str], origins: list[int]) -> None:
    assert table_lines(lines) == (expected, origins)


def test_document_without_tables_keeps_its_lines(tmp_path: Path) -> None:
    doc = read("# 題\n\n本文。\n".encode("cp932"), tmp_path / "a.md")
    assert doc.lines == ("# 題", "", "本文。") and doc.origins == ()

"""The generic segmenter on small Japanese markdown and plain-text documents written here."""

from __future__ import annotations

from pathlib import Path

import pytest

from kensaku.ingest import Finding, looks_like_case_report, read_document, segment, split_sentences

MARKDOWN = """\
---
title: フロントマター
draft: true
---
# 自治体DXの手引き

はじめに、この手引きの目的を説明する。
デジタル化の進め方を
まとめた。

## 第1章 推進体制

### 庁内体制

- 首長のリーダーシップのもとで全庁的な体制を作る。
- CDO を外部から
  任用する。
* 若手職員を**各部署**から集める。

<!-- 編集メモ: ここは後で直す -->
<!--
複数行の
コメント
-->

```python
print("コードは無視される。")
```

### 取組を通じた知見・課題

1. 丁寧な説明が必要である。
2. 外部人材の活用も有効である。

## 第2章 費用負担

Open data and
machine learning are key.

■ 予算確保

① 重要施策に位置づける。
"""

LESSONS = "取組を通じた知見・課題"
# (line_start, line_end, chapter, section, heading, kind, text)
MARKDOWN_EXPECTED = [
    (7, 9, "", "", "", "practice", "はじめに、この手引きの目的を説明する。デジタル化の進め方をまとめた。"),
    (15, 15, "推進体制", "庁内体制", "庁内体制", "practice", "首長のリーダーシップのもとで全庁的な体制を作る。"),
    (16, 17, "推進体制", "庁内体制", "庁内体制", "practice", "CDO を外部から任用する。"),
    (18, 18, "推進体制", "庁内体制", "庁内体制", "practice", "若手職員を各部署から集める。"),
    (
        32,
        32,
        "推進体制",
        "取組を通じた知見・課題",
        "取組を通じた知見・課題",
        "lesson",
        "丁寧な説明が必要である。",
    ),
    (
        33,
        33,
        "推進体制",
        "取組を通じた知見・課題",
        "取組を通じた知見・課題",
        "lesson",
        "外部人材の活用も有効である。",
    ),
    (37, 38, "費用負担", "", "第2章 費用負担", "practice", "Open data and machine learning are key."),
    (42, 42, "費用負担", "予算確保", "予算確保", "practice", "① 重要施策に位置づける。"),
]

PLAIN = """\
第1章 はじめに

本書は自治体の取組をまとめたものである。

1. 推進体制

（1）庁内体制

・全庁的な体制を構築した。
・CDOを任用した。
1) 予算を確保した。

2. 費用負担

一つ目の文です。二つ目の文はもう少し長くなっています。三つ目の文です。四つ目の文はさらに長く、内容を含んでいます。

句点がないまま延々と続いていくとても長い一文であってどこにも切れ目がないので分割されずにそのまま残るべきもの
"""

PLAIN_EXPECTED = [
    (3, "はじめに", "", "第1章 はじめに", "本書は自治体の取組をまとめたものである。"),
    (9, "はじめに", "推進体制", "（1）庁内体制", "全庁的な体制を構築した。"),
    (10, "はじめに", "推進体制", "（1）庁内体制", "CDOを任用した。"),
    (11, "はじめに", "推進体制", "（1）庁内体制", "予算を確保した。"),
]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def markdown(tmp_path: Path) -> list[Finding]:
    doc = read_document(write(tmp_path, "手引き.md", MARKDOWN))
    assert not looks_like_case_report(doc)
    assert doc.title == "自治体DXの手引き"
    return segment(doc)


@pytest.fixture
def plain(tmp_path: Path) -> tuple[list[Finding], list[str]]:
    path = write(tmp_path, "plain.txt", PLAIN)
    return segment(read_document(path), max_chars=40), PLAIN.splitlines()


def test_markdown_structure(markdown: list[Finding]) -> None:
    got = [(f.line_start, f.line_end, f.chapter, f.section, f.heading, f.kind, f.text) for f in markdown]
    assert got == MARKDOWN_EXPECTED


def test_markdown_ids_and_citations(markdown: list[Finding]) -> None:
    assert [f.id for f in markdown][:3] == ["手引き:L7", "手引き:L15", "手引き:L16"]
    assert markdown[1].citation == "手引き.md｜第1章 推進体制 › 庁内体制｜L15"
    assert markdown[2].citation == "手引き.md｜第1章 推進体制 › 庁内体制｜L16–17"
    assert all(f.municipality == "" and f.document == "手引き.md" for f in markdown)
    assert all(f.title == "自治体DXの手引き" for f in markdown)


def test_markdown_skips_front_matter_comments_and_code(markdown: list[Finding]) -> None:
    joined = " ".join(f.text for f in markdown)
    for hidden in ("フロントマター", "編集メモ", "複数行", "コードは無視", "```", "<!--", "**"):
        assert hidden not in joined


def test_plain_text_headings_bullets_and_paragraphs(plain: tuple[list[Finding], list[str]]) -> None:
    findings, _ = plain
    got = [(f.line_start, f.chapter, f.section, f.heading, f.text) for f in findings[:4]]
    assert got == PLAIN_EXPECTED
    assert all(f.kind == "practice" for f in findings)


def test_long_paragraph_split_at_sentence_ends(plain: tuple[list[Finding], list[str]]) -> None:
    findings, lines = plain
    parts = [f for f in findings if f.line_start == 15]
    # Sentences are packed greedily up to 40 characters.
    assert [f.id for f in parts] == ["plain:L15", "plain:L15.2"]
    assert [f.text for f in parts] == [
        "一つ目の文です。二つ目の文はもう少し長くなっています。三つ目の文です。",
        "四つ目の文はさらに長く、内容を含んでいます。",
    ]
    assert "".join(f.text for f in parts) == lines[14]
    for f in parts:
        assert len(f.text) <= 40
        assert (f.line_start, f.line_end, f.heading) == (15, 15, "2. 費用負担")


def test_single_overlong_sentence_kept_whole(plain: tuple[list[Finding], list[str]]) -> None:
    findings, lines = plain
    [f] = [f for f in findings if f.line_start == 17]
    assert f.text == lines[16]
    assert len(f.text) > 40 and len(split_sentences(f.text)) == 1
    assert f.id == "plain:L17"


def test_line_numbers_point_at_the_text(plain: tuple[list[Finding], list[str]]) -> None:
    findings, lines = plain
    for f in findings:
        assert f.text[:5] in lines[f.line_start - 1], f.id


def test_numbered_list_lines_are_bullets_not_headings(tmp_path: Path) -> None:
    doc = read_document(write(tmp_path, "list.txt", "■ 手順\n\n1. 準備する。\n2. 実施する。\n3. 評価する。\n"))
    findings = segment(doc)
    assert [(f.line_start, f.heading, f.text) for f in findings] == [
        (3, "手順", "準備する。"),
        (4, "手順", "実施する。"),
        (5, "手順", "評価する。"),
    ]


def test_run_of_parenthesized_numbers_is_a_list_not_headings(tmp_path: Path) -> None:
    """`(1)` `(2)` lines next to each other (blank lines between, as the HTML reader writes them) are items; a
    `（1）` line after `(2)` starts a new numbering and stays a heading."""
    lines = (
        "■ 表彰の対象",
        "(1) 社会福祉の増進に寄与した者",
        "(2) 産業の振興発展に貢献した者",
        "（1）庁内体制",
        "体制を作った。",
    )
    text = "\n\n".join(lines) + "\n"
    findings = segment(read_document(write(tmp_path, "list.txt", text)))
    assert [(f.line_start, f.heading, f.text) for f in findings] == [
        (3, "表彰の対象", "(1) 社会福祉の増進に寄与した者"),
        (5, "表彰の対象", "(2) 産業の振興発展に貢献した者"),
        (9, "（1）庁内体制", "体制を作った。"),
    ]


def test_symbol_heading_nests_under_markdown(tmp_path: Path) -> None:
    text = "# 報告\n\n## 概要\n\n■ 知見\n\n- 早期の合意形成が重要である。\n\n# 付録\n\n本文です。\n"
    findings = segment(read_document(write(tmp_path, "nest.md", text)))
    got = [(f.chapter, f.section, f.heading, f.kind, f.text) for f in findings]
    assert got == [
        ("報告", "概要", "知見", "lesson", "早期の合意形成が重要である。"),
        ("付録", "", "付録", "practice", "本文です。"),
    ]


def test_max_chars_too_small_is_rejected(tmp_path: Path) -> None:
    doc = read_document(write(tmp_path, "a.txt", "本文です。\n"))
    with pytest.raises(ValueError, match="max_chars=5 is too small"):
        segment(doc, max_chars=5)

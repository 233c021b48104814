"""Ordinances (例規) and statutes: articles with captions, paragraphs and items (号) of every numbering style.

The lines are real: taken from かつらぎ町表彰規程, かつらぎ町駐車場等設置条例 and 行政手続法 (see
``tests/fixtures/real/ordinance/PROVENANCE.md``), some wrapped or shortened to fit a case. Numbering styles those
texts do not use (``（１）``, ``①``, ``1．``, ``1.``, ``1)``) number the same real item texts; the report at the end
is written here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kensaku.ingest import Finding, read_document, segment
from kensaku.ingest.headings import is_article_line, numbered_style, ordinance_line
from kensaku.ingest.segment import looks_like_ordinance

LEAD = "駐車場等においては、次の各号に掲げる行為をしてはならない。"
ITEMS = ("他の車両の駐車を妨げること。", "みだりに火気を使用すること。", "その他町長が管理上支障があると認める行為")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def cut(tmp_path: Path, text: str, name: str = "jorei.txt") -> list[Finding]:
    return segment(read_document(write(tmp_path, name, text)))


def crumbs(f: Finding) -> list[str]:
    """The heading path of a finding, as cited (``document｜municipality｜a › b｜L3``)."""
    parts = f.citation.split("｜")
    return parts[-2].split(" › ") if len(parts) > 2 and parts[-2] != f.municipality else []


@pytest.mark.parametrize(
    ("line", "kind", "label"),
    [
        ("第7条　駐車場等の使用料は、無料とする。", "article", "第7条"),
        ("第三条の二　行政庁は、", "article", "第三条の二"),
        ("第1条(目的)　この条例は、", "article", "第1条（目的）"),
        ("(使用料)", "caption", "（使用料）"),
        ("（定義）", "caption", "（定義）"),
        ("第一章　総則", "heading", ""),
        ("第一節　通則", "heading", ""),
        ("附則", "heading", ""),
        ("附則(平成18年3月31日条例第25号)抄", "heading", ""),
        ("2　駐輪場に駐車できるものは、次の各号に掲げるものとする。", "paragraph", ""),
        ("２　処分、行政指導及び届出に関する手続", "paragraph", ""),
        ("(1)　他の車両の駐車を妨げること。", "item", ""),
        ("（１）　他の車両の駐車を妨げること。", "item", ""),
        ("一　法令　法律、法律に基づく命令", "item", ""),
        ("十六　前号に規定する処分の手続", "item", ""),
        ("①他の車両の駐車を妨げること。", "item", ""),
        ("1．他の車両の駐車を妨げること。", "item", ""),
        ("イ　事実上の行為", "subitem", ""),
        ("○かつらぎ町表彰規程", "header", ""),
        ("規程第9号", "header", ""),
        ("昭和43年9月10日", "header", ""),
        ("第2条各号の規定に該当する者が死亡したときは、追彰することができる。", "text", ""),
        ("この条例は、公布の日から施行する。", "text", ""),
    ],
)
def test_ordinance_line_shapes(line: str, kind: str, label: str) -> None:
    shape = ordinance_line(line)
    assert (shape.kind, shape.label) == (kind, label)


@pytest.mark.parametrize(
    ("line", "style"),
    [
        ("(1) 地方自治の振興発展に貢献し、その功績が特に優れた者", "paren"),
        ("（１）庁内体制", "paren"),
        ("① 重要施策に位置づける。", "circled"),
        ("1. はじめに", "dot"),
        ("1．はじめに", "dot"),
        ("1) 予算を確保した。", "half-paren"),
        ("一　法令", "kanji"),
        ("1-1. 背景", None),
        ("第1章 はじめに", None),
        ("一般に", None),
    ],
)
def test_numbered_style(line: str, style: str | None) -> None:
    assert numbered_style(line) == style


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(使用料)\n第7条　駐車場等の使用料は、無料とする。\n", True),
        ("第1条（目的）\nこの要綱は、\n", True),
        ("## 1. はじめに\n\n第1章で述べたとおりである。\n", False),
        ("- 第1条\n- 第2条\n", False),
        ("1. はじめに\n\n本書は、取組をまとめたものである。\n", False),
    ],
)
def test_looks_like_ordinance(tmp_path: Path, text: str, expected: bool) -> None:
    assert looks_like_ordinance(read_document(write(tmp_path, "doc.txt", text))) is expected
    assert all(is_article_line(line) is False for line in text.splitlines() if line.startswith("- "))


def test_article_with_caption_is_the_heading_and_its_text_the_finding(tmp_path: Path) -> None:
    lines = ("(使用料)", "第7条　駐車場等の使用料は、無料とする。", "(委任)")
    text = "\n".join((*lines, "第9条　この条例の施行に関し必要な事項は、別に規則で定める。", ""))
    findings = cut(tmp_path, text)
    got = [(f.line_start, f.line_end, f.heading, crumbs(f), f.text) for f in findings]
    assert got == [
        (2, 2, "第7条（使用料）", ["第7条（使用料）"], "第7条 駐車場等の使用料は、無料とする。"),
        (4, 4, "第9条（委任）", ["第9条（委任）"], "第9条 この条例の施行に関し必要な事項は、別に規則で定める。"),
    ]
    assert findings[0].citation == "jorei.txt｜第7条（使用料）｜L2"
    assert all(f.kind == "practice" for f in findings)


@pytest.mark.parametrize(
    "markers",
    [
        ("(1)　", "(2)　", "(3)　"),
        ("（１）", "（２）", "（３）"),
        ("一　", "二　", "三　"),
        ("①", "②", "③"),
        ("1．", "2．", "3．"),
        ("1. ", "2. ", "3. "),
        ("1) ", "2) ", "3) "),
    ],
)
@pytest.mark.parametrize("blank", ["", "\n"])
def test_items_of_every_style_are_findings_under_their_article(
    tmp_path: Path, markers: tuple[str, str, str], blank: str
) -> None:
    """An item followed by an item, the last followed by the next article: none is dropped or a heading."""
    lines = ["(禁止行為)", f"第5条　{LEAD}", *(m + item for m, item in zip(markers, ITEMS, strict=True))]
    lines += ["(使用の制限)", "第6条　町長は、管理上必要があると認めるときは、駐車場等の使用を制限することができる。"]
    findings = cut(tmp_path, "".join(line + "\n" + blank for line in lines))
    step = 2 if blank else 1
    assert [f.line_start for f in findings] == [step * n + 1 for n in (1, 2, 3, 4, 6)]
    article, *items, after = findings
    assert crumbs(article) == ["第5条（禁止行為）"] and article.text == f"第5条 {LEAD}"
    for marker, item, f in zip(markers, ITEMS, items, strict=True):
        assert f.text.replace(" ", "") == (marker + item).replace(" ", "").replace("\u3000", "")
        assert crumbs(f) == ["第5条（禁止行為）", LEAD]
        assert (f.heading, f.chapter, f.section) == (LEAD, "", "")
        assert f.context_text.startswith(LEAD)
    assert crumbs(after) == ["第6条（使用の制限）"] and after.heading == "第6条（使用の制限）"


ARTICLE_13 = (
    "第十三条　行政庁は、不利益処分をしようとする場合には、次の各号の区分に従い、この章の定めるところにより、"
    "当該不利益処分の名あて人となるべき者について、当該各号に定める意見陳述のための手続を執らなければならない。"
)


def test_paragraph_items_subitems_chapters_and_supplementary_provisions(tmp_path: Path) -> None:
    text = f"""\
行政手続法
（平成五年法律第八十八号）

第三章　不利益処分

第一節　通則

（不利益処分をしようとする場合の手続）
{ARTICLE_13}
一　次のいずれかに該当するとき　聴聞
イ　許認可等を取り消す不利益処分をしようとするとき。
ロ　イに規定するもののほか、名あて人の資格又は地位を直接にはく奪する不利益処分をしようとするとき。
二　前号イからニまでのいずれにも該当しないとき　弁明の機会の付与
２　次の各号のいずれかに該当するときは、前項の規定は、適用しない。
一　公益上、緊急に不利益処分をする必要があるため、前項に規定する意見陳述のための手続を執ることができないとき。

附　則
(施行期日)
１　この法律は、公布の日から起算して一年を超えない範囲内において政令で定める日から施行する。
"""
    findings = cut(tmp_path, text)
    # chapter and section without 第N章/第N節 (filter values agree across documents); the citation keeps them
    got = [(f.line_start, f.line_end, f.chapter, f.section, crumbs(f)[-1] if crumbs(f) else "") for f in findings]
    article = "第十三条（不利益処分をしようとする場合の手続）"
    lead1 = ARTICLE_13.split("　", 1)[1]
    lead2 = "次の各号のいずれかに該当するときは、前項の規定は、適用しない。"
    assert got == [
        (1, 1, "", "", ""),
        (2, 2, "", "", ""),
        (9, 9, "不利益処分", "通則", article),
        (10, 12, "不利益処分", "通則", lead1),
        (13, 13, "不利益処分", "通則", lead1),
        (14, 14, "不利益処分", "通則", article),
        (15, 15, "不利益処分", "通則", lead2),
        (19, 19, "附則", "", "（施行期日）"),
    ]
    assert findings[3].text.startswith("一 次のいずれかに該当するとき 聴聞イ 許認可等を")
    assert crumbs(findings[4]) == ["第三章 不利益処分", "第一節 通則", article, lead1]  # cited as written


def test_wrapped_lines_are_joined_and_sentences_are_not(tmp_path: Path) -> None:
    lines = (
        "○かつらぎ町表彰規程",
        "昭和43年9月10日",
        "規程第9号",
        "第2条　表彰は、次の各号に該当する者について",
        "町長がこれを行う。",
        "(1)　地方自治の振興発展に貢献し、その功績が",
        "特に優れた者",
        "附則",
        "この規程は、昭和43年10月10日から施行する。",
    )
    text = "\n".join((*lines, ""))
    findings = cut(tmp_path, text)
    assert [(f.line_start, f.line_end, f.text) for f in findings] == [
        (1, 1, "○かつらぎ町表彰規程"),
        (2, 2, "昭和43年9月10日"),
        (3, 3, "規程第9号"),
        (4, 5, "第2条 表彰は、次の各号に該当する者について町長がこれを行う。"),
        (6, 7, "(1) 地方自治の振興発展に貢献し、その功績が特に優れた者"),
        (9, 9, "この規程は、昭和43年10月10日から施行する。"),
    ]
    assert crumbs(findings[4]) == ["第2条", "表彰は、次の各号に該当する者について町長がこれを行う。"]
    assert crumbs(findings[5]) == ["附則"]


REPORT = """\
1. はじめに

本書は、自治体の取組をまとめたものである。

2. 取組の内容

(1) 地方自治の振興発展に貢献した者
(2) 社会福祉の増進に寄与した者

（1）庁内体制

全庁的な体制を構築した。
"""


def test_report_keeps_numbered_headings_and_lists_items(tmp_path: Path) -> None:
    """Not an ordinance: ``1. はじめに`` before a paragraph is a heading; a run of ``(1)`` ``(2)`` lines is items."""
    doc = read_document(write(tmp_path, "report.txt", REPORT))
    assert not looks_like_ordinance(doc)
    got = [(f.line_start, f.chapter, f.section, f.heading, f.text) for f in segment(doc)]
    assert got == [
        (3, "はじめに", "", "1. はじめに", "本書は、自治体の取組をまとめたものである。"),
        (7, "取組の内容", "", "2. 取組の内容", "(1) 地方自治の振興発展に貢献した者"),
        (8, "取組の内容", "", "2. 取組の内容", "(2) 社会福祉の増進に寄与した者"),
        (12, "取組の内容", "庁内体制", "（1）庁内体制", "全庁的な体制を構築した。"),
    ]

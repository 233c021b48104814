"""Chapter and section values agree across documents (``normalize_heading``), breadcrumbs and citations never repeat
a part (``breadcrumb_parts``, ``format_citation``), and DOCX quotes are cut at a character boundary."""

from __future__ import annotations

import pytest

from kensaku.ingest.models import (
    Finding,
    breadcrumb_parts,
    distinct_parts,
    format_citation,
    normalize_heading,
    quote_start,
)

# (heading as written, filter value). Real headings: the seed report's table of contents and banners, the
# スマートシティ・ガイドブック contents it quotes, 行政手続法 (tests/fixtures/real/ordinance), and the numbering
# styles of municipal plans (full-width digits, full-width space, circled and Roman numerals).
NUMBERED = [
    ("1. 推進体制", "推進体制"),
    ("１．推進体制", "推進体制"),
    ("第1章 推進体制", "推進体制"),
    ("第１章　推進体制", "推進体制"),
    ("1 推進体制", "推進体制"),
    ("(1) 推進体制", "推進体制"),
    ("（１）推進体制", "推進体制"),
    ("①推進体制", "推進体制"),
    ("①庁内体制", "庁内体制"),
    ("② 人材育成・人材活用", "人材育成・人材活用"),
    ("Ⅰ．推進体制", "推進体制"),
    ("Ⅱ 費用負担", "費用負担"),
    ("1-2. 推進体制", "推進体制"),
    ("1-1. スマートシティに取り組む意義・必要性", "スマートシティに取り組む意義・必要性"),
    ("2-2. 進める上でのポイントと対応の考え方", "進める上でのポイントと対応の考え方"),
    ("第1章 スマートシティの基本的考え方", "スマートシティの基本的考え方"),
    ("第2章 スマートシティの実現に向けて", "スマートシティの実現に向けて"),
    ("第一章　総則", "総則"),
    ("第三章 不利益処分", "不利益処分"),
    ("第一節 通則", "通則"),
    ("第２章　計画の基本的な考え方", "計画の基本的な考え方"),
    ("1.2 庁内体制", "庁内体制"),
    ("2.1.3 データ連携基盤", "データ連携基盤"),
    ("3．市民参画", "市民参画"),
    ("4) その他", "その他"),
    ("一、推進体制", "推進体制"),
    ("（ア）市民参画の手法", "市民参画の手法"),
    ("ア．市民参画の手法", "市民参画の手法"),
    ("【1】費用負担", "費用負担"),
    ("⑴ 住民説明会", "住民説明会"),
    ("I. 推進体制", "推進体制"),
    ("A. 概要", "概要"),
    ("■ 推進体制", "推進体制"),
    ("第1章 1. 推進体制", "推進体制"),
    ("第2部 事例編", "事例編"),
]

# Digits that are content, not numbering: kept as written (full-width letters and digits folded).
CONTENT = [
    ("3D都市モデル", "3D都市モデル"),
    ("5G活用", "5G活用"),
    ("５Ｇ活用", "5G活用"),
    ("2025年大阪万博", "2025年大阪万博"),
    ("2025 年度の取組", "2025 年度の取組"),
    ("10 年後のまちの姿", "10 年後のまちの姿"),
    ("1.5次産業化", "1.5次産業化"),
    ("3.11の教訓", "3.11の教訓"),
    ("1,000人アンケート", "1,000人アンケート"),
    ("24時間365日対応", "24時間365日対応"),
    ("100人会議", "100人会議"),
    ("第3回 推進協議会", "第3回 推進協議会"),
    ("第2部門との連携", "第2部門との連携"),
    ("一体的な推進", "一体的な推進"),
    ("十分な体制", "十分な体制"),
    ("IoT活用", "IoT活用"),
    ("Ⅱ型糖尿病予防", "Ⅱ型糖尿病予防"),
    ("附則", "附則"),
    ("別表第1(第7条関係)", "別表第1(第7条関係)"),
    ("第7条（使用料）", "第7条（使用料）"),
    ("第1章", "第1章"),  # only numbering: kept whole, not emptied
    ("", ""),
]


@pytest.mark.parametrize(("written", "value"), NUMBERED + CONTENT, ids=[w or "empty" for w, _ in NUMBERED + CONTENT])
def test_normalize_heading(written: str, value: str) -> None:
    assert normalize_heading(written) == value


def test_numbering_styles_of_one_chapter_agree() -> None:
    styles = ["1. 推進体制", "１．推進体制", "第1章 推進体制", "第１章　推進体制", "1 推進体制", "(1) 推進体制"]
    styles += ["①推進体制", "Ⅰ．推進体制", "1-2. 推進体制", "推進体制"]
    assert {normalize_heading(s) for s in styles} == {"推進体制"}


def finding(municipality: str, chapter: str, section: str, heading: str, topic: str = "") -> Finding:
    extra = {"topic": topic} if topic else {}
    return Finding(
        "d:L1", "本文。", "d.txt", municipality, chapter, section, heading, "practice", 1, 1, "", extra=extra
    )


@pytest.mark.parametrize(
    ("f", "parts"),
    [
        (finding("加賀市", "推進体制", "", "第1章 推進体制"), ["加賀市", "推進体制"]),
        (finding("", "推進体制", "推進体制", "1. 推進体制"), ["推進体制"]),
        (finding("加賀市", "推進体制", "庁内体制", "（1）庁内体制"), ["加賀市", "推進体制", "庁内体制"]),
        (
            finding("加賀市", "推進体制", "人材育成・人材活用", "取組みを通じた知見・課題", "フェローとの契約関係"),
            ["加賀市", "推進体制", "人材育成・人材活用", "フェローとの契約関係", "取組みを通じた知見・課題"],
        ),
        (finding("加賀市", "推進体制", "", "推進体制", "推進体制"), ["加賀市", "推進体制"]),
        (finding("", "", "", ""), []),
    ],
)
def test_breadcrumb_parts_never_repeat(f: Finding, parts: list[str]) -> None:
    assert breadcrumb_parts(f) == parts


def test_distinct_parts_keep_the_first_spelling_and_order() -> None:
    assert distinct_parts(["第1章 推進体制", "推進体制", "2.1 人材育成", "人材育成", "研修"]) == [
        "第1章 推進体制",
        "2.1 人材育成",
        "研修",
    ]
    assert distinct_parts(["加賀市", "庁内体制"], after=["加賀市"]) == ["庁内体制"]


def test_citation_drops_repeated_parts_and_keeps_the_report_page_apart_from_the_line() -> None:
    cited = format_citation(
        document="smartcity_model_project_cases.txt",
        municipality="加賀市",
        path=("推進体制", "推進体制", "フェローの役割等"),
        location="L214–216",
        report_page=8,
    )
    assert cited == "smartcity_model_project_cases.txt｜加賀市｜推進体制 › フェローの役割等｜報告書 p.8｜L214–216"


@pytest.mark.parametrize(
    ("text", "limit", "quote"),
    [
        ("市の職員を対象にした研修は毎年度開催し、受講者を増やした。", 20, "市の職員を対象にした研修は毎年度開催し…"),
        ("国の補助金を活用した。", 20, "国の補助金を活用した。"),
        ("庁内に\n推進本部を置く。", 20, "庁内に 推進本部を置く。"),  # one line
        ("推進体制、費用負担、市民参画", 5, "推進体制…"),  # a trailing 、 is dropped before …
        ("葛\U000e0100城市の取組", 1, "葛\U000e0100…"),  # an ideographic variation selector stays with its kanji
        ("が\u3099ぎ", 1, "が\u3099…"),  # a combining mark stays with its base
        ("👨\u200d👩\u200d👧 家族向け", 1, "👨\u200d👩\u200d👧…"),  # a ZWJ sequence is not cut
    ],
)
def test_quote_start_cuts_at_a_character_boundary(text: str, limit: int, quote: str) -> None:
    assert quote_start(text, limit) == quote

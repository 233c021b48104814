"""clean_text and the other text helpers, on real Japanese strings from the seed report."""

from __future__ import annotations

import pytest

from kensaku.ingest import clean_text, join_lines, split_long, split_sentences

CLEAN_CASES = [
    # (input, expected)
    ("現在は**32名の大規模な体制**としており、", "現在は32名の大規模な体制としており、"),
    # Unbalanced stray `**` exactly as on line 56 of the seed.
    (
        "- 次世代人材の育成の観点**を持ち、若手を中心に様々な部門から",
        "- 次世代人材の育成の観点を持ち、若手を中心に様々な部門から",
    ),
    ("大学と行政の継続的な連携には組織間連携が重要**である。", "大学と行政の継続的な連携には組織間連携が重要である。"),
    ("- ・ 機能的、機動的な推進主体の構築 **1**", "- ・ 機能的、機動的な推進主体の構築 1"),
    ("****強調****", "強調"),
    # A single `*` is a footnote marker in this corpus and is kept.
    ("情報化人材として登録*すること", "情報化人材として登録*すること"),
    ("全角\u3000スペース\u3000\u3000二つ", "全角 スペース 二つ"),
    ("No\t自治体\t総人口(人)\t人口増加率(%)", "No 自治体 総人口(人) 人口増加率(%)"),
    ("  前後の空白と\n改行\r\n  ", "前後の空白と 改行"),
    ("\u3000\t ", ""),
    ("", ""),
    ("\u00a0ノーブレーク\u00a0スペース", "ノーブレーク スペース"),
    ("ゼロ幅\u200b文字\ufeff", "ゼロ幅文字"),
    # Kept unchanged: wave dashes, circled digits, ㈱, full-width digits and letters, half-width kana.
    ("1. 推進体制 ～①庁内体制～", "1. 推進体制 ～①庁内体制～"),
    ("2013年度〜現在", "2013年度〜現在"),
    ("㈱トラストバンク", "㈱トラストバンク"),
    ("全角数字１２３とＡＢＣ", "全角数字１２３とＡＢＣ"),
    ("ｶﾀｶﾅ", "ｶﾀｶﾅ"),
    # Spaces between Japanese words are intentional separators here and are kept.
    ("スマートシティモデルプロジェクト における取組事例", "スマートシティモデルプロジェクト における取組事例"),
]


@pytest.mark.parametrize(("raw", "expected"), CLEAN_CASES)
def test_clean_text(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


@pytest.mark.parametrize(("raw", "_expected"), CLEAN_CASES)
def test_clean_text_is_idempotent(raw: str, _expected: str) -> None:
    once = clean_text(raw)
    assert clean_text(once) == once


JOIN_CASES = [
    (["デジタル化の進め方を", "まとめた。"], "デジタル化の進め方をまとめた。"),
    (["Open data and", "machine learning"], "Open data and machine learning"),
    (
        ["ルビーロマン一房130万円の最高額で落札", "(令和元年・2年)"],
        "ルビーロマン一房130万円の最高額で落札(令和元年・2年)",
    ),
    (["CDOを", "**外部**から任用"], "CDOを外部から任用"),
    (["IoT", "推進"], "IoT推進"),
    (["", "  ", "本文"], "本文"),
]


@pytest.mark.parametrize(("parts", "expected"), JOIN_CASES)
def test_join_lines(parts: list[str], expected: str) -> None:
    assert join_lines(parts) == expected


SENTENCE_CASES = [
    (
        "前橋ビジョン「めぶく。」を発表した。次に進む！！本当か？終わり",
        ["前橋ビジョン「めぶく。」を発表した。", "次に進む！！", "本当か？", "終わり"],
    ),
    ("（会員50者。オブザーバー3者）を設立しました。", ["（会員50者。オブザーバー3者）を設立しました。"]),
    ("句点なし", ["句点なし"]),
    ("", []),
]


@pytest.mark.parametrize(("text", "expected"), SENTENCE_CASES)
def test_split_sentences_not_inside_brackets(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


SPLIT_CASES = [
    # (text, max_chars, expected parts)
    ("短い文。", 400, ["短い文。"]),
    ("一つ目の文です。二つ目の文です。三つ目の文です。", 16, ["一つ目の文です。二つ目の文です。", "三つ目の文です。"]),
    (
        "一つ目の文です。二つ目の文です。三つ目の文です。",
        10,
        ["一つ目の文です。", "二つ目の文です。", "三つ目の文です。"],
    ),
    # One sentence longer than the limit stays whole.
    (
        "句点のないとても長い一文がここにあって最後まで続いていく",
        10,
        ["句点のないとても長い一文がここにあって最後まで続いていく"],
    ),
    # ... unless it is over 3× the limit (a table or PDF debris): then it is cut after its last clause mark.
    ("あ" * 20 + "、" + "い" * 20 + "、" + "う" * 5, 10, ["あ" * 20 + "、", "い" * 20 + "、" + "う" * 5]),
    ("か" * 70, 10, ["か" * 30, "か" * 30, "か" * 10]),
    ("Is it? Yes! 終わり。", 7, ["Is it?", "Yes!", "終わり。"]),
    # Under the limit nothing is split; sentences packed together get their English space back.
    ("Is it? Yes! 終わり。" * 2, 20, ["Is it? Yes!終わり。", "Is it? Yes!終わり。"]),
]


@pytest.mark.parametrize(("text", "max_chars", "expected"), SPLIT_CASES)
def test_split_long(text: str, max_chars: int, expected: list[str]) -> None:
    parts = split_long(text, max_chars)
    assert parts == expected
    assert all(len(p) <= max_chars or len(split_sentences(p)) == 1 for p in parts)
    assert all(len(p) <= 3 * max_chars for p in parts)

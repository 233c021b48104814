"""Tests for :mod:`ingest.readers.compat`: radical look-alikes, compatibility ideographs, ligatures, cid runs."""

from __future__ import annotations

import unicodedata

import pytest

from kensaku.ingest.readers.compat import CID_RUN, cid_share, fix_compat_chars, garbled_share


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Kangxi radicals (U+2F00–U+2FD5), as Word/PowerPoint PDFs write them.
        ("⾏政の⼈材", "行政の人材"),
        ("⾼齢者の⾒守り", "高齢者の見守り"),
        ("⽇本の⼟地", "日本の土地"),
        # CJK Radicals Supplement: hand table.
        ("⻑野県", "長野県"),
        ("⻄⽇本", "西日本"),
        ("⻘森県", "青森県"),
        ("⻝品ロス", "食品ロス"),
        ("⺟⼦保健", "母子保健"),
        ("市⺠参加", "市民参加"),
        ("⻤怒川", "鬼怒川"),
        ("⼩⻨", "小麦"),
        ("⻩⾊", "黄色"),
        ("⻲⼭市", "亀山市"),
        ("⻭科", "歯科"),
        ("⻯巻", "竜巻"),
        ("⼀⻫", "一斉"),
        ("⻁ノ⾨", "虎ノ門"),
        # CJK Compatibility Ideographs (NFKC has a mapping).
        ("\uf900", "\u8c48"),
        ("神\ufa19社", "神神社"),
        # Latin ligatures.
        ("ﬁle ﬂow eﬀect oﬃce baﬄe", "file flow effect office baffle"),
    ],
)
def test_fix_compat_chars_maps_look_alikes(text: str, expected: str) -> None:
    assert text != expected  # the input really holds look-alikes
    assert fix_compat_chars(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "１２３４５",  # full-width digits
        "①②③",  # circled numbers
        "㈱加賀",  # parenthesized ideograph
        "（注）「本文」：、。",  # full-width punctuation
        "ｶﾀｶﾅ",  # half-width katakana
        "ＡＢＣ",  # full-width Latin
        "㎡ ㌔",  # squared units
        "﨑",  # U+FA11: a unified ideograph inside the compatibility block, no NFKC mapping
        "⺅⺡",  # radical components with no standalone kanji
        "行政の人材",  # already ordinary
        "",
    ],
)
def test_fix_compat_chars_leaves_other_characters(text: str) -> None:
    assert fix_compat_chars(text) == text


def test_every_kangxi_radical_becomes_a_unified_ideograph() -> None:
    for code in range(0x2F00, 0x2FD6):
        fixed = fix_compat_chars(chr(code))
        assert len(fixed) == 1
        assert unicodedata.name(fixed).startswith("CJK UNIFIED IDEOGRAPH"), hex(code)


def test_supplement_mappings_are_unified_ideographs() -> None:
    mapped = [chr(code) for code in range(0x2E80, 0x2EF4) if fix_compat_chars(chr(code)) != chr(code)]
    assert "⻑" in mapped
    for char in mapped:
        assert unicodedata.name(fix_compat_chars(char)).startswith("CJK UNIFIED IDEOGRAPH"), char


@pytest.mark.parametrize(
    ("text", "share"),
    [
        ("", 0.0),
        ("   ", 0.0),
        ("行政の人材", 0.0),
        ("(cid:12)(cid:345)", 1.0),
        ("(cid:12) (cid:3)\n(cid:45)", 1.0),
        ("(cid:7) 行政の人材育成", 0.5),
    ],
)
def test_cid_share(text: str, share: float) -> None:
    assert cid_share(text) == pytest.approx(share)


def test_cid_run_removes_codes_and_keeps_text() -> None:
    assert CID_RUN.sub("", "本市では(cid:12) (cid:3)行政の人材") == "本市では行政の人材"
    assert CID_RUN.sub("", "cid:12 (cid)") == "cid:12 (cid)"


@pytest.mark.parametrize(
    ("text", "share"),
    [
        # pypdf's reading of `パッケージ版のインストール` in an Identity-H font without a ToUnicode map.
        ("ύοέʔδ൛ͷΠϯετʔϧ", 1.0),
        ("UniDic ͸ɺܗଶૉղੳγεςϜ", 11 / 17),  # 6 ASCII letters, 11 misread characters
        # Real text in that range is one or two scripts: not garbled.
        ("αとβの比はΔで表す", 0.0),
        ("Москва市と姉妹都市", 0.0),
        ("Tiếng Việt の資料", 0.0),
        ("行政の人材", 0.0),
        ("", 0.0),
    ],
)
def test_garbled_share(text: str, share: float) -> None:
    assert garbled_share(text) == pytest.approx(share)

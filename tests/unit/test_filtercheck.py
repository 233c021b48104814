"""Filter values no finding has are refused with the closest known values first, then the known values and their
count (kensaku.filtercheck, on hand-made findings)."""

from __future__ import annotations

import dataclasses

import pytest

from kensaku.errors import QueryError
from kensaku.filtercheck import SHOWN, check_filters, suggestions, values_of
from kensaku.index.search import Filters
from tests.support import SMALL_FINDINGS, make_finding

FINDINGS = [
    *SMALL_FINDINGS,
    dataclasses.replace(make_finding(7, "条例の改正", municipality="加賀市", chapter="その他"), section="庁内体制"),
    dataclasses.replace(make_finding(8, "議会への説明"), document="計画.docx", extra={"year": "2024"}),
]


def refusal(filters: Filters) -> QueryError:
    with pytest.raises(QueryError) as error:
        check_filters(FINDINGS, filters)
    return error.value


def test_known_values_pass() -> None:
    check_filters(FINDINGS, Filters())
    check_filters(FINDINGS, Filters(municipalities=["加賀市", "松山市"], chapters=["費用負担"], sections=["庁内体制"]))
    check_filters(FINDINGS, Filters(documents=["計画.docx"], years=["2024"], kinds=["lesson"]))


def test_a_partial_municipality_suggests_the_full_name_first() -> None:
    error = refusal(Filters(municipalities=["加賀"]))
    assert error.reason == "no finding in this index has municipality 「加賀」"
    assert error.fix.startswith("did you mean 「加賀市」?")
    assert "this index has 4 municipalities: 「加賀市」「会津若松市」「仙台市（泉区）」「松山市」" in error.fix
    assert str(error).count("「加賀」") == 1


def test_values_are_listed_in_index_order_and_years_sorted() -> None:
    assert values_of(FINDINGS, "chapters") == ["推進体制", "費用負担", "その他"]
    assert values_of(FINDINGS, "documents") == ["doc.txt", "計画.docx"]
    assert values_of(FINDINGS, "years") == ["2024"]


def test_every_unknown_value_is_named_with_its_own_suggestions() -> None:
    error = refusal(Filters(municipalities=["加賀市", "松山"], chapters=["第1章 推進体制"], years=["2023"]))
    message = str(error)
    assert "municipality 「松山」: did you mean 「松山市」?" in message
    assert "chapter 「第1章 推進体制」: did you mean 「推進体制」?" in message
    assert "year 「2023」: did you mean 「2024」?" in message
    assert "「加賀市」:" not in message  # a known value is not reported
    assert error.fix == "use values the index holds, or drop the filters"


def test_a_value_like_nothing_lists_the_known_values_only() -> None:
    error = refusal(Filters(documents=["報告書.pdf"]))
    assert error.fix == "this index has 2 documents: 「doc.txt」「計画.docx」"


def test_a_field_the_index_does_not_have_says_so() -> None:
    error = refusal(Filters(municipalities=["加賀市"], sections=["x"], years=[]))
    assert error.reason == "no finding in this index has section 「x」"
    assert "this index has 1 section: 「庁内体制」" in error.fix
    bare = [dataclasses.replace(f, municipality="") for f in FINDINGS]
    with pytest.raises(QueryError, match=r"this index has no municipality values .*kensaku meta"):
        check_filters(bare, Filters(municipalities=["加賀市"]))


def test_long_lists_are_cut_with_the_count() -> None:
    many = [make_finding(n, "本文", municipality=f"市{n:02d}") for n in range(1, 26)]
    with pytest.raises(QueryError) as error:
        check_filters(many, Filters(municipalities=["区"]))
    listed = "".join(f"「市{n:02d}」" for n in range(1, SHOWN + 1))
    assert f"this index has 25 municipalities: {listed} … and 15 more" in error.value.fix


def test_suggestions_fold_width_and_case() -> None:
    assert suggestions("１．推進体制", ["1.推進体制", "費用負担"]) == ["1.推進体制"]
    assert suggestions("KAGA", ["kaga-shi", "aizu"]) == ["kaga-shi"]
    assert suggestions("", ["加賀市"]) == []

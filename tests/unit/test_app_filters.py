"""Filter options: cascading counts, report order for 章/節, reading order for 文書/自治体 (pure logic)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from kensaku.app.filters import Option, describe, matching, options
from kensaku.index.columns import FindingTable
from kensaku.ingest.models import Finding

# Findings as a list (counted row by row) and as an index's table (counted over its code columns): the same options.
Shape = Callable[[list[Finding]], Sequence[Finding]]
SHAPES = pytest.mark.parametrize("shape", [list, FindingTable.of], ids=["rows", "columns"])


def finding(
    n: int, muni: str, chapter: str, section: str, doc: str = "報告書.txt", year: str = "", kind: str = "practice"
) -> Finding:
    return Finding(
        f"d:L{n}", "本文", doc, muni, chapter, section, "見出し", kind, n, n, f"{doc}｜L{n}",  # type: ignore[arg-type]
        extra={"year": year} if year else {},
    )  # fmt: skip


# Report order: 推進体制 before 費用負担 before 市民参画 (not code-point order, where 市民参画 comes first).
FINDINGS = [
    finding(1, "加賀市", "推進体制", "庁内体制", year="2023"),
    finding(2, "加賀市", "推進体制", "人材育成", year="2023", kind="lesson"),
    finding(3, "会津若松市", "推進体制", "庁内体制", year="2023"),
    finding(4, "会津若松市", "費用負担", "財源", year="2023", kind="lesson"),
    finding(5, "松山市", "費用負担", "財源", doc="白書.pdf", year="2022"),
    finding(6, "松山市", "市民参画", "意見聴取", doc="白書.pdf", year="2022", kind="lesson"),
    finding(7, "", "市民参画", "", doc="白書.pdf"),
]
READINGS = {
    "加賀市": "カガシ",
    "会津若松市": "アイヅワカマツシ",
    "松山市": "マツヤマシ",
    "報告書.txt": "ホウコクショ.txt",
    "白書.pdf": "ハクショ.pdf",
}


def values(found: dict[str, list[Option]], field: str) -> list[tuple[str, int]]:
    return [(o.value, o.count) for o in found[field]]


@SHAPES
def test_orders_and_counts_without_choices(shape: Shape) -> None:
    found = options(shape(FINDINGS), {}, reading=READINGS.__getitem__)
    assert values(found, "chapter") == [("推進体制", 3), ("費用負担", 2), ("市民参画", 2)]  # report order
    assert values(found, "section") == [("庁内体制", 2), ("人材育成", 1), ("財源", 2), ("意見聴取", 1)]
    assert values(found, "muni") == [("会津若松市", 2), ("加賀市", 2), ("松山市", 2)]  # あ, か, ま
    assert values(found, "doc") == [("白書.pdf", 3), ("報告書.txt", 4)]  # ハ before ホ
    assert values(found, "year") == [("2022", 2), ("2023", 4)]
    assert found["muni"][1].label == "加賀市（2）"


@SHAPES
def test_section_is_narrowed_by_chapter_and_chapter_counts_ignore_its_own_choice(shape: Shape) -> None:
    found = options(shape(FINDINGS), {"chapter": ["費用負担"]})
    assert values(found, "section") == [("財源", 2)]
    assert values(found, "chapter") == [("推進体制", 3), ("費用負担", 2), ("市民参画", 2)]
    assert values(found, "muni") == [("会津若松市", 1), ("松山市", 1)]


@SHAPES
def test_cascade_over_several_filters_and_lessons_only(shape: Shape) -> None:
    found = options(shape(FINDINGS), {"muni": ["松山市"], "year": ["2022"]}, lessons_only=True)
    assert values(found, "chapter") == [("市民参画", 1)]
    assert values(found, "muni") == [("松山市", 1)]  # only 松山市 has 2022 lessons
    found = options(shape(FINDINGS), {"muni": ["松山市"]}, lessons_only=True)
    assert values(found, "muni") == [("会津若松市", 1), ("加賀市", 1), ("松山市", 1)]  # other munis still offered
    assert values(found, "year") == [("2022", 1)]
    assert matching(shape(FINDINGS), {"muni": ["松山市"], "year": ["2022"]}, True) == 1


@SHAPES
def test_a_chosen_value_with_nothing_left_stays_offered_with_zero(shape: Shape) -> None:
    chosen = {"muni": ["加賀市"], "chapter": ["市民参画"]}
    found = options(shape(FINDINGS), chosen)
    assert ("市民参画", 0) in values(found, "chapter") and ("加賀市", 0) in values(found, "muni")
    assert matching(shape(FINDINGS), chosen, False) == 0
    assert describe(chosen, True) == ["自治体: 加賀市", "章: 市民参画", "知見・課題のみ"]


@SHAPES
def test_default_order_is_nfkc(shape: Shape) -> None:
    found = options(shape([finding(1, "Ｂ市", "章", ""), finding(2, "A市", "章", "")]), {})
    assert [o.value for o in found["muni"]] == ["A市", "Ｂ市"]

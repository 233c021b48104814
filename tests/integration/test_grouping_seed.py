"""Grouping and context on the real seed index: the reported block (hits at L683, 685, 684, 686 in that rank order)
is one card L683–686 with the lines of the report between the findings before and after it."""

from __future__ import annotations

from pathlib import Path

from kensaku import Index
from kensaku.app.context import neighbours, section
from kensaku.app.grouping import group_hits, positions
from kensaku.index.search import Hit

PREFIX = "smartcity_model_project_cases:L"


def test_the_reported_block_is_one_card_with_its_context(seed_index: Path) -> None:
    index = Index.open(seed_index)
    rows = positions(index.findings)
    hits = [
        Hit(rank, 1.0 / rank, index.finding(f"{PREFIX}{line}"), 1.0, 0.8, rank, rank)
        for rank, line in enumerate((683, 685, 684, 686), start=1)
    ]
    groups = group_hits(hits, rows)
    assert len(groups) == 1
    card = groups[0]
    assert [f.line_start for f in card.findings] == [683, 684, 685, 686] and card.rank == 1
    assert card.citation == (
        "smartcity_model_project_cases.txt｜会津若松市｜市民参画 › 意見聴取、情報発信・取得に伴う留意点 › "
        "取組みを通じた知見・課題｜報告書 p.26｜L683–686"
    )
    around = neighbours(index.findings, rows, card.ids[0], card.ids[-1])
    assert around.previous is not None and around.previous.line_start < 683
    assert around.next is not None and around.next.line_start > 686 and around.next.municipality == "加賀市"
    assert [f.line_start for f in section(index.findings, rows, f"{PREFIX}685")] == [683, 684, 685, 686]

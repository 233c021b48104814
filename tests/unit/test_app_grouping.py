"""Neighbouring findings of one block become one card (pure logic; the reported case 683, 685, 684, 686)."""

from __future__ import annotations

from kensaku.app.grouping import group_hits, positions, span_citation
from kensaku.index.search import Hit
from kensaku.ingest.models import Finding, format_location

DOC = "smartcity_model_project_cases.txt"


def finding(line: int, heading: str = "取組みを通じた知見・課題", muni: str = "会津若松市", **extra: object) -> Finding:
    location = format_location(line, line, page=extra.get("page"))  # type: ignore[arg-type]
    return Finding(
        id=f"smartcity_model_project_cases:L{line}",
        text=f"{line} 行目の知見。",
        document=str(extra.get("document", DOC)),
        municipality=muni,
        chapter="市民参画",
        section="意見聴取、情報発信・取得",
        heading=heading,
        kind="lesson",
        line_start=line,
        line_end=line,
        citation=f"{extra.get('document', DOC)}｜{muni}｜市民参画 › {heading}｜{location}",
        page=extra.get("page"),  # type: ignore[arg-type]
    )


# The report around L683: a practice block (L676–679), then the lesson block (L683–686), then 加賀市's first block.
FINDINGS = [
    *(finding(line, "意見聴取、情報発信・取得に伴う留意点") for line in (676, 677, 678, 679)),
    *(finding(line) for line in (683, 684, 685, 686)),
    finding(696, "WEBツールの活用", "加賀市"),
    finding(697, "WEBツールの活用", "加賀市"),
    finding(701, muni="加賀市"),
]
ROWS = positions(FINDINGS)
BY_LINE = {f.line_start: f for f in FINDINGS}


def hits(*lines: int) -> list[Hit]:
    return [Hit(rank, 1.0 / rank, BY_LINE[line], 1.0, 0.8, rank, rank) for rank, line in enumerate(lines, start=1)]


def test_the_reported_block_is_one_card_in_document_order() -> None:
    groups = group_hits(hits(683, 685, 684, 686), ROWS)
    assert len(groups) == 1
    group = groups[0]
    assert [f.line_start for f in group.findings] == [683, 684, 685, 686]
    assert group.rank == 1 and group.best.finding.line_start == 683
    assert group.location == "L683–686"
    assert group.citation == f"{DOC}｜会津若松市｜市民参画 › 取組みを通じた知見・課題｜L683–686"


def test_a_gap_splits_and_rank_is_the_best_member() -> None:
    groups = group_hits(hits(686, 677, 683, 684), ROWS)  # 685 missing: 683–684 and 686 are not neighbours
    assert [(g.rank, [f.line_start for f in g.findings]) for g in groups] == [(1, [686]), (2, [677]), (3, [683, 684])]
    assert groups[2].location == "L683–684"


def test_other_block_between_is_not_grouped() -> None:
    # 679 and 683 are neighbours in the index but belong to different blocks (headings differ).
    assert [len(g.hits) for g in group_hits(hits(679, 683), ROWS)] == [1, 1]
    # Same heading under another municipality, adjacent rows: still different blocks.
    assert [len(g.hits) for g in group_hits(hits(686, 696), ROWS)] == [1, 1]
    # 加賀市's two WEB-tool findings are one block.
    assert [g.location for g in group_hits(hits(697, 696), ROWS)] == ["L696–697"]


def test_unknown_ids_stay_alone_and_single_hits_keep_their_citation() -> None:
    stranger = Hit(2, 0.5, finding(9999, document="other.txt"), 0.0, 0.5, 0, 2)
    groups = group_hits([hits(683)[0], stranger], ROWS)
    assert [g.ids for g in groups] == [[BY_LINE[683].id], [stranger.finding.id]]
    assert groups[0].citation == BY_LINE[683].citation


def test_paged_citations_span_pages() -> None:
    first, second = finding(40, page=3), finding(2, page=4)
    assert span_citation([first, second]).endswith("｜p.3 L40–p.4 L2")
    assert span_citation([finding(5, page=3), finding(9, page=3)]).endswith("｜p.3 L5–9")


def test_empty() -> None:
    assert group_hits([], ROWS) == []


def test_a_span_over_two_report_pages_cites_both() -> None:
    from dataclasses import replace

    def on_page(line: int, page: int) -> Finding:
        f = finding(line)
        return replace(
            f,
            citation=f.citation.replace(f"｜L{line}", f"｜報告書 p.{page}｜L{line}"),
            extra={"report_page": str(page)},
        )

    cited = span_citation([on_page(683, 27), on_page(686, 28)])
    assert cited.endswith("｜報告書 p.27–28｜L683–686"), cited
    assert span_citation([on_page(683, 27), on_page(684, 27)]).endswith("｜報告書 p.27｜L683–684")


def test_positions_of_an_index_table_look_rows_up_by_id() -> None:
    from kensaku.index.columns import FindingTable

    rows = positions(FindingTable.of(FINDINGS))
    assert not isinstance(rows, dict)  # a lookup through the id hashes, not a dict of every id
    assert {f.id: rows[f.id] for f in FINDINGS} == ROWS and len(rows) == len(FINDINGS)
    assert FINDINGS[2].id in rows and "no such id" not in rows
    found = hits(*[f.line_start for f in FINDINGS[:4]])
    assert group_hits(found, rows) == group_hits(found, ROWS)

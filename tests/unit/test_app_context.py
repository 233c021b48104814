"""The context of a card: previous and next findings, the whole ■ section, the original file (pure logic)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from kensaku.app.context import neighbours, section, source_file
from kensaku.app.grouping import positions
from tests.unit.test_app_grouping import BY_LINE, DOC, FINDINGS, finding

ROWS = positions(FINDINGS)


def test_neighbours_of_one_finding_and_of_a_card() -> None:
    around = neighbours(FINDINGS, ROWS, BY_LINE[684].id)
    assert (around.previous, around.next) == (BY_LINE[683], BY_LINE[685])
    card = neighbours(FINDINGS, ROWS, BY_LINE[683].id, BY_LINE[686].id)
    assert (card.previous, card.next) == (BY_LINE[679], BY_LINE[696])


def test_neighbours_stop_at_the_document_edges() -> None:
    other = [finding(1, document="a.txt"), finding(2, document="a.txt"), finding(1, document="b.txt")]
    other = [replace(f, id=f"{f.document}:{f.line_start}") for f in other]
    rows = positions(other)
    assert neighbours(other, rows, other[0].id).previous is None
    assert neighbours(other, rows, other[1].id).next is None
    assert neighbours(other, rows, other[2].id).previous is None


def test_section_is_the_contiguous_block_with_the_heading() -> None:
    assert [f.line_start for f in section(FINDINGS, ROWS, BY_LINE[685].id)] == [683, 684, 685, 686]
    assert [f.line_start for f in section(FINDINGS, ROWS, BY_LINE[676].id)] == [676, 677, 678, 679]
    # The same heading under 加賀市 is another section.
    assert [f.line_start for f in section(FINDINGS, ROWS, BY_LINE[701].id)] == [701]


def test_source_file_found_by_document_name(tmp_path: Path) -> None:
    report = tmp_path / DOC
    report.write_text("本文", encoding="utf-8")
    pdf = tmp_path / "白書.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    found = source_file(BY_LINE[683], [("other.txt", str(tmp_path / "other.txt")), (DOC, str(report))])
    assert found is not None and found.path == report and found.label == "原文をダウンロード" and found.hint == ""
    paged = finding(5, document="白書.pdf", page=5)
    shown = source_file(paged, [("白書.pdf", str(pdf))])
    assert shown is not None and shown.label == "原文をダウンロード（p.5）"
    assert shown.hint == "PDF を開いたら 5 ページ目をご覧ください。"
    assert source_file(BY_LINE[683], [(DOC, str(tmp_path / "gone.txt"))]) is None
    seed = replace(BY_LINE[683], extra={"report_page": "27"})  # the seed report's text, cited by report page
    text = source_file(seed, [(DOC, str(report))])
    assert text is not None and text.label == "原文をダウンロード" and "公表された報告書では 27 ページ" in text.hint
    assert source_file(BY_LINE[683], []) is None

"""Adjacent findings of one lesson block shown as one card (pure logic, no Streamlit).

A ■ block of the seed report is cut into one finding per bullet, so a question about that block brings back several
of its bullets as separate hits, in rank order (683, 685, 684, 686). Hits that are neighbours in their document
(same document, municipality, chapter, section and heading, and no other finding between them) are grouped: one
card, texts in document order, a citation spanning their lines (``L683–686``), ranked by the best of them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from kensaku.index.columns import FindingTable
from kensaku.index.search import Hit
from kensaku.ingest.models import Finding, format_location


def block_key(finding: Finding) -> tuple[str, str, str, str, str]:
    """What findings of one block share: document, municipality, chapter, section and heading."""
    return (finding.document, finding.municipality, finding.chapter, finding.section, finding.heading)


class _RowsOf(Mapping[str, int]):
    """Finding id → row of an index's findings, looked up through its id hashes (no row is read until asked)."""

    def __init__(self, table: FindingTable) -> None:
        self._table = table

    def __getitem__(self, finding_id: str) -> int:
        row = self._table.row_of(finding_id)
        if row is None:
            raise KeyError(finding_id)
        return row

    def __contains__(self, finding_id: object) -> bool:
        return isinstance(finding_id, str) and self._table.row_of(finding_id) is not None

    def __iter__(self) -> Iterator[str]:
        return (f.id for f in self._table)

    def __len__(self) -> int:
        return len(self._table)


def positions(findings: Sequence[Finding]) -> Mapping[str, int]:
    """Each finding's position in the index (the findings of a document are contiguous and in document order); for
    an index's findings (a :class:`~kensaku.index.columns.FindingTable`) a lookup, not a dict of every id."""
    if isinstance(findings, FindingTable):
        return _RowsOf(findings)
    return {finding.id: row for row, finding in enumerate(findings)}


@dataclass(frozen=True)
class HitGroup:
    """One card: hits of neighbouring findings of one block, in document order.

    Attributes:
        hits: The hits, in document order (one hit for a finding without grouped neighbours).
        rank: The rank of its best hit (so a card's number is the rank its best finding had).
    """

    hits: tuple[Hit, ...]
    rank: int

    @property
    def best(self) -> Hit:
        """The best-ranked hit of the group (its scores speak for the card)."""
        return min(self.hits, key=lambda hit: hit.rank)

    @property
    def findings(self) -> list[Finding]:
        """The findings, in document order."""
        return [hit.finding for hit in self.hits]

    @property
    def ids(self) -> list[str]:
        """The finding ids, in document order."""
        return [hit.finding.id for hit in self.hits]

    @property
    def location(self) -> str:
        """Where the group is: ``L683–686`` (one finding: its own location)."""
        return span_location(self.findings)

    @property
    def citation(self) -> str:
        """The first finding's citation with its location widened to the whole group."""
        return span_citation(self.findings)


def span_location(findings: Sequence[Finding]) -> str:
    """The location from the first finding's start to the last one's end.

    >>> a = Finding("d:L683", "a", "d.txt", "", "", "", "", "lesson", 683, 683, "d.txt｜L683")
    >>> b = Finding("d:L686", "b", "d.txt", "", "", "", "", "lesson", 686, 686, "d.txt｜L686")
    >>> span_location([a, b])
    'L683–686'
    """
    first, last = findings[0], findings[-1]
    if len(findings) == 1:
        return first.location
    end_page = last.page_end or last.page
    return format_location(
        first.line_start,
        last.line_end,
        page=first.page,
        page_end=end_page if end_page != first.page else None,
        page_label=first.page_label,
        unit=first.line_unit,
    )


def span_citation(findings: Sequence[Finding]) -> str:
    """The first finding's citation, its location replaced by the span of all of them (``…｜L683–686``); a span
    over two pages of the published report says so (``報告書 p.7–8｜L230–236``)."""
    first, last = findings[0], findings[-1]
    if len(findings) == 1:
        return first.citation
    span = span_location(findings)
    head, found, tail = first.citation.rpartition(first.location)
    if not found:
        return f"{first.citation}–{last.location}"
    start, end = first.report_page, last.report_page
    if start is not None and end is not None and end != start:
        head = head.replace(f"報告書 p.{start}｜", f"報告書 p.{start}–{end}｜")
    return head + span + tail


def group_hits(hits: Sequence[Hit], rows: Mapping[str, int]) -> list[HitGroup]:
    """Group hits of neighbouring findings of one block; the groups in order of their best hit, ranked by it.

    Args:
        hits: The result list, best first.
        rows: Each finding id's position in the index (:func:`positions`); a hit whose id is missing stays alone.

    Returns:
        The cards.
    """
    placed = sorted(((rows[hit.finding.id], hit) for hit in hits if hit.finding.id in rows), key=lambda p: p[0])
    runs: list[list[Hit]] = []
    previous: tuple[int, Hit] | None = None
    for row, hit in placed:
        if previous is not None and row == previous[0] + 1 and block_key(hit.finding) == block_key(previous[1].finding):
            runs[-1].append(hit)
        else:
            runs.append([hit])
        previous = (row, hit)
    runs.extend([hit] for hit in hits if hit.finding.id not in rows)
    groups = [HitGroup(tuple(run), min(hit.rank for hit in run)) for run in runs]
    return sorted(groups, key=lambda group: group.rank)

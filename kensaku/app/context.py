"""What surrounds a finding in its document (pure logic, no Streamlit): the previous and next findings, the whole
■ section it belongs to, and the original file it was read from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from kensaku.app.grouping import block_key
from kensaku.ingest.models import Finding


@dataclass(frozen=True)
class Neighbours:
    """The findings just before and after some findings in their document (``None`` at either end)."""

    previous: Finding | None
    next: Finding | None


def neighbours(findings: Sequence[Finding], rows: Mapping[str, int], first_id: str, last_id: str = "") -> Neighbours:
    """The finding before ``first_id`` and the one after ``last_id`` (default: ``first_id``), same document only.

    Args:
        findings: All findings of the index, in index order (a document's findings are contiguous, in order).
        rows: Each id's position in ``findings`` (:func:`kensaku.app.grouping.positions`).
        first_id: The first finding of a card.
        last_id: The last finding of a card (a card may hold several neighbouring findings).
    """
    start, end = rows[first_id], rows[last_id or first_id]
    document = findings[start].document
    before = findings[start - 1] if start > 0 and findings[start - 1].document == document else None
    after = findings[end + 1] if end + 1 < len(findings) and findings[end + 1].document == document else None
    return Neighbours(before, after)


def section(findings: Sequence[Finding], rows: Mapping[str, int], finding_id: str) -> list[Finding]:
    """The whole ■ section of a finding: the contiguous run of findings with its document, municipality, chapter,
    section and heading, in document order (a heading such as 「取組みを通じた知見・課題」 recurs under each
    municipality; only the run holding the finding is its section)."""
    row = rows[finding_id]
    key = block_key(findings[row])
    start, end = row, row
    while start > 0 and block_key(findings[start - 1]) == key:
        start -= 1
    while end + 1 < len(findings) and block_key(findings[end + 1]) == key:
        end += 1
    return list(findings[start : end + 1])


@dataclass(frozen=True)
class SourceFile:
    """The original file of a document, and the page to open in it."""

    path: Path
    page: int | None
    report_page: int | None = None

    @property
    def label(self) -> str:
        """The download button's label: 「原文をダウンロード（p.5）」, or without the page for unpaged files."""
        return f"原文をダウンロード（p.{self.page}）" if self.page is not None else "原文をダウンロード"

    @property
    def hint(self) -> str:
        """What to do with the file: which page to open in a PDF (empty for other files)."""
        if self.page is not None and self.path.suffix.lower() == ".pdf":
            return f"PDF を開いたら {self.page} ページ目をご覧ください。"
        if self.report_page is not None:
            return f"このファイルは報告書の本文です。公表された報告書では {self.report_page} ページに当たります。"
        return ""


def source_file(finding: Finding, sources: Iterable[tuple[str, str]]) -> SourceFile | None:
    """The original file of ``finding`` when it still exists.

    Args:
        finding: The cited finding.
        sources: ``(name, path)`` of each document of the index (from ``index.documents()`` or the manifest);
            the one whose name is the finding's document is used.

    Returns:
        The file and the finding's page, or ``None`` when the document is not listed or its file is gone.
    """
    for name, path in sources:
        if name == finding.document and Path(path).is_file():
            return SourceFile(Path(path), finding.page, finding.report_page)
    return None

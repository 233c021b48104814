"""Cutting a document into findings: the case-report rules where the document has that layout, the ordinance rules
where it has ``第N条`` lines (条例, 規則, 規程, 要綱, laws), else the generic rules. All emit
:class:`~kensaku.ingest.segment.draft.Draft` values that :func:`finish_findings` turns into findings with ids and
citations.

Modules: ``draft`` (shared: drafts, ids, citations, splitting), ``generic`` (headings, bullets, paragraphs of any
document), ``ordinance`` (chapters, articles with their captions, paragraphs and items of 例規 and statutes),
``report`` (the smart-city case-report layout).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import PurePath

from kensaku.config import DEFAULTS
from kensaku.errors import InputError
from kensaku.ingest.metadata import document_metadata
from kensaku.ingest.models import Document, Finding
from kensaku.ingest.segment.generic import segment_generic
from kensaku.ingest.segment.ordinance import looks_like_ordinance, segment_ordinance
from kensaku.ingest.segment.report import looks_like_case_report, segment_report

MIN_MAX_CHARS = 20

__all__ = [
    "MIN_MAX_CHARS",
    "looks_like_case_report",
    "looks_like_ordinance",
    "segment",
    "segment_generic",
    "segment_ordinance",
    "segment_report",
    "with_municipality",
    "with_year",
]


def segment(doc: Document, *, max_chars: int = DEFAULTS.max_chars, id_prefix: str | None = None) -> list[Finding]:
    """Cut a document into findings: with the report segmenter if it has the case-report layout, the ordinance
    segmenter if it has ``第N条`` article lines, else generically.

    Generic and ordinance findings get the document's municipality
    (:func:`kensaku.ingest.metadata.document_metadata`: from its title, file name, folders or opening text); report
    findings keep the municipality of their page.

    Args:
        doc: The document.
        max_chars: Maximum finding length in characters (default 400); longer text is split at 。！？ only.
        id_prefix: Id prefix (``<prefix>:L<line>``); defaults to the file stem.

    Returns:
        The findings in document order, with ids unique within the document.

    Raises:
        InputError: ``max_chars`` is below 20.
    """
    if max_chars < MIN_MAX_CHARS:
        raise InputError(
            f"max_chars={max_chars} is too small", f"use at least {MIN_MAX_CHARS} (default {DEFAULTS.max_chars})"
        )
    prefix = id_prefix or PurePath(doc.name).stem
    meta = document_metadata(doc)  # its year goes to extra["year"] of every finding (the document library's 年度)
    if looks_like_case_report(doc):
        return with_year(segment_report(doc, max_chars=max_chars, id_prefix=prefix), meta.year)
    if looks_like_ordinance(doc):
        findings = segment_ordinance(doc, max_chars=max_chars, id_prefix=prefix)
    else:
        findings = segment_generic(doc, max_chars=max_chars, id_prefix=prefix)
    return with_year(with_municipality(findings, meta.municipality), meta.year) if findings else findings


def with_year(findings: Sequence[Finding], year: int | None) -> list[Finding]:
    """The findings with ``extra["year"]`` = the document's Western year (as text), when one was found."""
    return [replace(f, extra={**f.extra, "year": str(year)}) for f in findings] if year else list(findings)


def with_municipality(findings: Sequence[Finding], municipality: str) -> list[Finding]:
    """The findings, those without a municipality given ``municipality`` (in their citation too).

    >>> from kensaku.ingest.memory import texts_to_findings
    >>> [f.citation for f in with_municipality(texts_to_findings(["本文。"]), "加賀市")]
    ['texts｜加賀市｜#1']
    """
    if not municipality:
        return list(findings)
    out: list[Finding] = []
    for finding in findings:
        if not finding.municipality:
            head = finding.document + "｜"
            cited = finding.citation
            if cited.startswith(head):
                cited = head + municipality + cited[len(finding.document) :]
            finding = replace(finding, municipality=municipality, citation=cited)
        out.append(finding)
    return out

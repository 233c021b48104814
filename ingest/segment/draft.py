"""What the segmenters share: a :class:`Draft` (a finding before ids and citations) and :func:`finish_findings`,
which splits long drafts at sentence ends, gives each part a stable id and builds its citation.

Every segmenter's ``chapter`` and ``section`` go through :func:`~kensaku.ingest.models.normalize_heading` here, so
that filter values agree across documents (``第1章 推進体制``, ``1. 推進体制`` and ``推進体制`` are all
``推進体制``); ordinances too, since their chapter names (``総則``) are what a filter means, while the numbers stay
in the heading and the citation path, which keep the headings as written. A DOCX citation ends with the start of
the finding's first paragraph (``¶7「市の職員を対象にした研修は…」``), which Word's search finds where ``¶7`` is
invisible; a finding with ``extra["report_page"]`` (the seed report) is cited with that page of the published report
as a part of its own (``報告書 p.3｜L214–216``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from kensaku.ingest.models import (
    REPORT_PAGE,
    Document,
    Finding,
    Kind,
    format_citation,
    format_location,
    normalize_heading,
)
from kensaku.ingest.normalize import split_long


@dataclass
class Draft:
    """A finding before ids, splitting and citation are applied (shared with the generic segmenter)."""

    text: str
    line_start: int
    line_end: int
    heading: str
    kind: Kind
    path: tuple[str, ...]
    chapter: str = ""
    section: str = ""
    municipality: str = ""
    source_note: str = ""
    extra: dict[str, str] = field(default_factory=dict)


def finding_locator(doc: Document, line_start: int) -> str:
    """The id part after the prefix for a finding starting on document line ``line_start``.

    ``L12`` for text (the line), ``p3.L5`` for PDF (page 3, line 5 on it), ``P7`` for DOCX paragraph 7, ``L88``
    for HTML (the source line).
    """
    origin = doc.origin(line_start)
    where = f"P{origin}" if doc.line_unit == "¶" else f"L{origin}"
    page = doc.page(line_start)
    return where if page is None else f"p{page}.{where}"


def finish_findings(drafts: Sequence[Draft], doc: Document, *, id_prefix: str, max_chars: int) -> list[Finding]:
    """Split long drafts at sentence ends, assign unique ids and build citations.

    Draft line numbers index ``doc.lines``; citations and ``line_start``/``line_end`` use the document's origins
    (line on the page for PDF, paragraph for DOCX, source line for HTML) and pages.

    Args:
        drafts: Drafts in document order.
        doc: The source document (name, title, origins and pages).
        id_prefix: Id prefix, normally the file stem.
        max_chars: Maximum finding length; see :func:`kensaku.ingest.normalize.split_long`.

    Returns:
        The findings; split parts of the draft starting on line 214 get ids ``…:L214``, ``…:L214.2``, ….
    """
    findings: list[Finding] = []
    used: set[str] = set()
    for d in drafts:
        base = f"{id_prefix}:{finding_locator(doc, d.line_start)}"
        start, end = doc.origin(d.line_start), doc.origin(d.line_end)
        page, last_page = doc.page(d.line_start), doc.page(d.line_end)
        page_end = last_page if last_page != page else None
        label = doc.page_label(page)
        location = format_location(start, end, page=page, page_end=page_end, page_label=label, unit=doc.line_unit)
        report_page = d.extra.get(REPORT_PAGE, "")
        citation = format_citation(
            document=doc.name,
            municipality=d.municipality,
            path=d.path,
            location=location,
            report_page=int(report_page) if report_page.isdecimal() else None,
            quote=doc.quote(d.line_start) if doc.line_unit == "¶" else "",
        )
        chapter, section = normalize_heading(d.chapter), normalize_heading(d.section)
        for part in split_long(d.text, max_chars):
            fid, n = base, 1
            while fid in used:
                n += 1
                fid = f"{base}.{n}"
            used.add(fid)
            findings.append(
                Finding(
                    id=fid,
                    text=part,
                    document=doc.name,
                    municipality=d.municipality,
                    chapter=chapter,
                    section=section,
                    heading=d.heading,
                    kind=d.kind,
                    citation=citation,
                    source_note=d.source_note,
                    title=doc.title,
                    line_start=start,
                    line_end=end,
                    page=page,
                    page_end=page_end,
                    page_label=label,
                    line_unit=doc.line_unit,
                    extra=dict(d.extra),
                )
            )
    return findings

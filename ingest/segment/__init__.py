"""Cutting a document into findings: the case-report rules where the document has that layout, else the generic
rules. Both emit :class:`~kensaku.ingest.segment.draft.Draft` values that :func:`finish_findings` turns into
findings with ids and citations.

Modules: ``draft`` (shared: drafts, ids, citations, splitting), ``generic`` (headings, bullets, paragraphs of any
document), ``report`` (the smart-city case-report layout).
"""

from __future__ import annotations

from pathlib import PurePath

from kensaku.config import DEFAULTS
from kensaku.errors import InputError
from kensaku.ingest.models import Document, Finding
from kensaku.ingest.segment.generic import segment_generic
from kensaku.ingest.segment.report import looks_like_case_report, segment_report

MIN_MAX_CHARS = 20

__all__ = ["MIN_MAX_CHARS", "looks_like_case_report", "segment", "segment_generic", "segment_report"]


def segment(doc: Document, *, max_chars: int = DEFAULTS.max_chars, id_prefix: str | None = None) -> list[Finding]:
    """Cut a document into findings with the report segmenter if it has the case-report layout, else generically.

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
    if looks_like_case_report(doc):
        return segment_report(doc, max_chars=max_chars, id_prefix=prefix)
    return segment_generic(doc, max_chars=max_chars, id_prefix=prefix)

"""Ingestion: read source files and cut them into findings (one lesson or practice each).

Typical use::

    from ingest import ingest_paths

    result = ingest_paths(["corpus"])
    for finding in result.findings:
        ...
    for error in result.errors:  # files that could not be read; the others were ingested
        ...
"""

from __future__ import annotations

from ingest.beir import load_beir_corpus
from ingest.models import KINDS, Document, Finding, Kind, format_citation, format_location
from ingest.normalize import clean_text, join_lines, split_long, split_sentences
from ingest.read import (
    DOCUMENT_SUFFIXES,
    INGEST_VERSION,
    IngestError,
    IngestResult,
    SourceInfo,
    ingest_paths,
    read_document,
)
from ingest.report import looks_like_case_report, segment_report
from ingest.segment import DEFAULT_MAX_CHARS, segment, segment_generic

__all__ = [
    "DEFAULT_MAX_CHARS",
    "DOCUMENT_SUFFIXES",
    "INGEST_VERSION",
    "KINDS",
    "Document",
    "Finding",
    "IngestError",
    "IngestResult",
    "Kind",
    "SourceInfo",
    "clean_text",
    "format_citation",
    "format_location",
    "ingest_paths",
    "join_lines",
    "load_beir_corpus",
    "looks_like_case_report",
    "read_document",
    "segment",
    "segment_generic",
    "segment_report",
    "split_long",
    "split_sentences",
]

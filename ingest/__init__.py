"""Ingestion: read source files and cut them into findings (one lesson or practice each).

The data flow, one module per stage: ``read`` (a file → :class:`Document`, by the reader for its suffix in
``readers/``) → ``segment/`` (a document → findings, with ids and citations) → ``pipeline`` (files and folders →
:class:`IngestResult`, bad files reported and skipped). ``models`` holds the typed values, ``normalize`` and
``headings`` the text rules the stages share, ``beir`` the BEIR corpus loader.

Typical use::

    from kensaku.ingest import ingest_paths

    result = ingest_paths(["corpus"])
    for finding in result.findings:
        ...
    for error in result.errors:  # files that could not be read; the others were ingested
        ...
"""

from __future__ import annotations

from kensaku.ingest.beir import load_beir_corpus
from kensaku.ingest.models import KINDS, Document, Finding, Kind, format_citation, format_location
from kensaku.ingest.normalize import clean_text, join_lines, split_long, split_sentences
from kensaku.ingest.pipeline import INGEST_VERSION, IngestError, IngestResult, SourceInfo, ingest_paths
from kensaku.ingest.read import DOCUMENT_SUFFIXES, read_document
from kensaku.ingest.segment import looks_like_case_report, segment, segment_generic, segment_report

__all__ = [
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

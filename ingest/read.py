"""Read one file into a :class:`~kensaku.ingest.models.Document` with the reader for its suffix.

One reader module per format lives in :mod:`kensaku.ingest.readers`; :func:`read_document` checks the file (exists,
not empty, under the format's size limit) and hands its bytes to the reader. Running readers and segmenters over
many files is :mod:`kensaku.ingest.pipeline`.
"""

from __future__ import annotations

import importlib
from dataclasses import replace
from pathlib import Path
from types import ModuleType

from kensaku.errors import DocumentError, SourceNotFoundError
from kensaku.ingest.models import Document
from kensaku.ingest.readers.base import ReadError

# Suffix → reader module in kensaku.ingest.readers.
READERS: dict[str, str] = {
    ".txt": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".pdf": "pdf",
    ".docx": "docx",
    ".html": "webpage",
    ".htm": "webpage",
}
DOCUMENT_SUFFIXES: tuple[str, ...] = tuple(READERS)
BEIR_SUFFIX = ".jsonl"


def reader(suffix: str) -> ModuleType:
    """The reader module for a file suffix (``.pdf`` → :mod:`kensaku.ingest.readers.pdf`).

    Raises:
        ReadError: No reader for this suffix.
    """
    name = READERS.get(suffix.lower())
    if name is None:
        raise ReadError(
            f"unsupported file type '{suffix or '(none)'}'",
            f"kensaku reads {', '.join(DOCUMENT_SUFFIXES)} documents and {BEIR_SUFFIX} BEIR corpora; "
            "convert the file to one of these",
        )
    return importlib.import_module(f"kensaku.ingest.readers.{name}")


def max_bytes(suffix: str) -> int:
    """The size limit for one document of this type (50 MB for text, markdown and HTML; 200 MB for PDF, DOCX)."""
    limit: int = reader(suffix).MAX_BYTES
    return limit


def _check_file(p: Path) -> None:
    """Refuse a directory, an empty or a too large file (raises :class:`ReadError`, without the path)."""
    if p.is_dir():
        raise ReadError("is a directory", "pass a file, or use ingest_paths() to read a directory")
    limit = max_bytes(p.suffix)
    size = p.stat().st_size
    if size == 0:
        raise ReadError("file is 0 bytes; nothing to index", "remove it or add text")
    if size > limit:
        raise ReadError(
            f"file is {size / 1024 / 1024:.1f} MB, over the {limit // 1024 // 1024} MB limit for one "
            f"{p.suffix.lower()} document",
            "split it into smaller files",
        )


def read_document(path: str | Path, *, ocr: bool = True) -> Document:
    """Read one document (text, markdown, PDF, DOCX or HTML) with the reader for its suffix.

    Args:
        path: The file to read.
        ocr: Read PDF pages without a usable text layer with Tesseract when it is installed.

    Returns:
        The document, with the SHA-256 of the raw bytes.

    Raises:
        SourceNotFoundError: The file does not exist.
        DocumentError: Unsupported type, a directory, empty, over the size limit, unreadable, binary, undecodable,
            encrypted or damaged; the message starts with the path and says how to fix it.
    """
    p = Path(path)
    shown = str(path)
    if not p.exists():
        raise SourceNotFoundError(f"{shown}: no such file", f"check the path (relative to {Path.cwd()})")
    try:
        _check_file(p)
        data = p.read_bytes()
        module = reader(p.suffix)
        document: Document = module.read(data, p, ocr=ocr) if module.__name__.endswith(".pdf") else module.read(data, p)
    except ReadError as exc:
        raise DocumentError(shown, exc.reason, exc.fix) from exc
    except PermissionError as exc:
        raise DocumentError(shown, f"cannot be read ({exc.strerror})", "check the file's permissions") from exc
    return replace(document, path=shown)

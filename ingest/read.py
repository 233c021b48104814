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

from kensaku.config import DEFAULTS, ReadLimits, limit_setting
from kensaku.errors import DocumentError, SourceNotFoundError
from kensaku.ingest.filenames import display_name
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


def _read_with(module: ModuleType, data: bytes, p: Path, ocr: bool, limits: ReadLimits) -> Document:
    """Run the reader: PDF gets ``ocr``, the formats that can expand (PDF, DOCX, HTML) get the limits."""
    name = module.__name__.rsplit(".", 1)[-1]
    if name == "pdf":
        document: Document = module.read(data, p, ocr=ocr, limits=limits)
    elif name in ("docx", "webpage"):
        document = module.read(data, p, limits=limits)
    else:
        document = module.read(data, p)
    chars = sum(len(line) for line in document.lines)
    if chars > limits.max_doc_chars:
        raise ReadError(
            f"gives {chars:,} characters of text, over the limit of {limits.max_doc_chars:,} for one document",
            f"split it into smaller files, or raise {limit_setting('max_doc_chars')}",
        )
    return document


def read_document(path: str | Path, *, ocr: bool = True, limits: ReadLimits = DEFAULTS.limits) -> Document:
    """Read one document (text, markdown, PDF, DOCX or HTML) with the reader for its suffix.

    Args:
        path: The file to read.
        ocr: Read PDF pages without a usable text layer with Tesseract when it is installed.
        limits: Pages, paragraphs, unzipped size, table cells and characters one document may have (the time and
            memory budget is kept by :mod:`kensaku.ingest.isolate`, around this call).

    Returns:
        The document, with the SHA-256 of the raw bytes.

    Raises:
        SourceNotFoundError: The file does not exist.
        DocumentError: Unsupported type, a directory, empty, over the size limit or one of ``limits``,
            unreadable, binary, undecodable, encrypted or damaged; the message starts with the path and says how to
            fix it.
    """
    p = Path(path)
    shown = str(path)
    if not p.exists():
        raise SourceNotFoundError(f"{shown}: no such file", f"check the path (relative to {Path.cwd()})")
    try:
        _check_file(p)
        data = p.read_bytes()
        module = reader(p.suffix)
        document = _read_with(module, data, p, ocr, limits)
    except ReadError as exc:
        raise DocumentError(shown, exc.reason, exc.fix) from exc
    except PermissionError as exc:
        raise DocumentError(shown, f"cannot be read ({exc.strerror})", "check the file's permissions") from exc
    # The path opens the file; the name and title are shown, so a name that is not UTF-8 is decoded for them.
    return replace(document, path=shown, name=display_name(document.name), title=display_name(document.title))

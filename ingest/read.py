"""Read files into :class:`~ingest.models.Document` values, and run the whole ingestion over files and directories.

One reader module per format lives in :mod:`ingest.readers`; :func:`read_document` checks the file (exists, not
empty, under the format's size limit) and hands its bytes to the reader for its suffix.
"""

from __future__ import annotations

import hashlib
import importlib
import os
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType

from ingest.beir import load_beir_corpus
from ingest.models import Document, Finding
from ingest.readers.base import ReadError
from ingest.segment import DEFAULT_MAX_CHARS, segment

# Bump whenever reading or segmenting changes what findings a file gives: an incremental build only reuses the
# findings of unchanged files when the index was built by the same version.
INGEST_VERSION = 2
# Suffix → reader module in ingest.readers.
READERS: dict[str, str] = {
    ".txt": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".pdf": "pdf",
    ".docx": "docx",
    ".html": "html",
    ".htm": "html",
}
DOCUMENT_SUFFIXES: tuple[str, ...] = tuple(READERS)
BEIR_SUFFIX = ".jsonl"
SKIPPED_DIR_NAMES: frozenset[str] = frozenset({"eval"})

# Given (path, id prefix, sha256 of the bytes), the findings an earlier build cut from exactly this file, or None.
Reuse = Callable[[Path, str, str], Sequence[Finding] | None]


@dataclass(frozen=True)
class SourceInfo:
    """One document that was read.

    Attributes:
        name: File name shown in citations.
        path: Path as found (given or walked).
        sha256: Hex digest of the raw bytes.
        findings: Number of findings cut from the document.
        prefix: Id prefix of its findings (the stem, or ``parent/stem`` when stems clash).
        reused: True when the findings were taken from the previous index instead of being read again.
    """

    name: str
    path: str
    sha256: str
    findings: int
    prefix: str = ""
    reused: bool = False


@dataclass(frozen=True)
class IngestError:
    """A file that could not be read (the batch went on), or a warning about a file that was read.

    Attributes:
        path: Path of the file.
        reason: What was wrong and how to fix it.
    """

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class IngestResult:
    """Everything :func:`ingest_paths` produced.

    Attributes:
        findings: All findings, in document order; ids are unique.
        sources: One entry per document read.
        errors: One entry per file that could not be read.
        warnings: Problems in files that were still indexed (e.g. PDF pages without a usable text layer).
        ignored: Files in walked directories whose type kensaku does not read.
    """

    findings: list[Finding] = field(default_factory=list)
    sources: list[SourceInfo] = field(default_factory=list)
    errors: list[IngestError] = field(default_factory=list)
    warnings: list[IngestError] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MB blocks (a 200 MB PDF is never held in memory)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def reader(suffix: str) -> ModuleType:
    """The reader module for a file suffix (``.pdf`` → :mod:`ingest.readers.pdf`).

    Raises:
        ReadError: No reader for this suffix.
    """
    name = READERS.get(suffix.lower())
    if name is None:
        raise ReadError(
            f"unsupported file type '{suffix or '(none)'}'. kensaku reads {', '.join(DOCUMENT_SUFFIXES)} documents "
            f"and {BEIR_SUFFIX} BEIR corpora; convert the file to one of these."
        )
    return importlib.import_module(f"ingest.readers.{name}")


def max_bytes(suffix: str) -> int:
    """The size limit for one document of this type (50 MB for text, markdown and HTML; 200 MB for PDF, DOCX)."""
    limit: int = reader(suffix).MAX_BYTES
    return limit


def _check_file(p: Path, shown: str) -> int:
    """Refuse a missing, directory, empty or too large file; returns its size limit."""
    if not p.exists():
        raise FileNotFoundError(f"{shown}: no such file. Check the path (relative to {Path.cwd()}).")
    if p.is_dir():
        raise ValueError(f"{shown}: is a directory; pass a file, or use ingest_paths() to read a directory.")
    limit = max_bytes(p.suffix)
    size = p.stat().st_size
    if size == 0:
        raise ValueError(f"{shown}: file is 0 bytes; nothing to index. Remove it or add text.")
    if size > limit:
        raise ValueError(
            f"{shown}: file is {size / 1024 / 1024:.1f} MB, over the {limit // 1024 // 1024} MB limit for one "
            f"{p.suffix.lower()} document. Split it into smaller files."
        )
    return limit


def read_document(path: str | Path) -> Document:
    """Read one document (text, markdown, PDF, DOCX or HTML) with the reader for its suffix.

    Args:
        path: The file to read.

    Returns:
        The document, with the SHA-256 of the raw bytes.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: Unsupported type, a directory, empty, over the size limit, unreadable, binary, undecodable,
            encrypted or damaged; the message starts with the path and says how to fix it.
    """
    p = Path(path)
    shown = str(path)
    try:
        _check_file(p, shown)
        data = p.read_bytes()
        document: Document = reader(p.suffix).read(data, p)
    except ReadError as exc:
        raise ValueError(f"{shown}: {exc}") from exc
    except PermissionError as exc:
        raise ValueError(f"{shown}: cannot be read ({exc.strerror}); check the file's permissions.") from exc
    return replace(document, path=shown)


def _walk(directory: Path, ignored: list[str]) -> Iterator[Path]:
    """Documents under ``directory`` in sorted order, skipping hidden entries and ``eval`` directories."""
    for root, dirnames, filenames in os.walk(directory):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in SKIPPED_DIR_NAMES)
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            if Path(name).suffix.lower() in READERS:
                yield Path(root) / name
            elif Path(name).suffix.lower() != BEIR_SUFFIX:
                ignored.append(str(Path(root) / name))


def collect_files(paths: Sequence[str | Path], ignored: list[str] | None = None) -> list[Path]:
    """Expand directories into their documents, check existence, and drop files listed twice.

    Args:
        paths: Files and/or directories.
        ignored: When given, files of unsupported types found in directories are appended to it.

    Raises:
        FileNotFoundError: A path does not exist.
        ValueError: A directory holds no documents.
    """
    files: list[Path] = []
    seen: set[Path] = set()
    skipped: list[str] = [] if ignored is None else ignored
    for given in [paths] if isinstance(paths, str | Path) else paths:
        p = Path(given)
        if not p.exists():
            raise FileNotFoundError(f"{given}: no such file or directory. Check the path (relative to {Path.cwd()}).")
        found = list(_walk(p, skipped)) if p.is_dir() else [p]
        if p.is_dir() and not found:
            raise ValueError(
                f"{given}: no documents found. kensaku reads {', '.join(DOCUMENT_SUFFIXES)} files in directories "
                f"(hidden and 'eval' directories are skipped); pass a {BEIR_SUFFIX} BEIR corpus as a file path."
            )
        for f in found:
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                files.append(f)
    return files


def id_prefixes(files: Sequence[Path]) -> dict[Path, str]:
    """Id prefix per document: the stem, or ``parent/stem`` (more parents if needed) when stems collide."""
    texts = [f for f in files if f.suffix.lower() != BEIR_SUFFIX]
    parents = {f: f.resolve().parent.parts[1:] for f in texts}
    depth = dict.fromkeys(texts, 0)

    def label(f: Path) -> str:
        if depth[f] > len(parents[f]):
            return f.name  # same directory and stem, different suffix (report.txt / report.pdf)
        return "/".join([*parents[f][len(parents[f]) - depth[f] :], f.stem])

    for _ in range(max((len(p) for p in parents.values()), default=0) + 2):
        labels = {f: label(f) for f in texts}
        counts = Counter(labels.values())
        clashing = [f for f in texts if counts[labels[f]] > 1]
        if not clashing:
            return labels
        for f in clashing:
            depth[f] += 1
    return {f: f.resolve().as_posix() for f in texts}


def _read_one(path: Path, prefix: str, max_chars: int) -> tuple[list[Finding], SourceInfo, tuple[str, ...]]:
    """Read and segment one file (document or BEIR corpus); also returns the reader's warnings."""
    if path.suffix.lower() == BEIR_SUFFIX:
        findings, digest = load_beir_corpus(path)
        problems: tuple[str, ...] = ()
    else:
        doc = read_document(path)
        findings, digest = segment(doc, max_chars=max_chars, id_prefix=prefix), doc.sha256
        problems = doc.problems
    info = SourceInfo(name=path.name, path=str(path), sha256=digest, findings=len(findings), prefix=prefix)
    return findings, info, problems


def _reused(path: Path, prefix: str, reuse: Reuse | None) -> tuple[list[Finding], SourceInfo] | None:
    """The previous findings of an unchanged file (hashed, not parsed), or ``None``."""
    if reuse is None or not path.is_file():
        return None
    digest = sha256_file(path)
    findings = reuse(path, prefix, digest)
    if findings is None:
        return None
    info = SourceInfo(path.name, str(path), digest, len(findings), prefix=prefix, reused=True)
    return list(findings), info


def ingest_paths(
    paths: Sequence[str | Path], *, max_chars: int = DEFAULT_MAX_CHARS, reuse: Reuse | None = None
) -> IngestResult:
    """Read files and directories into findings.

    Directories are walked recursively in sorted order for every type in :data:`READERS` (text, markdown, PDF,
    DOCX, HTML), skipping hidden directories and any directory named ``eval``. A ``.jsonl`` file is read only when
    given explicitly, as a BEIR corpus. A file that cannot be read becomes an :class:`IngestError` and the batch
    continues.

    Args:
        paths: Files and/or directories.
        max_chars: Longer findings are split at sentence ends (see :func:`ingest.segment.segment`).
        reuse: For incremental builds: returns the earlier findings of a file whose bytes did not change, which are
            then taken as they are instead of reading the file again.

    Returns:
        Findings in document order, one :class:`SourceInfo` per document, the errors, warnings and ignored files.

    Raises:
        FileNotFoundError: A path does not exist.
        ValueError: A directory holds no readable documents.
    """
    result = IngestResult()
    files = collect_files(paths, result.ignored)
    prefixes = id_prefixes(files)
    seen_ids: dict[str, str] = {}
    for path in files:
        prefix = prefixes.get(path, "")  # BEIR ids carry no prefix
        try:
            taken = _reused(path, prefix, reuse)
            if taken is None:
                findings, info, problems = _read_one(path, prefix, max_chars)
                result.warnings.extend(IngestError(str(path), problem) for problem in problems)
            else:
                findings, info = taken
        except (OSError, ValueError) as exc:
            result.errors.append(IngestError(path=str(path), reason=str(exc).removeprefix(f"{path}: ")))
            continue
        clash = next((f.id for f in findings if f.id in seen_ids), None)
        if clash is not None:
            reason = f"id '{clash}' is already used by {seen_ids[clash]}; ids must be unique across the corpus."
            result.errors.append(IngestError(path=str(path), reason=reason))
            continue
        seen_ids.update((f.id, str(path)) for f in findings)
        result.findings.extend(findings)
        result.sources.append(info)
    return result

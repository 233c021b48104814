"""Ingestion over files and folders: collect documents, read and segment each, and keep going past bad files.

:func:`ingest_paths` walks folders, gives each document a stable id prefix, reads it (:mod:`kensaku.ingest.read`),
cuts it into findings (:mod:`kensaku.ingest.segment`), and records one :class:`SourceInfo` per document. A file that
cannot be read becomes an :class:`IngestError` and the batch goes on. For incremental builds, a ``reuse`` callback
returns the earlier findings of a file whose bytes did not change, so it is hashed but not read again.

Typical use::

    from kensaku.ingest import ingest_paths

    result = ingest_paths(["corpus"])
    for finding in result.findings:
        ...
    for error in result.errors:  # files that could not be read; the others were ingested
        ...
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kensaku.config import DEFAULTS
from kensaku.errors import DocumentError, InputError, SourceNotFoundError
from kensaku.files import sha256_file
from kensaku.ingest.beir import load_beir_corpus
from kensaku.ingest.headings import line_heading
from kensaku.ingest.models import Document, Finding
from kensaku.ingest.read import BEIR_SUFFIX, DOCUMENT_SUFFIXES, READERS, read_document
from kensaku.ingest.segment import segment

# Bump whenever reading or segmenting changes what findings a file gives: an incremental build only reuses the
# findings of unchanged files when the index was built by the same version.
INGEST_VERSION = 3
SKIPPED_DIR_NAMES: frozenset[str] = frozenset({"eval"})

# Given (path, id prefix, sha256 of the bytes), the findings an earlier build cut from exactly this file, or None.
Reuse = Callable[[Path, str, str], Sequence[Finding] | None]
PathLike = str | os.PathLike[str]


def as_paths(paths: PathLike | Sequence[PathLike]) -> list[Path]:
    """One path or several, as a list (a bare string is one path, not a sequence of characters).

    >>> as_paths("corpus"), as_paths(["a.md", Path("b.pdf")])
    ([PosixPath('corpus')], [PosixPath('a.md'), PosixPath('b.pdf')])
    """
    return [Path(paths)] if isinstance(paths, str | os.PathLike) else [Path(p) for p in paths]


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
        size: Size in bytes, taken before the file was read.
        mtime_ns: Modification time, taken before the file was read.
    """

    name: str
    path: str
    sha256: str
    findings: int
    prefix: str = ""
    reused: bool = False
    size: int | None = None
    mtime_ns: int | None = None


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


def collect_files(paths: PathLike | Sequence[PathLike], ignored: list[str] | None = None) -> list[Path]:
    """Expand directories into their documents, check existence, and drop files listed twice.

    Args:
        paths: Files and/or directories.
        ignored: When given, files of unsupported types found in directories are appended to it.

    Raises:
        SourceNotFoundError: A path does not exist.
        InputError: A directory holds no documents.
    """
    files: list[Path] = []
    seen: set[Path] = set()
    skipped: list[str] = [] if ignored is None else ignored
    for p in as_paths(paths):
        if not p.exists():
            raise SourceNotFoundError(f"{p}: no such file or directory", f"check the path (relative to {Path.cwd()})")
        found = list(_walk(p, skipped)) if p.is_dir() else [p]
        if p.is_dir() and not found:
            raise InputError(
                f"{p}: no documents found",
                f"kensaku reads {', '.join(DOCUMENT_SUFFIXES)} files in directories (hidden and 'eval' directories "
                f"are skipped); pass a {BEIR_SUFFIX} BEIR corpus as a file path",
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


def _read_one(
    path: Path, prefix: str, max_chars: int, ocr: bool = True
) -> tuple[list[Finding], SourceInfo, tuple[str, ...]]:
    """Read and segment one file (document or BEIR corpus); also returns the reader's warnings."""
    stat = path.stat()  # before reading: a file changed while it is read then looks changed on the next check
    if path.suffix.lower() == BEIR_SUFFIX:
        findings, digest = load_beir_corpus(path)
        problems: tuple[str, ...] = ()
    else:
        doc = read_document(path, ocr=ocr)
        findings, digest = segment(doc, max_chars=max_chars, id_prefix=prefix), doc.sha256
        problems = doc.problems if findings else (*doc.problems, _no_findings(doc))
    info = SourceInfo(path.name, str(path), digest, len(findings), prefix, False, stat.st_size, stat.st_mtime_ns)
    return findings, info, problems


HEADINGS_ONLY = "has headings but no body text; nothing from it is indexed (add the text under its headings)"
NO_TEXT = "has no text to index, only symbols or punctuation; nothing from it is indexed"


def _no_findings(doc: Document) -> str:
    """Why a document that was read gave no findings: it holds headings only, or no words at all."""
    lines = doc.lines
    for i, line in enumerate(lines):
        prev = lines[i - 1] if i > 0 else ""
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line_heading(line, prev, nxt) is not None:
            return HEADINGS_ONLY
    return NO_TEXT


def _reused(path: Path, prefix: str, reuse: Reuse | None) -> tuple[list[Finding], SourceInfo] | None:
    """The previous findings of an unchanged file (hashed, not parsed), or ``None``."""
    if reuse is None or not path.is_file():
        return None
    stat = path.stat()
    digest = sha256_file(path)
    findings = reuse(path, prefix, digest)
    if not findings:  # also a document that gave none: read again, so that the warning why is given again
        return None
    info = SourceInfo(path.name, str(path), digest, len(findings), prefix, True, stat.st_size, stat.st_mtime_ns)
    return list(findings), info


def _problem(exc: OSError | DocumentError) -> str:
    """What went wrong with one file, without its path (which the :class:`IngestError` carries)."""
    if isinstance(exc, DocumentError):
        return exc.detail
    return f"cannot be read ({exc.strerror or exc}); check that the file exists and is readable"


def ingest_paths(
    paths: PathLike | Sequence[PathLike],
    *,
    max_chars: int = DEFAULTS.max_chars,
    reuse: Reuse | None = None,
    ocr: bool = DEFAULTS.ocr,
) -> IngestResult:
    """Read files and directories into findings.

    Directories are walked recursively in sorted order for every type in :data:`READERS` (text, markdown, PDF,
    DOCX, HTML), skipping hidden directories and any directory named ``eval``. A ``.jsonl`` file is read only when
    given explicitly, as a BEIR corpus. A file that cannot be read becomes an :class:`IngestError` and the batch
    continues.

    Args:
        paths: Files and/or directories.
        max_chars: Longer findings are split at sentence ends (see :func:`kensaku.ingest.segment.segment`).
        reuse: For incremental builds: returns the earlier findings of a file whose bytes did not change, which are
            then taken as they are instead of reading the file again.
        ocr: Read PDF pages without a usable text layer with Tesseract when it is installed.

    Returns:
        Findings in document order, one :class:`SourceInfo` per document, the errors, warnings and ignored files.

    Raises:
        SourceNotFoundError: A path does not exist.
        InputError: A directory holds no readable documents.
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
                findings, info, problems = _read_one(path, prefix, max_chars, ocr)
                result.warnings.extend(IngestError(str(path), problem) for problem in problems)
            else:
                findings, info = taken
        except (OSError, DocumentError) as exc:
            result.errors.append(IngestError(path=str(path), reason=_problem(exc)))
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

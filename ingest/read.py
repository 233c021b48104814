"""Read files into :class:`~ingest.models.Document` values, and run the whole ingestion over files and directories."""

from __future__ import annotations

import codecs
import hashlib
import os
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ingest.beir import load_beir_corpus
from ingest.models import Document, Finding
from ingest.normalize import clean_text
from ingest.segment import DEFAULT_MAX_CHARS, segment

MAX_FILE_BYTES = 50 * 1024 * 1024
TEXT_SUFFIXES: tuple[str, ...] = (".txt", ".md", ".markdown")
BEIR_SUFFIX = ".jsonl"
SKIPPED_DIR_NAMES: frozenset[str] = frozenset({"eval"})
_TITLE_MAX_CHARS = 120
# Tried in this order; UTF-8 wins whenever it decodes, because a wrong strict UTF-8 decode is practically impossible.
_LEGACY_ENCODINGS: tuple[str, ...] = ("cp932", "euc_jp")
_ALLOWED_CONTROLS = frozenset("\t\n\r\f\v")


@dataclass(frozen=True)
class SourceInfo:
    """One document that was read.

    Attributes:
        name: File name shown in citations.
        path: Path as found (given or walked).
        sha256: Hex digest of the raw bytes.
        findings: Number of findings cut from the document.
    """

    name: str
    path: str
    sha256: str
    findings: int


@dataclass(frozen=True)
class IngestError:
    """A file that could not be read; the rest of the batch was still ingested.

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
    """

    findings: list[Finding] = field(default_factory=list)
    sources: list[SourceInfo] = field(default_factory=list)
    errors: list[IngestError] = field(default_factory=list)


def _bad_chars(text: str) -> int:
    """Count characters that do not occur in real text: controls (bar tab/newlines), private use, unassigned."""
    return sum(1 for ch in text if ch not in _ALLOWED_CONTROLS and unicodedata.category(ch) in ("Cc", "Co", "Cn"))


def _oddness(text: str) -> int:
    """How wrong a legacy decoding looks: EUC-JP read as CP932 gives half-width katakana and private-use characters."""
    return _bad_chars(text) + sum(1 for ch in text if "\uff61" <= ch <= "\uff9f")


def _decode(data: bytes, path: str) -> str:
    """Decode bytes as UTF-8 (BOM or not), UTF-16 with BOM, CP932 or EUC-JP; refuse binary data."""
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8) :].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(
                f"{path}: starts with a UTF-8 BOM but byte {exc.start} is not valid UTF-8. Re-save the file as UTF-8."
            ) from exc
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    if b"\x00" in data:
        raise ValueError(
            f"{path}: contains NUL bytes, so it is binary data, not text. Convert it to a UTF-8 text file."
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        candidates: list[tuple[int, int, str]] = []
        for order, encoding in enumerate(_LEGACY_ENCODINGS):
            try:
                candidates.append((0, order, data.decode(encoding)))
            except UnicodeDecodeError:
                continue
        if not candidates:
            raise ValueError(
                f"{path}: cannot be decoded as UTF-8, CP932 (Shift_JIS) or EUC-JP. Re-save the file as UTF-8."
            ) from None
        text = min((_oddness(t), order, t) for _, order, t in candidates)[2]
    odd = _bad_chars(text)
    # A few stray control characters happen in real exports; more than 1% means this is not text.
    if odd > max(3, len(text) // 100):
        raise ValueError(
            f"{path}: {odd} of {len(text)} characters are control or unassigned characters after decoding; "
            "this looks like binary data. Convert it to a UTF-8 text file."
        )
    return text


def _title(lines: Sequence[str], fallback: str) -> str:
    """First non-empty line (markdown ``#`` and front matter skipped), cleaned; else ``fallback``."""
    start = 0
    if lines and lines[0].strip() == "---":
        closing = next((i for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")), None)
        start = 0 if closing is None else closing + 1
    for line in lines[start:]:
        text = clean_text(line.lstrip().lstrip("#"))
        if text:
            return text if len(text) <= _TITLE_MAX_CHARS else text[: _TITLE_MAX_CHARS - 1] + "…"
    return fallback


def read_document(path: str | Path) -> Document:
    """Read one text file into a :class:`Document`.

    Line ends (``\\r\\n``, ``\\r``) are normalized so that line ``n`` is what an editor shows as line ``n``; the lines
    themselves are kept exactly (not cleaned) so that citations point at real text.

    Args:
        path: The file to read.

    Returns:
        The document, with the SHA-256 of the raw bytes.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: The file is a directory, empty, larger than 50 MB, binary, or cannot be decoded.
    """
    p = Path(path)
    shown = str(path)
    if not p.exists():
        raise FileNotFoundError(f"{shown}: no such file. Check the path (relative to {Path.cwd()}).")
    if p.is_dir():
        raise ValueError(f"{shown}: is a directory; pass a file, or use ingest_paths() to read a directory.")
    size = p.stat().st_size
    if size == 0:
        raise ValueError(f"{shown}: file is 0 bytes; nothing to index. Remove it or add text.")
    if size > MAX_FILE_BYTES:
        raise ValueError(
            f"{shown}: file is {size / 1024 / 1024:.1f} MB, over the {MAX_FILE_BYTES // 1024 // 1024} MB limit "
            "for one document. Split it into smaller files."
        )
    data = p.read_bytes()
    text = _decode(data, shown).replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    if not any(line.strip() for line in lines):
        raise ValueError(f"{shown}: contains only whitespace; nothing to index. Remove it or add text.")
    return Document(
        path=shown,
        name=p.name,
        title=_title(lines, p.stem),
        lines=tuple(lines),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _walk(directory: Path) -> Iterator[Path]:
    """Text files under ``directory`` in sorted order, skipping hidden entries and ``eval`` directories."""
    for root, dirnames, filenames in os.walk(directory):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in SKIPPED_DIR_NAMES)
        for name in sorted(filenames):
            if not name.startswith(".") and Path(name).suffix.lower() in TEXT_SUFFIXES:
                yield Path(root) / name


def _collect(paths: Sequence[str | Path]) -> list[Path]:
    """Expand directories, check existence, and drop files listed twice."""
    files: list[Path] = []
    seen: set[Path] = set()
    for given in paths:
        p = Path(given)
        if not p.exists():
            raise FileNotFoundError(f"{given}: no such file or directory. Check the path (relative to {Path.cwd()}).")
        if p.is_dir():
            found = list(_walk(p))
            if not found:
                raise ValueError(
                    f"{given}: no documents found. kensaku reads {', '.join(TEXT_SUFFIXES)} files in directories "
                    f"(hidden and 'eval' directories are skipped); pass a {BEIR_SUFFIX} BEIR corpus as a file path."
                )
        else:
            found = [p]
        for f in found:
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                files.append(f)
    return files


def _id_prefixes(files: Sequence[Path]) -> dict[Path, str]:
    """Id prefix per text file: the stem, or ``parent/stem`` (more parents if needed) when stems collide."""
    texts = [f for f in files if f.suffix.lower() != BEIR_SUFFIX]
    parents = {f: f.resolve().parent.parts[1:] for f in texts}
    depth = dict.fromkeys(texts, 0)

    def label(f: Path) -> str:
        if depth[f] > len(parents[f]):
            return f.name  # same directory and stem, different suffix (report.txt / report.md)
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


def _read_one(path: Path, prefix: str, max_chars: int) -> tuple[list[Finding], SourceInfo]:
    """Read and segment one file (text document or BEIR corpus)."""
    if path.suffix.lower() == BEIR_SUFFIX:
        findings, digest = load_beir_corpus(path)
    elif path.suffix.lower() in TEXT_SUFFIXES:
        doc = read_document(path)
        findings, digest = segment(doc, max_chars=max_chars, id_prefix=prefix), doc.sha256
    else:
        raise ValueError(
            f"{path}: unsupported file type '{path.suffix}'. kensaku reads {', '.join(TEXT_SUFFIXES)} text files "
            f"and {BEIR_SUFFIX} BEIR corpora."
        )
    return findings, SourceInfo(name=path.name, path=str(path), sha256=digest, findings=len(findings))


def ingest_paths(paths: Sequence[str | Path], *, max_chars: int = DEFAULT_MAX_CHARS) -> IngestResult:
    """Read files and directories into findings.

    Directories are walked recursively in sorted order for ``.txt``, ``.md`` and ``.markdown`` files, skipping hidden
    directories and any directory named ``eval``. A ``.jsonl`` file is read only when given explicitly, as a BEIR
    corpus. A file that cannot be read becomes an :class:`IngestError` and the batch continues.

    Args:
        paths: Files and/or directories.
        max_chars: Longer findings are split at sentence ends (see :func:`ingest.segment.segment`).

    Returns:
        Findings in document order, one :class:`SourceInfo` per document read, and the errors.

    Raises:
        FileNotFoundError: A path does not exist.
        ValueError: A directory holds no readable documents.
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    files = _collect(paths)
    prefixes = _id_prefixes(files)
    result = IngestResult()
    seen_ids: dict[str, str] = {}
    for path in files:
        try:
            findings, info = _read_one(path, prefixes.get(path, path.stem), max_chars)
        except (OSError, ValueError) as exc:
            reason = str(exc).removeprefix(f"{path}: ")
            result.errors.append(IngestError(path=str(path), reason=reason))
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

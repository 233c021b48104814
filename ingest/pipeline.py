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

from kensaku.config import DEFAULTS, ReadLimits, limit_setting
from kensaku.errors import DocumentError, InputError, SourceNotFoundError
from kensaku.files import sha256_file
from kensaku.ingest.beir import load_beir_corpus
from kensaku.ingest.filenames import LINK_LOOP, display_name, display_path, link_problem, real_path
from kensaku.ingest.headings import line_heading
from kensaku.ingest.isolate import Isolation, IsolationError
from kensaku.ingest.models import Document, Finding
from kensaku.ingest.read import BEIR_SUFFIX, DOCUMENT_SUFFIXES, READERS, read_document
from kensaku.ingest.segment import segment

# Bump whenever reading or segmenting changes what findings a file gives: an incremental build only reuses the
# findings of unchanged files when the index was built by the same version. 4: chapter/section normalized
# (`normalize_heading`), seed report pages and DOCX paragraph starts in citations.
INGEST_VERSION = 4
SKIPPED_DIR_NAMES: frozenset[str] = frozenset({"eval"})

# Given (path, id prefix, sha256 of the bytes), the findings an earlier build cut from exactly this file, or None.
Reuse = Callable[[Path, str, str], Sequence[Finding] | None]
PathLike = str | os.PathLike[str]


def as_paths(paths: PathLike | bytes | Sequence[PathLike | bytes]) -> list[Path]:
    """One path or several, as a list (a bare string is one path, not a sequence of characters).

    A ``bytes`` path (a file name that is not UTF-8) is kept byte for byte (``os.fsdecode``).

    >>> as_paths("corpus"), as_paths(["a.md", Path("b.pdf")]), as_paths(b"r.txt")
    ([PosixPath('corpus')], [PosixPath('a.md'), PosixPath('b.pdf')], [PosixPath('r.txt')])
    """
    if isinstance(paths, str | bytes | os.PathLike):
        return [Path(os.fsdecode(paths))]
    return [Path(os.fsdecode(p)) for p in paths]


@dataclass(frozen=True)
class SourceInfo:
    """One document that was read.

    Attributes:
        name: File name shown in citations: clean text even when the name on disk is not UTF-8 (see
            :func:`~kensaku.ingest.filenames.display_name`; a CP932 name shows as ``報告書.txt``).
        path: Path as found (given or walked). It opens the file, so a name that is not UTF-8 keeps its bytes as
            lone surrogates (``os.fsdecode``); use :func:`~kensaku.ingest.filenames.display_path` to show it.
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

    def __post_init__(self) -> None:
        """Keep the shown name clean text (the path keeps the bytes that open the file)."""
        object.__setattr__(self, "name", display_name(self.name))


@dataclass(frozen=True)
class IngestError:
    """A file that could not be read (the batch went on), or a warning about a file that was read.

    Attributes:
        path: Path of the file, as clean text to show (a name that is not UTF-8 is decoded by
            :func:`~kensaku.ingest.filenames.display_path`).
        reason: What was wrong and how to fix it.
    """

    path: str
    reason: str

    def __post_init__(self) -> None:
        """Keep the path printable: no lone surrogates from names that are not UTF-8."""
        object.__setattr__(self, "path", display_path(self.path))

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


def _walk(directory: Path, ignored: list[str], problems: list[IngestError]) -> Iterator[Path]:
    """Documents under ``directory`` in sorted order, skipping hidden entries and ``eval`` directories.

    Symbolic links follow the policy of :mod:`kensaku.ingest.filenames`: a file link is yielded when its target lies
    inside ``directory``; links out of it, looping and dangling links, links to folders outside it and folders that
    cannot be listed are appended to ``problems`` (a looping link always, the others when their type is read).
    """

    def unreadable(exc: OSError) -> None:
        reason = f"folder cannot be read ({exc.strerror or exc}); check its permissions"
        problems.append(IngestError(str(exc.filename or directory), reason))

    for root, dirnames, filenames in os.walk(directory, onerror=unreadable):  # does not descend folder links
        here = Path(root)
        dirnames[:] = [d for d in sorted(dirnames) if _descend(here / d, directory, problems)]
        for name in sorted(filenames):
            path, suffix = here / name, Path(name).suffix.lower()
            if name.startswith("."):
                continue
            problem = link_problem(path, directory) if path.is_symlink() else None
            if problem is not None and (suffix in READERS or problem == LINK_LOOP):
                problems.append(IngestError(str(path), problem))
            elif suffix in READERS:
                yield path
            elif suffix != BEIR_SUFFIX:
                ignored.append(display_path(path))


def _descend(path: Path, root: Path, problems: list[IngestError]) -> bool:
    """Whether a walk of ``root`` enters the folder ``path``: not hidden, not ``eval``, not a link.

    A link to a folder inside ``root`` adds nothing (its documents are walked at their real place); one to a folder
    outside, or one that loops, is appended to ``problems``.
    """
    if path.name.startswith(".") or path.name in SKIPPED_DIR_NAMES:
        return False
    if not path.is_symlink():
        return True
    problem = link_problem(path, root)
    if problem is not None:
        problems.append(IngestError(str(path), problem))
    return False


def _expand(path: Path, ignored: list[str], problems: list[IngestError]) -> list[tuple[Path, Path, bool]]:
    """The documents one given path stands for, each as ``(path, real path, is a link)``.

    Raises:
        SourceNotFoundError: ``path`` does not exist.
        InputError: ``path`` is a folder without documents, and nothing in it was skipped with a reason.
    """
    if not os.path.lexists(path):
        raise SourceNotFoundError(
            f"{display_path(path)}: no such file or directory",
            f"check the path (relative to {display_path(Path.cwd())})",
        )
    problem = link_problem(path) if path.is_symlink() else None  # given explicitly: followed wherever it points
    if problem is not None:
        problems.append(IngestError(str(path), problem))
        return []
    if not path.is_dir():
        return [(path, real_path(path), path.is_symlink())]
    reported = len(problems)
    found = list(_walk(path, ignored, problems))
    if not found and len(problems) == reported:
        raise InputError(
            f"{display_path(path)}: no documents found",
            f"kensaku reads {', '.join(DOCUMENT_SUFFIXES)} files in directories (hidden and 'eval' directories "
            f"are skipped); pass a {BEIR_SUFFIX} BEIR corpus as a file path",
        )
    return [(f, real_path(f), f.is_symlink()) for f in found]


def collect_files(
    paths: PathLike | Sequence[PathLike],
    ignored: list[str] | None = None,
    problems: list[IngestError] | None = None,
) -> list[Path]:
    """Expand directories into their documents, check existence, and drop files listed twice.

    One bad path never stops the batch: a symbolic link that loops or dangles, a link out of a walked folder (see
    :mod:`kensaku.ingest.filenames` for the policy) and a folder that cannot be listed are left out, each reported
    in ``problems``. A file reached both by its own name and through a link is kept under its own name.

    Args:
        paths: Files and/or directories.
        ignored: When given, files of unsupported types found in directories are appended to it.
        problems: When given, paths left out for a reason are appended to it, one :class:`IngestError` each.

    Raises:
        SourceNotFoundError: A path does not exist.
        InputError: A directory holds no documents (and nothing in it was left out with a reason).
    """
    entries: list[tuple[Path, Path, bool]] = []
    for p in as_paths(paths):
        entries.extend(_expand(p, [] if ignored is None else ignored, [] if problems is None else problems))
    real = {key for _, key, link in entries if not link}
    files: list[Path] = []
    seen: set[Path] = set()
    for f, key, link in entries:
        if key not in seen and not (link and key in real):
            seen.add(key)
            files.append(f)
    return files


def id_prefixes(files: Sequence[Path]) -> dict[Path, str]:
    """Id prefix per document: the stem, or ``parent/stem`` (more parents if needed) when stems collide.

    Prefixes are clean text (names that are not UTF-8 are decoded by :func:`~kensaku.ingest.filenames.display_name`);
    when two names still read the same, the later ones get ``~2``, ``~3``.
    """
    texts = [f for f in files if f.suffix.lower() != BEIR_SUFFIX]
    parents = {f: tuple(display_name(part) for part in real_path(f).parent.parts[1:]) for f in texts}
    depth = dict.fromkeys(texts, 0)

    def label(f: Path) -> str:
        if depth[f] > len(parents[f]):
            return display_name(f.name)  # same directory and stem, different suffix (report.txt / report.pdf)
        return "/".join([*parents[f][len(parents[f]) - depth[f] :], display_name(f.stem)])

    for _ in range(max((len(p) for p in parents.values()), default=0) + 2):
        labels = {f: label(f) for f in texts}
        counts = Counter(labels.values())
        clashing = [f for f in texts if counts[labels[f]] > 1]
        if not clashing:
            return labels
        for f in clashing:
            depth[f] += 1
    return _numbered({f: display_path(real_path(f).as_posix()) for f in texts})


def _numbered(labels: dict[Path, str]) -> dict[Path, str]:
    """Labels made unique by ``~2``, ``~3`` … after the second and later of equal ones (in order)."""
    counts: Counter[str] = Counter()
    unique: dict[Path, str] = {}
    for f, text in labels.items():
        counts[text] += 1
        unique[f] = text if counts[text] == 1 else f"{text}~{counts[text]}"
    return unique


Read = tuple[list[Finding], SourceInfo, tuple[str, ...]]  # findings, source, the reader's warnings


def _read_one(path: Path, prefix: str, max_chars: int, ocr: bool = True, limits: ReadLimits = DEFAULTS.limits) -> Read:
    """Read and segment one file (document or BEIR corpus); also returns the reader's warnings.

    A document that gives more than ``limits.max_doc_findings`` findings is refused whole (a :class:`DocumentError`
    that says how to raise the limit), never cut short: a partial document would be searched as if complete.
    """
    stat = path.stat()  # before reading: a file changed while it is read then looks changed on the next check
    if path.suffix.lower() == BEIR_SUFFIX:
        findings, digest = load_beir_corpus(path)
        problems: tuple[str, ...] = ()
    else:
        doc = read_document(path, ocr=ocr, limits=limits)
        findings, digest = segment(doc, max_chars=max_chars, id_prefix=prefix), doc.sha256
        if len(findings) > limits.max_doc_findings:
            raise DocumentError(
                str(path),
                f"gives {len(findings):,} findings, over the limit of {limits.max_doc_findings:,} for one document "
                "(each is embedded: about 14 ms of CPU each)",
                f"split it into smaller files, or raise {limit_setting('max_doc_findings')}",
            )
        problems = doc.problems if findings else (*doc.problems, _no_findings(doc))
    info = SourceInfo(path.name, str(path), digest, len(findings), prefix, False, stat.st_size, stat.st_mtime_ns)
    return findings, info, problems


def _attempt(path: Path, prefix: str, max_chars: int, ocr: bool, limits: ReadLimits) -> Read | str:
    """:func:`_read_one`, a file that cannot be read given as the reason why (this runs in the worker process)."""
    try:
        return _read_one(path, prefix, max_chars, ocr, limits)
    except (OSError, DocumentError) as exc:
        return _problem(exc)


def _read_isolated(isolation: Isolation, path: Path, prefix: str, max_chars: int, ocr: bool) -> Read:
    """Read one document in the worker process under the time and memory budget (:mod:`kensaku.ingest.isolate`);
    a BEIR corpus (a benchmark's, parsed in linear time) in this process.

    Raises:
        DocumentError: The file could not be read, gave too much, ran out of time or memory.
    """
    limits = isolation.limits
    if path.suffix.lower() == BEIR_SUFFIX:
        return _read_one(path, prefix, max_chars, ocr, limits)
    try:
        outcome = isolation.run(_attempt, path, prefix, max_chars, ocr, limits)
    except IsolationError as exc:
        raise DocumentError(str(path), exc.reason, exc.fix) from exc
    if isinstance(outcome, str):
        raise DocumentError(str(path), outcome)
    return outcome


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


def _reused(path: Path, prefix: str, reuse: Reuse | None, limit: int) -> tuple[list[Finding], SourceInfo] | None:
    """The previous findings of an unchanged file (hashed, not parsed), or ``None``."""
    if reuse is None or not path.is_file():
        return None
    stat = path.stat()
    digest = sha256_file(path)
    findings = reuse(path, prefix, digest)
    # None also for a document that gave none (read again, so that the warning why is given again) or more than
    # ``limit`` findings (a limit lowered since: read again, so that it is refused the same way as a new one).
    if not findings or (path.suffix.lower() != BEIR_SUFFIX and len(findings) > limit):
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
    limits: ReadLimits = DEFAULTS.limits,
) -> IngestResult:
    """Read files and directories into findings.

    Directories are walked recursively in sorted order for every type in :data:`READERS` (text, markdown, PDF,
    DOCX, HTML), skipping hidden directories and any directory named ``eval``. A ``.jsonl`` file is read only when
    given explicitly, as a BEIR corpus. A file that cannot be read becomes an :class:`IngestError` and the batch
    continues; so does one over ``limits``, and one that runs out of its time or memory budget: each document is
    read in a worker process that is killed when it runs over (:mod:`kensaku.ingest.isolate`).

    Args:
        paths: Files and/or directories.
        max_chars: Longer findings are split at sentence ends (see :func:`kensaku.ingest.segment.segment`).
        reuse: For incremental builds: returns the earlier findings of a file whose bytes did not change, which are
            then taken as they are instead of reading the file again.
        ocr: Read PDF pages without a usable text layer with Tesseract when it is installed.
        limits: Time, memory, characters, findings and expansion limits per document (``file_timeout_s=0``: read
            in this process, without time or memory limit).

    Returns:
        Findings in document order, one :class:`SourceInfo` per document, the errors, warnings and ignored files.

    Raises:
        SourceNotFoundError: A path does not exist.
        InputError: A directory holds no readable documents.
        WorkerStartError: The worker process could not be started (see :mod:`kensaku.ingest.isolate`).
    """
    result = IngestResult()
    files = collect_files(paths, result.ignored, result.errors)
    prefixes = id_prefixes(files)
    seen_ids: dict[str, str] = {}
    with Isolation(limits) as isolation:  # the worker starts with the first file that is read, not reused
        for path in files:
            prefix = prefixes.get(path, "")  # BEIR ids carry no prefix
            try:
                taken = _reused(path, prefix, reuse, limits.max_doc_findings)
                if taken is None:
                    findings, info, problems = _read_isolated(isolation, path, prefix, max_chars, ocr)
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

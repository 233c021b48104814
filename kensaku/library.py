"""The document library: what an index holds, document by document, and the rules for changing it.

An index records its sources durably (``manifest.json``: the paths given to the builds, ``inputs``, and one record
per document; see :mod:`kensaku.index.manifest`). This module turns those records into :class:`DocumentInfo` rows,
decides what a build without paths, a removal or a metadata change rebuilds (:func:`build_plan`,
:func:`plan_removal`, :func:`find_document`), and stores uploaded files in the documents folder the index owns
(:func:`store_upload`). :class:`kensaku.Index` carries the changes out under the index's writer lock, incrementally
(unchanged documents are neither read nor embedded again).

User metadata (:class:`DocumentMeta`: municipality, year, title, tags) is kept in the manifest with each
document's record and applied to its findings at build time; why there, and how it is undone, is told in
:mod:`kensaku.index.documents`.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kensaku.config import MB
from kensaku.errors import IndexMissingError, IndexStoreError, InputError
from kensaku.index.columns import FIELDS
from kensaku.index.manifest import DocumentMeta, Manifest, SourceRecord, inputs_of
from kensaku.index.store import MANIFEST, IndexBundle, read_manifest
from kensaku.ingest.models import Finding
from kensaku.ingest.pipeline import PathLike, as_paths, collect_files
from kensaku.ingest.read import DOCUMENT_SUFFIXES

__all__ = [
    "BuildPlan",
    "DocumentInfo",
    "DocumentMeta",
    "RemovalPlan",
    "build_plan",
    "document_infos",
    "find_document",
    "index_stamp",
    "meta_for",
    "plan_removal",
    "recorded_inputs",
    "store_upload",
]

SHOWN = 10  # paths listed in one message at most


@dataclass(frozen=True)
class DocumentInfo:
    """One document of an index, as the 文書 page and ``kensaku documents`` show it.

    Attributes:
        path: Resolved path of the file.
        name: File name shown in citations.
        kind: Its type by suffix: ``pdf``, ``docx``, ``html``, ``md``, ``txt`` (``jsonl`` for a BEIR corpus).
        pages: The last page its findings cite (paged formats), else ``None``.
        findings: Number of findings.
        municipality: The one set by the user, else the one its findings name (the first three joined by 「、」
            with 「…」 when they name more).
        year: The Western year set by the user, else the one its reader found, else ``None``.
        title: The one set by the user, else the reader's.
        tags: Set by the user.
        warnings: What its reader warned about.
        added: When it entered the index (UTC, ISO 8601).
        owned: It lives in the documents folder (an upload): removing it deletes the file.
    """

    path: str
    name: str
    kind: str
    pages: int | None
    findings: int
    municipality: str
    year: int | None
    title: str
    tags: tuple[str, ...]
    warnings: tuple[str, ...]
    added: str
    owned: bool

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dict."""
        return {**self.__dict__, "tags": list(self.tags), "warnings": list(self.warnings)}


def document_infos(bundle: IndexBundle, documents_dir: Path) -> list[DocumentInfo]:
    """One :class:`DocumentInfo` per document of ``bundle``, in index order.

    The municipalities and the year come from the code columns (:class:`kensaku.index.columns.Columns`), so at most
    two rows of each document are parsed however many it has: the last (the last page: a document's findings follow
    its pages in reading order, see :func:`_last_page`), and the first when no title was set (the reader's).
    """
    owned_root = Path(documents_dir).expanduser().resolve()
    columns, findings = bundle.columns, bundle.findings
    places, place_codes = columns.values["municipality"], columns.codes[FIELDS.index("municipality")]
    years, year_codes = columns.values["year"], columns.codes[FIELDS.index("year")]
    digit_years = np.array([v.isdigit() for v in years], dtype=bool)
    out, start = [], 0
    for source in bundle.manifest.sources:
        stop = start + source.findings
        meta = source.meta or DocumentMeta()
        municipality = meta.municipality or _municipalities(place_codes[start:stop], places)
        year = meta.year if meta.year is not None else _year(year_codes[start:stop], digit_years, years)
        title = meta.title or (findings[start].title if source.findings else "") or source.name
        out.append(
            DocumentInfo(
                path=source.path,
                name=source.name,
                kind=Path(source.name).suffix.lower().lstrip(".") or "txt",
                pages=_last_page(findings[stop - 1]) if source.findings else None,
                findings=source.findings,
                municipality=municipality,
                year=year,
                title=title,
                tags=meta.tags,
                warnings=source.warnings,
                added=source.added,
                owned=Path(source.path).is_relative_to(owned_root),
            )
        )
        start = stop
    return out


def _last_page(last: Finding) -> int | None:
    """The last page a document's findings cite, from its last finding: a paged reader gives each line its page in
    reading order and the segmenters emit findings in line order, so no earlier finding ends on a later page."""
    return last.page_end or last.page or None


def _municipalities(codes: np.ndarray, values: Sequence[str]) -> str:
    """The municipalities of a document's rows (their ``codes`` in the municipality column, whose values are
    ``values``), most frequent first, ties in the order the rows name them: one, or three and 「…」.

    >>> _municipalities(np.array([2, 1, 1, 0, 2, 3, 4]), ("", "加賀市", "前橋市", "高松市", "松山市"))
    '前橋市、加賀市、高松市…'
    """
    if not codes.size:
        return ""
    used, first, counts = np.unique(codes, return_index=True, return_counts=True)
    names: list[str] = []
    for code in used[np.lexsort((first, -counts))]:
        if values[int(code)]:
            names.append(values[int(code)])
            if len(names) > 3:  # a fourth is all 「…」 needs to know
                break
    return "、".join(names[:3]) + ("…" if len(names) > 3 else "")


def _year(codes: np.ndarray, digit: np.ndarray, values: Sequence[str]) -> int | None:
    """The year the reader found (``extra["year"]``) for the first of a document's rows that has one (their
    ``codes`` in the year column, whose values are ``values``; ``digit`` marks the values that are digits)."""
    found = np.flatnonzero(digit[codes]) if codes.size else codes
    return int(values[int(codes[found[0]])]) if found.size else None


def index_stamp(directory: PathLike) -> str | None:
    """A token that changes whenever the index at ``directory`` is replaced (one ``stat`` of its manifest, which
    every build writes anew), or ``None`` when there is no index there."""
    try:
        stat = (Path(directory) / MANIFEST).stat()
    except OSError:
        return None
    return f"{stat.st_ino}-{stat.st_mtime_ns}-{stat.st_size}"


def recorded_inputs(manifest: Manifest) -> tuple[list[Path], list[str]]:
    """What the index is rebuilt from: its recorded inputs that exist, and those that no longer do."""
    paths = manifest.rebuild_sources
    return [Path(p) for p in paths if os.path.lexists(p)], [p for p in paths if not os.path.lexists(p)]


@dataclass(frozen=True)
class BuildPlan:
    """What ``kensaku build`` reads.

    Attributes:
        sources: The paths to build from.
        missing: Recorded inputs that no longer exist (their documents will be dropped; say so).
        replaced: Recorded inputs that the given paths leave out (their documents will be dropped; say so).
        new: There is no index yet.
    """

    sources: list[Path]
    missing: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    new: bool = False


def build_plan(directory: Path, paths: Sequence[PathLike], corpus_dir: Path) -> BuildPlan:
    """The sources of a build of the index at ``directory``: ``paths`` when given (they replace the recorded
    inputs); else what the index holds (its recorded inputs); for a new index, ``corpus_dir``.

    Raises:
        InputError: No paths and no index, and no corpus folder; or none of the recorded inputs exists.
        IndexStoreError: No paths, and the index is unreadable with no record of its inputs.
    """
    try:
        manifest: Manifest | None = read_manifest(directory)
        recorded = manifest.rebuild_sources if manifest else []
    except IndexMissingError:
        manifest, recorded = None, []
    except IndexStoreError:
        manifest, recorded = None, inputs_of(directory)
        if not recorded and not paths:
            raise
    if paths:
        given = [Path(p).resolve() for p in as_paths(paths)]
        replaced = [r for r in recorded if not any(Path(r) == g or Path(r).is_relative_to(g) for g in given)]
        return BuildPlan(as_paths(paths), replaced=replaced)
    if not recorded:
        if not Path(corpus_dir).is_dir():
            raise InputError(
                f"there is no index at {directory} and the default corpus folder {corpus_dir}/ is not here",
                "name the sources: `kensaku build PATH ...`",
            )
        return BuildPlan([Path(corpus_dir)], new=True)
    existing = [Path(p) for p in recorded if os.path.lexists(p)]
    missing = [p for p in recorded if not os.path.lexists(p)]
    if not existing:
        raise InputError(
            f"none of the sources of the index at {directory} exists any more: {_listed(missing)}",
            f"name the sources: `kensaku build PATH ... --index {directory}`",
        )
    return BuildPlan(existing, missing=missing)


def _listed(paths: Sequence[str]) -> str:
    """Paths for a message: at most :data:`SHOWN`, then how many more."""
    more = f" and {len(paths) - SHOWN} more" if len(paths) > SHOWN else ""
    return ", ".join(paths[:SHOWN]) + more


def find_document(manifest: Manifest, path: PathLike) -> SourceRecord:
    """The record of the document at ``path``.

    Raises:
        InputError: It is not a document of the index (naming the documents it has).
    """
    wanted = str(Path(path).resolve())
    for source in manifest.sources:
        if source.path == wanted:
            return source
    raise InputError(
        f"{path} is not a document of the index",
        f"give one of its {manifest.documents} document(s): {_listed(manifest.source_paths)}",
    )


def meta_for(paths: Sequence[PathLike], meta: DocumentMeta | None) -> dict[str, DocumentMeta | None]:
    """``meta`` for every document under ``paths`` (folders walked), by resolved path; ``{}`` without ``meta``."""
    if meta is None:
        return {}
    return {str(f.resolve()): meta for f in collect_files(as_paths(paths))}


@dataclass(frozen=True)
class RemovalPlan:
    """What removing documents does.

    Attributes:
        inputs: The inputs the index is rebuilt from (existing ones).
        missing: Kept inputs that no longer exist (dropped, with a warning).
        removed: The documents that leave the index (resolved paths).
        delete: The files to delete from the documents folder once the new index is in place.
    """

    inputs: list[Path]
    missing: list[str]
    removed: list[str]
    delete: list[Path]


def plan_removal(manifest: Manifest, paths: Sequence[PathLike], documents_dir: Path) -> RemovalPlan:
    """What removing ``paths`` from the index with ``manifest`` does: each must be a recorded input (a file or a
    folder given to a build or ``add``).

    Raises:
        InputError: A path inside a recorded input folder (naming the folder and the fix), a path the index does
            not hold (listing its inputs), or a removal that would leave the index empty.
    """
    inputs = manifest.rebuild_sources
    documents = set(manifest.source_paths)
    drop: list[str] = []
    for given in as_paths(paths):
        wanted = str(given.resolve())
        if wanted in inputs:
            drop.append(wanted)
            continue
        folder = next((p for p in inputs if Path(wanted).is_relative_to(p)), None)
        if folder is not None and wanted in documents:
            raise InputError(
                f"{given} is in the folder {folder}, which the index reads as a whole",
                f"remove the folder (`kensaku remove {folder}`), or move the file out of it and rebuild "
                "(`kensaku build`)",
            )
        raise InputError(f"{given} is not in the index", f"its sources are: {_listed(inputs)}")
    kept = [p for p in inputs if p not in drop]
    removed = [d for d in documents if any(d == p or Path(d).is_relative_to(p) for p in drop)]
    remaining = [d for d in documents if d not in removed]
    if not kept or not remaining:
        raise InputError(
            f"removing {_listed(drop)} would leave the index without documents",
            "add the documents that should stay first, or delete the index folder",
        )
    root = Path(documents_dir).expanduser().resolve()
    delete = [Path(p) for p in drop if Path(p).is_relative_to(root) and Path(p).is_file()]
    return RemovalPlan(
        [Path(p) for p in kept if os.path.lexists(p)], [p for p in kept if not os.path.lexists(p)], removed, delete
    )


# --- uploads ----------------------------------------------------------------------------------------------------

_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]")


def upload_name(name: str) -> str:
    r"""The file name an upload is stored under: the last part of ``name`` (browsers may send ``C:\fakepath\…``),
    without characters file systems refuse and without leading dots (which would hide it).

    >>> upload_name("C:\\fakepath\\報告書.pdf"), upload_name("../.secret.md"), upload_name("a:b?.txt")
    ('報告書.pdf', 'secret.md', 'a_b_.txt')
    """
    last = re.split(r"[/\\]", name)[-1]
    return _UNSAFE.sub("_", last).strip().lstrip(".").strip()


def store_upload(directory: Path, name: str, data: bytes, *, max_mb: int) -> Path:
    """Store an uploaded file in the documents folder ``directory``, atomically, and return its path.

    The file appears whole or not at all (written under a hidden temporary name, flushed, then linked into place,
    which never replaces another file), with the usual permissions (the umask). A file of the same name and the
    same bytes is not stored twice: its path is returned. A file of the same name with other bytes is stored as
    ``name_2.pdf``, ``name_3.pdf`` …

    Args:
        directory: The documents folder (created when missing).
        name: The file name the user gave (only its last part is used).
        data: The file's bytes.
        max_mb: The size limit in megabytes.

    Raises:
        InputError: The type is not one kensaku reads, the file is empty or over ``max_mb``, or the name is empty.
    """
    clean = upload_name(name)
    suffix = Path(clean).suffix.lower()
    if suffix not in DOCUMENT_SUFFIXES or not Path(clean).stem:
        raise InputError(
            f"{name!r} is not a type kensaku reads ({suffix or 'no suffix'})",
            f"upload {', '.join(DOCUMENT_SUFFIXES)} files",
        )
    if len(data) > max_mb * MB:
        raise InputError(
            f"{clean} is {len(data) / MB:.1f} MB, over the upload limit of {max_mb} MB",
            "split the file, or raise the limit with $KENSAKU_MAX_UPLOAD_MB (Settings.max_upload_mb)",
        )
    if not data:
        raise InputError(f"{clean} is empty (0 bytes)", "upload the file with its content")
    directory = Path(directory).expanduser()
    directory.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(data).hexdigest()
    stem, number = Path(clean).stem, 1
    while True:
        target = directory / (clean if number == 1 else f"{stem}_{number}{Path(clean).suffix}")
        if not target.exists():
            if _link_new(directory, target, data):
                return target.resolve()
            continue  # another upload took the name meanwhile: look at it again
        if target.is_file() and target.stat().st_size == len(data) and _sha256(target) == digest:
            return target.resolve()
        number += 1


def _sha256(path: Path) -> str:
    from kensaku.files import sha256_file

    return sha256_file(path)


def _link_new(directory: Path, target: Path, data: bytes) -> bool:
    """Write ``data`` to a hidden temporary file and link it to ``target``; False when ``target`` exists by then."""
    tmp = directory / f".upload-{secrets.token_hex(8)}.part"
    handle = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(tmp, target)
        except FileExistsError:
            return False
        return True
    finally:
        tmp.unlink(missing_ok=True)


def as_meta(values: Mapping[str, object]) -> DocumentMeta:
    """A :class:`DocumentMeta` from loose values (``year`` as a number or text such as 「令和5年度」 or ``2023``).

    >>> as_meta({"municipality": "加賀市", "year": "令和5年度", "tags": ["防災", "防災"]})
    DocumentMeta(municipality='加賀市', year=2023, title='', tags=('防災',))

    Raises:
        InputError: A year that is neither a Western year nor a Japanese era year.
    """
    year = values.get("year")
    tags = values.get("tags") or ()
    return DocumentMeta(
        municipality=str(values.get("municipality") or ""),
        year=parse_year(year) if year not in (None, "") else None,
        title=str(values.get("title") or ""),
        tags=tuple(str(t) for t in tags) if isinstance(tags, list | tuple) else (str(tags),),
    )


def parse_year(value: object) -> int:
    """A Western year from ``2023``, 「2023年度」 or 「令和5年度」 (「R5」 is not read: write 令和5).

    >>> parse_year(2023), parse_year("令和5年度"), parse_year("平成31年")
    (2023, 2023, 2019)

    Raises:
        InputError: No year in ``value``, or one outside 1868–2200.
    """
    from kensaku.ingest.metadata import find_year

    text = str(value).strip()
    year = int(text) if text.isdigit() else find_year(text, bare=True)
    if year is None or not 1868 <= year <= 2200:
        raise InputError(f"year {text!r} is not a year", "give a Western year such as 2023, or 令和5年度")
    return year

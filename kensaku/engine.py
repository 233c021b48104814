"""The library entry points the CLI and the app share: build an index if needed, open a searcher."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index.build import BuildOptions, ProgressCallback, build_index
from index.embed import Embedder, load_embedder
from index.hybrid import FusionConfig
from index.incremental import BuildStats
from index.search import Searcher
from index.store import (
    IndexMissingError,
    IndexStoreError,
    check_model,
    load_index,
    read_manifest,
    sha256_file,
)
from index.tokenize import Tokenizer
from ingest import IngestResult

from .config import DEFAULT_CORPUS, DEFAULT_FUSION, model_name


@dataclass(frozen=True)
class BuildReport:
    """What a build did: where, how many findings from how many documents, which files failed, what was reused."""

    directory: Path
    built: bool
    reason: str
    findings: int
    documents: int
    result: IngestResult | None
    stats: BuildStats | None = None


def source_changes(manifest: dict[str, Any], sources: Sequence[str | Path]) -> list[str]:
    """How the documents under ``sources`` differ from those the index was built from (new, changed, removed)."""
    from ingest.read import collect_files

    recorded = {str(s["path"]): s.get("sha256") for s in manifest.get("sources", [])}
    current = {str(f.resolve()): f for f in collect_files(sources)}
    changes = [f"{path} (new)" for path in current if path not in recorded]
    changes += [f"{path} (removed)" for path in recorded if path not in current]
    changes += [f"{p} (changed)" for p, f in current.items() if p in recorded and sha256_file(f) != recorded[p]]
    return changes


def needs_build(directory: Path, model: str, sources: Sequence[str | Path] | None = None) -> str:
    """Why the index at ``directory`` must be (re)built for ``model``, or ``""`` when it is usable as is.

    With ``sources``, new and removed documents under them count too; without, only the recorded documents are
    checked for changes.
    """
    try:
        manifest = read_manifest(directory)
        check_model(manifest, model, directory)
    except IndexMissingError:
        return "no index yet"
    except IndexStoreError as exc:
        return str(exc).split(";")[0]
    recorded = [str(s["path"]) for s in manifest.get("sources", []) if s.get("path")]
    changes = source_changes(manifest, sources if sources is not None else [p for p in recorded if Path(p).exists()])
    if sources is None:
        changes += [f"{p} (removed)" for p in recorded if not Path(p).exists()]
    return f"sources changed: {', '.join(changes[:3])}{' …' if len(changes) > 3 else ''}" if changes else ""


def build(
    sources: Sequence[str | Path],
    directory: Path,
    *,
    model: str | None = None,
    embedder: Embedder | None = None,
    options: BuildOptions | None = None,
    if_needed: bool = False,
    incremental: bool = True,
    show_progress: bool = True,
    on_progress: ProgressCallback | None = None,
) -> BuildReport:
    """Build the index at ``directory`` from ``sources`` (files or folders).

    Args:
        sources: Files and folders.
        directory: Index directory.
        model: Embedding model name (default: the configured default).
        embedder: An already-loaded embedder to use instead.
        options: What each leg indexes.
        if_needed: Do nothing when the index is up to date with ``sources``.
        incremental: Reuse unchanged documents' findings and vectors from the index being replaced.
        show_progress: Progress bars on stderr.
        on_progress: Called with (stage, done, total).
    """
    name = embedder.name if embedder is not None else model_name(model)
    reason = needs_build(directory, name, sources) if if_needed else "requested"
    if if_needed and not reason:
        manifest = read_manifest(directory)
        counts = manifest.get("counts", {})
        return BuildReport(directory, False, "up to date", counts.get("findings", 0), counts.get("documents", 0), None)
    embedder = embedder or load_embedder(name)
    bundle, result, stats = build_index(
        sources,
        directory,
        embedder=embedder,
        tokenizer=Tokenizer(),
        options=options,
        show_progress=show_progress,
        on_progress=on_progress,
        incremental=incremental,
    )
    return BuildReport(directory, True, reason, len(bundle.findings), len(result.sources), result, stats)


def add(
    paths: Sequence[str | Path],
    directory: Path,
    *,
    embedder: Embedder | None = None,
    show_progress: bool = True,
    on_progress: ProgressCallback | None = None,
) -> BuildReport:
    """Add documents to the index at ``directory``: its recorded sources plus ``paths``, built incrementally.

    Recorded documents that no longer exist are dropped; changed ones are read again; folders it was built from are
    walked again. The index keeps its model.

    Raises:
        IndexMissingError: No index at ``directory`` (build one first).
        FileNotFoundError: A path does not exist.
    """
    manifest = read_manifest(directory)
    sources: list[str | Path] = [*recorded_sources(manifest), *paths]
    model = str(manifest.get("model", {}).get("name", "")) or None
    return build(
        sources, directory, model=model, embedder=embedder, show_progress=show_progress, on_progress=on_progress
    )


def open_searcher(
    directory: Path,
    *,
    model: str | None = None,
    embedder: Embedder | None = None,
    fusion: FusionConfig = DEFAULT_FUSION,
    build_from: Sequence[str | Path] | None = None,
    show_progress: bool = True,
) -> Searcher:
    """Load the index at ``directory`` for searching.

    Args:
        directory: Index directory.
        model: Embedding model name; by default the one recorded in the index (so any index opens as built).
        embedder: An already-loaded embedder to reuse.
        fusion: Default fusion settings of the searcher.
        build_from: When the index does not exist yet, build it from these sources first (the default index is
            built from ``corpus/`` this way); ``None`` raises instead.
        show_progress: Progress bars on stderr during a build.

    Raises:
        IndexMissingError, IndexMismatchError, IndexCorruptError: With the reason and the rebuild command.
        EmbedderLoadError: The model cannot be loaded.
    """
    try:
        manifest = read_manifest(directory)
    except IndexMissingError:
        if build_from is None:
            raise
        build(build_from, directory, model=model, embedder=embedder, show_progress=show_progress)
        manifest = read_manifest(directory)
    wanted = embedder.name if embedder is not None else (model or str(manifest.get("model", {}).get("name", "")))
    bundle = load_index(directory, model=wanted)
    embedder = embedder or load_embedder(wanted)
    return Searcher(bundle=bundle, embedder=embedder, fusion=fusion)


def recorded_sources(manifest: dict[str, Any]) -> list[Path]:
    """What an index was built from and still exists: the paths given to the build (folders are walked again, so
    documents added to them since are included), else the documents it recorded."""
    inputs = [Path(p) for p in manifest.get("inputs", [])]
    files = [Path(s["path"]) for s in manifest.get("sources", []) if s.get("path")]
    return [p for p in inputs if p.exists()] or [p for p in files if p.exists()]


def index_sources(directory: Path) -> list[Path]:
    """The sources to rebuild the index at ``directory`` from (the default corpus if that cannot be told)."""
    try:
        paths = recorded_sources(read_manifest(directory))
    except IndexStoreError:
        paths = []
    return paths or default_sources()


def default_sources() -> list[Path]:
    """The default corpus folder, checked to exist."""
    if not DEFAULT_CORPUS.is_dir():
        raise FileNotFoundError(
            f"the default corpus folder {DEFAULT_CORPUS}/ is not here (run from the kensaku checkout) "
            "or name the sources: `kensaku build PATH ...`"
        )
    return [DEFAULT_CORPUS]

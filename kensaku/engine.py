"""The library entry points the CLI and the app share: build an index if needed, open a searcher."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from index.build import BuildOptions, ProgressCallback, build_index
from index.embed import Embedder, load_embedder
from index.hybrid import FusionConfig
from index.search import Searcher
from index.store import (
    IndexMissingError,
    IndexStoreError,
    check_model,
    load_index,
    read_manifest,
    stale_sources,
)
from index.tokenize import Tokenizer
from ingest import IngestResult

from .config import DEFAULT_CORPUS, DEFAULT_FUSION, model_name


@dataclass(frozen=True)
class BuildReport:
    """What a build did: where, how many findings from how many documents, which files failed."""

    directory: Path
    built: bool
    reason: str
    findings: int
    documents: int
    result: IngestResult | None


def needs_build(directory: Path, model: str) -> str:
    """Why the index at ``directory`` must be (re)built for ``model``, or ``""`` when it is usable as is."""
    try:
        manifest = read_manifest(directory)
        check_model(manifest, model, directory)
    except IndexMissingError:
        return "no index yet"
    except IndexStoreError as exc:
        return str(exc).split(";")[0]
    stale = stale_sources(manifest)
    return f"sources changed: {', '.join(stale[:3])}" if stale else ""


def build(
    sources: Sequence[str | Path],
    directory: Path,
    *,
    model: str | None = None,
    embedder: Embedder | None = None,
    options: BuildOptions | None = None,
    if_needed: bool = False,
    show_progress: bool = True,
    on_progress: ProgressCallback | None = None,
) -> BuildReport:
    """Build the index at ``directory`` from ``sources`` (files or folders); with ``if_needed`` skip a fresh one."""
    name = embedder.name if embedder is not None else model_name(model)
    reason = needs_build(directory, name) if if_needed else "requested"
    if if_needed and not reason:
        manifest = read_manifest(directory)
        counts = manifest.get("counts", {})
        return BuildReport(directory, False, "up to date", counts.get("findings", 0), counts.get("documents", 0), None)
    embedder = embedder or load_embedder(name)
    bundle, result = build_index(
        sources,
        directory,
        embedder=embedder,
        tokenizer=Tokenizer(),
        options=options,
        show_progress=show_progress,
        on_progress=on_progress,
    )
    return BuildReport(directory, True, reason, len(bundle.findings), len(result.sources), result)


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


def index_sources(directory: Path) -> list[Path]:
    """The sources the index at ``directory`` was built from (the default corpus if that cannot be told)."""
    try:
        paths = [Path(s["path"]) for s in read_manifest(directory).get("sources", []) if s.get("path")]
    except IndexStoreError:
        paths = []
    existing = [p for p in paths if p.exists()]
    return existing or default_sources()


def default_sources() -> list[Path]:
    """The default corpus folder, checked to exist."""
    if not DEFAULT_CORPUS.is_dir():
        raise FileNotFoundError(
            f"the default corpus folder {DEFAULT_CORPUS}/ is not here (run from the kensaku checkout) "
            "or name the sources: `kensaku build PATH ...`"
        )
    return [DEFAULT_CORPUS]

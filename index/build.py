"""Build an index from findings: tokenize for BM25, embed for FAISS, write the directory with its manifest."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.models import Finding

from .dense import DenseIndex
from .embed import Embedder
from .sparse import SparseIndex
from .store import IndexBundle, make_manifest, save_index
from .tokenize import Tokenizer

if TYPE_CHECKING:
    from ingest import IngestResult


# Called with (stage, done, total) during a build: stage is "tokenize" or "embed" (for progress bars in the app).
ProgressCallback = Callable[[str, int, int], None]


@dataclass(frozen=True)
class BuildOptions:
    """What text each leg indexes.

    Attributes:
        embed_context: Embed ``heading: text`` instead of the text alone.
        bm25_context: Put the heading into the BM25 document as well.
    """

    embed_context: bool = True
    bm25_context: bool = True

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"embed_context": self.embed_context, "bm25_context": self.bm25_context}


def lexical_text(finding: Finding, options: BuildOptions) -> str:
    """The text the BM25 leg indexes for a finding."""
    return finding.context_text if options.bm25_context else finding.text


def dense_text(finding: Finding, options: BuildOptions) -> str:
    """The text the dense leg embeds for a finding."""
    return finding.context_text if options.embed_context else finding.text


def build_bundle(
    findings: Sequence[Finding],
    sources: list[dict[str, Any]],
    *,
    embedder: Embedder,
    tokenizer: Tokenizer,
    options: BuildOptions | None = None,
    show_progress: bool = True,
    on_progress: ProgressCallback | None = None,
) -> IndexBundle:
    """Tokenize and embed ``findings`` into an in-memory :class:`IndexBundle` (not yet saved).

    Raises:
        ValueError: ``findings`` is empty, or two findings share an id.
    """
    options = options or BuildOptions()
    if not findings:
        raise ValueError("no findings to index; check that the sources contain text (.txt, .md or corpus.jsonl)")
    ids = [f.id for f in findings]
    if len(set(ids)) != len(ids):
        duplicate = next(i for i in ids if ids.count(i) > 1)
        raise ValueError(f"finding id {duplicate!r} occurs more than once; ids must be unique within an index")
    from tqdm import tqdm

    with tqdm(total=len(findings), desc="tokenize", unit="finding", file=sys.stderr, disable=not show_progress) as bar:
        token_lists = []
        for number, finding in enumerate(findings, start=1):
            token_lists.append(tokenizer.tokenize(lexical_text(finding, options)))
            bar.update(1)
            if on_progress and number % 100 == 0:
                on_progress("tokenize", number, len(findings))
    sparse = SparseIndex.build(token_lists)
    with tqdm(total=len(findings), desc="embed", unit="finding", file=sys.stderr, disable=not show_progress) as bar:

        def embedded(count: int) -> None:
            bar.update(count)
            if on_progress:
                on_progress("embed", bar.n, len(findings))

        vectors = embedder.encode_passages([dense_text(f, options) for f in findings], progress=embedded)
    dense = DenseIndex.build(vectors)
    manifest = make_manifest(
        model=embedder.describe(),
        tokenizer={**tokenizer.config.to_dict(), "dictionary": tokenizer.dictionary},
        embed_context=options.embed_context,
        sources=sources,
        n_findings=len(findings),
    )
    manifest["build_options"] = options.to_dict()
    return IndexBundle(directory=None, manifest=manifest, findings=tuple(findings), sparse=sparse, dense=dense)


def build_index(
    paths: Sequence[str | Path],
    directory: Path,
    *,
    embedder: Embedder,
    tokenizer: Tokenizer,
    options: BuildOptions | None = None,
    show_progress: bool = True,
    on_progress: ProgressCallback | None = None,
) -> tuple[IndexBundle, IngestResult]:
    """Read ``paths``, build the index and write it to ``directory`` atomically.

    Returns:
        The saved bundle and the ingestion result (whose ``errors`` lists files that could not be read).

    Raises:
        FileNotFoundError: A path does not exist.
        ValueError: Nothing indexable was found.
    """
    from ingest import ingest_paths

    result = ingest_paths(paths)
    sources = [
        {"name": s.name, "path": str(Path(s.path).resolve()), "sha256": s.sha256, "findings": s.findings}
        for s in result.sources
    ]
    bundle = build_bundle(
        result.findings,
        sources,
        embedder=embedder,
        tokenizer=tokenizer,
        options=options,
        show_progress=show_progress,
        on_progress=on_progress,
    )
    final = save_index(bundle, directory)
    saved = IndexBundle(
        directory=final, manifest=bundle.manifest, findings=bundle.findings, sparse=bundle.sparse, dense=bundle.dense
    )
    return saved, result

"""Build an index from findings: tokenize for BM25, embed for FAISS, write the directory with its manifest.

Builds are incremental: when an index already exists at the target with the same model, build options and ingest
version, a document whose bytes (sha256), path and id prefix are unchanged is not read or embedded again; its
findings and vectors are taken from the old index. Every finding is tokenized again (MeCab is fast) and BM25 and
FAISS are rebuilt over all rows, so the result equals a full rebuild: same ids, same order, same vectors (the
default embedder's vectors do not depend on what else is embedded), same scores.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ingest.models import Finding

from .dense import DenseIndex
from .embed import Embedder
from .incremental import BuildStats, PreviousIndex, reuse_problem
from .sparse import SparseIndex
from .store import IndexBundle, IndexMissingError, IndexStoreError, load_index, make_manifest, save_index
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
    known_vectors: Mapping[str, np.ndarray] | None = None,
) -> IndexBundle:
    """Tokenize and embed ``findings`` into an in-memory :class:`IndexBundle` (not yet saved).

    Args:
        findings: The rows of the index, in order.
        sources: Manifest entries of the documents.
        embedder: Encodes the passages.
        tokenizer: Tokenizes for BM25.
        options: What text each leg indexes.
        show_progress: Progress bars on stderr.
        on_progress: Called with (stage, done, total).
        known_vectors: Vectors by finding id that need no embedding (from the previous index).

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
    vectors = _embed(findings, embedder, options, known_vectors or {}, show_progress, on_progress)
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


def _embed(
    findings: Sequence[Finding],
    embedder: Embedder,
    options: BuildOptions,
    known: Mapping[str, np.ndarray],
    show_progress: bool,
    on_progress: ProgressCallback | None,
) -> np.ndarray:
    """Vectors of all findings: ``known`` ones as given, the others embedded (with a progress bar)."""
    from tqdm import tqdm

    todo = [i for i, f in enumerate(findings) if f.id not in known]
    with tqdm(total=len(todo), desc="embed", unit="finding", file=sys.stderr, disable=not show_progress) as bar:

        def embedded(count: int) -> None:
            bar.update(count)
            if on_progress:
                on_progress("embed", bar.n, len(todo))

        fresh = embedder.encode_passages([dense_text(findings[i], options) for i in todo], progress=embedded)
    vectors = np.zeros((len(findings), embedder.dim), dtype=np.float32)
    if todo:
        vectors[todo] = fresh
    for row, finding in enumerate(findings):
        if finding.id in known:
            vectors[row] = known[finding.id]
    return vectors


def _previous(directory: Path, embedder: Embedder, options: BuildOptions) -> tuple[PreviousIndex | None, str]:
    """The index at ``directory`` when its rows can be reused, else ``None`` and why not."""
    from ingest import INGEST_VERSION
    from ingest.segment import DEFAULT_MAX_CHARS

    try:
        bundle = load_index(directory, verify_sources=False)
    except IndexMissingError:
        return None, "no index yet"
    except IndexStoreError as exc:
        return None, str(exc).split(";")[0]
    ingest = {"version": INGEST_VERSION, "max_chars": DEFAULT_MAX_CHARS}
    problem = reuse_problem(bundle.manifest, model=embedder.describe(), options=options.to_dict(), ingest=ingest)
    return (None, problem) if problem else (PreviousIndex(bundle), "")


def build_index(
    paths: Sequence[str | Path],
    directory: Path,
    *,
    embedder: Embedder,
    tokenizer: Tokenizer,
    options: BuildOptions | None = None,
    show_progress: bool = True,
    on_progress: ProgressCallback | None = None,
    incremental: bool = True,
) -> tuple[IndexBundle, IngestResult, BuildStats]:
    """Read ``paths``, build the index and write it to ``directory`` atomically.

    Args:
        paths: Files and folders to index.
        directory: The index directory; an index already there is replaced only once the new one is complete.
        embedder: Encodes the passages.
        tokenizer: Tokenizes for BM25.
        options: What text each leg indexes.
        show_progress: Progress bars on stderr.
        on_progress: Called with (stage, done, total).
        incremental: Reuse findings and vectors of unchanged documents from the index at ``directory``.

    Returns:
        The saved bundle, the ingestion result (whose ``errors`` lists files that could not be read) and what was
        reused.

    Raises:
        FileNotFoundError: A path does not exist.
        ValueError: Nothing indexable was found.
    """
    from ingest import INGEST_VERSION, ingest_paths
    from ingest.segment import DEFAULT_MAX_CHARS

    options = options or BuildOptions()
    previous, why = _previous(directory, embedder, options) if incremental else (None, "full rebuild requested")
    result = ingest_paths(paths, reuse=previous.reuse if previous else None)
    sources = [
        {
            "name": s.name,
            "path": str(Path(s.path).resolve()),
            "sha256": s.sha256,
            "findings": s.findings,
            "prefix": s.prefix,
        }
        for s in result.sources
    ]
    reused = _reused_findings(result)
    known = previous.vectors(reused) if previous else {}
    bundle = build_bundle(
        result.findings,
        sources,
        embedder=embedder,
        tokenizer=tokenizer,
        options=options,
        show_progress=show_progress,
        on_progress=on_progress,
        known_vectors=known,
    )
    bundle.manifest["ingest"] = {"version": INGEST_VERSION, "max_chars": DEFAULT_MAX_CHARS}
    # What was asked for (folders too), so that a rebuild also picks up documents added to a folder since.
    bundle.manifest["inputs"] = [str(Path(p).resolve()) for p in ([paths] if isinstance(paths, str | Path) else paths)]
    final = save_index(bundle, directory)
    saved = IndexBundle(
        directory=final, manifest=bundle.manifest, findings=bundle.findings, sparse=bundle.sparse, dense=bundle.dense
    )
    embedded = len(result.findings) - len(known)
    reused_docs = sum(1 for s in result.sources if s.reused)
    if previous is not None:
        stats = previous.stats(sources, reused_docs, embedded)
    else:
        stats = BuildStats(new=len(sources), embedded=embedded, full_reason=why)
    return saved, result, stats


def _reused_findings(result: IngestResult) -> list[Finding]:
    """The findings of the documents that were taken over from the previous index."""
    out: list[Finding] = []
    start = 0
    for source in result.sources:
        if source.reused:
            out.extend(result.findings[start : start + source.findings])
        start += source.findings
    return out

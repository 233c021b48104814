"""Helpers shared by the benchmark scripts: corpora, cached embeddings, in-memory indexes."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kensaku.config import DEFAULTS
from kensaku.evaluate import Benchmark, load_benchmark
from kensaku.index.build import dense_text, lexical_text
from kensaku.index.dense import DenseIndex
from kensaku.index.embed import Embedder
from kensaku.index.manifest import BuildOptions, Manifest, ModelInfo
from kensaku.index.search import Searcher
from kensaku.index.sparse import SparseIndex
from kensaku.index.store import IndexBundle
from kensaku.index.tokenizer import Tokenizer, TokenizerConfig
from kensaku.ingest.models import Finding

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("KENSAKU_SHARED", ROOT.parent / "shared"))
JSQUAD = SHARED / "bench" / "jsquad"
JSTS = SHARED / "bench" / "jsts" / "jsts.jsonl"
SEED_EVAL = ROOT / "corpus" / "eval"
CACHE = ROOT / ".kensaku" / "bench-cache"


def jsquad_findings() -> list[Finding]:
    """The 2,304 JSQuAD passages as findings (id = BEIR ``_id``, heading = article title)."""
    if not JSQUAD.is_dir():
        raise SystemExit(f"JSQuAD not found at {JSQUAD}; set KENSAKU_SHARED to the folder holding bench/jsquad")
    from kensaku.ingest import ingest_paths

    return ingest_paths([JSQUAD / "corpus.jsonl"]).findings


def seed_findings() -> list[Finding]:
    """Findings of the default corpus."""
    from kensaku.ingest import ingest_paths

    return ingest_paths([ROOT / "corpus"]).findings


def benchmark(name: str, split: str) -> Benchmark:
    """``jsquad`` or ``seed`` benchmark of a split."""
    return load_benchmark(JSQUAD if name == "jsquad" else SEED_EVAL, split)


def _key(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]


def cached_vectors(embedder: Embedder, texts: Sequence[str], *, kind: str) -> np.ndarray:
    """Embed ``texts`` (``kind`` = query or passage), cached on disk by model + texts."""
    CACHE.mkdir(parents=True, exist_ok=True)
    identity = json.dumps(embedder.describe(), sort_keys=True)  # a rebuilt model gets new vectors
    path = CACHE / f"{embedder.name.replace('/', '_')}-{kind}-{_key(identity, kind, *texts)}.npy"
    if path.exists():
        cached: np.ndarray = np.load(path)
        return cached
    if kind == "query":
        vectors = np.concatenate(
            [embedder.encode_queries(list(texts[i : i + 64])) for i in range(0, len(texts), 64)]
            or [np.zeros((0, embedder.dim), np.float32)]
        )
    else:
        vectors = embedder.encode_passages(list(texts))
    np.save(path, vectors)
    return vectors


def make_searcher(
    findings: Sequence[Finding],
    embedder: Embedder,
    *,
    form: str = DEFAULTS.token_form,
    options: BuildOptions | None = None,
) -> Searcher:
    """An in-memory searcher over ``findings`` (embeddings from the cache)."""
    options = options or BuildOptions()
    tokenizer = Tokenizer(TokenizerConfig(form=form))  # type: ignore[arg-type]
    sparse = SparseIndex.build([tokenizer.tokenize(lexical_text(f, options)) for f in findings])
    vectors = cached_vectors(embedder, [dense_text(f, options) for f in findings], kind="passage")
    manifest = Manifest(
        model=ModelInfo.of(embedder),
        tokenizer=tokenizer.config,
        dictionary=tokenizer.dictionary,
        build_options=options,
        ingest=None,
        inputs=(),
        sources=(),
        findings=len(findings),
    )
    bundle = IndexBundle(None, manifest, tuple(findings), sparse, DenseIndex.build(vectors))
    return Searcher(bundle=bundle, embedder=embedder, tokenizer=tokenizer)


def write_json(path: Path, data: object) -> None:
    """Write results as pretty JSON (UTF-8)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")

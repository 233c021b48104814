"""The plain stack as a benchmark baseline (issue 13, "Answer quality").

The plain stack is what many Japanese RAG tutorials do:

- BM25 (rank_bm25 ``BM25Okapi``; bm25s with the same tokens if rank_bm25 is missing) over fugashi
  ``-Owakati`` surface tokens (unidic-lite), no normalization, no stop words;
- FAISS ``IndexFlatIP`` over the **fp32** e5 model (``e5-small-fp32``, "query: "/"passage: " prefixes from the
  embedder's ``encode_queries`` / ``encode_passages``);
- RRF with weights 0.5 / 0.5 and k = 60 over the top 100 of each leg.

It runs on the SAME passages kensaku indexes: ``Finding.context_text`` ("heading: text") of every finding in a
kensaku index, with the same ids, so both systems see identical passages and are judged by the same qrels.

Compared systems: ``plain`` (the plain stack), its two legs ``plain-bm25`` / ``plain-dense``, and kensaku's
``kensaku`` (``Index.search`` defaults), ``kensaku-bm25``, ``kensaku-dense``,
``kensaku-rrf`` (``FusionConfig(method="rrf")``).

rank_bm25 is a bench-only extra (Apache-2.0), not a kensaku dependency::

    .venv/bin/pip install rank-bm25

Run::

    .venv/bin/python bench/plain_stack.py                 # seed test + dev, JSQuAD test
    .venv/bin/python bench/plain_stack.py --skip-jsquad   # seed only
    .venv/bin/python bench/plain_stack.py --split dev     # JSQuAD split (the seed benchmark always runs test+dev)

Writes ``bench/results/plain_stack.md`` and ``bench/results/plain_stack.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import CACHE, JSQUAD, ROOT, SEED_EVAL, cached_vectors, write_json
from paired import paired_bootstrap

from kensaku.config import FusionConfig
from kensaku.evaluate import METRICS, Benchmark, load_benchmark

SHOWN = ("nDCG@10", "MRR@10", "success@1", "success@5")
DEPTH = 100
RRF_K = 60
RESULTS = ROOT / "bench" / "results"
Run = dict[str, list[str]]


def uptime() -> str:
    """``uptime`` output (machine load)."""
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


class PlainStack:
    """BM25 over wakati surface tokens + FAISS IndexFlatIP over fp32 e5, fused by weighted RRF."""

    def __init__(
        self, ids: Sequence[str], passages: Sequence[str], *, model: str = "e5-small-fp32", fresh: bool = False
    ) -> None:
        import faiss
        import fugashi

        from kensaku.index.embed import load_embedder

        self.ids = list(ids)
        self.tagger = fugashi.Tagger("-Owakati")
        corpus_tokens = [self.wakati(p) for p in passages]
        try:
            from rank_bm25 import BM25Okapi

            self.bm25_impl = "rank_bm25.BM25Okapi"
            self._okapi = BM25Okapi(corpus_tokens)
            self._bm25s = None
        except ImportError:  # bench-only extra; bm25s over the same tokens instead
            import bm25s

            self.bm25_impl = "bm25s (rank_bm25 missing: pip install rank-bm25)"
            self._okapi = None
            self._bm25s = bm25s.BM25()
            vocab: dict[str, int] = {}
            ids_ = [[vocab.setdefault(t, len(vocab)) for t in toks] for toks in corpus_tokens]
            self._vocab = vocab
            self._bm25s.index(bm25s.tokenization.Tokenized(ids=ids_, vocab=vocab), show_progress=False)
        self.embedder = load_embedder(model)
        start = time.perf_counter()
        if fresh:  # time a real fp32 embedding of the corpus (the cache would hide it)
            vectors = self.embedder.encode_passages(list(passages)).astype(np.float32)
        else:
            vectors = cached_vectors(self.embedder, list(passages), kind="passage").astype(np.float32)
        self.embed_seconds = time.perf_counter() - start
        self.faiss = faiss.IndexFlatIP(vectors.shape[1])
        self.faiss.add(np.ascontiguousarray(vectors))

    def wakati(self, text: str) -> list[str]:
        """Surface tokens, as ``MeCab -Owakati`` writes them."""
        return self.tagger.parse(text).split()

    def bm25_scores(self, query: str) -> np.ndarray:
        """BM25 score of every passage."""
        tokens = self.wakati(query)
        if self._okapi is not None:
            return np.asarray(self._okapi.get_scores(tokens), dtype=np.float64)
        known = [self._vocab[t] for t in tokens if t in self._vocab]
        scores = np.zeros(len(self.ids))
        if known:
            scores = np.asarray(self._bm25s.get_scores(known), dtype=np.float64)
        return scores

    def run(self, queries: dict[str, str]) -> dict[str, Run]:
        """Runs of the BM25 leg, the dense leg and the RRF fusion (top ``DEPTH``)."""
        qids = list(queries)
        texts = [queries[q] for q in qids]
        qvecs = cached_vectors(self.embedder, texts, kind="query").astype(np.float32)
        _, dense_idx = self.faiss.search(np.ascontiguousarray(qvecs), min(DEPTH, len(self.ids)))
        runs: dict[str, Run] = {"plain-bm25": {}, "plain-dense": {}, "plain": {}}
        for i, qid in enumerate(qids):
            scores = self.bm25_scores(texts[i])
            bm25_top = [int(j) for j in np.argsort(-scores, kind="stable")[:DEPTH] if scores[j] > 0]
            dense_top = [int(j) for j in dense_idx[i] if j >= 0]
            fused: dict[int, float] = {}
            for ranking in (bm25_top, dense_top):
                for rank, j in enumerate(ranking, start=1):
                    fused[j] = fused.get(j, 0.0) + 0.5 / (RRF_K + rank)
            order = sorted(fused, key=lambda j: (-fused[j], j))[:DEPTH]
            runs["plain-bm25"][qid] = [self.ids[j] for j in bm25_top]
            runs["plain-dense"][qid] = [self.ids[j] for j in dense_top]
            runs["plain"][qid] = [self.ids[j] for j in order]
        return runs


def kensaku_runs(index: object, queries: dict[str, str]) -> dict[str, Run]:
    """kensaku's default hybrid, its BM25 and dense legs, and RRF fusion (queries encoded once)."""
    from kensaku.evaluate import run_queries

    searcher = index.searcher  # type: ignore[attr-defined]
    legs = run_queries(searcher, queries, modes=("bm25", "dense", "hybrid"), depth=DEPTH)
    rrf = run_queries(searcher, queries, modes=("hybrid",), fusion=FusionConfig(method="rrf"), depth=DEPTH)
    return {
        "kensaku": legs["hybrid"],
        "kensaku-bm25": legs["bm25"],
        "kensaku-dense": legs["dense"],
        "kensaku-rrf": rrf["hybrid"],
    }


def per_query(run: Run, bench: Benchmark) -> dict[str, dict[str, float]]:
    """metric -> qid -> score over the judged queries (as kensaku.evaluate.score_run counts them)."""
    judged = [q for q, rel in bench.qrels.items() if any(g > 0 for g in rel.values())]
    return {m: {q: METRICS[m](run.get(q, []), bench.qrels[q]) for q in judged} for m in SHOWN}


def evaluate_all(index: object, bench: Benchmark, plain: PlainStack) -> dict[str, object]:
    """Metrics and paired differences for every system on one benchmark split."""
    start = time.perf_counter()
    runs = {**plain.run(bench.queries), **kensaku_runs(index, bench.queries)}
    scores = {name: per_query(run, bench) for name, run in runs.items()}
    means = {name: {m: float(np.mean(list(v.values()))) for m, v in s.items()} for name, s in scores.items()}
    pairs = [("plain", "kensaku"), ("plain", "kensaku-rrf"), ("kensaku-rrf", "kensaku"), ("plain-bm25", "kensaku-bm25")]
    pairs.append(("plain-dense", "kensaku-dense"))
    paired = {
        f"{a} - {b}": {m: paired_bootstrap(scores[a][m], scores[b][m]).to_dict() for m in ("nDCG@10", "MRR@10")}
        for a, b in pairs
    }
    return {
        "queries": len(next(iter(scores["plain"].values()))),
        "metrics": means,
        "paired": paired,
        "per_query_ndcg": {name: s["nDCG@10"] for name, s in scores.items()},
        "search_seconds": round(time.perf_counter() - start, 1),
    }


def passages_of(index: object) -> tuple[list[str], list[str]]:
    """Ids and ``context_text`` of every finding in the kensaku index."""
    findings = index.findings  # type: ignore[attr-defined]
    return [f.id for f in findings], [f.context_text for f in findings]


def table(result: dict[str, object]) -> list[str]:
    """Markdown table of the metrics."""
    lines = ["| system | " + " | ".join(SHOWN) + " |", "|---|" + "---:|" * len(SHOWN)]
    for name, values in result["metrics"].items():  # type: ignore[union-attr]
        lines.append(f"| {name} | " + " | ".join(f"{values[m]:.3f}" for m in SHOWN) + " |")
    return lines


def paired_table(result: dict[str, object]) -> list[str]:
    """Markdown table of the paired differences."""
    lines = [
        "| a - b | metric | mean | 95 % CI | wins / losses / ties (for a) |",
        "|---|---|---:|---|---|",
    ]
    for pair, metrics in result["paired"].items():  # type: ignore[union-attr]
        for m, p in metrics.items():
            lines.append(
                f"| {pair} | {m} | {p['mean']:+.3f} | [{p['low']:+.3f}, {p['high']:+.3f}] | "
                f"{p['wins']} / {p['losses']} / {p['ties']} |"
            )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-jsquad", action="store_true", help="seed benchmark only")
    parser.add_argument("--split", default="test", help="JSQuAD split (default test)")
    parser.add_argument(
        "--fresh-embed", action="store_true", help="embed the plain stack's passages again (timed) instead of the cache"
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "plain_stack.md")
    args = parser.parse_args(argv)

    from kensaku.api import Index

    command = "python bench/plain_stack.py " + " ".join(sys.argv[1:] if argv is None else argv)
    load_before = uptime()
    started = dt.datetime.now(dt.UTC)
    results: dict[str, object] = {
        "command": command.strip(),
        "date": started.isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} CPUs",
        "uptime_before": load_before,
        "benchmarks": {},
    }
    timings: dict[str, float] = {}

    t = time.perf_counter()
    seed_index = Index.build(["corpus"], ROOT / ".kensaku" / "bench" / "plain-seed", if_needed=True)
    timings["seed kensaku index (build or reuse)"] = round(time.perf_counter() - t, 1)
    ids, passages = passages_of(seed_index)
    t = time.perf_counter()
    seed_plain = PlainStack(ids, passages, fresh=args.fresh_embed)
    how = "fresh" if args.fresh_embed else "from cache if present"
    timings[f"seed plain stack build (fp32 embed {how})"] = round(time.perf_counter() - t, 1)
    results["bm25_impl"] = seed_plain.bm25_impl
    for split in ("test", "dev"):
        bench = load_benchmark(SEED_EVAL, split)
        results["benchmarks"][f"seed {split}"] = evaluate_all(seed_index, bench, seed_plain)  # type: ignore[index]
        print(f"seed {split} done", file=sys.stderr)

    if not args.skip_jsquad:
        bench = load_benchmark(JSQUAD, args.split)
        t = time.perf_counter()
        jsquad_index = Index.build([JSQUAD / "corpus.jsonl"], ROOT / ".kensaku" / "bench" / "jsquad", if_needed=True)
        timings["jsquad kensaku index (int8; build or reuse)"] = round(time.perf_counter() - t, 1)
        ids, passages = passages_of(jsquad_index)
        t = time.perf_counter()
        jsquad_plain = PlainStack(ids, passages, fresh=args.fresh_embed)
        timings[f"jsquad plain stack build (fp32 embed {how})"] = round(time.perf_counter() - t, 1)
        results["benchmarks"][f"jsquad {args.split}"] = evaluate_all(jsquad_index, bench, jsquad_plain)  # type: ignore[index]

    results["timings_seconds"] = timings
    results["uptime_after"] = uptime()
    results["cache"] = str(CACHE)
    write_json(args.out.with_suffix(".json"), results)

    lines = [
        "# Plain stack baseline vs kensaku",
        "",
        f"- command: `{results['command']}`",
        f"- date: {results['date']} (UTC)",
        f"- machine: {results['machine']}",
        f"- load before: `{load_before}`",
        f"- load after: `{results['uptime_after']}`",
        f"- plain stack: BM25 = {results['bm25_impl']} over fugashi -Owakati surface tokens; dense = FAISS "
        "IndexFlatIP, e5-small-fp32; RRF 0.5/0.5, k=60, depth 100 per leg; passages = Finding.context_text of "
        "the kensaku index (same ids).",
        "- kensaku: `Index.search` defaults (e5-small-int8; BM25 lemma+surface with heading and municipality, "
        "k1 0.5, b 0.4; weighted min-max, w_dense 0.5, block score 0.75); legs via "
        '`mode="bm25"`/`"dense"`; `kensaku-rrf` = `FusionConfig(method="rrf")`.',
        "- paired: per-query a - b, paired bootstrap 95 % CI (10,000 resamples, seed 13), wins/losses/ties.",
        "",
        "Timings (s): " + ", ".join(f"{k}: {v}" for k, v in timings.items()),
        "",
    ]
    for name, result in results["benchmarks"].items():  # type: ignore[union-attr]
        lines += [f"## {name} ({result['queries']} judged queries)", "", *table(result), "", *paired_table(result), ""]
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Retrieval evaluation on BEIR-layout benchmarks: nDCG@10, Recall@10/100, MRR@10, success@1/5 per leg and fused.

Metric definitions follow trec_eval / ir_measures: nDCG with linear gain (the qrels grade) and log2 discount,
recall over all judged-relevant documents (grade > 0), reciprocal rank of the first relevant result.
"""

from __future__ import annotations

import csv
import json
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kensaku.config import FusionConfig
from kensaku.errors import SourceNotFoundError
from kensaku.index.hybrid import MODES, Mode
from kensaku.index.rerank import Reranker, rerank_order
from kensaku.index.search import Searcher

Qrels = dict[str, dict[str, int]]
Run = dict[str, list[str]]


def ndcg_at(ranked: Sequence[str], relevant: Mapping[str, int], k: int) -> float:
    """nDCG@k with linear gain.

    >>> round(ndcg_at(["a", "b", "c"], {"b": 1}, 10), 4)
    0.6309
    """
    dcg = sum(relevant.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked[:k]))
    ideal = sorted((g for g in relevant.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at(ranked: Sequence[str], relevant: Mapping[str, int], k: int) -> float:
    """Share of relevant documents (grade > 0) found in the top ``k``.

    >>> recall_at(["a", "b"], {"b": 1, "z": 2}, 10)
    0.5
    """
    wanted = {doc for doc, grade in relevant.items() if grade > 0}
    if not wanted:
        return 0.0
    return len(wanted.intersection(ranked[:k])) / len(wanted)


def rr_at(ranked: Sequence[str], relevant: Mapping[str, int], k: int) -> float:
    """Reciprocal rank of the first relevant document within the top ``k`` (0 if none).

    >>> rr_at(["a", "b", "c"], {"c": 1}, 10)
    0.3333333333333333
    """
    for i, doc in enumerate(ranked[:k], start=1):
        if relevant.get(doc, 0) > 0:
            return 1.0 / i
    return 0.0


def success_at(ranked: Sequence[str], relevant: Mapping[str, int], k: int) -> float:
    """1.0 when any relevant document is in the top ``k``."""
    return 1.0 if rr_at(ranked, relevant, k) > 0 else 0.0


Metric = Callable[[Sequence[str], Mapping[str, int]], float]
METRICS: dict[str, Metric] = {
    "nDCG@10": lambda r, q: ndcg_at(r, q, 10),
    "Recall@10": lambda r, q: recall_at(r, q, 10),
    "Recall@100": lambda r, q: recall_at(r, q, 100),
    "MRR@10": lambda r, q: rr_at(r, q, 10),
    "success@1": lambda r, q: success_at(r, q, 1),
    "success@5": lambda r, q: success_at(r, q, 5),
}


def score_run(run: Run, qrels: Qrels) -> dict[str, float]:
    """Mean of every metric over the judged queries (a judged query missing from the run scores 0)."""
    totals = dict.fromkeys(METRICS, 0.0)
    judged = [qid for qid, rel in qrels.items() if any(g > 0 for g in rel.values())]
    for qid in judged:
        ranked = run.get(qid, [])
        for name, metric in METRICS.items():
            totals[name] += metric(ranked, qrels[qid])
    return {name: total / len(judged) if judged else 0.0 for name, total in totals.items()}


@dataclass(frozen=True)
class Benchmark:
    """A BEIR-layout benchmark: queries, qrels of one split, and the corpus file if it has one."""

    directory: Path
    split: str
    queries: dict[str, str]
    qrels: Qrels
    corpus: Path | None


def load_benchmark(directory: Path, split: str) -> Benchmark:
    """Read ``queries.jsonl`` and ``qrels/<split>.tsv`` (and note ``corpus.jsonl`` if present).

    Raises:
        SourceNotFoundError: A required file is missing (the message names it and the expected layout).
    """
    directory = Path(directory)
    queries_path, qrels_path = directory / "queries.jsonl", directory / "qrels" / f"{split}.tsv"
    for path in (queries_path, qrels_path):
        if not path.is_file():
            raise SourceNotFoundError(
                f"{path} not found",
                f"a benchmark directory holds queries.jsonl, qrels/{split}.tsv and optionally corpus.jsonl "
                "(BEIR layout)",
            )
    qrels: Qrels = {}
    with qrels_path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            qrels.setdefault(row["query-id"], {})[row["corpus-id"]] = int(row["score"])
    queries = {}
    with queries_path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                item = json.loads(line)
                if item["_id"] in qrels:
                    queries[item["_id"]] = item["text"]
    corpus = directory / "corpus.jsonl"
    return Benchmark(directory, split, queries, qrels, corpus if corpus.is_file() else None)


def run_queries(
    searcher: Searcher,
    queries: Mapping[str, str],
    *,
    modes: Sequence[Mode] = MODES,
    fusion: FusionConfig | None = None,
    depth: int = 100,
    show_progress: bool = False,
) -> dict[Mode, Run]:
    """Rank the corpus for every query in every mode (queries are tokenized and encoded once)."""
    from tqdm import tqdm

    assert searcher.tokenizer is not None
    qids = list(queries)
    texts = [queries[q] for q in qids]
    vectors = np.zeros((0, searcher.embedder.dim), dtype=np.float32)
    parts = []
    for start in tqdm(range(0, len(texts), 64), desc="encode queries", file=sys.stderr, disable=not show_progress):
        parts.append(searcher.embedder.encode_queries(texts[start : start + 64]))
    if parts:
        vectors = np.concatenate(parts)
    terms = [searcher.tokenizer.tokenize(t) for t in texts]
    runs: dict[Mode, Run] = {mode: {} for mode in modes}
    for i, qid in enumerate(qids):
        for mode in modes:
            hits = searcher.search_vectors(terms[i], vectors[i], depth, mode=mode, fusion=fusion)
            runs[mode][qid] = [h.finding.id for h in hits]
    return runs


def evaluate(
    searcher: Searcher,
    benchmark: Benchmark,
    *,
    modes: Sequence[Mode] = MODES,
    fusion: FusionConfig | None = None,
    show_progress: bool = False,
    reranker: Reranker | None = None,
    rerank_depth: int = 30,
) -> dict[str, dict[str, float]]:
    """Metrics per mode (``bm25``, ``dense``, ``hybrid``) on the benchmark's split; with a ``reranker`` (and the
    ``hybrid`` mode) also ``rerank``: the hybrid ranking with its first ``rerank_depth`` reordered by it."""
    runs = run_queries(searcher, benchmark.queries, modes=modes, fusion=fusion, show_progress=show_progress)
    metrics: dict[str, dict[str, float]] = {mode: score_run(run, benchmark.qrels) for mode, run in runs.items()}
    if reranker is not None and "hybrid" in runs:
        reranked = rerank_run(searcher, benchmark.queries, runs["hybrid"], reranker, rerank_depth)
        metrics["rerank"] = score_run(reranked, benchmark.qrels)
    return metrics


def rerank_run(searcher: Searcher, queries: Mapping[str, str], run: Run, reranker: Reranker, depth: int) -> Run:
    """Each ranking of ``run`` with its first ``depth`` reordered by ``reranker`` on the findings' context text (as
    :func:`kensaku.index.rerank.rerank` does for a search)."""
    reranked: Run = {}
    for qid, ids in run.items():
        passages = [searcher.finding(fid).context_text for fid in ids]
        order, _ = rerank_order(queries[qid].strip(), passages, reranker, depth)
        reranked[qid] = [ids[i] for i in order]
    return reranked

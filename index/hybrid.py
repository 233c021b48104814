"""Fusion of the lexical (BM25) and dense legs, written out with its parameters.

Both legs first return their own top ``depth`` candidates (``depth`` is the candidate depth, separate from the final
cut ``k``, as in Pyserini's ``HybridSearcher(k0, k)``). The union of the two lists is then scored with *both* legs
exactly (a BM25 candidate gets its true cosine and vice versa), and fused:

- ``weighted`` (default): min-max normalize each leg over the candidate union, then
  ``fused = w_dense * dense_norm + (1 - w_dense) * bm25_norm``. It beats both legs and RRF on JSQuAD and on the seed
  questions; ``w_dense = 0.5`` was chosen on the dev splits (see ``docs/evaluation.md``).
- ``rrf``: reciprocal rank fusion, ``sum 1 / (rrf_k + rank)`` over the legs in whose top ``depth`` a candidate is
  (Cormack, Clarke & Büttcher, SIGIR 2009; ``rrf_k = 60`` is their default).

Ties are broken by row id, so results are deterministic.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

Mode = Literal["hybrid", "bm25", "dense"]
MODES: tuple[Mode, ...] = ("hybrid", "bm25", "dense")


def minmax(scores: np.ndarray) -> np.ndarray:
    """Scale scores to [0, 1]; a constant vector (no signal, e.g. no query term matched) becomes all zeros.

    >>> minmax(np.array([2.0, 4.0, 3.0])).tolist()
    [0.0, 1.0, 0.5]
    >>> minmax(np.array([5.0, 5.0])).tolist()
    [0.0, 0.0]
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.size == 0:
        return scores
    low, high = float(scores.min()), float(scores.max())
    if high - low <= 1e-12:
        return np.zeros_like(scores)
    return (scores - low) / (high - low)


def weighted_fusion(bm25: np.ndarray, dense: np.ndarray, w_dense: float) -> np.ndarray:
    """Min-max normalized weighted sum over one candidate set (both arrays aligned to the same candidates).

    >>> weighted_fusion(np.array([10.0, 0.0, 5.0]), np.array([0.2, 0.8, 0.5]), 0.5).round(3).tolist()
    [0.5, 0.5, 0.5]
    """
    return w_dense * minmax(dense) + (1.0 - w_dense) * minmax(bm25)


def rrf_fusion(ranks: list[np.ndarray], rrf_k: int) -> np.ndarray:
    """Reciprocal rank fusion. ``ranks[leg][i]`` is candidate ``i``'s 1-based rank in that leg, 0 if absent.

    >>> rrf_fusion([np.array([1, 0]), np.array([2, 1])], 60).round(5).tolist()
    [0.03252, 0.01639]
    """
    fused = np.zeros(len(ranks[0]) if ranks else 0, dtype=np.float64)
    for leg in ranks:
        present = leg > 0
        fused[present] += 1.0 / (rrf_k + leg[present])
    return fused


def top_ids(scores: np.ndarray, k: int, allowed: np.ndarray | None = None) -> np.ndarray:
    """Ids of the ``k`` best scores (best first, ties by id), optionally only among ``allowed`` ids."""
    ids = np.arange(len(scores)) if allowed is None else np.asarray(allowed, dtype=np.int64)
    if k <= 0 or ids.size == 0:
        return np.zeros(0, dtype=np.int64)
    values = scores[ids]
    if k < ids.size:
        # Sorting only what can make the cut keeps this O(n) for large corpora; ties at the cut are all kept.
        kth = np.partition(values, ids.size - k)[ids.size - k]
        keep = values >= kth
        ids, values = ids[keep], values[keep]
    order = np.lexsort((ids, -values))[:k]
    return ids[order].astype(np.int64)


def rank_of(candidates: np.ndarray, ranked: np.ndarray) -> np.ndarray:
    """1-based rank of each candidate in ``ranked`` (0 when it is not there)."""
    position = {int(doc): rank for rank, doc in enumerate(ranked, start=1)}
    return np.array([position.get(int(c), 0) for c in candidates], dtype=np.int64)


def order_by(fused: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Indices into ``candidates`` sorted by fused score (best first), ties by candidate id."""
    return np.lexsort((candidates, -fused))

"""Fusion of the lexical (BM25) and dense legs, written out with its parameters.

Both legs first return their own top ``depth`` candidates (``depth`` is the candidate depth, separate from the final
cut ``k``, as in Pyserini's ``HybridSearcher(k0, k)``). The union of the two lists is then scored with *both* legs
exactly (a BM25 candidate gets its true cosine and vice versa), and fused:

- ``weighted`` (default): min-max normalize each leg over the candidate union, then
  ``fused = w_dense * dense_norm + (1 - w_dense) * bm25_norm``. It beats both legs and RRF on JSQuAD and on the seed
  questions; ``w_dense = 0.5`` was chosen on the dev splits (see ``docs/evaluation.md``).
- ``rrf``: reciprocal rank fusion, ``sum 1 / (rrf_k + rank)`` over the legs in whose top ``depth`` a candidate is
  (Cormack, Clarke & Büttcher, SIGIR 2009; ``rrf_k = 60`` is their default).

Context (``block_weight``, hybrid mode): a ■ block of a report is cut into one finding per bullet, and the answer is
often the sibling of the finding that matches best. Each candidate's fused score gains ``block_weight`` times the best
fused score among the candidates of its block (:func:`block_ids`), so the findings of the best-matching block rise
together, in their own fused order; 0.75 was chosen on the seed dev questions and changes nothing measurable on
JSQuAD (``bench/fusion_lab.py``).

Ties are broken by row id, so results are deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    from kensaku.config import FusionConfig
    from kensaku.ingest.models import Finding

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


def block_ids(findings: Sequence[Finding]) -> np.ndarray:
    """Block number of each finding: neighbouring rows of one document with the same municipality, chapter, section
    and heading share one (a lesson and its siblings under one ■ heading); a finding without a heading is a block of
    its own."""
    out = np.zeros(len(findings), dtype=np.int64)
    block, previous = 0, None
    for row, f in enumerate(findings):
        key = (f.document, f.municipality, f.chapter, f.section, f.heading)
        if key != previous or not f.heading:
            block += 1
        out[row], previous = block, key
    return out


def block_lift(fused: np.ndarray, blocks: np.ndarray, weight: float) -> np.ndarray:
    """``fused`` plus ``weight`` times the best fused score among the candidates of the same block.

    >>> block_lift(np.array([1.0, 0.2, 0.5]), np.array([7, 7, 9]), 0.5).tolist()
    [1.5, 0.7, 0.75]
    """
    if weight <= 0 or fused.size == 0:
        return fused
    _, inverse = np.unique(blocks, return_inverse=True)
    best = np.full(int(inverse.max()) + 1, -np.inf)
    np.maximum.at(best, inverse, fused)
    lifted: np.ndarray = fused + weight * best[inverse]
    return lifted


def fuse(
    bm25: np.ndarray,
    dense: np.ndarray,
    ranks: tuple[np.ndarray, np.ndarray],
    blocks: np.ndarray,
    mode: Mode,
    fusion: FusionConfig,
) -> np.ndarray:
    """The fused score of each candidate from its exact scores on both legs (``bm25``, ``dense``) and its rank in
    each leg's top (``ranks``, 0 where absent): one leg's score alone in ``bm25`` or ``dense`` mode; otherwise
    weighted or RRF fusion, then the lift of each candidate's ``blocks`` (the local and the Milvus searchers alike)."""
    if mode == "bm25":
        return bm25.astype(np.float64)
    if mode == "dense":
        return dense.astype(np.float64)
    if fusion.method == "rrf":
        fused = rrf_fusion(list(ranks), fusion.rrf_k)
    else:
        fused = weighted_fusion(bm25, dense, fusion.w_dense)
    return block_lift(fused, blocks, fusion.block_weight)

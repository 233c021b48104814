"""Fusion and dense search against hand-computed values and brute force."""

from __future__ import annotations

import numpy as np
import pytest

from kensaku.config import FusionConfig
from kensaku.index.dense import DenseIndex
from kensaku.index.hybrid import block_ids, block_lift, minmax, order_by, rank_of, rrf_fusion, top_ids, weighted_fusion
from kensaku.ingest.models import Finding


def test_weighted_fusion_hand_computed() -> None:
    # Three candidates. BM25 raw [8, 2, 5] → min-max [1, 0, 0.5]; dense [0.30, 0.90, 0.60] → [0, 1, 0.5].
    bm25 = np.array([8.0, 2.0, 5.0])
    dense = np.array([0.30, 0.90, 0.60])
    fused = weighted_fusion(bm25, dense, w_dense=0.4)
    # 0.4*[0, 1, .5] + 0.6*[1, 0, .5] = [0.6, 0.4, 0.5]
    assert fused == pytest.approx([0.6, 0.4, 0.5])
    assert order_by(fused, np.array([10, 11, 12])).tolist() == [0, 2, 1]


def test_weighted_fusion_extremes_equal_single_legs() -> None:
    rng = np.random.default_rng(7)
    bm25, dense = rng.random(20), rng.random(20)
    assert np.argsort(-weighted_fusion(bm25, dense, 0.0)).tolist() == np.argsort(-bm25).tolist()
    assert np.argsort(-weighted_fusion(bm25, dense, 1.0)).tolist() == np.argsort(-dense).tolist()


def test_minmax_constant_leg_carries_no_signal() -> None:
    # No query term in the vocabulary: every BM25 score is 0, so the dense leg alone decides.
    fused = weighted_fusion(np.zeros(3), np.array([0.1, 0.5, 0.3]), 0.4)
    assert fused == pytest.approx([0.0, 0.4, 0.2])  # 0.4 * minmax([.1, .5, .3]) = 0.4 * [0, 1, .5]
    assert minmax(np.array([])).size == 0


def test_rrf_hand_computed() -> None:
    # Candidate a: rank 1 in BM25, rank 3 in dense; b: only dense rank 1; c: BM25 rank 2 only.
    bm25_rank = np.array([1, 0, 2])
    dense_rank = np.array([3, 1, 0])
    fused = rrf_fusion([bm25_rank, dense_rank], rrf_k=60)
    assert fused == pytest.approx([1 / 61 + 1 / 63, 1 / 61, 1 / 62])


def test_top_ids_ties_broken_by_id_and_allowed() -> None:
    scores = np.array([0.5, 0.9, 0.5, 0.9, 0.1])
    assert top_ids(scores, 3).tolist() == [1, 3, 0]
    assert top_ids(scores, 10, allowed=np.array([4, 2, 0])).tolist() == [0, 2, 4]
    assert top_ids(scores, 0).tolist() == []


def test_rank_of() -> None:
    assert rank_of(np.array([5, 6, 7]), np.array([7, 5])).tolist() == [2, 0, 1]


@pytest.mark.parametrize(
    "kwargs",
    [{"method": "sum"}, {"w_dense": 1.5}, {"w_dense": -0.1}, {"rrf_k": 0}, {"depth": 0}, {"block_weight": -0.1}],
)
def test_fusion_config_rejects_bad_values(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        FusionConfig(**kwargs)  # type: ignore[arg-type]


def _unit_rows(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    rows = rng.standard_normal((n, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def _check_with_ties(ids: np.ndarray, scores: np.ndarray, reference: np.ndarray, k: int) -> None:
    """FAISS may order equal scores differently: compare the score lists exactly and the id sets per score."""
    expected_ids = np.argsort(-reference, kind="stable")[:k]
    np.testing.assert_allclose(scores, reference[expected_ids], rtol=1e-5, atol=1e-6)
    kth = reference[expected_ids[-1]]
    strictly_better = set(np.flatnonzero(reference > kth + 1e-6).tolist())
    assert strictly_better <= set(ids.tolist())


@pytest.mark.parametrize(("n", "k"), [(1, 1), (17, 5), (300, 100), (300, 300)])
def test_faiss_matches_brute_force(n: int, k: int) -> None:
    rng = np.random.default_rng(n)
    base = _unit_rows(rng, n, 24)
    query = _unit_rows(rng, 1, 24)[0]
    ids, scores = DenseIndex.build(base).search(query, k)
    _check_with_ties(ids, scores, base @ query, k)


def test_faiss_with_duplicate_vectors_and_filter() -> None:
    rng = np.random.default_rng(3)
    base = _unit_rows(rng, 50, 8)
    base[10] = base[20] = base[30]  # exact ties
    index = DenseIndex.build(base)
    query = base[30]
    ids, scores = index.search(query, 3)
    assert set(ids.tolist()) == {10, 20, 30}
    assert scores == pytest.approx([1.0, 1.0, 1.0], abs=1e-5)
    allowed = np.array([1, 2, 3, 20])
    ids, scores = index.search(query, 10, allowed)
    assert ids[0] == 20 and set(ids.tolist()) == set(allowed.tolist())
    _check_with_ties(ids, scores, np.where(np.isin(np.arange(50), allowed), base @ query, -np.inf), 4)
    assert index.scores_for(query, np.array([20, 1])) == pytest.approx([1.0, float(base[1] @ query)], abs=1e-5)


@pytest.mark.parametrize("seed", range(5))
def test_top_ids_matches_full_sort_with_many_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 5, size=300).astype(np.float64)  # heavy ties
    for k in (1, 7, 100, 299, 300, 400):
        expected = np.lexsort((np.arange(300), -scores))[:k]
        assert top_ids(scores, k).tolist() == expected.tolist()


def _finding(row: int, heading: str, document: str = "report", municipality: str = "加賀市") -> Finding:
    return Finding(
        id=f"{document}:L{row}",
        text=f"{row} 行目。",
        document=document,
        municipality=municipality,
        chapter="推進体制",
        section="人材育成・人材活用",
        heading=heading,
        kind="lesson",
        line_start=row,
        line_end=row,
        citation=f"{document} L{row}",
    )


def test_block_ids_group_neighbours_under_one_heading_only() -> None:
    findings = [
        _finding(1, "■ フェロー"),
        _finding(2, "■ フェロー"),
        _finding(3, "■ 予算"),
        _finding(4, "■ フェロー"),  # the same heading again, but not next to the first block
        _finding(5, "■ フェロー", municipality="会津若松市"),
        _finding(6, ""),
        _finding(7, ""),  # no heading: a block of its own each
        _finding(8, "■ フェロー", document="other"),
    ]
    assert block_ids(findings).tolist() == [1, 1, 2, 3, 4, 5, 6, 7]


def test_block_lift_raises_the_siblings_of_the_best_finding() -> None:
    fused = np.array([1.0, 0.6, 0.8, 0.1])
    blocks = np.array([5, 9, 7, 5])  # rows 0 and 3 are siblings
    lifted = block_lift(fused, blocks, 0.75)
    assert lifted.tolist() == pytest.approx([1.75, 1.05, 1.4, 0.85])
    # the sibling (0.1) passes the finding of another block (0.6); within a block the order stays
    assert np.argsort(-lifted).tolist() == [0, 2, 1, 3]
    assert block_lift(fused, blocks, 0.0) is fused

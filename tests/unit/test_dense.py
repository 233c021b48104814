"""The dense leg's exact and IVF search, its filters, the stored moments and the files (real FAISS, random unit
vectors: these test the mechanics; recall on real embeddings is measured by bench/ann_recall.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kensaku.index.dense import ANN, MOMENTS, VECTORS, DenseIndex


def unit_vectors(n: int, dim: int = 32, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    # Clustered, so that an IVF index has structure to find.
    centres = rng.normal(size=(20, dim))
    vectors = centres[rng.integers(0, 20, n)] + 0.3 * rng.normal(size=(n, dim))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def test_exact_search_is_a_full_sort_with_ties_by_row() -> None:
    vectors = unit_vectors(500)
    vectors[10] = vectors[3]  # a tie: the lower row comes first
    index = DenseIndex.build(vectors, ann="flat")
    query = vectors[3]
    ids, scores = index.search(query, 5)
    expected = np.lexsort((np.arange(500), -(vectors @ query)))[:5]
    assert ids.tolist() == expected.tolist() and ids[:2].tolist() == [3, 10]
    np.testing.assert_allclose(scores, (vectors @ query)[ids], rtol=1e-6)
    assert index.kind == "flat"


def test_filter_as_mask_or_ids_gives_the_same_rows() -> None:
    vectors = unit_vectors(400)
    index = DenseIndex.build(vectors, ann="flat")
    mask = np.zeros(400, dtype=bool)
    mask[::7] = True
    by_mask, _ = index.search(vectors[0], 10, mask)
    by_ids, _ = index.search(vectors[0], 10, np.flatnonzero(mask))
    assert by_mask.tolist() == by_ids.tolist() and all(r % 7 == 0 for r in by_mask)


def test_ivf_finds_the_exact_neighbours_and_respects_filters() -> None:
    vectors = unit_vectors(4000)
    exact, ivf = DenseIndex.build(vectors, ann="flat"), DenseIndex.build(vectors, ann="ivf")
    assert ivf.kind == "ivf"
    queries = unit_vectors(50, seed=11)
    recall = np.mean([len(set(exact.search(q, 10)[0]) & set(ivf.search(q, 10)[0])) / 10 for q in queries])
    assert recall >= 0.95
    mask = np.zeros(4000, dtype=bool)
    mask[np.random.default_rng(3).choice(4000, 2500, replace=False)] = True  # many rows: the IVF path filters
    for q in queries[:10]:
        rows, scores = ivf.search(q, 10, mask)
        assert mask[rows].all()
        np.testing.assert_allclose(scores, vectors[rows] @ q, rtol=1e-5)  # scores are exact, not quantised
        assert list(scores) == sorted(scores, reverse=True)


def test_moments_give_the_exact_mean_and_spread_of_the_cosines() -> None:
    vectors = unit_vectors(3000)
    ivf = DenseIndex.build(vectors, ann="ivf")
    for q in unit_vectors(5, seed=5):
        cosines = vectors.astype(np.float64) @ q
        mean, std = ivf.moments_of(q)
        assert mean == pytest.approx(cosines.mean(), abs=1e-6) and std == pytest.approx(cosines.std(), abs=1e-6)


def test_save_and_load_memory_map_the_vectors(tmp_path: Path) -> None:
    vectors = unit_vectors(3000)
    DenseIndex.build(vectors, ann="ivf").save(tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {VECTORS, ANN, MOMENTS}
    loaded = DenseIndex.load(tmp_path)
    assert isinstance(loaded._vectors, np.memmap) and loaded.kind == "ivf"
    np.testing.assert_array_equal(loaded.vectors(np.arange(3000)), vectors)
    flat = tmp_path / "flat"
    flat.mkdir()
    DenseIndex.build(vectors[:100], ann="auto").save(flat)  # small: exact only
    assert {p.name for p in flat.iterdir()} == {VECTORS}

"""The dense leg's exact, HNSW and IVF search, its filters, the stored moments and the files (real FAISS, clustered
random unit vectors: these test the mechanics; recall on real embeddings is tested in tests/integration/test_ann.py
and measured by bench/ann_recall.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kensaku.index import dense
from kensaku.index.dense import ANN, EF_SEARCH, MOMENTS, VECTORS, DenseIndex


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
    assert isinstance(loaded._vectors.base, np.memmap) and loaded.kind == "ivf"  # a plain view of the mapped file
    np.testing.assert_array_equal(loaded.vectors(np.arange(3000)), vectors)
    flat = tmp_path / "flat"
    flat.mkdir()
    DenseIndex.build(vectors[:100], ann="auto").save(flat)  # small: exact only
    assert {p.name for p in flat.iterdir()} == {VECTORS}


def near(vectors: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Queries near the rows (as real queries lie near the texts that answer them; a graph walk is not meant for
    queries far from every row, which the other tests' random queries are)."""
    rng = np.random.default_rng(seed)
    queries = vectors[rng.integers(0, len(vectors), n)] + 0.2 * rng.normal(size=(n, vectors.shape[1]))
    return (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(np.float32)


def recall(found: DenseIndex, exact: DenseIndex, queries: np.ndarray, allowed: np.ndarray | None = None) -> float:
    pairs = [(found.search(q, 10, allowed)[0], exact.search(q, 10, allowed)[0]) for q in queries]
    return float(np.mean([len(set(a.tolist()) & set(b.tolist())) / len(b) for a, b in pairs]))


def test_hnsw_finds_the_exact_neighbours_with_exact_scores() -> None:
    vectors = unit_vectors(6000)
    exact, hnsw = DenseIndex.build(vectors, ann="flat"), DenseIndex.build(vectors, ann="hnsw")
    assert hnsw.kind == "hnsw" and hnsw._ann.hnsw.efConstruction == dense.EF_CONSTRUCTION
    queries = near(vectors, 50, seed=11)
    assert recall(hnsw, exact, queries) >= 0.97
    for q in queries[:10]:
        rows, scores = hnsw.search(q, 10)
        np.testing.assert_allclose(scores, vectors[rows] @ q, rtol=1e-5)  # re-scored exactly, not the 8-bit codes
        assert list(scores) == sorted(scores, reverse=True)


def test_hnsw_breaks_ties_by_row() -> None:
    vectors = unit_vectors(3000)
    for twin in (2999, 1500, 700):
        vectors[twin] = vectors[42]  # three copies of row 42, added after it
    hnsw = DenseIndex.build(vectors, ann="hnsw")
    rows, scores = hnsw.search(vectors[42], 4)
    assert rows[:4].tolist() == [42, 700, 1500, 2999] and len(set(scores[:4].tolist())) == 1


def test_hnsw_filters_keep_only_allowed_rows_and_find_the_exact_neighbours(monkeypatch: pytest.MonkeyPatch) -> None:
    vectors = unit_vectors(6000)
    exact, hnsw = DenseIndex.build(vectors, ann="flat"), DenseIndex.build(vectors, ann="hnsw")
    assert hnsw._search_parameters(1.0, 20).efSearch == EF_SEARCH
    assert hnsw._search_parameters(1.0, 1100).efSearch == 1100  # never fewer than the candidates asked for
    monkeypatch.setattr(dense, "EXACT_ALLOWED_ROWS", 100)  # so that these filters take the ANN path
    rng = np.random.default_rng(3)
    queries = near(vectors, 30, seed=12)
    far = np.argsort(vectors @ queries[0])[:600]  # the rows least like the first query: a walk toward it misses them
    close = np.argsort(-(vectors @ queries[0]))[:1500]  # its nearest rows, removed: the next ones must be found
    masks = {
        "random 10%: scan": rng.random(6000) < 0.1,
        "random 70%: scan": rng.random(6000) < 0.7,
        "far 10%: scan": np.isin(np.arange(6000), far),
        "all but the nearest 1,500: post-filtered walk": ~np.isin(np.arange(6000), close),
    }
    for name, mask in masks.items():
        for q in queries[:10]:
            rows, scores = hnsw.search(q, 10, mask)
            assert len(rows) == 10 and mask[rows].all(), name
            np.testing.assert_allclose(scores, vectors[rows] @ q, rtol=1e-5)
        assert recall(hnsw, exact, queries, mask) >= 0.97, name


def test_a_narrow_filter_is_searched_exactly() -> None:
    vectors = unit_vectors(3000)
    exact, hnsw = DenseIndex.build(vectors, ann="flat"), DenseIndex.build(vectors, ann="hnsw")
    rows = np.arange(0, 3000, 97)  # far fewer than EXACT_ALLOWED_ROWS
    for q in unit_vectors(10, seed=13):
        found, scores = hnsw.search(q, 5, rows)
        expected, expected_scores = exact.search(q, 5, rows)
        assert found.tolist() == expected.tolist()
        np.testing.assert_array_equal(scores, expected_scores)


def test_auto_builds_hnsw_from_the_ann_size_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dense, "ANN_MIN_ROWS", 1000)
    assert DenseIndex.build(unit_vectors(999), ann="auto").kind == "flat"
    assert DenseIndex.build(unit_vectors(1000), ann="auto").kind == "hnsw"
    with pytest.raises(ValueError, match="ann must be one of"):
        DenseIndex.build(unit_vectors(10), ann="graph")  # type: ignore[arg-type]


def test_hnsw_is_built_from_a_memory_map_and_saved_and_loaded(tmp_path: Path) -> None:
    vectors = unit_vectors(3000)
    np.save(tmp_path / "source.npy", vectors)
    mapped = np.load(tmp_path / "source.npy", mmap_mode="r")
    built = DenseIndex.build(mapped, ann="hnsw")
    assert built._vectors is mapped  # not copied into memory
    saved = tmp_path / "index"
    saved.mkdir()
    built.save(saved)
    assert {p.name for p in saved.iterdir()} == {VECTORS, ANN, MOMENTS}
    loaded = DenseIndex.load(saved)
    assert loaded.kind == "hnsw" and isinstance(loaded._vectors.base, np.memmap)
    np.testing.assert_array_equal(loaded.vectors(np.arange(3000)), vectors)
    for q in unit_vectors(5, seed=14):
        assert loaded.search(q, 10)[0].tolist() == built.search(q, 10)[0].tolist()
        mean, std = loaded.moments_of(q)
        cosines = vectors.astype(np.float64) @ q
        assert mean == pytest.approx(cosines.mean(), abs=1e-6) and std == pytest.approx(cosines.std(), abs=1e-6)


def test_an_opened_ann_index_reads_its_rows_with_pread_in_any_order(tmp_path: Path) -> None:
    vectors = unit_vectors(3000)
    DenseIndex.build(vectors, ann="hnsw").save(tmp_path)
    loaded = DenseIndex.load(tmp_path)
    assert loaded._rows is not None  # scattered rows are read with pread, not through the map
    ids = np.array([2999, 0, 17, 17, 1500])
    np.testing.assert_array_equal(loaded.vectors(ids), vectors[ids])
    with pytest.raises(ValueError, match="past the end"):
        loaded.vectors(np.array([3000]))

"""Common terms kept as full-length score arrays (``CommonTerms``) change no score and no coverage, bit for bit.

The documents are Zipf-distributed term ids, so a few terms are in most documents (as の, に, する are in real
findings) and most are rare; a long query (a finding's whole text, as ``similar`` sends) holds both kinds.
"""

from __future__ import annotations

import numpy as np
import pytest

import kensaku.index.sparse as sparse_module
from kensaku.index.relevance import term_coverage
from kensaku.index.sparse import COMMON_SHARE, CommonTerms, SparseIndex, accumulate


def zipf_docs(n_docs: int, seed: int) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    return [[f"t{int(t)}" for t in rng.zipf(1.3, size=int(rng.integers(0, 40))) if t < 5000] for _ in range(n_docs)]


DOCS = zipf_docs(3000, seed=7)
QUERIES = [DOCS[i] for i in (1, 17, 400, 2999)] + [["t1", "t1", "t2", "t9999"], ["t4000"], []]


def uncached(index: SparseIndex, terms: list[str]) -> np.ndarray:
    return accumulate(index.n_docs, terms, index.postings, lambda docs: index._norms[docs], index.idf)


def test_the_documents_have_common_and_rare_terms() -> None:
    index = SparseIndex.build(DOCS)
    dfs = [int(index.postings(t)[0].size) for t in index.vocab]
    assert sum(df * COMMON_SHARE >= index.n_docs for df in dfs) >= 3
    assert sum(df * COMMON_SHARE < index.n_docs for df in dfs) >= 100


@pytest.mark.parametrize("query", QUERIES)
def test_scores_are_the_same_before_and_after_common_terms_are_kept(query: list[str]) -> None:
    index = SparseIndex.build(DOCS)
    expected = uncached(index, query)
    first = index.scores(query)  # keeps the query's common terms
    second = index.scores(query)  # adds them as full arrays
    assert np.array_equal(first, expected) and np.array_equal(second, expected)
    assert first.dtype == second.dtype == np.float32


def test_only_common_terms_are_kept_and_the_budget_is_kept() -> None:
    index = SparseIndex.build(DOCS)
    index.scores(DOCS[1] + ["t1", "t2", "t3"])
    kept = [t for t in index.vocab if index.common(t) is not None]
    assert kept and all(int(index.postings(t)[0].size) * COMMON_SHARE >= index.n_docs for t in kept)
    for term in kept:
        entry = index.common(term)
        assert entry is not None
        docs, _ = index.postings(term)
        assert entry.df == docs.size == np.count_nonzero(entry.scores) == np.count_nonzero(entry.marks)
        assert set(np.unique(entry.marks[docs]).tolist()) == {np.float32(index.idf(entry.df))}
    small = CommonTerms(index.n_docs, budget=8 * index.n_docs)  # room for one term's two arrays
    docs, tfs = index.postings("t1")
    assert small.keep("t1", docs, tfs, 1.0) is not None
    assert small.keep("t2", *index.postings("t2"), 1.0) is None and small.get("t2") is None


def test_a_rare_term_is_never_kept() -> None:
    index = SparseIndex.build(DOCS)
    rare = next(t for t in index.vocab if int(index.postings(t)[0].size) * COMMON_SHARE < index.n_docs)
    index.scores([rare, rare])
    assert index.common(rare) is None


@pytest.mark.parametrize("query", QUERIES)
def test_coverage_is_the_same_with_kept_terms(query: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    index = SparseIndex.build(DOCS)
    expected = term_coverage(index, query)  # nothing kept yet: every term through its postings
    index.scores(query)
    got = term_coverage(index, query)
    assert np.array_equal(got[0], expected[0]) and got[1:] == expected[1:]
    monkeypatch.setattr(sparse_module, "COMMON_BUDGET", 0)
    assert np.array_equal(SparseIndex.build(DOCS).scores(query), index.scores(query))

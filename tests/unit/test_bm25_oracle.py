"""BM25 scores equal Lucene's BM25 computed by hand (k1 = 0.5, b = 0.4, the shipped settings).

Lucene's variant (Robertson–Spärck Jones idf with +1 inside the log, never negative):

    idf(t)      = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))
    score(d, q) = Σ_{t in q} idf(t) · tf(t, d) / (tf(t, d) + k1 · (1 - b + b · |d| / avgdl))
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import kensaku.index.sparse as sparse_module
from kensaku.config import DEFAULTS
from kensaku.index.sparse import SparseIndex

DOCS = [
    ["フェロー", "契約", "謝礼"],
    ["フェロー", "フェロー", "住民", "説明"],
    ["大学", "連携", "人材", "育成", "データ"],
    ["予算", "確保"],
    [],  # a finding whose text has no content word
]
QUERIES = [["フェロー", "契約"], ["住民"], ["データ", "人材", "フェロー"], ["存在しない"], ["契約", "存在しない"]]


def lucene_bm25(docs: list[list[str]], query: list[str], k1: float, b: float) -> list[float]:
    n = len(docs)
    avgdl = sum(map(len, docs)) / n
    scores = []
    for doc in docs:
        total = 0.0
        for term in query:
            df = sum(term in d for d in docs)
            tf = doc.count(term)
            if df == 0 or tf == 0:
                continue
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            total += idf * tf / (tf + k1 * (1 - b + b * len(doc) / avgdl))
        scores.append(total)
    return scores


def test_the_shipped_parameters_are_tested() -> None:
    assert (DEFAULTS.bm25_k1, DEFAULTS.bm25_b) == (0.5, 0.4)


@pytest.mark.parametrize("query", QUERIES, ids=["+".join(q) for q in QUERIES])
def test_scores_equal_lucene_bm25(query: list[str]) -> None:
    index = SparseIndex.build(DOCS)
    expected = lucene_bm25(DOCS, query, DEFAULTS.bm25_k1, DEFAULTS.bm25_b)
    np.testing.assert_allclose(index.scores(query), expected, rtol=1e-6, atol=1e-7)


def test_one_score_worked_out_on_paper() -> None:
    # 契約 in document 0: N = 5, df = 1 → idf = ln(1 + 4.5 / 1.5) = ln 4; |d| = 3, avgdl = 14 / 5 = 2.8;
    # tf part = 1 / (1 + 0.5 · (0.6 + 0.4 · 3 / 2.8)) = 1 / (1 + 0.5 · 36 / 35) = 35 / 53.
    assert SparseIndex.build(DOCS).scores(["契約"])[0] == pytest.approx(math.log(4) * 35 / 53, rel=1e-6)
    assert math.log(4) * 35 / 53 == pytest.approx(0.915477, abs=1e-6)


def test_other_parameters_follow_the_same_formula() -> None:
    index = SparseIndex.build(DOCS, k1=1.2, b=0.75)
    np.testing.assert_allclose(index.scores(["フェロー"]), lucene_bm25(DOCS, ["フェロー"], 1.2, 0.75), rtol=1e-6)


@pytest.mark.parametrize("chunk", [1, 2, 3])
def test_a_build_in_chunks_of_documents_gives_the_same_index(chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    whole = SparseIndex.build(DOCS)
    monkeypatch.setattr(sparse_module, "BUILD_CHUNK", chunk)
    chunked = SparseIndex.build(DOCS)
    for term in {t for doc in DOCS for t in doc}:
        for a, b in zip(chunked.postings(term), whole.postings(term), strict=True):
            assert a.dtype == b.dtype and a.tolist() == b.tolist()
    for query in QUERIES:
        np.testing.assert_array_equal(chunked.scores(query), whole.scores(query))

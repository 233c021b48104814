"""Results, paging, total and the answerable verdict, and the document/year filters, on a tiny searcher whose legs are
brute-force numpy fakes (keyword embedder, keyword term lists); the relevance model's arithmetic by hand."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from kensaku.config import DEFAULTS, FusionConfig
from kensaku.errors import QueryError
from kensaku.index.dense import DenseIndex
from kensaku.index.relevance import (
    FEATURES,
    Calibration,
    fit_logistic,
    load_calibration,
    term_coverage,
    uncalibrated_total,
)
from kensaku.index.search import Filters, Hit, Results, Searcher
from kensaku.index.sparse import KeptTerm
from kensaku.index.store import IndexBundle
from tests.support import KEYWORDS, SMALL_FINDINGS, KeywordEmbedder, make_finding


class KeywordTokenizer:
    """The keywords a text contains, as its terms."""

    def tokenize(self, text: str) -> list[str]:
        return [k for k in KEYWORDS if k in text] + [w for w in ("ラーメン", "謝礼金") if w in text]


class CountSparse:
    """BM25 stand-in: the number of query terms a document holds (0 for none)."""

    def __init__(self, docs: list[list[str]]) -> None:
        self.docs = docs

    @property
    def n_docs(self) -> int:
        return len(self.docs)

    def scores(self, terms: list[str]) -> np.ndarray:
        return np.array([sum(t in doc for t in terms) for doc in self.docs], dtype=np.float32)

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        docs = np.array([i for i, doc in enumerate(self.docs) if term in doc], dtype=np.int32)
        return docs, np.array([self.docs[i].count(term) for i in docs], dtype=np.float32)

    def common(self, term: str) -> KeptTerm | None:
        return None

    def idf(self, df: int) -> float:
        return math.log(1.0 + (self.n_docs - df + 0.5) / (df + 0.5))


FINDINGS = [
    *SMALL_FINDINGS,
    replace(make_finding(20, "大学とフェローの契約を見直した。"), document="other.docx", extra={"year": "2023"}),
    replace(make_finding(21, "住民のデータを大学と分析した。"), document="other.docx", extra={"year": "2024"}),
]


def searcher(calibration: Calibration | None = None, depth: int = 100) -> Searcher:
    embedder = KeywordEmbedder()
    tokenizer = KeywordTokenizer()
    docs = [tokenizer.tokenize(f.text) for f in FINDINGS]
    vectors = embedder.encode_passages([f.text for f in FINDINGS])
    manifest = SimpleNamespace(model=SimpleNamespace(name=embedder.name))
    bundle = IndexBundle(None, manifest, tuple(FINDINGS), CountSparse(docs), DenseIndex(vectors))  # type: ignore[arg-type]
    return Searcher(bundle, embedder, FusionConfig(depth=depth), tokenizer, calibration)  # type: ignore[arg-type]


def coverage_calibration(answerable: float = 0.5, finding: float = 0.5) -> Calibration:
    """relevance = sigmoid(10 * coverage - 5): 0.5 exactly at half the query's idf covered."""
    coef = tuple(10.0 if name == "coverage" else 0.0 for name in FEATURES)
    zeros, ones = (0.0,) * len(FEATURES), (1.0,) * len(FEATURES)
    return Calibration("keyword-fake", FEATURES, zeros, ones, coef, -5.0, answerable, finding, top=3)


def ids(hits: list[Hit]) -> list[str]:
    return [h.finding.id for h in hits]


@pytest.mark.parametrize("query", ["フェローの契約", "大学", "住民のデータ"])
@pytest.mark.parametrize("mode", ["hybrid", "bm25", "dense"])
def test_pages_are_slices_of_one_ranking(query: str, mode: str) -> None:
    s = searcher(coverage_calibration())
    whole = s.search(query, k=6, mode=mode)  # type: ignore[arg-type]
    pages = [s.query(query, 2, offset=offset, mode=mode) for offset in (0, 2, 4)]  # type: ignore[arg-type]
    assert [h for page in pages for h in page.hits] == whole
    assert [h.rank for page in pages for h in page.hits] == list(range(1, len(whole) + 1))
    assert {p.total for p in pages} == {pages[0].total} and {p.answerable for p in pages} == {pages[0].answerable}


def test_page_past_the_end_is_empty_but_keeps_the_count() -> None:
    s = searcher(coverage_calibration())
    first, far = s.query("大学", 3), s.query("大学", 3, offset=50)
    assert far.hits == [] and far.offset == 50 and far.total == first.total


@pytest.mark.parametrize(("k", "offset"), [(10, -1), (DEFAULTS.max_k, 1), (0, 0)])
def test_paging_out_of_range_is_refused(k: int, offset: int) -> None:
    with pytest.raises(QueryError):
        searcher().query("大学", k, offset=offset)


def test_verdict_and_total_by_hand() -> None:
    s = searcher(coverage_calibration(answerable=0.9, finding=0.5))
    # 「フェローの契約」: 2 terms with idf ln(1 + (8 - df + .5) / (df + .5)); covering one of two is about half.
    results = s.query("フェローの契約", 8)
    both = [f for f in FINDINGS if "フェロー" in f.text and "契約" in f.text]
    assert results.answerable  # a finding with both terms: coverage 1, relevance 0.993 >= 0.9
    assert results.hits[0].relevance == pytest.approx(1 / (1 + math.exp(-5)))
    expected = sum(1 / (1 + math.exp(-(10 * c - 5))) >= 0.5 for c in coverage_by_hand(["フェロー", "契約"]))
    assert results.total == expected >= len(both)
    nothing = s.query("ラーメン", 5)  # a term no finding holds: coverage 0 everywhere
    assert not nothing.answerable and nothing.total == 0
    assert all(h.relevance is not None and h.relevance < 0.01 for h in nothing.hits)


def coverage_by_hand(terms: list[str]) -> list[float]:
    n = len(FINDINGS)
    idf = {}
    for t in terms:
        df = sum(t in KeywordTokenizer().tokenize(f.text) for f in FINDINGS)
        idf[t] = math.log(1 + (n - df + 0.5) / (df + 0.5))
    return [
        sum(idf[t] for t in terms if t in KeywordTokenizer().tokenize(f.text)) / sum(idf.values()) for f in FINDINGS
    ]


def test_term_coverage_matches_hand_computed_idf() -> None:
    docs = [KeywordTokenizer().tokenize(f.text) for f in FINDINGS]
    coverage, norm, unknown = term_coverage(CountSparse(docs), ["フェロー", "契約", "ラーメン", "契約"])  # type: ignore[arg-type]
    n = len(FINDINGS)
    idf_missing = math.log(1 + (n + 0.5) / 0.5)
    known = coverage_by_hand(["フェロー", "契約"])
    total_idf = sum(math.log(1 + (n - df + 0.5) / (df + 0.5)) for df in (3, 2)) + idf_missing
    assert norm == pytest.approx(total_idf, rel=1e-6)
    assert unknown == pytest.approx(idf_missing / total_idf, rel=1e-6)
    # Coverage is the share of the whole query's idf (the unknown term counts against every finding).
    scale = (total_idf - idf_missing) / total_idf
    assert coverage == pytest.approx(np.array(known) * scale, rel=1e-5)


def test_uncalibrated_total_counts_term_matches_and_the_dense_top() -> None:
    s = searcher(depth=1)
    results = s.query("謝礼金", 1)  # candidate depth max(depth, k) = 1
    assert results.answerable and all(h.relevance is None for h in results.hits)
    term_rows = {i for i, f in enumerate(FINDINGS) if "謝礼金" in f.text}
    dense_top = s.bundle.dense.search(s.embedder.encode_queries(["謝礼金"])[0], 1)[0]
    assert results.total == len(term_rows | {int(dense_top[0])})
    assert uncalibrated_total(np.array([0.0, 2.0, 0.0, 1.0]), np.array([0]), np.array([0, 1])) == 2


def test_filters_documents_and_years() -> None:
    by_document = Filters(documents=["other.docx"])
    by_year = Filters(years=["2023"])
    assert by_document.active and by_year.active and not Filters().active
    assert [f.id for f in FINDINGS if by_document.accepts(f)] == ["doc:L20", "doc:L21"]
    assert [f.id for f in FINDINGS if by_year.accepts(f)] == ["doc:L20"]  # a finding without a year matches none
    s = searcher(coverage_calibration())
    assert ids(s.query("大学", 10, filters=by_document).hits) == ["doc:L20", "doc:L21"]
    assert ids(s.search("大学", 10, filters=Filters(documents=["doc.txt"], years=["2023"]))) == []
    empty = s.query("大学", 10, filters=Filters(documents=["nothing.pdf"]))
    assert empty == Results("大学", [], 0, False, 0)
    with pytest.raises(QueryError):
        Filters(years="2023")


def test_similar_keeps_document_and_year_filters() -> None:
    s = searcher()
    hits = s.similar("doc:L20", filters=Filters(documents=["other.docx"]))
    assert ids(hits) == ["doc:L21"]


def test_relevance_in_dicts() -> None:
    results = searcher(coverage_calibration()).query("フェローの契約", 2)
    data = results.to_dict()
    assert list(data)[:4] == ["query", "total", "answerable", "offset"]
    assert data["hits"][0]["relevance"] == round(results.hits[0].relevance or 0.0, 6)
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
    assert searcher().search("大学", 1)[0].to_dict()["relevance"] is None


def test_calibration_round_trip_and_shipped_record() -> None:
    calibration = coverage_calibration()
    again = Calibration.from_dict(calibration.model, json.loads(json.dumps(calibration.to_dict())))
    assert again == calibration
    shipped = load_calibration("e5-small-int8")
    assert shipped is not None and shipped.features == FEATURES
    assert 0 < shipped.finding <= shipped.answerable < 1
    assert load_calibration("keyword-fake") is None


def test_fit_logistic_recovers_known_coefficients() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(20_000, 2))
    labels = (rng.random(20_000) < 1 / (1 + np.exp(-(2.0 * x[:, 0] - 1.0 * x[:, 1] + 0.5)))).astype(float)
    mean, scale, coef, intercept = fit_logistic(x, labels, np.ones(len(labels)), l2=0.0)
    # Back to the raw features: coef / scale, intercept - sum(coef * mean / scale).
    raw = coef / scale
    assert raw == pytest.approx([2.0, -1.0], abs=0.1)
    assert intercept - float((coef * mean / scale).sum()) == pytest.approx(0.5, abs=0.1)

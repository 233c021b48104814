"""Calibrated relevance: the probability that a finding answers the query, and whether the query has an answer.

The fused score cannot say either: it is min-max normalised over the candidates, so the best hit scores about 1.0
for any query, 「美味しいラーメン屋」 included. The relevance model uses evidence in absolute terms instead:

Per finding (:data:`FEATURES`, first five):
    ``dense``: cosine of the finding to the query; ``dense_gap``: that cosine minus the best cosine of the (filtered)
    index; ``dense_z``: the cosine in standard deviations above the mean cosine of all (filtered) findings to the
    query (e5 gives every text a cosine of about 0.8, higher in a general corpus than in a specialised one: the
    z-score is comparable across corpora); ``bm25_norm``: raw BM25 divided by the idf sum of the query's distinct
    content terms (about 1 for a finding of average length holding each term once); ``coverage``: the idf-weighted
    share of the query's distinct content terms the finding contains.
Per query (the other five, the same for every finding):
    ``top_dense``: the best cosine; ``top_z``: its z-score; ``top_gap10``: best minus 10th-best cosine (a peaked list
    means a real match); ``top_coverage``: the best coverage of any finding; ``unknown``: the idf-weighted share of
    the query's terms that no finding contains (ラーメン in a report on smart cities).

A logistic model over these gives ``relevance`` = P(finding answers the query). A query is ``answerable`` when the
best relevance among its top :attr:`Calibration.top` hits reaches :attr:`Calibration.answerable`; ``total`` counts
the findings (passing the filters) whose relevance reaches :attr:`Calibration.finding` (never above the query
threshold, so an answerable query has ``total >= 1``). Coefficients and thresholds are fitted per embedding model by
``bench/abstention.py --write`` on the dev splits of the seed questions and JSQuAD plus written off-topic questions,
and stored in ``index/data/relevance.json`` (results: ``bench/results/abstention.md``).

An index whose model has no calibration gets ``relevance = None``, ``answerable = True`` and ``total`` = the
findings passing the filters that share at least one content term with the query or are among the dense leg's top
``depth`` (:func:`uncalibrated_total`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from kensaku.index.sparse import Sparse

FEATURES: tuple[str, ...] = (
    "dense",
    "dense_gap",
    "dense_z",
    "bm25_norm",
    "coverage",
    "top_dense",
    "top_z",
    "top_gap10",
    "top_coverage",
    "unknown",
)
FORMAT_VERSION = 1
DATA_FILE = "relevance.json"


@dataclass(frozen=True)
class QueryEvidence:
    """What the query's terms and vector say about the whole index, computed once per query.

    Attributes:
        coverage: Idf-weighted share of the query's distinct content terms present, for every finding.
        norm: Idf sum of the query's distinct content terms (0 when it has none).
        unknown: Idf-weighted share of the query's terms in no finding (0 when it has no term).
        dense_mean: Mean cosine of the allowed findings to the query.
        dense_std: Their standard deviation (at least 1e-6).
        top_dense: Best cosine among the allowed findings.
        top_gap10: ``top_dense`` minus the 10th-best cosine (or the last, when fewer are allowed).
        top_coverage: Best coverage among the allowed findings.
    """

    coverage: np.ndarray
    norm: float
    unknown: float
    dense_mean: float
    dense_std: float
    top_dense: float
    top_gap10: float
    top_coverage: float

    def features(self, dense: np.ndarray, bm25: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """The ``(len(rows), len(FEATURES))`` feature matrix of the findings ``rows`` (their cosines and BM25)."""
        n = len(rows)
        bm25_norm = np.clip(np.asarray(bm25, dtype=np.float64) / self.norm, 0.0, 5.0) if self.norm > 0 else np.zeros(n)
        dense = np.asarray(dense, dtype=np.float64)
        columns = [
            dense,
            dense - self.top_dense,
            (dense - self.dense_mean) / self.dense_std,
            bm25_norm,
            self.coverage[rows].astype(np.float64),
            np.full(n, self.top_dense),
            np.full(n, (self.top_dense - self.dense_mean) / self.dense_std),
            np.full(n, self.top_gap10),
            np.full(n, self.top_coverage),
            np.full(n, self.unknown),
        ]
        return np.column_stack(columns) if n else np.zeros((0, len(FEATURES)))


@dataclass(frozen=True)
class Ranking:
    """Everything one query's ranking computed, for cutting pages, relevance and counting (made by the searcher).

    Attributes:
        candidates: Row ids of the candidate union, in ``order`` of the fused score.
        fused, bm25, dense, bm25_rank, dense_rank: Per candidate, aligned with ``candidates``.
        evidence: The query's evidence over the whole index (coverage, idf sum, top cosines).
        bm25_all: BM25 of every finding.
        dense_top: The dense leg's top rows (filtered).
        allowed: Mask of the rows passing the filters (``None``: all).
        all_rows, all_cosines: The rows ``total`` is counted over and their cosines to the query, in row order:
            every allowed row with an exact dense leg; with an ANN index, the allowed rows among both legs' top
            :data:`~kensaku.index.search.TOTAL_POOL` (``total_exact`` is then ``False``).
        total_exact: Whether ``all_rows`` are all the allowed rows.
    """

    candidates: np.ndarray
    fused: np.ndarray
    bm25: np.ndarray
    dense: np.ndarray
    bm25_rank: np.ndarray
    dense_rank: np.ndarray
    evidence: QueryEvidence
    bm25_all: np.ndarray
    dense_top: np.ndarray
    allowed: np.ndarray | None
    all_rows: np.ndarray
    all_cosines: np.ndarray
    total_exact: bool = True

    def features(self) -> np.ndarray:
        """Relevance features of every candidate, in ranking order."""
        return self.evidence.features(self.dense, self.bm25, self.candidates)


def term_coverage(sparse: Sparse, terms: Sequence[str]) -> tuple[np.ndarray, float, float]:
    """Idf-weighted coverage of every document, the idf sum and the unknown share for the query ``terms``.

    One posting list per distinct term (a query has a handful), or the full-length scores BM25 kept for a common term
    (:class:`~kensaku.index.sparse.CommonTerms`). The idf is Lucene's,
    ``ln(1 + (N - df + 0.5) / (df + 0.5))``; a term in no document has the largest.
    """
    coverage = np.zeros(sparse.n_docs, dtype=np.float32)
    norm = unknown = 0.0
    for term in dict.fromkeys(terms):
        kept = sparse.common(term)  # a common term's idf where it occurs, as one full-length array: no scatter
        if kept is not None:
            coverage += kept.marks
            norm += sparse.idf(kept.df)
            continue
        docs, _ = sparse.postings(term)
        idf = sparse.idf(int(docs.size))
        norm += idf
        if docs.size:
            coverage[docs] += idf
        else:
            unknown += idf
    if norm > 0:
        coverage /= norm
        unknown /= norm
    return coverage, norm, unknown


@dataclass(frozen=True)
class DenseSummary:
    """What the cosines of all findings to a query say, in four numbers (the per-query part of the evidence).

    Attributes:
        top: The best cosine.
        tenth: The 10th best (or the last, when there are fewer).
        mean: The mean cosine.
        std: Their standard deviation (at least 1e-6).
    """

    top: float
    tenth: float
    mean: float
    std: float

    @classmethod
    def of(cls, cosines: np.ndarray) -> DenseSummary:
        """The summary of ``cosines`` (any order)."""
        if not len(cosines):
            return cls(0.0, 0.0, 0.0, 1.0)
        best = np.sort(np.partition(cosines, max(len(cosines) - 10, 0))[-10:])[::-1]
        return cls(float(best[0]), float(best[-1]), float(cosines.mean()), max(float(cosines.std()), 1e-6))


def query_evidence(
    sparse: Sparse,
    terms: Sequence[str],
    cosines: np.ndarray | DenseSummary,
    allowed: np.ndarray | None,
) -> QueryEvidence:
    """The :class:`QueryEvidence` of a query: ``cosines`` are the cosines of all ``allowed`` rows (``None``: all
    rows; ``allowed`` is a mask or row ids), in any order, or their :class:`DenseSummary`."""
    coverage, norm, unknown = term_coverage(sparse, terms)
    pool = coverage if allowed is None else coverage[allowed]
    dense = cosines if isinstance(cosines, DenseSummary) else DenseSummary.of(np.asarray(cosines))
    return QueryEvidence(
        coverage=coverage,
        norm=norm,
        unknown=unknown,
        dense_mean=dense.mean,
        dense_std=dense.std,
        top_dense=dense.top,
        top_gap10=dense.top - dense.tenth,
        top_coverage=float(pool.max()) if pool.size else 0.0,
    )


@dataclass(frozen=True)
class Calibration:
    """A fitted relevance model for one embedding model (a record of ``index/data/relevance.json``).

    Attributes:
        model: The embedding model's name (``e5-small-int8``).
        features: Feature names, in the order of ``coef`` (:data:`FEATURES`).
        mean: Feature means the inputs are centred by before the logistic model.
        scale: Feature standard deviations they are divided by.
        coef: Logistic coefficients of the standardised features.
        intercept: Logistic intercept.
        answerable: A query is answerable when the best relevance among its top ``top`` hits reaches this.
        finding: Relevance a finding needs to be counted in ``total`` (at most ``answerable``).
        top: How many of the best hits the query verdict looks at.
    """

    model: str
    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    answerable: float
    finding: float
    top: int = 10

    def probability(self, features: np.ndarray) -> np.ndarray:
        """Relevance (0–1) of each row of a feature matrix in :attr:`features` order."""
        x = (np.asarray(features, dtype=np.float64) - np.array(self.mean)) / np.array(self.scale)
        return _sigmoid(x @ np.array(self.coef) + self.intercept)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record (the ``model`` is the key it is stored under)."""
        return {
            "features": list(self.features),
            "mean": [round(v, 8) for v in self.mean],
            "scale": [round(v, 8) for v in self.scale],
            "coef": [round(v, 8) for v in self.coef],
            "intercept": round(self.intercept, 8),
            "answerable": round(self.answerable, 6),
            "finding": round(self.finding, 6),
            "top": self.top,
        }

    @classmethod
    def from_dict(cls, model: str, data: dict[str, Any]) -> Calibration:
        """A calibration from its stored record."""
        return cls(
            model=model,
            features=tuple(data["features"]),
            mean=tuple(float(v) for v in data["mean"]),
            scale=tuple(float(v) for v in data["scale"]),
            coef=tuple(float(v) for v in data["coef"]),
            intercept=float(data["intercept"]),
            answerable=float(data["answerable"]),
            finding=float(data["finding"]),
            top=int(data.get("top", 10)),
        )


def _sigmoid(z: np.ndarray) -> np.ndarray:
    result: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0)))
    return result


@lru_cache(maxsize=8)
def load_calibration(model: str) -> Calibration | None:
    """The stored calibration of ``model``; ``None`` when there is none (or it was fitted on other features)."""
    text = resources.files("kensaku.index").joinpath("data", DATA_FILE).read_text(encoding="utf-8")
    data = json.loads(text)
    record = data.get("models", {}).get(model)
    if data.get("version") != FORMAT_VERSION or record is None or tuple(record["features"]) != FEATURES:
        return None
    return Calibration.from_dict(model, record)


def fit_logistic(
    features: np.ndarray, labels: np.ndarray, weights: np.ndarray, *, l2: float = 1.0, iterations: int = 50
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Weighted L2-regularised logistic regression by Newton's method on standardised features.

    Returns:
        ``(mean, scale, coef, intercept)``: ``sigmoid(((x - mean) / scale) @ coef + intercept)``.
    """
    x = np.asarray(features, dtype=np.float64)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    design = np.column_stack([(x - mean) / scale, np.ones(len(x))])
    y, w = np.asarray(labels, dtype=np.float64), np.asarray(weights, dtype=np.float64)
    beta = np.zeros(design.shape[1])
    penalty = np.full(design.shape[1], l2)
    penalty[-1] = 0.0  # the intercept is not shrunk
    for _ in range(iterations):
        p = _sigmoid(design @ beta)
        gradient = design.T @ (w * (p - y)) + penalty * beta
        hessian = (design * (w * p * (1 - p))[:, None]).T @ design + np.diag(penalty) + 1e-9 * np.eye(len(beta))
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return mean, scale, beta[:-1], float(beta[-1])


def uncalibrated_total(bm25_all: np.ndarray, dense_top: np.ndarray, allowed: np.ndarray | None) -> int:
    """Findings (among ``allowed``: a mask or row ids) sharing a content term with the query or among the dense
    leg's top list (counted on a mask: no set operation over the matching rows, which may be most of the index)."""
    matching = bm25_all > 0
    if allowed is not None and allowed.dtype == bool:
        matching &= allowed
    elif allowed is not None:
        keep = np.zeros(matching.size, dtype=bool)
        keep[np.asarray(allowed, dtype=np.int64)] = True
        matching &= keep
    top = np.unique(np.asarray(dense_top, dtype=np.int64))
    return int(np.count_nonzero(matching)) + int(np.count_nonzero(~matching[top]))

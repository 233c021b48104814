"""Search over the Milvus backend, answering as the local :class:`~kensaku.index.search.Searcher` answers.

Each leg's candidates come from Milvus with the filters as one boolean expression (:func:`filter_expression`): the
dense leg by inner product, the lexical leg by the stored tf saturations times the query's ``float32(idf)·count``
(a few ulp from kensaku's BM25, so each leg asks for more than the fusion depth, and more again while rows tie at
the cut: :func:`~kensaku.index.milvus_pool.Pool.gather`). The union is then
scored on the client exactly as the local index scores it: cosines from the fetched vectors
(``DenseIndex.scores_for``), BM25 from the term frequencies read back from the weights, summed by
:func:`~kensaku.index.sparse.accumulate` with the current N, df and mean length. Each leg keeps its exact top
``depth`` (ties by index order), and the legs are fused with :mod:`kensaku.index.hybrid` as ``Searcher.rank_vectors``
fuses them, block lift included. So hits, their order and their scores equal the local backend's.

Differences: ``total`` is counted over the fetched candidates only (``total_exact`` is ``False``, as for a local
index with an ANN dense index), and the relevance evidence's best coverage is taken over them too (the local index
takes it over every finding): relevance may differ slightly where a finding outside the candidates covers the query
better than any candidate.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from kensaku.config import FusionConfig
from kensaku.errors import FindingNotFoundError, QueryError
from kensaku.index.hybrid import Mode, fuse, order_by, rank_of
from kensaku.index.milvus_pool import CandidateSparse, Pool, leg_top
from kensaku.index.milvus_schema import filter_expression, literal
from kensaku.index.query import Filters, check_mode_and_k, check_page, check_query, check_terms, similar_filters
from kensaku.index.relevance import Calibration, DenseSummary, QueryEvidence, load_calibration, query_evidence
from kensaku.index.results import Hit, Results
from kensaku.index.tokenizer import Tokenizer, TokenizerConfig
from kensaku.ingest.models import Finding

if TYPE_CHECKING:
    from kensaku.index.embed import Embedder
    from kensaku.index.milvus import MilvusStore


@dataclass(frozen=True)
class MilvusRanking:
    """One query's ranking: candidates (row keys) in fused order with their scores, and what relevance needs."""

    seqs: np.ndarray
    fused: np.ndarray
    bm25: np.ndarray
    dense: np.ndarray
    bm25_rank: np.ndarray
    dense_rank: np.ndarray
    positions: np.ndarray
    evidence: QueryEvidence
    pool: Pool


class MilvusSearcher:
    """Hybrid search over a :class:`~kensaku.index.milvus.MilvusStore` (same methods as the local ``Searcher``).

    Args:
        store: The connected, synced store.
        embedder: The embedder the index was built with.
        fusion: Fusion defaults.
        calibration: The relevance model (default: the stored one of the index's model).
    """

    def __init__(
        self, store: MilvusStore, embedder: Embedder, fusion: FusionConfig, calibration: Calibration | None = None
    ) -> None:
        """Make the tokenizer the index was built with and load the calibration."""
        stats = store.stats
        self.store, self.embedder, self.fusion = store, embedder, fusion
        self.tokenizer = Tokenizer(TokenizerConfig.from_dict(stats.meta["tokenizer"]))
        self.calibration = calibration or load_calibration(str(stats.meta["model"]))

    def finding(self, finding_id: str) -> Finding:
        """The finding with ``finding_id``.

        Raises:
            FindingNotFoundError: No such id in the collection.
        """
        row = self._by_id(finding_id, ["finding"])
        return Finding.from_dict(json.loads(row["finding"]))

    def _by_id(self, finding_id: str, fields: list[str]) -> dict[str, Any]:
        rows = self.store.query("fetching a finding", f"id in {literal([finding_id])}", fields)
        if not rows:
            raise FindingNotFoundError(f"no finding with id {finding_id!r} in this index", "ids look like 'doc:L12'")
        return dict(rows[0])

    def _encode(self, query: str, mode: Mode) -> tuple[str, list[str], np.ndarray]:
        """The checked query text, its terms and its vector (as ``Searcher._encode``)."""
        text = check_query(query)
        terms = self.tokenizer.tokenize(text)
        check_terms(text, terms, mode)
        return text, terms, self.embedder.encode_queries([text])[0]

    def search(
        self,
        query: str,
        k: int = 10,
        *,
        mode: Mode = "hybrid",
        filters: Filters | None = None,
        fusion: FusionConfig | None = None,
    ) -> list[Hit]:
        """Search with a natural-language query (as ``Searcher.search``)."""
        _, terms, vector = self._encode(query, mode)
        return self.search_vectors(terms, vector, k, mode=mode, filters=filters, fusion=fusion)

    def search_vectors(
        self,
        terms: list[str],
        vector: np.ndarray,
        k: int = 10,
        *,
        mode: Mode = "hybrid",
        filters: Filters | None = None,
        fusion: FusionConfig | None = None,
    ) -> list[Hit]:
        """Search with pre-computed query terms and vector."""
        ranking = self.rank_vectors(terms, vector, k, mode=mode, filters=filters, fusion=fusion)
        return [] if ranking is None else self._hits(ranking, 0, k)

    def query(
        self,
        query: str,
        k: int = 10,
        *,
        offset: int = 0,
        filters: Filters | None = None,
        mode: Mode = "hybrid",
        fusion: FusionConfig | None = None,
    ) -> Results:
        """One page of results (as ``Searcher.query``; ``total`` is counted over the candidates)."""
        text, terms, vector = self._encode(query, mode)
        check_page(offset, k)
        ranking = self.rank_vectors(terms, vector, offset + k, mode=mode, filters=filters, fusion=fusion)
        if ranking is None:
            return Results(text, [], 0, False, offset)
        hits = self._hits(ranking, offset, offset + k)
        total, answerable = self._verdict(ranking)
        cutoff = self.calibration.finding if self.calibration is not None else None
        return Results(text, hits, total, answerable, offset, cutoff, False)

    def similar(
        self,
        finding_id: str | None = None,
        *,
        text: str | None = None,
        k: int = 10,
        other_municipalities: bool = False,
        filters: Filters | None = None,
    ) -> list[Hit]:
        """Findings most similar to a finding (by id) or to a text (as ``Searcher.similar``)."""
        if (finding_id is None) == (text is None):
            raise QueryError("similar() was given both or neither of a finding id and a text", "give exactly one")
        filters = filters or Filters()
        if finding_id is None:
            return self.search(check_query(text or ""), k, filters=filters)
        row = self._by_id(finding_id, ["finding", "dense"])
        source = Finding.from_dict(json.loads(row["finding"]))
        filters = similar_filters(source, filters, other_municipalities)
        vector = np.asarray(row["dense"], dtype=np.float32)
        return self.search_vectors(self.tokenizer.tokenize(source.text), vector, k, filters=filters)

    def rank_vectors(
        self,
        terms: list[str],
        vector: np.ndarray,
        k: int = 10,
        *,
        mode: Mode = "hybrid",
        filters: Filters | None = None,
        fusion: FusionConfig | None = None,
    ) -> MilvusRanking | None:
        """Rank both legs' candidates as ``Searcher.rank_vectors`` does; ``None`` when no finding passes the
        filters."""
        check_mode_and_k(mode, k)
        fusion = fusion or self.fusion
        depth = max(fusion.depth, k)
        pool = Pool.gather(self.store, terms, vector, depth, filter_expression(filters), mode != "dense")
        if pool is None:
            return None
        dense_top = (
            leg_top(pool.dense, pool.seqs, np.ones(pool.seqs.size, dtype=bool), depth) if mode != "bm25" else pool.none
        )
        bm25_top = leg_top(pool.bm25, pool.seqs, pool.bm25 > 0, depth) if mode != "dense" else pool.none
        positions = np.unique(np.concatenate([bm25_top, dense_top]))  # pool positions: ascending = index order
        candidates = pool.seqs[positions]
        bm25, dense = pool.bm25[positions], pool.cosines(vector, positions)
        bm25_rank = rank_of(candidates, pool.seqs[bm25_top])
        dense_rank = rank_of(candidates, pool.seqs[dense_top])
        fused = fuse(bm25, dense, (bm25_rank, dense_rank), pool.blocks[positions], mode, fusion)
        order = order_by(fused, candidates)
        evidence = self._evidence(pool, terms, vector)
        return MilvusRanking(
            candidates[order],
            fused[order],
            bm25[order],
            dense[order],
            bm25_rank[order],
            dense_rank[order],
            positions[order],
            evidence,
            pool,
        )

    def _evidence(self, pool: Pool, terms: list[str], vector: np.ndarray) -> QueryEvidence:
        """The relevance evidence: coverage of the pool's findings, idf over the whole collection, the cosine
        summary of the whole collection (its best ten by an unfiltered search, mean and spread from the moments)."""
        stats = self.store.stats
        mean, std = stats.moments_of(vector)
        best = pool.unfiltered_top
        summary = DenseSummary(float(best[0]), float(best[-1]), mean, std) if best.size else DenseSummary.of(best)
        sparse = CandidateSparse(pool, stats)
        return query_evidence(sparse, terms, summary, np.arange(pool.seqs.size))

    def _relevance(self, ranking: MilvusRanking, stop: int) -> list[float | None]:
        stop = min(stop, len(ranking.seqs))
        if self.calibration is None:
            return [None] * stop
        rows = slice(0, stop)
        features = ranking.evidence.features(ranking.dense[rows], ranking.bm25[rows], ranking.positions[rows])
        return [float(p) for p in self.calibration.probability(features)]

    def _hits(self, ranking: MilvusRanking, start: int, stop: int) -> list[Hit]:
        """Hits ``start`` to ``stop`` of a ranking, their findings fetched by key."""
        relevance = self._relevance(ranking, stop)
        stop = min(stop, len(ranking.seqs))
        rows = self.store.rows(ranking.seqs[start:stop].tolist(), ["finding"])
        return [
            Hit(
                rank=i + 1,
                score=float(ranking.fused[i]),
                finding=Finding.from_dict(json.loads(rows[int(ranking.seqs[i])]["finding"])),
                bm25=float(ranking.bm25[i]),
                dense=float(ranking.dense[i]),
                bm25_rank=int(ranking.bm25_rank[i]),
                dense_rank=int(ranking.dense_rank[i]),
                relevance=relevance[i],
            )
            for i in range(start, stop)
        ]

    def _verdict(self, ranking: MilvusRanking) -> tuple[int, bool]:
        """``(total, answerable)``: ``total`` over the pool's findings (all fetched candidates of both legs)."""
        calibration, pool = self.calibration, ranking.pool
        if calibration is None:
            return int(np.count_nonzero((pool.bm25 > 0) | pool.from_dense)), True
        top = [p for p in self._relevance(ranking, calibration.top) if p is not None]
        answerable = bool(top) and max(top) >= calibration.answerable
        rows = np.arange(pool.seqs.size)
        features = ranking.evidence.features(pool.dense, pool.bm25, rows)
        return int(np.count_nonzero(calibration.probability(features) >= calibration.finding)), answerable

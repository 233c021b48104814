"""Query an index: both legs to candidate depth, fuse, filter, cut to k; and similar findings for a finding or text.

The query is checked and its filters are built in :mod:`kensaku.index.query`; the hits and pages come back as the
values of :mod:`kensaku.index.results` (both re-exported here, where callers import them). Reads the loaded index
(:mod:`kensaku.index.store`) and the model's calibration (:mod:`kensaku.index.relevance`); writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from kensaku.config import FusionConfig
from kensaku.errors import FindingNotFoundError, QueryError
from kensaku.index.embed import Embedder
from kensaku.index.hybrid import Mode, fuse, order_by, rank_of, top_ids
from kensaku.index.query import Filters as Filters
from kensaku.index.query import check_mode_and_k, check_page, check_terms, similar_filters
from kensaku.index.query import check_query as check_query
from kensaku.index.relevance import (
    Calibration,
    DenseSummary,
    Ranking,
    load_calibration,
    query_evidence,
    uncalibrated_total,
)
from kensaku.index.results import Hit as Hit
from kensaku.index.results import Results as Results
from kensaku.index.store import IndexBundle
from kensaku.index.tokenizer import Tokenizer
from kensaku.ingest.models import Finding

TOTAL_POOL = 1000


@dataclass(frozen=True)
class _DenseLeg:
    top: np.ndarray
    summary: DenseSummary
    rows: np.ndarray
    cosines: np.ndarray
    exact: bool


@dataclass
class Searcher:
    """Hybrid search over one loaded index; build once per process and share (read-only, thread-safe).

    Args:
        bundle: The loaded index.
        embedder: The embedder the index was built with (same name as in its manifest).
        fusion: Fusion defaults (method, weight, depth).
        tokenizer: Optional tokenizer; by default one is made with the index's own tokenizer settings.
        calibration: The relevance model; by default the stored one of the index's model (``None`` when there is
            none: hits then have no ``relevance``).
    """

    bundle: IndexBundle
    embedder: Embedder
    fusion: FusionConfig = field(default_factory=FusionConfig)
    tokenizer: Tokenizer | None = None
    calibration: Calibration | None = None

    def __post_init__(self) -> None:
        """Create the tokenizer the index was built with, the lookup tables, and load the calibration."""
        if self.tokenizer is None:
            self.tokenizer = Tokenizer(self.bundle.manifest.tokenizer)
        if self.calibration is None:
            self.calibration = load_calibration(self.bundle.manifest.model.name)
        self._blocks = self.bundle.columns.blocks

    @property
    def findings(self) -> Sequence[Finding]:
        """All findings, in index order (a :class:`~kensaku.index.columns.FindingTable`: rows are read on demand)."""
        return self.bundle.findings

    def finding(self, finding_id: str) -> Finding:
        """The finding with ``finding_id``.

        Raises:
            FindingNotFoundError: No such id (a ``KeyError``); the message shows what ids look like.
        """
        row = self.bundle.findings.row_of(finding_id)
        if row is None:
            raise FindingNotFoundError(
                f"no finding with id {finding_id!r} in this index", f"ids look like {self.findings[0].id!r}"
            )
        return self.findings[row]

    def _allowed(self, filters: Filters | None) -> np.ndarray | None:
        """Boolean mask of the rows passing ``filters`` (``None``: no filter), from the code columns."""
        if filters is None or not filters.active:
            return None
        columns = self.bundle.columns
        mask = np.ones(columns.n_rows, dtype=bool)
        wanted = (
            ("municipality", filters.municipalities),
            ("chapter", filters.chapters),
            ("section", filters.sections),
            ("kind", filters.kinds),
            ("document", filters.documents),
            ("year", filters.years),
        )
        for name, values in wanted:
            if values:
                mask &= columns.mask(name, values)
        for name, values in (("municipality", filters.exclude_municipalities), ("document", filters.exclude_documents)):
            if values:
                mask &= ~columns.mask(name, values)
        for finding_id in filters.exclude_ids:
            row = self.bundle.findings.row_of(finding_id)
            if row is not None:
                mask[row] = False
        return mask

    def _encode(self, query: str, mode: Mode) -> tuple[str, list[str], np.ndarray]:
        """The checked query text, its terms and its vector."""
        text = check_query(query)
        assert self.tokenizer is not None
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
        """Search with a natural-language query.

        A query without a word to match (only symbols or particles: 「・・・」) has no BM25 score: hybrid search
        then ranks by the dense leg alone; a ``bm25`` search says so with a :class:`QueryError`.

        Raises:
            QueryError: Empty or over-long query, ``k`` out of range, unknown mode, or a ``bm25`` query without
                a word.
        """
        _, terms, vector = self._encode(query, mode)
        return self.search_vectors(terms, vector, k, mode=mode, filters=filters, fusion=fusion)

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
        """One page of results (ranks ``offset + 1`` to ``offset + k``), how many findings match, and whether the
        query has an answer at all (see :class:`Results`).

        Raises:
            QueryError: As :meth:`search`; also ``offset`` negative or ``offset + k`` over the limit.
        """
        text, terms, vector = self._encode(query, mode)
        return self.query_vectors(text, terms, vector, k, offset=offset, filters=filters, mode=mode, fusion=fusion)

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
        """Search with pre-computed query terms and query vector (used by batch evaluation)."""
        ranking = self.rank_vectors(terms, vector, k, mode=mode, filters=filters, fusion=fusion, count=False)
        return [] if ranking is None else self._hits(ranking, 0, k)

    def query_vectors(
        self,
        text: str,
        terms: list[str],
        vector: np.ndarray,
        k: int = 10,
        *,
        offset: int = 0,
        filters: Filters | None = None,
        mode: Mode = "hybrid",
        fusion: FusionConfig | None = None,
    ) -> Results:
        """:meth:`query` with pre-computed query terms and vector."""
        check_page(offset, k)
        ranking = self.rank_vectors(terms, vector, offset + k, mode=mode, filters=filters, fusion=fusion)
        if ranking is None:  # nothing passes the filters: nothing can answer
            return Results(text, [], 0, False, offset)
        hits = self._hits(ranking, offset, offset + k)
        total, answerable = self._verdict(ranking)
        cutoff = self.calibration.finding if self.calibration is not None else None
        return Results(text, hits, total, answerable, offset, cutoff, ranking.total_exact)

    def rank_vectors(
        self,
        terms: list[str],
        vector: np.ndarray,
        k: int = 10,
        *,
        mode: Mode = "hybrid",
        filters: Filters | None = None,
        fusion: FusionConfig | None = None,
        count: bool = True,
    ) -> Ranking | None:
        """Rank the candidates of both legs (to depth ``max(depth, k)``), best first; ``None`` when no finding passes
        the filters. ``count``: also gather what ``total`` is counted over (with an ANN index, both legs' top
        :data:`TOTAL_POOL`; a search that returns hits only leaves it out)."""
        check_mode_and_k(mode, k)
        fusion = fusion or self.fusion
        allowed = self._allowed(filters)
        if allowed is not None and not allowed.any():
            return None
        depth = max(fusion.depth, k)
        bm25_all = self.bundle.sparse.scores(terms)
        bm25_top = np.zeros(0, dtype=np.int64)
        if mode != "dense":
            # A document that shares no term with the query is not a BM25 candidate (its rank would be noise).
            matching = bm25_all > 0
            bm25_top = top_ids(bm25_all, depth, np.flatnonzero(matching if allowed is None else matching & allowed))
        legs = self._dense_leg(vector, depth, allowed, bm25_all, bm25_top, count)
        dense_top = legs.top if mode != "bm25" else np.zeros(0, dtype=np.int64)
        candidates = np.unique(np.concatenate([bm25_top, dense_top]))
        bm25 = bm25_all[candidates]
        dense = self.bundle.dense.scores_for(vector, candidates)
        bm25_rank, dense_rank = rank_of(candidates, bm25_top), rank_of(candidates, dense_top)
        fused = fuse(bm25, dense, (bm25_rank, dense_rank), self._blocks[candidates], mode, fusion)
        order = order_by(fused, candidates)
        # The evidence is taken over the whole index, never the filtered part, so a finding's relevance does not
        # depend on the filters (a filter never raises `total`).
        evidence = query_evidence(self.bundle.sparse, terms, legs.summary, None)
        return Ranking(
            candidates[order],
            fused[order],
            bm25[order],
            dense[order],
            bm25_rank[order],
            dense_rank[order],
            evidence,
            bm25_all,
            legs.top,
            allowed,
            legs.rows,
            legs.cosines,
            legs.exact,
        )

    def _dense_leg(
        self,
        vector: np.ndarray,
        depth: int,
        allowed: np.ndarray | None,
        bm25_all: np.ndarray,
        bm25_top: np.ndarray,
        count: bool = True,
    ) -> _DenseLeg:
        """The dense leg's top ``depth`` (filtered; ties by row id), the summary of the cosines of the whole index,
        and the rows ``total`` is counted over with their cosines.

        With an exact (flat) dense index one pass scores every finding and all three come from it. With an ANN
        index (HNSW or IVF) the summary's mean and spread come from the vectors' stored moments (exact), its top from
        the ANN search, and ``total`` is counted over the allowed rows among both legs' top :data:`TOTAL_POOL`
        (gathered only when ``count``, by a second ANN search: the top is the same either way).
        """
        dense = self.bundle.dense
        if dense.kind == "flat":
            cosines = dense.cosines(vector)
            rows = np.arange(dense.n_docs) if allowed is None else np.flatnonzero(allowed)
            top = top_ids(cosines, depth, None if allowed is None else rows)
            return _DenseLeg(top, DenseSummary.of(cosines), rows, cosines if allowed is None else cosines[rows], True)
        top, _ = dense.search(vector, depth, allowed)  # the same candidates whether or not ``total`` is counted
        whole = top if allowed is None else dense.search(vector, 10, None)[0]
        best = np.sort(dense.scores_for(vector, whole[:10]))[::-1]
        mean, std = dense.moments_of(vector)
        summary = DenseSummary(float(best[0]), float(best[-1]), mean, std) if best.size else DenseSummary.of(best)
        if not count:
            return _DenseLeg(top, summary, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32), False)
        pool, _ = dense.search(vector, max(depth, TOTAL_POOL), allowed)
        matching = bm25_all > 0 if allowed is None else (bm25_all > 0) & allowed
        lexical = top_ids(bm25_all, TOTAL_POOL, np.flatnonzero(matching))
        rows = np.union1d(pool, np.union1d(lexical, bm25_top))
        return _DenseLeg(top, summary, rows, dense.scores_for(vector, rows), False)

    def _relevance(self, ranking: Ranking, stop: int) -> list[float | None]:
        """Relevance of the first ``stop`` candidates (``None`` each without calibration)."""
        stop = min(stop, len(ranking.candidates))
        if self.calibration is None:
            return [None] * stop
        rows = slice(0, stop)
        features = ranking.evidence.features(ranking.dense[rows], ranking.bm25[rows], ranking.candidates[rows])
        return [float(p) for p in self.calibration.probability(features)]

    def _hits(self, ranking: Ranking, start: int, stop: int) -> list[Hit]:
        """Hits ``start`` to ``stop`` (0-based, exclusive) of a ranking, ranks counted from 1."""
        relevance = self._relevance(ranking, stop)
        return [
            Hit(
                rank=i + 1,
                score=float(ranking.fused[i]),
                finding=self.findings[int(ranking.candidates[i])],
                bm25=float(ranking.bm25[i]),
                dense=float(ranking.dense[i]),
                bm25_rank=int(ranking.bm25_rank[i]),
                dense_rank=int(ranking.dense_rank[i]),
                relevance=relevance[i],
            )
            for i in range(start, min(stop, len(ranking.candidates)))
        ]

    def _verdict(self, ranking: Ranking) -> tuple[int, bool]:
        """``(total, answerable)`` of a ranking: one cosine pass over the allowed findings scores them all."""
        calibration = self.calibration
        if calibration is None:
            return uncalibrated_total(ranking.bm25_all, ranking.dense_top, ranking.allowed), True
        top = [p for p in self._relevance(ranking, calibration.top) if p is not None]
        answerable = bool(top) and max(top) >= calibration.answerable
        rows = ranking.all_rows
        features = ranking.evidence.features(ranking.all_cosines, ranking.bm25_all[rows], rows)
        total = int(np.count_nonzero(calibration.probability(features) >= calibration.finding))
        return total, answerable

    def similar(
        self,
        finding_id: str | None = None,
        *,
        text: str | None = None,
        k: int = 10,
        other_municipalities: bool = False,
        filters: Filters | None = None,
    ) -> list[Hit]:
        """Findings most similar to a finding (by id) or to a text, by hybrid search on that text.

        The finding itself is always excluded; with ``other_municipalities`` so are findings of its municipality, or
        of its document when it has no municipality (a user's file nobody set one for: "elsewhere" is then another
        document, never the same one).
        """
        if (finding_id is None) == (text is None):
            raise QueryError("similar() was given both or neither of a finding id and a text", "give exactly one")
        filters = filters or Filters()
        if finding_id is not None:
            source = self.finding(finding_id)
            query = source.text
            filters = similar_filters(source, filters, other_municipalities)
            # The stored vector is the finding's own embedding: no need to encode it again.
            assert self.tokenizer is not None
            row = self.bundle.findings.row_of(source.id)
            vector = self.bundle.dense.vectors(np.array([row]))[0]
            return self.search_vectors(self.tokenizer.tokenize(query), vector, k, filters=filters)
        return self.search(check_query(text or ""), k, filters=filters)

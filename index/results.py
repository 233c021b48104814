"""What a search returns: one :class:`Hit` per finding with the scores that ranked it, and a page of hits with the
count of all that match (:class:`Results`); JSON-ready, read and write no files."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kensaku.ingest.models import Finding


@dataclass(frozen=True)
class Hit:
    """One search result with the scores that produced it.

    Attributes:
        rank: 1-based position in the result list.
        score: Fused score (or the single leg's score in ``bm25``/``dense`` mode).
        finding: The finding, with its citation.
        bm25: Raw BM25 score of the finding for this query.
        dense: Cosine similarity of the finding to the query.
        bm25_rank: Rank in the BM25 leg's candidate list (0 if not among its top ``depth``).
        dense_rank: Rank in the dense leg's candidate list (0 if not among its top ``depth``).
        relevance: Calibrated probability (0–1) that the finding answers the query (:mod:`kensaku.index.relevance`);
            ``None`` when the index's model has no calibration.
        rerank: The cross-encoder's score when a reranker reordered the results (:mod:`kensaku.index.rerank`);
            ``None`` otherwise (and for hits below the reranked depth).
    """

    rank: int
    score: float
    finding: Finding
    bm25: float
    dense: float
    bm25_rank: int
    dense_rank: int
    relevance: float | None = None
    rerank: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: rank, score, id, text, citation first, then the other finding fields and leg scores."""
        data: dict[str, Any] = {
            "rank": self.rank,
            "score": round(self.score, 6),
            "id": self.finding.id,
            "text": self.finding.text,
            "citation": self.finding.citation,
        }
        data.update({k: v for k, v in self.finding.to_dict().items() if k not in data})
        data.update(
            {
                "bm25": round(self.bm25, 6),
                "dense": round(self.dense, 6),
                "bm25_rank": self.bm25_rank,
                "dense_rank": self.dense_rank,
                "relevance": None if self.relevance is None else round(self.relevance, 6),
                "rerank": None if self.rerank is None else round(self.rerank, 6),
            }
        )
        return data


@dataclass(frozen=True)
class Results:
    """One page of results with the count of all that match and the verdict on whether the query has an answer.

    Attributes:
        query: The query as searched (stripped).
        hits: Ranks ``offset + 1`` to ``offset + k`` of the ranking (the same hits as ``search(offset + k)[offset:]``);
            not cut by relevance, so a page may hold weak hits (their ``relevance`` says so).
        total: Findings that pass the filters and the calibrated relevance cut-off (see
            :mod:`kensaku.index.relevance`; without calibration, those sharing a content term with the query or among
            the dense leg's top ``depth``).
        answerable: Whether the best of the top hits is relevant enough: ``False`` means "nothing found" (always
            ``True`` without calibration).
        offset: Hits skipped before this page.
        cutoff: The relevance a finding needs to be counted in ``total`` (``None`` without calibration).
        total_exact: ``False`` when ``total`` was counted over both legs' best candidates only (an index large
            enough to have an IVF dense index: it is then a lower bound).
    """

    query: str
    hits: list[Hit]
    total: int
    answerable: bool
    offset: int
    cutoff: float | None = None
    total_exact: bool = True

    def relevant(self, hit: Hit) -> bool:
        """Whether ``hit`` clears the cut-off ``total`` counts by (always, without calibration)."""
        return self.cutoff is None or hit.relevance is None or hit.relevance >= self.cutoff

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: query, total, answerable, offset and the hits."""
        return {
            "query": self.query,
            "total": self.total,
            "answerable": self.answerable,
            "offset": self.offset,
            "total_exact": self.total_exact,
            "hits": [hit.to_dict() for hit in self.hits],
        }

"""Query an index: both legs to candidate depth, fuse, filter, cut to k; and similar findings for a finding or text."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

from kensaku.config import DEFAULTS, FusionConfig
from kensaku.errors import FindingNotFoundError, QueryError
from kensaku.index.embed import Embedder
from kensaku.index.hybrid import (
    MODES,
    Mode,
    block_lift,
    order_by,
    rank_of,
    rrf_fusion,
    top_ids,
    weighted_fusion,
)
from kensaku.index.relevance import (
    Calibration,
    DenseSummary,
    Ranking,
    load_calibration,
    query_evidence,
    uncalibrated_total,
)
from kensaku.index.store import IndexBundle
from kensaku.index.tokenizer import Tokenizer
from kensaku.ingest.models import KINDS, Finding


@dataclass(frozen=True)
class Filters:
    """Restrict results to findings whose fields are among the given values (empty = no restriction).

    Any sequence of strings may be given; it is kept as a tuple. ``documents`` are file names as in
    ``Finding.document``; ``years`` are matched against ``finding.extra["year"]`` (the document's year or 年度 set as
    metadata; a finding without one matches no year).

    >>> Filters(municipalities=["加賀市"]).municipalities
    ('加賀市',)
    """

    municipalities: Sequence[str] = ()
    chapters: Sequence[str] = ()
    sections: Sequence[str] = ()
    kinds: Sequence[str] = ()
    exclude_municipalities: Sequence[str] = ()
    exclude_ids: Sequence[str] = ()
    documents: Sequence[str] = ()
    years: Sequence[str] = ()
    exclude_documents: Sequence[str] = ()

    def __post_init__(self) -> None:
        """Keep every value as a tuple; reject a bare string (a sequence of characters) and an unknown kind."""
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, str):
                raise QueryError(f"Filters({item.name}={value!r}) is a string", f"give a list: [{value!r}]")
            object.__setattr__(self, item.name, tuple(value))
        unknown = [k for k in self.kinds if k not in KINDS]
        if unknown:
            raise QueryError(f"unknown kind {unknown[0]!r}", f"use one of {', '.join(KINDS)}")

    @property
    def active(self) -> bool:
        """Whether any restriction is set."""
        return any(
            (
                self.municipalities,
                self.chapters,
                self.sections,
                self.kinds,
                self.exclude_municipalities,
                self.exclude_ids,
                self.documents,
                self.years,
                self.exclude_documents,
            )
        )

    def accepts(self, finding: Finding) -> bool:
        """Whether ``finding`` passes every restriction."""
        checks = (
            (self.municipalities, finding.municipality),
            (self.chapters, finding.chapter),
            (self.sections, finding.section),
            (self.kinds, finding.kind),
            (self.documents, finding.document),
            (self.years, finding.extra.get("year", "")),
        )
        if any(allowed and value not in allowed for allowed, value in checks):
            return False
        return (
            finding.municipality not in self.exclude_municipalities
            and finding.id not in self.exclude_ids
            and finding.document not in self.exclude_documents
        )


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


# Letters and symbols that show nothing (Hangul fillers, the blank braille pattern): a query of only these, of
# whitespace (also U+00A0, U+3000), controls, format characters (ZWSP U+200B, BOM U+FEFF, U+2060) and combining marks
# without a base is empty.
_BLANK_CHARACTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
_BLANK_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "Me"})


def check_query(query: str) -> str:
    """Return the stripped query or raise :class:`QueryError` for an empty, undecodable or over-long one.

    A query of only invisible characters is empty; one with lone surrogates (bytes that were not UTF-8, as Python
    decodes a command line typed in another encoding) is refused.

    >>> check_query("  フェローの契約形態は　")
    'フェローの契約形態は'
    >>> check_query("\u200b\ufeff\u3000")
    Traceback (most recent call last):
    kensaku.errors.QueryError: the query is empty; type a question such as 「フェローの契約形態は」
    """
    if any("\ud800" <= ch <= "\udfff" for ch in query):
        raise QueryError(
            "the query contains bytes that are not UTF-8 (it was typed or passed in another encoding)",
            "use a UTF-8 terminal (e.g. LANG=ja_JP.UTF-8), or write the queries to a UTF-8 file for --queries",
        )
    text = query.strip()
    if all(ch in _BLANK_CHARACTERS or unicodedata.category(ch) in _BLANK_CATEGORIES for ch in text):
        raise QueryError("the query is empty", "type a question such as 「フェローの契約形態は」")
    if len(text) > DEFAULTS.max_query_chars:
        raise QueryError(
            f"the query has {len(text):,} characters, over the limit of {DEFAULTS.max_query_chars:,}",
            "shorten it to the question you want answered",
        )
    return text


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
        if mode == "bm25" and not terms:
            raise QueryError(
                f"the query {text[:40]!r} has no word for BM25 (only symbols, particles or spaces)",
                "add a content word, or search in hybrid or dense mode",
            )
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
        ranking = self.rank_vectors(terms, vector, k, mode=mode, filters=filters, fusion=fusion)
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
        if offset < 0 or offset + k > DEFAULTS.max_k:
            raise QueryError(
                f"offset={offset} with k={k} is out of range", f"keep 0 <= offset and offset + k <= {DEFAULTS.max_k}"
            )
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
    ) -> Ranking | None:
        """Rank the candidates of both legs (to depth ``max(depth, k)``), best first; ``None`` when no finding passes
        the filters."""
        if mode not in MODES:
            raise QueryError(f"unknown mode {mode!r}", f"use one of {', '.join(MODES)}")
        if not 1 <= k <= DEFAULTS.max_k:
            raise QueryError(f"k={k} is out of range", f"use 1 to {DEFAULTS.max_k}")
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
        legs = self._dense_leg(vector, depth, allowed, bm25_all, bm25_top)
        dense_top = legs.top if mode != "bm25" else np.zeros(0, dtype=np.int64)
        candidates = np.unique(np.concatenate([bm25_top, dense_top]))
        bm25 = bm25_all[candidates]
        dense = self.bundle.dense.scores_for(vector, candidates)
        bm25_rank, dense_rank = rank_of(candidates, bm25_top), rank_of(candidates, dense_top)
        if mode == "bm25":
            fused = bm25.astype(np.float64)
        elif mode == "dense":
            fused = dense.astype(np.float64)
        else:
            if fusion.method == "rrf":
                fused = rrf_fusion([bm25_rank, dense_rank], fusion.rrf_k)
            else:
                fused = weighted_fusion(bm25, dense, fusion.w_dense)
            fused = block_lift(fused, self._blocks[candidates], fusion.block_weight)
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
        self, vector: np.ndarray, depth: int, allowed: np.ndarray | None, bm25_all: np.ndarray, bm25_top: np.ndarray
    ) -> _DenseLeg:
        """The dense leg's top ``depth`` (filtered; ties by row id), the summary of the cosines of the whole index,
        and the rows ``total`` is counted over with their cosines.

        With an exact (flat) dense index one pass scores every finding and all three come from it. With an IVF
        index the summary's mean and spread come from the vectors' stored moments (exact), its top from the IVF
        search, and ``total`` is counted over the allowed rows among both legs' top :data:`TOTAL_POOL`.
        """
        dense = self.bundle.dense
        if dense.kind == "flat":
            cosines = dense.cosines(vector)
            rows = np.arange(dense.n_docs) if allowed is None else np.flatnonzero(allowed)
            top = top_ids(cosines, depth, None if allowed is None else rows)
            return _DenseLeg(top, DenseSummary.of(cosines), rows, cosines if allowed is None else cosines[rows], True)
        pool, _ = dense.search(vector, max(depth, TOTAL_POOL), allowed)
        whole = pool if allowed is None else dense.search(vector, 10, None)[0]
        best = np.sort(dense.scores_for(vector, whole[:10]))[::-1]
        mean, std = dense.moments_of(vector)
        summary = DenseSummary(float(best[0]), float(best[-1]), mean, std) if best.size else DenseSummary.of(best)
        matching = bm25_all > 0 if allowed is None else (bm25_all > 0) & allowed
        lexical = top_ids(bm25_all, TOTAL_POOL, np.flatnonzero(matching))
        rows = np.union1d(pool, np.union1d(lexical, bm25_top))
        return _DenseLeg(pool[:depth], summary, rows, dense.scores_for(vector, rows), False)

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
            exclude_muni, exclude_docs = filters.exclude_municipalities, filters.exclude_documents
            if other_municipalities and source.municipality:
                exclude_muni = (*exclude_muni, source.municipality)
            elif other_municipalities:
                exclude_docs = (*exclude_docs, source.document)
            filters = replace(
                filters,
                exclude_municipalities=exclude_muni,
                exclude_documents=exclude_docs,
                exclude_ids=(*filters.exclude_ids, source.id),
            )
            # The stored vector is the finding's own embedding: no need to encode it again.
            assert self.tokenizer is not None
            row = self.bundle.findings.row_of(source.id)
            vector = self.bundle.dense.vectors(np.array([row]))[0]
            return self.search_vectors(self.tokenizer.tokenize(query), vector, k, filters=filters)
        return self.search(check_query(text or ""), k, filters=filters)

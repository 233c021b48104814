"""Query an index: both legs to candidate depth, fuse, filter, cut to k; and similar findings for a finding or text."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from kensaku.config import DEFAULTS, FusionConfig
from kensaku.errors import FindingNotFoundError, QueryError
from kensaku.index.embed import Embedder
from kensaku.index.hybrid import MODES, Mode, order_by, rank_of, rrf_fusion, top_ids, weighted_fusion
from kensaku.index.store import IndexBundle
from kensaku.index.tokenizer import Tokenizer
from kensaku.ingest.models import KINDS, Finding


@dataclass(frozen=True)
class Filters:
    """Restrict results to findings whose fields are among the given values (empty = no restriction).

    Any sequence of strings may be given; it is kept as a tuple.

    >>> Filters(municipalities=["加賀市"]).municipalities
    ('加賀市',)
    """

    municipalities: Sequence[str] = ()
    chapters: Sequence[str] = ()
    sections: Sequence[str] = ()
    kinds: Sequence[str] = ()
    exclude_municipalities: Sequence[str] = ()
    exclude_ids: Sequence[str] = ()

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
            )
        )

    def accepts(self, finding: Finding) -> bool:
        """Whether ``finding`` passes every restriction."""
        checks = (
            (self.municipalities, finding.municipality),
            (self.chapters, finding.chapter),
            (self.sections, finding.section),
            (self.kinds, finding.kind),
        )
        if any(allowed and value not in allowed for allowed, value in checks):
            return False
        return finding.municipality not in self.exclude_municipalities and finding.id not in self.exclude_ids


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
    """

    rank: int
    score: float
    finding: Finding
    bm25: float
    dense: float
    bm25_rank: int
    dense_rank: int

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
            }
        )
        return data


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


@dataclass
class Searcher:
    """Hybrid search over one loaded index; build once per process and share (read-only, thread-safe).

    Args:
        bundle: The loaded index.
        embedder: The embedder the index was built with (same name as in its manifest).
        fusion: Fusion defaults (method, weight, depth).
        tokenizer: Optional tokenizer; by default one is made with the index's own tokenizer settings.
    """

    bundle: IndexBundle
    embedder: Embedder
    fusion: FusionConfig = field(default_factory=FusionConfig)
    tokenizer: Tokenizer | None = None

    def __post_init__(self) -> None:
        """Create the tokenizer the index was built with and the lookup tables."""
        if self.tokenizer is None:
            self.tokenizer = Tokenizer(self.bundle.manifest.tokenizer)
        self._row = {f.id: i for i, f in enumerate(self.bundle.findings)}

    @property
    def findings(self) -> tuple[Finding, ...]:
        """All findings, in index order."""
        return self.bundle.findings

    def finding(self, finding_id: str) -> Finding:
        """The finding with ``finding_id``.

        Raises:
            FindingNotFoundError: No such id (a ``KeyError``); the message shows what ids look like.
        """
        row = self._row.get(finding_id)
        if row is None:
            raise FindingNotFoundError(
                f"no finding with id {finding_id!r} in this index", f"ids look like {self.findings[0].id!r}"
            )
        return self.findings[row]

    def _allowed(self, filters: Filters | None) -> np.ndarray | None:
        if filters is None or not filters.active:
            return None
        return np.array([i for i, f in enumerate(self.findings) if filters.accepts(f)], dtype=np.int64)

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
        text = check_query(query)
        assert self.tokenizer is not None
        terms = self.tokenizer.tokenize(text)
        if mode == "bm25" and not terms:
            raise QueryError(
                f"the query {text[:40]!r} has no word for BM25 (only symbols, particles or spaces)",
                "add a content word, or search in hybrid or dense mode",
            )
        vector = self.embedder.encode_queries([text])[0]
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
        """Search with pre-computed query terms and query vector (used by batch evaluation)."""
        if mode not in MODES:
            raise QueryError(f"unknown mode {mode!r}", f"use one of {', '.join(MODES)}")
        if not 1 <= k <= DEFAULTS.max_k:
            raise QueryError(f"k={k} is out of range", f"use 1 to {DEFAULTS.max_k}")
        fusion = fusion or self.fusion
        allowed = self._allowed(filters)
        if allowed is not None and allowed.size == 0:
            return []
        depth = max(fusion.depth, k)
        bm25_all = self.bundle.sparse.scores(terms)
        bm25_top = np.zeros(0, dtype=np.int64)
        if mode != "dense":
            # A document that shares no term with the query is not a BM25 candidate (its rank would be noise).
            matching = np.flatnonzero(bm25_all > 0)
            bm25_top = top_ids(bm25_all, depth, matching if allowed is None else np.intersect1d(matching, allowed))
        dense_top = np.zeros(0, dtype=np.int64)
        if mode != "bm25":
            dense_top, _ = self.bundle.dense.search(vector, depth, allowed)
        candidates = np.unique(np.concatenate([bm25_top, dense_top]))
        bm25 = bm25_all[candidates]
        dense = self.bundle.dense.scores_for(vector, candidates)
        bm25_rank, dense_rank = rank_of(candidates, bm25_top), rank_of(candidates, dense_top)
        if mode == "bm25":
            fused = bm25.astype(np.float64)
        elif mode == "dense":
            fused = dense.astype(np.float64)
        elif fusion.method == "rrf":
            fused = rrf_fusion([bm25_rank, dense_rank], fusion.rrf_k)
        else:
            fused = weighted_fusion(bm25, dense, fusion.w_dense)
        order = order_by(fused, candidates)[:k]
        return [
            Hit(
                rank=position,
                score=float(fused[i]),
                finding=self.findings[int(candidates[i])],
                bm25=float(bm25[i]),
                dense=float(dense[i]),
                bm25_rank=int(bm25_rank[i]),
                dense_rank=int(dense_rank[i]),
            )
            for position, i in enumerate(order, start=1)
        ]

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

        The finding itself is always excluded; with ``other_municipalities`` so are findings of its municipality.
        """
        if (finding_id is None) == (text is None):
            raise QueryError("similar() was given both or neither of a finding id and a text", "give exactly one")
        filters = filters or Filters()
        if finding_id is not None:
            source = self.finding(finding_id)
            query = source.text
            exclude_ids = (*filters.exclude_ids, source.id)
            exclude_muni = filters.exclude_municipalities
            if other_municipalities and source.municipality:
                exclude_muni = (*exclude_muni, source.municipality)
            filters = Filters(
                municipalities=filters.municipalities,
                chapters=filters.chapters,
                sections=filters.sections,
                kinds=filters.kinds,
                exclude_municipalities=exclude_muni,
                exclude_ids=exclude_ids,
            )
            # The stored vector is the finding's own embedding: no need to encode it again.
            assert self.tokenizer is not None
            vector = self.bundle.dense.vectors(np.array([self._row[source.id]]))[0]
            return self.search_vectors(self.tokenizer.tokenize(query), vector, k, filters=filters)
        return self.search(check_query(text or ""), k, filters=filters)

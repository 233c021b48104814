"""One query's candidates from Milvus, scored exactly on the client (:class:`Pool`), for
:mod:`kensaku.index.milvus_search`.

Both legs are asked for their top ``limit`` under the filter expression; the union's vectors, sparse rows, lengths
and blocks are fetched in one ``get``; cosines come from ``DenseIndex.scores_for`` over the fetched vectors and BM25
from :func:`~kensaku.index.sparse.accumulate` over the term frequencies read back from the stored weights
(:func:`~kensaku.index.milvus.recover_tf`), with the current N, df and mean length: the local index's arithmetic.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from kensaku.index.dense import DenseIndex
from kensaku.index.milvus import recover_tf
from kensaku.index.milvus_schema import Stats, call
from kensaku.index.sparse import accumulate, length_norms

if TYPE_CHECKING:
    from kensaku.index.milvus import MilvusStore

NONE = np.zeros(0, dtype=np.int64)
MARGIN = 20  # extra candidates asked of each leg beyond the depth (Milvus's scores are a few ulp off)
TIE = 1e-5  # relative: Milvus scores this close to the depth-th count as tied with it
MAX_LIMIT = 16_384  # Milvus's largest top-k


def leg_top(scores: np.ndarray, seqs: np.ndarray, eligible: np.ndarray, depth: int) -> np.ndarray:
    """Pool positions of a leg's best ``depth`` among ``eligible`` (best first, ties by index order: the local
    ``top_ids``)."""
    positions = np.flatnonzero(eligible)
    order = np.lexsort((seqs[positions], -scores[positions]))[:depth]
    return positions[order].astype(np.int64)


@dataclass(frozen=True)
class Pool:
    """A query's candidates (both legs, filtered), in index order, with their exact scores.

    Attributes:
        seqs: Row keys, ascending (index order).
        bm25, dense: Exact BM25 and cosine of each.
        from_dense: Whether the dense leg returned the row (the lexical leg's rows have ``bm25 > 0``).
        blocks: ■ block of each row.
        postings: Per query term id, the pool positions holding it and the term's frequency there.
        unfiltered_top: Exact cosines of the whole collection's best ten (best first).
        vectors: The rows' vectors.
    """

    seqs: np.ndarray
    bm25: np.ndarray
    dense: np.ndarray
    from_dense: np.ndarray
    blocks: np.ndarray
    postings: dict[int, tuple[np.ndarray, np.ndarray]]
    lengths: np.ndarray
    unfiltered_top: np.ndarray
    vectors: np.ndarray
    none = NONE

    @classmethod
    def gather(
        cls,
        store: MilvusStore,
        terms: Sequence[str],
        vector: np.ndarray,
        depth: int,
        expression: str,
        lexical: bool,
    ) -> Pool | None:
        """Ask both legs, fetch the union and score it (``None`` when no row passes ``expression``)."""
        stats = store.stats
        dense_ids = _leg(store, "dense", [np.asarray(vector, np.float32).tolist()], depth, expression)
        if not dense_ids:
            return None
        whole = (
            [i for i, _ in _search(store, "dense", [np.asarray(vector, np.float32).tolist()], 10, "")]
            if expression
            else []
        )
        weights = query_weights(stats, terms)  # also in dense mode: the candidates' BM25 is reported
        sparse_ids = _leg(store, "sparse", [weights], depth, expression) if weights and lexical else []
        seqs = np.unique(np.asarray(dense_ids + sparse_ids, dtype=np.int64))
        fetched = store.rows(sorted({*seqs.tolist(), *whole}), ["dense", "sparse", "length", "block"])
        vectors = np.asarray([fetched[int(s)]["dense"] for s in seqs], dtype=np.float32)
        q = np.asarray(vector, dtype=np.float32)
        dense = DenseIndex(vectors).scores_for(q, np.arange(seqs.size))
        top_rows = np.asarray([fetched[s]["dense"] for s in whole], dtype=np.float32).reshape(-1, q.size)
        unfiltered = DenseIndex(top_rows).scores_for(q, np.arange(len(whole))) if whole else dense
        lengths = np.asarray([int(fetched[int(s)]["length"]) for s in seqs], dtype=np.int64)
        postings = _postings([fetched[int(s)]["sparse"] for s in seqs], lengths, stats, weights)
        pool = cls(
            seqs=seqs,
            bm25=np.zeros(seqs.size, dtype=np.float32),
            dense=dense,
            from_dense=np.isin(seqs, np.asarray(dense_ids, dtype=np.int64)),
            blocks=np.asarray([int(fetched[int(s)]["block"]) for s in seqs], dtype=np.int64),
            postings=postings,
            lengths=lengths,
            unfiltered_top=np.sort(unfiltered)[::-1][:10],
            vectors=vectors,
        )
        sparse = CandidateSparse(pool, stats)
        norms = length_norms(lengths, stats.avgdl, stats.k1, stats.b)
        scores = accumulate(seqs.size, terms, sparse.pool_postings, lambda docs: norms[docs], sparse.idf)
        return cls(**{**pool.__dict__, "bm25": scores})

    def cosines(self, query: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """Cosines of the rows at ``positions`` as the local searcher computes its candidates' (one product over
        exactly those rows, in that order: BLAS may round a row differently in a matrix of another size)."""
        return DenseIndex(self.vectors[positions]).scores_for(query, np.arange(positions.size))


def query_weights(stats: Stats, terms: Sequence[str]) -> dict[int, float]:
    """The lexical leg's query: ``float32(idf) · count`` per known term (none for a term in no finding)."""
    counts = Counter(stats.vocab[t] for t in terms if t in stats.vocab and stats.df[stats.vocab[t]] > 0)
    return {tid: float(np.float32(stats.idf(int(stats.df[tid])))) * n for tid, n in counts.items()}


def _leg(store: MilvusStore, field: str, data: list[Any], depth: int, expression: str) -> list[int]:
    """Row keys of a leg's top ``depth`` and :data:`MARGIN` more; while the last one still ties the ``depth``-th
    (within :data:`TIE`), twice as many (up to :data:`MAX_LIMIT`): every row tied at the cut is fetched, so the
    exact scores and the tie-break by index order choose among all of them, as the local index does."""
    limit = depth + MARGIN
    while True:
        hits = _search(store, field, data, limit, expression)
        if len(hits) < limit or limit >= MAX_LIMIT:
            return [i for i, _ in hits]
        cut = hits[depth - 1][1]
        if hits[-1][1] < cut - TIE * max(abs(cut), 1e-6):
            return [i for i, _ in hits]
        limit = min(2 * limit, MAX_LIMIT)


def _search(store: MilvusStore, field: str, data: list[Any], limit: int, expression: str) -> list[tuple[int, float]]:
    """Row keys and Milvus scores of a leg's top ``limit`` (inner product) under ``expression``."""
    params: dict[str, Any] = {"metric_type": "IP"}
    if field == "dense" and store.uri.kind == "server":
        params["params"] = {"ef": max(2 * limit, 64)}
    result = call(
        store.uri,
        f"searching the {field} leg",
        store.client.search,
        store.uri.collection,
        data=data,
        anns_field=field,
        limit=limit,
        filter=expression,
        output_fields=[],
        search_params=params,
        timeout=store.timeout,
    )
    return [(int(hit["id"]), float(hit["distance"])) for hit in result[0]] if result else []


def _postings(
    rows: list[dict[int, float]], lengths: np.ndarray, stats: Stats, weights: dict[int, float]
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Per query term id, the pool positions holding it and the term frequency read back from the weight."""
    norms_ref = length_norms(lengths, stats.avgdl_ref, stats.k1, stats.b)
    out: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for tid in weights:
        at = [i for i, row in enumerate(rows) if tid in row]
        positions = np.asarray(at, dtype=np.int64)
        stored = np.asarray([rows[i][tid] for i in at], dtype=np.float32)
        tfs = recover_tf(stored, norms_ref[positions]).astype(np.float32)
        out[tid] = (positions, tfs)
    return out


class CandidateSparse:
    """The pool seen as a BM25 index with the whole collection's N and df (the ``Sparse`` protocol of
    :func:`~kensaku.index.relevance.term_coverage`): ``idf`` ignores the posting count it is given and answers for
    the term last asked, whose df is the collection's. :meth:`postings` adds one phantom row past the pool holding
    every term some finding has, so that a term no candidate holds is not taken for unknown."""

    def __init__(self, pool: Pool, stats: Stats) -> None:
        """Wrap a pool."""
        self.pool, self.stats = pool, stats
        self._df = 0

    @property
    def n_docs(self) -> int:
        """The pool's rows and the phantom row."""
        return int(self.pool.seqs.size) + 1

    def pool_postings(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """The pool positions holding ``term`` and its frequency there (remembers the term's df for :meth:`idf`)."""
        tid = self.stats.vocab.get(term, -1)
        self._df = int(self.stats.df[tid]) if tid >= 0 else 0
        found = self.pool.postings.get(tid)
        return found if found is not None else (NONE, np.zeros(0, dtype=np.float32))

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`pool_postings` plus the phantom row when some finding of the collection holds ``term``."""
        docs, tfs = self.pool_postings(term)
        if self._df > 0:
            return np.append(docs, self.pool.seqs.size), np.append(tfs, np.float32(1))
        return docs, tfs

    def idf(self, df: int) -> float:
        """Lucene's idf of the term last asked, with the whole collection's N and df."""
        return self.stats.idf(self._df)

    def common(self, term: str) -> None:
        """No term's full-length array is kept (``Sparse.common``)."""
        return None

    def scores(self, terms: Sequence[str]) -> np.ndarray:
        """The pool's exact BM25 (as ``pool.bm25``)."""
        return self.pool.bm25

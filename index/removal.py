"""Removed rows: ``kensaku remove`` of a document marks its rows removed instead of rebuilding the index.

The rows of the removed documents stay in the index's files (the build's and its parts'), and a file lists them
(``removed/0001.npy``: the sorted numbers of the rows in the files), named by the manifest together with their
count. The manifest no longer lists the documents, and the index is opened as a *view* of the rows that remain
(:func:`live_view`): the findings, the code columns, the vectors and the BM25 leg number only those rows, in the
same order, so everything above (searches, filters, the documents list, exports, rebuilds) sees the index a full
build of the remaining documents would give:

- BM25 statistics (N, each query term's document frequency, the mean length) count only the remaining rows, so the
  scores equal a full build's bit for bit;
- the code columns are those of the remaining rows, values in first-seen order and blocks renumbered, equal to
  :meth:`kensaku.index.columns.Columns.of` over them;
- the dense leg searches with the removed rows masked out (the exact search, and the ANN index's selector).

A removal costs what the document costs (its rows are found through the manifest's per-document counts) plus a few
array operations over the row numbers, not a rebuild. Once removed rows would pass :data:`MAX_REMOVED_SHARE` of the
rows in the files, or the index cannot hold removed rows (an older format), ``remove`` builds again, which drops
them from the files (as Lucene merges away deleted documents).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from kensaku.index.columns import FIELDS, Columns, FindingTable
from kensaku.index.dense import DenseIndex, _as_ids
from kensaku.index.parts import PartedSparse, continues_block
from kensaku.index.sparse import CommonTerms, KeptTerm, SparseIndex, accumulate, length_norms
from kensaku.ingest.models import Finding

REMOVED = "removed"
MAX_REMOVED_SHARE = 0.5


def removed_name(number: int) -> str:
    """The file of the ``number``-th list of removed rows, relative to the index directory."""
    return f"{REMOVED}/{number:04d}.npy"


@dataclass(frozen=True)
class Rows:
    """Which rows of the index's files remain.

    Attributes:
        stored: Rows in the files.
        removed: The removed rows, sorted, unique.
    """

    stored: int
    removed: np.ndarray

    @cached_property
    def keep(self) -> np.ndarray:
        """The remaining rows (row numbers in the files), ascending: view row ``i`` is file row ``keep[i]``."""
        alive = np.ones(self.stored, dtype=bool)
        alive[self.removed] = False
        return np.flatnonzero(alive).astype(np.int64)

    @cached_property
    def alive(self) -> np.ndarray:
        """Boolean mask over the rows in the files: ``True`` for a remaining row."""
        mask = np.zeros(self.stored, dtype=bool)
        mask[self.keep] = True
        return mask

    @cached_property
    def view_of(self) -> np.ndarray:
        """File row → view row (``-1`` for a removed row)."""
        out = np.full(self.stored, -1, dtype=np.int64)
        out[self.keep] = np.arange(self.keep.size, dtype=np.int64)
        return out


def live_columns(columns: Columns, rows: Rows, continues: Sequence[bool]) -> Columns:
    """The columns of the remaining rows, as :meth:`Columns.of` would make them over those rows' findings.

    Args:
        columns: The columns of all rows in the files.
        rows: Which remain.
        continues: For each gap left by removed rows (in row order), whether the row after it continues the block
            of the row before it.
    """
    keep = rows.keep
    values: dict[str, tuple[str, ...]] = {}
    codes = np.zeros((len(FIELDS), keep.size), dtype=np.int32)
    for i, name in enumerate(FIELDS):
        old = columns.codes[i][keep]
        used, first = np.unique(old, return_index=True)
        order = used[np.argsort(first, kind="stable")]  # the codes by the first remaining row that has them
        lookup = np.zeros(len(columns.values[name]), dtype=np.int32)
        lookup[order] = np.arange(order.size, dtype=np.int32)
        codes[i] = lookup[old]
        values[name] = tuple(columns.values[name][int(c)] for c in order)
    blocks = columns.blocks[keep]
    starts = np.ones(keep.size, dtype=bool)
    starts[1:] = blocks[1:] != blocks[:-1]
    gaps = np.flatnonzero(np.diff(keep) > 1) + 1  # view rows that follow removed rows
    starts[gaps[np.asarray(continues, dtype=bool)]] = False
    live = rows.alive[columns.hash_rows]
    return Columns(
        values, codes, np.cumsum(starts).astype(np.int64), columns.hashes[live], rows.view_of[columns.hash_rows[live]]
    )


def gap_rows(rows: Rows) -> list[tuple[int, int]]:
    """For each gap left by removed rows between remaining ones: (file row before it, file row after it)."""
    keep = rows.keep
    gaps = np.flatnonzero(np.diff(keep) > 1)
    return [(int(keep[g]), int(keep[g + 1])) for g in gaps]


class LiveTable(FindingTable):
    """The findings of the remaining rows, numbered from 0 (rows are parsed from the files when asked for)."""

    def __init__(self, columns: Columns, table: FindingTable, rows: Rows) -> None:
        """The rows of ``table`` that ``rows`` keeps, under their ``columns`` (:func:`live_columns`)."""
        super().__init__(columns, rows=None)
        self.table, self.rows = table, rows

    def _at(self, index: int) -> Finding:
        """View row ``index``."""
        return self.table[int(self.rows.keep[index])]

    def __iter__(self) -> Iterator[Finding]:
        """The remaining rows in order."""
        return (self.table[int(row)] for row in self.rows.keep)


class LiveDense(DenseIndex):
    """The vectors of the remaining rows; searches mask the removed rows out."""

    def __init__(self, dense: DenseIndex, rows: Rows) -> None:
        """The rows of ``dense`` that ``rows`` keeps."""
        self.dense, self.rows = dense, rows
        self.nprobe = getattr(dense, "nprobe", 0)
        self._moments: np.ndarray | None = None

    @property
    def n_docs(self) -> int:
        """Number of remaining vectors."""
        return int(self.rows.keep.size)

    @property
    def dim(self) -> int:
        """Vector dimension."""
        return self.dense.dim

    @property
    def kind(self) -> str:
        """The kind of search of the index in the files (``flat`` or an ANN index)."""
        return self.dense.kind

    def cosines(self, query: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """Cosine of ``query`` to every remaining row (or to ``rows``), in row order."""
        if rows is not None:
            return self.scores_for(query, rows)
        return np.asarray(self.dense.cosines(query)[self.rows.keep])

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` remaining rows (among ``allowed``: a mask over them or their numbers), best first."""
        mask = self.rows.alive if allowed is None else np.zeros(self.rows.stored, dtype=bool)
        if allowed is not None:
            mask[self.rows.keep[_as_ids(allowed, self.n_docs)]] = True
        ids, scores = self.dense.search(query, k, mask)
        return self.rows.view_of[ids], scores

    def scores_for(self, query: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """Cosine of ``query`` to the rows ``ids``."""
        return self.dense.scores_for(query, self.rows.keep[np.asarray(ids, dtype=np.int64)])

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        """The stored vectors of the rows ``ids``."""
        return self.dense.vectors(self.rows.keep[np.asarray(ids, dtype=np.int64)])

    def moment_matrix(self) -> np.ndarray:
        """Mean and second moment of the remaining vectors: those of all rows less the removed rows' share."""
        if self._moments is None:
            stored, removed = self.rows.stored, int(self.rows.removed.size)
            gone = np.asarray(self.dense.vectors(self.rows.removed), dtype=np.float64)
            less = np.vstack([gone.sum(axis=0), gone.T @ gone])
            self._moments = (self.dense.moment_matrix() * stored - less) / max(stored - removed, 1)
        return self._moments

    def moments_of(self, query: np.ndarray) -> tuple[float, float]:
        """Mean and standard deviation of the cosines of the remaining rows to ``query``."""
        if self.kind == "flat":
            cosines = self.cosines(query)
            return float(cosines.mean()), max(float(cosines.std()), 1e-6)
        q = np.asarray(query, dtype=np.float64).reshape(-1)
        moments = self.moment_matrix()
        mean = float(moments[0] @ q)
        variance = float(q @ moments[1:] @ q) - mean * mean
        return mean, max(math.sqrt(max(variance, 0.0)), 1e-6)


class LiveSparse:
    """BM25 over the remaining rows: N, document frequencies and the mean length count only them, so the scores
    equal those of an index built from them."""

    def __init__(self, sparse: SparseIndex | PartedSparse, rows: Rows) -> None:
        """The rows of ``sparse`` (the build's, or the build's and its parts') that ``rows`` keeps."""
        self.sparse, self.rows = sparse, rows
        self.k1, self.b = sparse.k1, sparse.b
        total = sparse.total_length - int(np.asarray(sparse.lengths_of(rows.removed), dtype=np.int64).sum())
        self._avgdl = total / max(self.n_docs, 1)  # exact integers: the mean a build over these rows computes

    @property
    def n_docs(self) -> int:
        """Number of remaining documents."""
        return int(self.rows.keep.size)

    def idf(self, df: int) -> float:
        """Lucene's idf of a term in ``df`` remaining documents."""
        return math.log(1.0 + (self.n_docs - df + 0.5) / (df + 0.5))

    def _postings(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """The file rows of the remaining documents holding ``term``, and its frequency in each."""
        docs, tfs = self.sparse.postings(term)
        alive = self.rows.alive[docs]
        return np.asarray(docs, dtype=np.int64)[alive], tfs[alive]

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """The remaining documents (view rows) holding ``term`` and its frequency in each."""
        docs, tfs = self._postings(term)
        return self.rows.view_of[docs], tfs

    def scores(self, terms: Sequence[str]) -> np.ndarray:
        """BM25 score of every remaining document for the query terms (as a build over them scores)."""
        return accumulate(self.n_docs, terms, self.postings, lambda docs: self._norms[docs], self.idf, self._common)

    def common(self, term: str) -> KeptTerm | None:
        """The kept full-length arrays of ``term`` (:class:`CommonTerms`), or ``None``."""
        return self._common.get(term)

    @cached_property
    def _common(self) -> CommonTerms:
        return CommonTerms(self.n_docs)

    @cached_property
    def _norms(self) -> np.ndarray:
        """Each remaining row's length normalisation with their mean length (:func:`length_norms`), by view row."""
        lengths = self.sparse.lengths_of(self.rows.keep)
        return length_norms(lengths, self._avgdl, self.k1, self.b)


def live_view(
    table: FindingTable, dense: DenseIndex, sparse: SparseIndex | PartedSparse, removed: np.ndarray
) -> tuple[LiveTable, LiveDense, LiveSparse]:
    """The index whose files hold ``table``, ``dense`` and ``sparse``, without the ``removed`` rows.

    Raises:
        ValueError: The removed rows are not sorted, unique row numbers of the files, or leave no row.
    """
    stored = len(table)
    removed = np.asarray(removed, dtype=np.int64)
    if removed.ndim != 1 or (removed.size and (removed[0] < 0 or removed[-1] >= stored)):
        raise ValueError(f"the removed rows are not rows of the {stored} in the files")
    if removed.size > 1 and not bool(np.all(np.diff(removed) > 0)):
        raise ValueError("the removed rows are not sorted and unique")
    if removed.size >= stored:
        raise ValueError("every row of the index is removed")
    rows = Rows(stored, removed)
    continues = [continues_block(table[a], table[b]) for a, b in gap_rows(rows)]
    columns = live_columns(table.columns, rows, continues)
    return LiveTable(columns, table, rows), LiveDense(dense, rows), LiveSparse(sparse, rows)


def rows_of_documents(counts: Sequence[int], drop: Sequence[bool], keep: np.ndarray) -> np.ndarray:
    """The file rows of the documents to drop: ``counts`` are the documents' rows in view order (the manifest's
    sources), ``drop`` says which go, ``keep`` maps view rows to file rows."""
    starts = [0, *itertools.accumulate(counts)]
    picked = [keep[starts[i] : starts[i + 1]] for i, gone in enumerate(drop) if gone]
    return np.concatenate(picked).astype(np.int64) if picked else np.zeros(0, dtype=np.int64)

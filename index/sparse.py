"""BM25 over MeCab content-word tokens, with full score arrays so fusion and filters stay exact.

The index keeps term frequencies, not scores: for each term the documents holding it and how often (a CSC matrix:
``indptr`` by term id, ``docs``, ``tfs``), and each document's length. A query's scores are computed from them with
the Lucene variant of BM25 (Kamphuis et al., ECIR 2020), the formula bm25s uses and with its float32 arithmetic, so
the scores equal those of the bm25s indexes kensaku wrote before format 6 (``tests/unit/test_bm25_oracle.py``)::

    idf(t)   = ln(1 + (N - df + 0.5) / (df + 0.5))
    score    = Σ_t idf(t) · tf / (tf + k1 · (1 - b + b · dl / avgdl))

Keeping frequencies rather than scores is what lets N, df and avgdl change without touching every stored score (an
index made of parts). The matrix is built with numpy from :class:`TokenIds` (one sort of all (term, document)
pairs; no Python loop per term), and memory-mapped on open. Indexes of formats 1–5 hold bm25s score arrays instead;
:class:`SparseIndex.load` reads those through bm25s.

Files (``bm25/``): ``vocab.json`` (the terms, in id order), ``indptr.npy`` (int64), ``docs.npy`` (int32),
``tfs.npy`` (float32), ``lengths.npy`` (int32), ``params.json`` (k1, b).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from kensaku.config import DEFAULTS
from kensaku.errors import NothingToIndexError

VOCAB, INDPTR, DOCS, TFS, LENGTHS, PARAMS = (
    "vocab.json",
    "indptr.npy",
    "docs.npy",
    "tfs.npy",
    "lengths.npy",
    "params.json",
)


BUILD_CHUNK = 65_536  # documents counted at a time by a build (:func:`_postings`)
COMMON_SHARE = 8  # a term in at least 1/8 of the documents is scored as a full-length array (:class:`CommonTerms`)
COMMON_BUDGET = 384 * 2**20  # bytes of such arrays an open index keeps (48 terms at a million findings)


class TokenIds:
    """Documents as arrays of term ids and the vocabulary that names them: a build keeps this, 4 bytes a term,
    instead of a Python string per term (which took ~26 KB per finding while a 1M-finding build held them).

    >>> docs = TokenIds()
    >>> docs.add(["契約", "フェロー", "契約"]); docs.add([])
    >>> [d.tolist() for d in docs.docs], docs.vocab, bool(docs)
    ([[0, 1, 0], []], {'契約': 0, 'フェロー': 1}, True)
    """

    def __init__(self) -> None:
        """An empty collection (use :meth:`add`, or :meth:`of` for token lists)."""
        self.docs: list[np.ndarray] = []
        self.vocab: dict[str, int] = {}

    @classmethod
    def of(cls, token_lists: Sequence[Sequence[str]]) -> TokenIds:
        """The term ids of documents given as lists of terms."""
        out = cls()
        for terms in token_lists:
            out.add(terms)
        return out

    def add(self, terms: Sequence[str]) -> None:
        """Append one document."""
        vocab = self.vocab
        self.docs.append(np.fromiter((vocab.setdefault(t, len(vocab)) for t in terms), dtype=np.int32))

    def __len__(self) -> int:
        """Number of documents."""
        return len(self.docs)

    def __bool__(self) -> bool:
        """Whether some document has a term."""
        return bool(self.vocab)


def lucene(tfs: np.ndarray, norms: np.ndarray, idf: float) -> np.ndarray:
    """BM25 (Lucene) scores of one term's postings, computed as bm25s computes its stored scores: the idf rounded to
    float32, the saturation ``tf / (norm + tf)`` with the documents' :func:`length_norms` and the product in float64,
    the score rounded to float32."""
    tf = tfs.astype(np.float64)
    scores: np.ndarray = (np.float64(np.float32(idf)) * (tf / (norms + tf))).astype(np.float32)
    return scores


def _postings(docs: Sequence[np.ndarray], n_terms: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Term-major postings of ``docs`` (arrays of term ids): ``indptr`` (int64), the documents of each term in
    ascending order (int32) and the term's frequency in each (float32).

    Built :data:`BUILD_CHUNK` documents at a time (each chunk's (term, document) pairs counted, then placed into
    the term-major arrays), so the build's extra memory is about 12 bytes a posting, not the 40 of counting all the
    pairs at once as int64 (3.5 GB at a million findings).
    """
    per_term = np.zeros(n_terms, dtype=np.int64)
    pieces: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for start in range(0, len(docs), BUILD_CHUNK):
        block = docs[start : start + BUILD_CHUNK]
        sizes = np.fromiter((d.size for d in block), dtype=np.int64, count=len(block))
        terms = np.concatenate(block).astype(np.int64) if sizes.sum() else np.zeros(0, dtype=np.int64)
        owners = np.repeat(np.arange(len(block), dtype=np.int64), sizes)
        pairs, counts = np.unique(terms * len(block) + owners, return_counts=True)  # by term, then document
        del terms, owners
        term_of = (pairs // len(block)).astype(np.int32)
        pieces.append((term_of, (pairs % len(block) + start).astype(np.int32), counts.astype(np.float32)))
        per_term += np.bincount(term_of, minlength=n_terms)
    indptr = np.zeros(n_terms + 1, dtype=np.int64)
    np.cumsum(per_term, out=indptr[1:])
    postings = np.empty(int(indptr[-1]), dtype=np.int32)
    tfs = np.empty(int(indptr[-1]), dtype=np.float32)
    cursor = indptr[:-1].copy()
    pieces.reverse()
    while pieces:  # chunk by chunk, in document order: each term's documents stay ascending
        term_of, owner, count = pieces.pop()
        used, first, n = np.unique(term_of, return_index=True, return_counts=True)
        at = cursor[term_of] + np.arange(term_of.size, dtype=np.int64) - np.repeat(first, n)
        postings[at], tfs[at] = owner, count
        cursor[used] += n
    return indptr, postings, tfs


def length_norms(lengths: np.ndarray, avgdl: float, k1: float, b: float) -> np.ndarray:
    """Each document's BM25 length normalisation ``k1 · (1 − b + b · |d| / avgdl)`` in float64, as bm25s computes it
    per posting (the same values, computed once per document), for :func:`lucene`."""
    normalised: np.ndarray = k1 * ((1 - b) + b * np.asarray(lengths).astype(np.float64) / avgdl)
    return normalised


@dataclass(frozen=True)
class KeptTerm:
    """A common term's full-length arrays: its BM25 ``scores`` of every document, its idf where it occurs
    (``marks``, for the query's term coverage) and its document frequency ``df``."""

    scores: np.ndarray
    marks: np.ndarray
    df: int


class CommonTerms:
    """Full-length float32 arrays of an index's common terms (in at least 1/:data:`COMMON_SHARE` of the documents),
    made the first time a query holds them and kept up to :data:`COMMON_BUDGET` bytes.

    A common term's postings cost a gather and a scatter per document; its kept array is added in one contiguous
    pass, the same float32 sums (a document without the term adds 0). Long queries (a finding's whole text, for
    ``similar``) are mostly such terms. An index never changes once open, so nothing is ever invalidated; threads
    that race for a term make the same arrays.
    """

    def __init__(self, n_docs: int, budget: int | None = None) -> None:
        """Keep arrays of ``n_docs`` values, up to ``budget`` bytes (:data:`COMMON_BUDGET` when ``None``)."""
        self.n_docs = n_docs
        self._capacity = (COMMON_BUDGET if budget is None else budget) // max(8 * n_docs, 1)
        self._kept: dict[str, KeptTerm] = {}

    def get(self, term: str) -> KeptTerm | None:
        """The kept arrays of ``term``, or ``None``."""
        return self._kept.get(term)

    def keep(self, term: str, docs: np.ndarray, values: np.ndarray, idf: float) -> np.ndarray | None:
        """The scores ``values`` of ``docs`` as a full-length array, kept with the term's ``idf`` marks, when
        ``term`` is common and the budget allows; otherwise ``None``."""
        if docs.size * COMMON_SHARE < self.n_docs or len(self._kept) >= self._capacity:
            return None
        scores, marks = np.zeros(self.n_docs, dtype=np.float32), np.zeros(self.n_docs, dtype=np.float32)
        scores[docs], marks[docs] = values, np.float32(idf)
        self._kept[term] = KeptTerm(scores, marks, int(docs.size))
        return scores


def accumulate(
    n_docs: int,
    terms: Sequence[str],
    postings: Callable[[str], tuple[np.ndarray, np.ndarray]],
    norms: Callable[[np.ndarray], np.ndarray],
    idf: Callable[[int], float],
    common: CommonTerms | None = None,
) -> np.ndarray:
    """BM25 of ``n_docs`` documents for the query ``terms``: per term, its ``postings`` (documents, frequencies)
    scored with the documents' length ``norms`` and ``idf`` by :func:`lucene`, added in query order (a repeated term
    counts again, its scores computed once). A term's documents are distinct, so one vectorised add per term gives
    every document the float32 sum ``np.add.at`` over all terms gives. A term ``common`` keeps is added as its
    full-length array (the same sums)."""
    scores = np.zeros(n_docs, dtype=np.float32)
    known: dict[str, np.ndarray | tuple[np.ndarray, np.ndarray]] = {}
    for term in terms:
        if term not in known:
            kept = common.get(term) if common is not None else None
            if kept is not None:
                known[term] = kept.scores
            else:
                docs, tfs = postings(term)
                weight = idf(int(docs.size))
                values = lucene(tfs, norms(docs), weight)
                full = common.keep(term, docs, values, weight) if common is not None else None
                known[term] = (docs, values) if full is None else full
        entry = known[term]
        if isinstance(entry, np.ndarray):
            scores += entry
        elif entry[0].size:
            scores[entry[0]] += entry[1]
    return scores


class SparseIndex:
    """A BM25 index: term frequencies per term (CSC) and document lengths; scores are computed per query.

    Args:
        vocab: Term → id.
        indptr: ``(terms + 1,)`` int64: term ``t``'s postings are ``docs[indptr[t]:indptr[t + 1]]``.
        docs: Document of each posting (int32, ascending within a term).
        tfs: Frequency of the term in that document (float32).
        lengths: Terms per document (int32).
        k1: BM25 k1.
        b: BM25 b.
    """

    def __init__(
        self,
        vocab: dict[str, int],
        indptr: np.ndarray,
        docs: np.ndarray,
        tfs: np.ndarray,
        lengths: np.ndarray,
        *,
        k1: float,
        b: float,
    ) -> None:
        """Wrap the arrays (use :meth:`build` or :meth:`load`)."""
        self.vocab, self.k1, self.b = vocab, k1, b
        self._indptr, self._docs, self._tfs, self._lengths = indptr, docs, tfs, lengths
        # As bm25s: the mean length in float64, each document's length normalisation in float64.
        self._avgdl = float(np.asarray(lengths, dtype=np.float64).mean()) if len(lengths) else 1.0

    @classmethod
    def build(
        cls,
        token_lists: Sequence[Sequence[str]] | TokenIds,
        *,
        k1: float = DEFAULTS.bm25_k1,
        b: float = DEFAULTS.bm25_b,
    ) -> SparseIndex:
        """Index documents given as lists of terms or as :class:`TokenIds` (a document may have no terms, but one at
        least must have one).

        ``k1`` and ``b`` default to the tuned values (lower than the usual k1 = 1.2–1.5: short findings and
        questions reward a match more than its repetition; see ``docs/evaluation.md``).

        Raises:
            NothingToIndexError: No document has a term.
        """
        docs = token_lists if isinstance(token_lists, TokenIds) else TokenIds.of(token_lists)
        if not docs:
            raise NothingToIndexError(
                f"none of the {len(docs)} document(s) has a term to index",
                "give at least one document with a word in it",
            )
        lengths = np.fromiter((d.size for d in docs.docs), dtype=np.int32, count=len(docs.docs))
        indptr, postings, tfs = _postings(docs.docs, len(docs.vocab))
        return cls(dict(docs.vocab), indptr, postings, tfs, lengths, k1=k1, b=b)

    @property
    def n_docs(self) -> int:
        """Number of indexed documents."""
        return int(self._lengths.shape[0])

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """The documents holding ``term`` and its frequency in each (empty when it is not in the vocabulary)."""
        tid = self.vocab.get(term)
        if tid is None:
            return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32)
        start, stop = int(self._indptr[tid]), int(self._indptr[tid + 1])
        return np.asarray(self._docs[start:stop]), np.asarray(self._tfs[start:stop])

    def idf(self, df: int) -> float:
        """Lucene's idf of a term in ``df`` documents."""
        return math.log(1.0 + (self.n_docs - df + 0.5) / (df + 0.5))

    @property
    def total_length(self) -> int:
        """Terms in all documents."""
        return int(np.asarray(self._lengths, dtype=np.int64).sum())

    def lengths_of(self, docs: np.ndarray) -> np.ndarray:
        """Terms in each of the documents ``docs``."""
        return np.asarray(self._lengths[docs])

    def scores(self, terms: Sequence[str]) -> np.ndarray:
        """BM25 score of every document for the query terms (a repeated term counts again; zeros when no term is in
        the vocabulary)."""
        return accumulate(self.n_docs, terms, self.postings, lambda docs: self._norms[docs], self.idf, self._common)

    def common(self, term: str) -> KeptTerm | None:
        """The full-length arrays of ``term`` when a query has kept them (:class:`CommonTerms`), else ``None``."""
        return self._common.get(term)

    @cached_property
    def _common(self) -> CommonTerms:
        return CommonTerms(self.n_docs)

    @cached_property
    def _norms(self) -> np.ndarray:
        """Each document's length normalisation (:func:`length_norms`), made on the first query."""
        return length_norms(self._lengths, self._avgdl, self.k1, self.b)

    def save(self, directory: Path) -> None:
        """Write the arrays (.npy), the vocabulary and the parameters (.json) into ``directory``; no pickle."""
        terms = sorted(self.vocab, key=self.vocab.__getitem__)
        (directory / VOCAB).write_text(json.dumps(terms, ensure_ascii=False), encoding="utf-8")
        params = {"k1": self.k1, "b": self.b, "method": "lucene", "stores": "term frequencies"}
        (directory / PARAMS).write_text(json.dumps(params), encoding="utf-8")
        for name, array in ((INDPTR, self._indptr), (DOCS, self._docs), (TFS, self._tfs), (LENGTHS, self._lengths)):
            np.save(directory / name, np.asarray(array))

    @classmethod
    def load(cls, directory: Path) -> SparseIndex | LegacySparseIndex:
        """Read an index written by :meth:`save` (arrays memory-mapped), or the bm25s index of an older format.

        Raises:
            ValueError: The files disagree with each other.
        """
        if not (directory / VOCAB).exists():
            return LegacySparseIndex.load(directory)
        terms = json.loads((directory / VOCAB).read_text(encoding="utf-8"))
        params = json.loads((directory / PARAMS).read_text(encoding="utf-8"))
        # Plain arrays over the mapped files (numpy.memmap's Python-level indexing costs more than a posting list).
        indptr, docs, tfs, lengths = (
            np.load(directory / n, mmap_mode="r").view(np.ndarray) for n in (INDPTR, DOCS, TFS, LENGTHS)
        )
        if indptr.shape != (len(terms) + 1,) or docs.shape != tfs.shape or int(indptr[-1]) != docs.shape[0]:
            raise ValueError(f"the BM25 arrays do not fit together ({len(terms)} terms, {docs.shape[0]} postings)")
        if docs.size and int(docs.max()) >= lengths.shape[0]:
            raise ValueError(f"a BM25 posting names a document past the {lengths.shape[0]} indexed")
        vocab = {term: i for i, term in enumerate(terms)}
        return cls(vocab, indptr, docs, tfs, lengths, k1=float(params["k1"]), b=float(params["b"]))


class LegacySparseIndex:
    """The bm25s score arrays of an index written before format 6 (read-only; the next build writes the new form).

    Args:
        retriever: A loaded ``bm25s.BM25``.
    """

    def __init__(self, retriever: Any) -> None:  # noqa: ANN401 - bm25s.BM25 is untyped
        """Wrap a loaded retriever."""
        self._bm25 = retriever

    @classmethod
    def load(cls, directory: Path) -> LegacySparseIndex:
        """Read the bm25s files in ``directory``."""
        import bm25s

        return cls(bm25s.BM25.load(str(directory), show_progress=False, verbosity=0, mmap=True))

    @property
    def n_docs(self) -> int:
        """Number of indexed documents."""
        return int(self._bm25.scores["num_docs"])

    def idf(self, df: int) -> float:
        """Lucene's idf of a term in ``df`` documents."""
        return math.log(1.0 + (self.n_docs - df + 0.5) / (df + 0.5))

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """The documents holding ``term`` (their frequencies are not stored: ones)."""
        docs = np.flatnonzero(self.scores([term]) > 0).astype(np.int32)
        return docs, np.ones(docs.size, dtype=np.float32)

    def common(self, term: str) -> KeptTerm | None:
        """Never: bm25s scores every term from its own arrays."""
        return None

    def scores(self, terms: Sequence[str]) -> np.ndarray:
        """BM25 score of every document for the query terms (zeros when no term is in the vocabulary)."""
        known = [t for t in terms if t in self._bm25.vocab_dict]
        if not known:
            return np.zeros(self.n_docs, dtype=np.float32)
        scores: np.ndarray = self._bm25.get_scores(known)
        return scores.astype(np.float32, copy=False)


class Sparse(Protocol):
    """What the searcher asks of a BM25 leg (:class:`SparseIndex`, :class:`LegacySparseIndex`, or the parts of an
    index together, :class:`kensaku.index.parts.PartedSparse`)."""

    @property
    def n_docs(self) -> int:
        """Number of indexed documents."""
        ...

    def scores(self, terms: Sequence[str]) -> np.ndarray:
        """BM25 score of every document for the query terms."""
        ...

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """The documents holding ``term`` and its frequency in each."""
        ...

    def common(self, term: str) -> KeptTerm | None:
        """The kept full-length arrays of ``term`` (:class:`CommonTerms`), or ``None``."""
        ...

    def idf(self, df: int) -> float:
        """Lucene's idf of a term in ``df`` documents."""
        ...

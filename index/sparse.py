"""BM25 over MeCab content-word tokens (bm25s), with full score arrays so fusion and filters stay exact."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kensaku.config import DEFAULTS
from kensaku.errors import NothingToIndexError


class SparseIndex:
    """A BM25 index over pre-tokenized documents.

    Args:
        retriever: A fitted ``bm25s.BM25``.
    """

    def __init__(self, retriever: Any) -> None:  # noqa: ANN401 - bm25s.BM25 is untyped
        """Wrap a fitted retriever (use :meth:`build` or :meth:`load`)."""
        self._bm25 = retriever

    @classmethod
    def build(
        cls, token_lists: Sequence[Sequence[str]], *, k1: float = DEFAULTS.bm25_k1, b: float = DEFAULTS.bm25_b
    ) -> SparseIndex:
        """Index documents given as lists of terms (a document may have no terms, but one at least must have one).

        ``k1`` and ``b`` default to the tuned values (lower than the usual k1 = 1.2–1.5: short findings and
        questions reward a match more than its repetition; see ``docs/evaluation.md``).

        Raises:
            NothingToIndexError: No document has a term (bm25s cannot build an empty vocabulary).
        """
        import bm25s

        if not any(token_lists):
            raise NothingToIndexError(
                f"none of the {len(token_lists)} document(s) has a term to index",
                "give at least one document with a word in it",
            )
        retriever = bm25s.BM25(k1=k1, b=b, method="lucene")
        retriever.index([list(tokens) for tokens in token_lists], show_progress=False)
        return cls(retriever)

    @property
    def n_docs(self) -> int:
        """Number of indexed documents."""
        return int(self._bm25.scores["num_docs"])

    def scores(self, terms: Sequence[str]) -> np.ndarray:
        """BM25 score of every document for the query terms (zeros when no term is in the vocabulary)."""
        known = [t for t in terms if t in self._bm25.vocab_dict]
        if not known:
            return np.zeros(self.n_docs, dtype=np.float32)
        scores: np.ndarray = self._bm25.get_scores(known)
        return scores.astype(np.float32, copy=False)

    def save(self, directory: Path) -> None:
        """Write the bm25s arrays and parameters (plain .npy/.json files, no pickle)."""
        self._bm25.save(str(directory), show_progress=False)

    @classmethod
    def load(cls, directory: Path) -> SparseIndex:
        """Read an index written by :meth:`save`."""
        import bm25s

        return cls(bm25s.BM25.load(str(directory), show_progress=False, verbosity=0))

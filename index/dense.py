"""Exact inner-product search over L2-normalized vectors with FAISS (``IndexFlatIP``): inner product = cosine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


class DenseIndex:
    """A flat FAISS index; row ``i`` is finding ``i``.

    Args:
        index: A FAISS index whose ids are the row numbers.
    """

    def __init__(self, index: Any) -> None:  # noqa: ANN401 - faiss.Index has no usable stubs
        """Wrap a FAISS index (use :meth:`build` or :meth:`load`)."""
        self._index = index

    @classmethod
    def build(cls, vectors: np.ndarray) -> DenseIndex:
        """Index ``(n, dim)`` float32 vectors (expected L2-normalized)."""
        import faiss

        if vectors.ndim != 2:
            raise ValueError(f"vectors must be a 2-D array (n, dim); got shape {vectors.shape}")
        index = faiss.IndexFlatIP(int(vectors.shape[1]))
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return cls(index)

    @property
    def n_docs(self) -> int:
        """Number of vectors."""
        return int(self._index.ntotal)

    @property
    def dim(self) -> int:
        """Vector dimension."""
        return int(self._index.d)

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` rows by inner product with ``query``; optionally only among the ``allowed`` row ids.

        Returns:
            ``(ids, scores)``, best first; fewer than ``k`` when fewer rows qualify.
        """
        import faiss

        limit = self.n_docs if allowed is None else len(allowed)
        k = min(k, limit)
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        params: Any = None
        if allowed is not None:
            selector = faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64))
            params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]  # stubs lack the kwarg
        scores, ids = self._index.search(q, k, params=params)
        keep = ids[0] >= 0
        return ids[0][keep].astype(np.int64), scores[0][keep].astype(np.float32)

    def scores_for(self, query: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """Exact inner products of ``query`` with the given rows (for candidates found by the other leg)."""
        if len(ids) == 0:
            return np.zeros(0, dtype=np.float32)
        rows = self._index.reconstruct_batch(np.asarray(ids, dtype=np.int64))
        result: np.ndarray = rows @ np.asarray(query, dtype=np.float32).reshape(-1)
        return result.astype(np.float32, copy=False)

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        """The stored vectors of the given rows."""
        rows: np.ndarray = self._index.reconstruct_batch(np.asarray(ids, dtype=np.int64))
        return rows

    def save(self, path: Path) -> None:
        """Write the index to one file."""
        import faiss

        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path) -> DenseIndex:
        """Read an index written by :meth:`save`."""
        import faiss

        return cls(faiss.read_index(str(path)))

    @classmethod
    def from_bytes(cls, data: bytes) -> DenseIndex:
        """An index from the bytes of a file written by :meth:`save` (read once, checksummed by the caller)."""
        import faiss

        return cls(faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8)))

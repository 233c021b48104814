"""The dense leg: L2-normalized vectors (inner product = cosine), searched exactly or through an IVF index.

Vectors are stored as ``vectors.npy`` and memory-mapped on open, so an index of a million findings opens without
reading them and a search touches only what it needs. Up to :data:`ANN_MIN_ROWS` rows the search is exact (one
matrix-vector product over all rows: a few milliseconds at 100k). From there on, the build adds ``ann.faiss``, a
FAISS ``IndexIVFScalarQuantizer`` (8-bit) over the same vectors, and the search asks it for twice the wanted depth and
re-scores those candidates exactly; a filter that leaves few rows (:data:`EXACT_ALLOWED_ROWS`) is searched exactly
over those rows instead, where an IVF probe would miss most of them. Recall@10 against exact search is measured by
``bench/ann_recall.py``. FAISS runs on one OpenMP thread for a single query (two were slower on a 2-core machine).

Indexes written before format 6 hold one FAISS ``IndexFlatIP`` (``dense.faiss``); :meth:`DenseIndex.from_bytes`
reads it.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import numpy as np

VECTORS = "vectors.npy"
ANN = "ann.faiss"
MOMENTS = "moments.npy"
AnnKind = Literal["auto", "flat", "ivf"]
ANN_KINDS: tuple[AnnKind, ...] = ("auto", "flat", "ivf")
ANN_MIN_ROWS = 200_000
EXACT_ALLOWED_ROWS = 50_000
NPROBE = 128  # bench/ann_recall.py: IVF-SQ8 recall@10 on 17k real vectors 0.937 at nprobe 32, 0.978 at 128
_CHUNK = 131_072


def _best(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` best scores, best first, ties by position."""
    if k <= 0 or scores.size == 0:
        return np.zeros(0, dtype=np.int64)
    if k < scores.size:
        kth = np.partition(scores, scores.size - k)[scores.size - k]
        positions = np.flatnonzero(scores >= kth)
    else:
        positions = np.arange(scores.size)
    order = np.lexsort((positions, -scores[positions]))[:k]
    return positions[order].astype(np.int64)


@contextmanager
def _one_thread() -> Any:  # noqa: ANN401 - a generator-based context manager
    """FAISS on one OpenMP thread while a single query runs (restored afterwards)."""
    import faiss

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


class DenseIndex:
    """The vectors of an index (row ``i`` = finding ``i``) and, above :data:`ANN_MIN_ROWS`, an IVF index over them.

    Args:
        vectors: ``(n, dim)`` float32, L2-normalized (an array or a read-only memory map).
        ann: A FAISS IVF index over the same rows, or ``None`` for exact search.
        nprobe: Inverted lists an IVF search visits.
    """

    def __init__(
        self,
        vectors: np.ndarray,
        ann: Any = None,  # noqa: ANN401 - faiss.Index has no usable stubs
        nprobe: int = NPROBE,
        moments: np.ndarray | None = None,
    ) -> None:
        """Wrap vectors (use :meth:`build` or :meth:`load`); ``moments`` as :meth:`moments_of` uses them."""
        if vectors.ndim != 2:
            raise ValueError(f"vectors must be a 2-D array (n, dim); got shape {vectors.shape}")
        self._vectors, self._ann, self.nprobe = vectors, ann, nprobe
        self._moments = moments if moments is not None or ann is None else _moments(vectors)

    def moment_matrix(self) -> np.ndarray:
        """The vectors' mean and second moment, ``(dim + 1, dim)`` (stored with an IVF index, else computed)."""
        return self._moments if self._moments is not None else _moments(self._vectors)

    def moments_of(self, query: np.ndarray) -> tuple[float, float]:
        """Mean and standard deviation of the cosines of all rows to ``query``, from the vectors' mean and second
        moment (``q·μ`` and ``qᵀMq − (q·μ)²``): exact, without touching the vectors (an IVF index stores them)."""
        q = np.asarray(query, dtype=np.float64).reshape(-1)
        if self._moments is None:
            cosines = self.cosines(query)
            return float(cosines.mean()), max(float(cosines.std()), 1e-6)
        mean = float(self._moments[0] @ q)
        variance = float(q @ self._moments[1:] @ q) - mean * mean
        return mean, max(math.sqrt(max(variance, 0.0)), 1e-6)

    @classmethod
    def build(cls, vectors: np.ndarray, *, ann: AnnKind = "auto") -> DenseIndex:
        """Index ``(n, dim)`` float32 vectors (expected L2-normalized); ``ann`` ``auto`` adds an IVF index from
        :data:`ANN_MIN_ROWS` rows on, ``ivf`` always, ``flat`` never."""
        if vectors.ndim != 2:
            raise ValueError(f"vectors must be a 2-D array (n, dim); got shape {vectors.shape}")
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        wanted = ann == "ivf" or (ann == "auto" and vectors.shape[0] >= ANN_MIN_ROWS)
        return cls(vectors, _ivf(vectors) if wanted and vectors.shape[0] >= 2 else None)

    @property
    def n_docs(self) -> int:
        """Number of vectors."""
        return int(self._vectors.shape[0])

    @property
    def dim(self) -> int:
        """Vector dimension."""
        return int(self._vectors.shape[1])

    @property
    def kind(self) -> str:
        """``flat`` (exact) or ``ivf``."""
        return "flat" if self._ann is None else "ivf"

    def cosines(self, query: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """Cosine of ``query`` to every row (or to ``rows``), exactly, in row order."""
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        if rows is not None:
            return self.scores_for(q, rows)
        out = np.empty(self.n_docs, dtype=np.float32)
        for start in range(0, self.n_docs, _CHUNK):
            out[start : start + _CHUNK] = self._vectors[start : start + _CHUNK] @ q
        return out

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` rows by inner product with ``query``; optionally only among ``allowed`` (a boolean mask over the
        rows, or row ids).

        Returns:
            ``(ids, scores)``, best first (ties by row); fewer than ``k`` when fewer rows qualify.
        """
        ids = None if allowed is None else _as_ids(allowed, self.n_docs)
        limit = self.n_docs if ids is None else ids.size
        k = min(k, limit)
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if self._ann is None or (ids is not None and ids.size <= EXACT_ALLOWED_ROWS):
            scores = self.cosines(query, ids)
            best = _best(scores, k)
            rows = best if ids is None else ids[best]
            return rows, scores[best]
        return self._ann_search(query, k, ids)

    def _ann_search(self, query: np.ndarray, k: int, ids: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        import faiss

        q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        share = 1.0 if ids is None else ids.size / self.n_docs
        nprobe = min(int(self._ann.nlist), math.ceil(self.nprobe / max(share, 1e-3)))
        kwargs: dict[str, Any] = {"nprobe": nprobe}
        if ids is not None:
            mask = np.zeros(self.n_docs, dtype=bool)
            mask[ids] = True
            kwargs["sel"] = faiss.IDSelectorBitmap(self.n_docs, np.packbits(mask, bitorder="little"))
        params = faiss.SearchParametersIVF(**kwargs)
        with _one_thread():
            _, found = self._ann.search(q, min(2 * k, self.n_docs), params=params)
        rows = np.sort(found[0][found[0] >= 0].astype(np.int64))  # ties by row id, as in the exact search
        scores = self.scores_for(q, rows)
        best = _best(scores, k)
        return rows[best], scores[best]

    def scores_for(self, query: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """Exact inner products of ``query`` with the given rows (for candidates found by the other leg)."""
        if len(ids) == 0:
            return np.zeros(0, dtype=np.float32)
        result: np.ndarray = self.vectors(ids) @ np.asarray(query, dtype=np.float32).reshape(-1)
        return result.astype(np.float32, copy=False)

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        """The stored vectors of the given rows (a copy, float32)."""
        return np.asarray(self._vectors[np.asarray(ids, dtype=np.int64)], dtype=np.float32)

    def save(self, directory: Path) -> None:
        """Write ``vectors.npy`` (and ``ann.faiss`` when there is an IVF index) into ``directory``."""
        np.save(directory / VECTORS, np.ascontiguousarray(self._vectors, dtype=np.float32))
        if self._ann is not None:
            import faiss

            faiss.write_index(self._ann, str(directory / ANN))
            assert self._moments is not None  # computed with the IVF index
            np.save(directory / MOMENTS, self._moments)

    @classmethod
    def load(cls, directory: Path) -> DenseIndex:
        """Read what :meth:`save` wrote; the vectors are memory-mapped."""
        vectors = np.load(directory / VECTORS, mmap_mode="r")
        ann = None
        if (directory / ANN).exists():
            import faiss

            ann = faiss.read_index(str(directory / ANN))
            if int(ann.ntotal) != vectors.shape[0] or int(ann.d) != vectors.shape[1]:
                raise ValueError(f"{ANN} holds {ann.ntotal} vectors of dim {ann.d}, {VECTORS} {vectors.shape}")
            moments = np.load(directory / MOMENTS)
            wanted = (vectors.shape[1] + 1, vectors.shape[1])
            if moments.shape != wanted:
                raise ValueError(f"{MOMENTS} has shape {moments.shape}, expected {wanted}")
            return cls(vectors, ann, moments=moments)
        return cls(vectors)

    @classmethod
    def from_bytes(cls, data: bytes) -> DenseIndex:
        """The vectors of a ``dense.faiss`` file written before format 6 (a flat FAISS index)."""
        import faiss

        index = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
        return cls(np.asarray(index.reconstruct_n(0, index.ntotal), dtype=np.float32).reshape(-1, index.d))


def _as_ids(allowed: np.ndarray, n: int) -> np.ndarray:
    """Row ids from a boolean mask over ``n`` rows or from ids."""
    allowed = np.asarray(allowed)
    if allowed.dtype == bool:
        if allowed.shape != (n,):
            raise ValueError(f"a mask over {n} rows has shape {allowed.shape}")
        return np.flatnonzero(allowed).astype(np.int64)
    return allowed.astype(np.int64)


def _moments(vectors: np.ndarray) -> np.ndarray:
    """``(dim + 1, dim)`` float64: the mean vector, then the mean outer product of the vectors (in chunks)."""
    n, dim = vectors.shape
    total, outer = np.zeros(dim), np.zeros((dim, dim))
    for start in range(0, n, _CHUNK):
        chunk = np.asarray(vectors[start : start + _CHUNK], dtype=np.float64)
        total += chunk.sum(axis=0)
        outer += chunk.T @ chunk
    return np.vstack([total / max(n, 1), outer / max(n, 1)])


def _ivf(vectors: np.ndarray) -> Any:  # noqa: ANN401 - faiss.Index has no usable stubs
    """An 8-bit scalar-quantised IVF index over ``vectors`` (inner product), trained on a sample of them."""
    import faiss

    n, dim = vectors.shape
    # √n lists (1,000 at 1M), k-means on 50 vectors a list: training grows as n (lists × sample), not n^1.5; recall is
    # held by NPROBE (bench/ann_recall.py), build time measured by bench/scale.py.
    nlist = max(1, min(int(math.sqrt(n)), n // 39 or 1, 4096))
    quantizer = faiss.IndexFlatIP(dim)
    eight_bit, inner = faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
    index = faiss.IndexIVFScalarQuantizer(quantizer, dim, nlist, eight_bit, inner)
    sample = min(n, 50 * nlist)
    rows = np.sort(np.random.default_rng(13).choice(n, sample, replace=False))
    index.train(np.ascontiguousarray(vectors[rows]))
    for start in range(0, n, _CHUNK):
        index.add(np.ascontiguousarray(vectors[start : start + _CHUNK]))
    return index

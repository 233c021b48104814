"""The dense leg: L2-normalized vectors (inner product = cosine), searched exactly or through an ANN index.

Vectors are stored as ``vectors.npy`` and memory-mapped on open, so an index of a million findings opens without
reading them and a search touches only what it needs. Up to :data:`ANN_MIN_ROWS` rows the search is exact (one
matrix-vector product over all rows: a few milliseconds at 100k). From there on, the build adds ``ann.faiss``, a
FAISS HNSW graph (``IndexHNSWSQ``: M = :data:`HNSW_M`, 8-bit scalar-quantised copies of the vectors, inner product)
over the same rows, and the search asks it for more candidates than wanted (efSearch :data:`EF_SEARCH`) and re-scores
them exactly from the stored vectors. A filter that leaves few rows (:data:`EXACT_ALLOWED_ROWS`) is searched exactly
over those rows instead. A filter that removes at most :data:`POST_FILTER_ROWS` rows (say, one municipality of
similar cases) is applied to the candidates of an unfiltered walk that asks for as many more; any other filter is
searched by scanning the HNSW index's 8-bit codes of the kept rows (about 50 ns a row on one core): a walk that
skips the filtered-out rows misses kept rows that lie far from the query (bench/results/ann_recall.md: recall@10
0.77 at efSearch 2,560 for a contiguous 10 % of 70k real rows, 0.90 at efSearch 427 for a contiguous 60 % of 35k),
while the scan of the codes, re-scored exactly, found all of them in every filter measured. Recall@10 against
exact search on real embeddings is measured by ``bench/ann_recall.py``. FAISS runs on one OpenMP thread for a
single query (two were slower on a 2-core machine) and on all of them while building.

``ann = "ivf"`` still builds the IVF index of format 6 (``IndexIVFScalarQuantizer``, 8-bit, re-scored exactly), and
an ``ann.faiss`` holding one is read and searched as before. Indexes written before format 6 hold one FAISS
``IndexFlatIP`` (``dense.faiss``); :meth:`DenseIndex.from_bytes` reads it.
"""

from __future__ import annotations

import math
import mmap
import os
import weakref
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import numpy as np

VECTORS = "vectors.npy"
ANN = "ann.faiss"
MOMENTS = "moments.npy"
AnnKind = Literal["auto", "flat", "hnsw", "ivf"]
ANN_KINDS: tuple[AnnKind, ...] = ("auto", "flat", "hnsw", "ivf")
ANN_MIN_ROWS = 200_000
EXACT_ALLOWED_ROWS = 50_000
HNSW_M = 32  # graph links a node (2 × M on the bottom layer)
EF_CONSTRUCTION = 40  # bench/ann_recall.py: 100 gave the same recall at efSearch 256 (0.9965 at 118,602), built slower
EF_SEARCH = 256  # recall@10 0.9945-0.9965 on 35k-119k real vectors (bench/results/ann_recall.md; 128: 0.986-0.9905)
POST_FILTER_ROWS = 2_000  # a filter removing at most this many rows is applied to an unfiltered walk's candidates
NPROBE = 128  # IVF (ann="ivf"): recall@10 on 17k real vectors 0.937 at nprobe 32, 0.978 at 128
_CHUNK = 131_072
_ADD_CHUNK = 32_768  # rows added to the graph (50 MB of float32 at dim 384) or summed into the moments at a time
_SQ_SAMPLE = 100_000  # rows the 8-bit quantiser's per-dimension ranges are trained on


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
    """The vectors of an index (row ``i`` = finding ``i``) and, above :data:`ANN_MIN_ROWS`, an HNSW index over them.

    Args:
        vectors: ``(n, dim)`` float32, L2-normalized (an array or a read-only memory map).
        ann: A FAISS HNSW (or IVF) index over the same rows, or ``None`` for exact search.
        nprobe: Inverted lists an IVF search visits.
        moments: The vectors' mean and second moment, as :meth:`moment_matrix` returns them (computed if absent).
        ef_search: Nodes an HNSW search keeps in its candidate list (before a filter raises it).
    """

    def __init__(
        self,
        vectors: np.ndarray,
        ann: Any = None,  # noqa: ANN401 - faiss.Index has no usable stubs
        nprobe: int = NPROBE,
        moments: np.ndarray | None = None,
        ef_search: int = EF_SEARCH,
    ) -> None:
        """Wrap vectors (use :meth:`build` or :meth:`load`)."""
        if vectors.ndim != 2:
            raise ValueError(f"vectors must be a 2-D array (n, dim); got shape {vectors.shape}")
        self._vectors, self._ann, self.nprobe, self.ef_search = vectors, ann, nprobe, ef_search
        self._moments = moments if moments is not None or ann is None else _moments(vectors)
        self._rows: RowReader | None = None  # rows read with pread (an opened index with an ANN index)

    def moment_matrix(self) -> np.ndarray:
        """The vectors' mean and second moment, ``(dim + 1, dim)`` (stored with an ANN index, else computed)."""
        return self._moments if self._moments is not None else _moments(self._vectors)

    def moments_of(self, query: np.ndarray) -> tuple[float, float]:
        """Mean and standard deviation of the cosines of all rows to ``query``, from the vectors' mean and second
        moment (``q·μ`` and ``qᵀMq − (q·μ)²``): exact, without touching the vectors (an ANN index stores them)."""
        q = np.asarray(query, dtype=np.float64).reshape(-1)
        if self._moments is None:
            cosines = self.cosines(query)
            return float(cosines.mean()), max(float(cosines.std()), 1e-6)
        mean = float(self._moments[0] @ q)
        variance = float(q @ self._moments[1:] @ q) - mean * mean
        return mean, max(math.sqrt(max(variance, 0.0)), 1e-6)

    @classmethod
    def build(cls, vectors: np.ndarray, *, ann: AnnKind = "auto") -> DenseIndex:
        """Index ``(n, dim)`` float32 vectors (expected L2-normalized; a memory map is read in chunks).

        ``ann``: ``auto`` adds an HNSW index from :data:`ANN_MIN_ROWS` rows on, ``hnsw`` always, ``ivf`` an IVF
        index always (format 6's), ``flat`` none.
        """
        if vectors.ndim != 2:
            raise ValueError(f"vectors must be a 2-D array (n, dim); got shape {vectors.shape}")
        if ann not in ANN_KINDS:
            raise ValueError(f"ann must be one of {', '.join(ANN_KINDS)}; got {ann!r}")
        if not isinstance(vectors, np.memmap):
            vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        kind = "hnsw" if ann == "auto" and vectors.shape[0] >= ANN_MIN_ROWS else ann
        if kind not in ("hnsw", "ivf") or vectors.shape[0] < 2:
            return cls(vectors)
        return cls(vectors, _hnsw(vectors) if kind == "hnsw" else _ivf(vectors))

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
        """``flat`` (exact), ``hnsw`` or ``ivf`` (an index of format 6, or ``ann="ivf"``)."""
        if self._ann is None:
            return "flat"
        return "hnsw" if hasattr(self._ann, "hnsw") else "ivf"

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
        """Candidates from the ANN index, re-scored exactly: HNSW ``k`` plus as many again but at most 100 more, IVF
        ``2k``. With a filter, HNSW walks without it for as many more candidates as the filter removes rows when
        that is at most :data:`POST_FILTER_ROWS`, else scans its 8-bit codes of the kept rows (a walk that skips the
        removed rows misses kept rows that lie far from the query); IVF probes with the filter."""
        import faiss

        q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        wanted = min(k + min(k, 100) if self.kind == "hnsw" else 2 * k, self.n_docs)
        mask, removed = None, 0
        if ids is not None:
            mask = np.zeros(self.n_docs, dtype=bool)
            mask[ids] = True
            removed = self.n_docs - int(mask.sum())
        walk = self.kind == "hnsw" and removed <= POST_FILTER_ROWS
        scan = self.kind == "hnsw" and not walk
        index = faiss.downcast_index(self._ann.storage) if scan else self._ann
        asked = min(wanted + removed, self.n_docs) if walk else wanted
        params = self._search_parameters(1.0 if ids is None else ids.size / self.n_docs, asked, scan)
        if mask is not None and not walk:
            bits = np.packbits(mask, bitorder="little")
            params.sel = faiss.IDSelectorBitmap(self.n_docs, faiss.swig_ptr(bits))
        with _one_thread():
            _, found = index.search(q, asked, params=params)
        rows = found[0][found[0] >= 0].astype(np.int64)
        rows = np.sort(rows if mask is None else rows[mask[rows]])  # ties by row id, as in the exact search
        scores = self.scores_for(q, rows)
        best = _best(scores, k)
        return rows[best], scores[best]

    def _search_parameters(self, share: float, asked: int, scan: bool = False) -> Any:  # noqa: ANN401
        """The ``faiss.SearchParameters``: for a ``scan`` of the codes, plain ones; HNSW: efSearch :attr:`ef_search`,
        at least the candidates ``asked``; IVF: nprobe raised in proportion to the rows a filter keeping ``share`` of
        them removes (a probe meets the filtered-out rows too)."""
        import faiss as faiss_module

        faiss: Any = faiss_module  # its stubs lack SearchParametersHNSW and the parameters' keywords
        if scan:
            return faiss.SearchParameters()
        if self.kind == "hnsw":
            return faiss.SearchParametersHNSW(efSearch=max(self.ef_search, asked))
        scale = 1.0 / max(share, 1e-3)
        return faiss.SearchParametersIVF(nprobe=min(int(self._ann.nlist), math.ceil(self.nprobe * scale)))

    def scores_for(self, query: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """Exact inner products of ``query`` with the given rows (for candidates found by the other leg)."""
        if len(ids) == 0:
            return np.zeros(0, dtype=np.float32)
        result: np.ndarray = self.vectors(ids) @ np.asarray(query, dtype=np.float32).reshape(-1)
        return result.astype(np.float32, copy=False)

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        """The stored vectors of the given rows (a copy, float32)."""
        if self._rows is not None:
            return self._rows.read(np.asarray(ids, dtype=np.int64))
        return np.asarray(self._vectors[np.asarray(ids, dtype=np.int64)], dtype=np.float32)

    def save(self, directory: Path) -> None:
        """Write ``vectors.npy`` (in chunks) and, with an ANN index, ``ann.faiss`` and ``moments.npy``."""
        out = np.lib.format.open_memmap(directory / VECTORS, mode="w+", dtype=np.float32, shape=self._vectors.shape)
        for start in range(0, self.n_docs, _CHUNK):
            out[start : start + _CHUNK] = self._vectors[start : start + _CHUNK]
        out.flush()
        del out
        if self._ann is not None:
            import faiss

            faiss.write_index(self._ann, str(directory / ANN))
            assert self._moments is not None  # computed with the ANN index
            np.save(directory / MOMENTS, self._moments)

    @classmethod
    def load(cls, directory: Path) -> DenseIndex:
        """Read what :meth:`save` wrote (an HNSW or an IVF ``ann.faiss``); the vectors are memory-mapped."""
        mapped = np.load(directory / VECTORS, mmap_mode="r")
        # A plain array over the mapped file: numpy.memmap's Python-level indexing costs more than the rows it reads.
        vectors = mapped.view(np.ndarray)
        if not (directory / ANN).exists():
            return cls(vectors)
        random_access(getattr(mapped, "_mmap", None))  # an ANN search reads scattered rows, never all of them
        import faiss

        ann = faiss.read_index(str(directory / ANN))
        if int(ann.ntotal) != vectors.shape[0] or int(ann.d) != vectors.shape[1]:
            raise ValueError(f"{ANN} holds {ann.ntotal} vectors of dim {ann.d}, {VECTORS} {vectors.shape}")
        moments = np.load(directory / MOMENTS)
        wanted = (vectors.shape[1] + 1, vectors.shape[1])
        if moments.shape != wanted:
            raise ValueError(f"{MOMENTS} has shape {moments.shape}, expected {wanted}")
        index = cls(vectors, ann, moments=moments)
        index._rows = RowReader(directory / VECTORS, vectors.shape, int(mapped.offset))
        return index

    @classmethod
    def from_bytes(cls, data: bytes) -> DenseIndex:
        """The vectors of a ``dense.faiss`` file written before format 6 (a flat FAISS index)."""
        import faiss

        index = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
        return cls(np.asarray(index.reconstruct_n(0, index.ntotal), dtype=np.float32).reshape(-1, index.d))


class RowReader:
    """Rows of a float32 ``.npy`` file read with ``pread``: an ANN search reads a few hundred scattered rows, and read
    through the memory map each one also maps the pages around it (the kernel's fault-around), so after 200 searches
    of a million-row index 2 GB of the file counted in the process's memory; read this way only the page cache holds
    them, which the kernel shares and drops as it needs."""

    def __init__(self, path: Path, shape: tuple[int, ...], offset: int) -> None:
        """Read rows of ``shape[1]`` float32 from ``path``, whose data start at byte ``offset``."""
        self._fd = os.open(path, os.O_RDONLY)
        self._row, self._offset, self._dim = shape[1] * 4, offset, shape[1]
        self._finalizer = weakref.finalize(self, os.close, self._fd)

    def read(self, ids: np.ndarray) -> np.ndarray:
        """The rows ``ids`` (in that order), float32."""
        out = np.empty((ids.size, self._dim), dtype=np.float32)
        for i, row in enumerate(ids.tolist()):
            data = os.pread(self._fd, self._row, self._offset + row * self._row)
            if len(data) != self._row:
                raise ValueError(f"row {row} is past the end of the vectors file")
            out[i] = np.frombuffer(data, dtype=np.float32)
        return out


def random_access(mapping: mmap.mmap | None) -> None:
    """Tell the kernel that ``mapping`` is read at scattered places: without it every 1.5 KB row read through a page
    fault also reads ahead ~128 KB, and an index of a million vectors held 2 GB of its file in memory after 200
    searches (bench/scale.py) instead of the few MB the rows take."""
    if mapping is not None and hasattr(mmap, "MADV_RANDOM"):
        mapping.madvise(mmap.MADV_RANDOM)


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
    for start in range(0, n, _ADD_CHUNK):  # 100 MB of float64 at a time
        chunk = np.asarray(vectors[start : start + _ADD_CHUNK], dtype=np.float64)
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


def _hnsw(vectors: np.ndarray) -> Any:  # noqa: ANN401 - faiss.Index has no usable stubs
    """An HNSW graph (M = :data:`HNSW_M`, inner product) over 8-bit scalar-quantised copies of ``vectors``.

    The quantiser's per-dimension ranges are trained on a sample of at most :data:`_SQ_SAMPLE` rows; the rows are
    then added :data:`_ADD_CHUNK` at a time, copied from ``vectors`` (which may be a memory map), so the build holds
    the graph, the 8-bit codes (``n × dim`` bytes) and one chunk: about 0.7 GB at a million rows of dim 384.
    """
    import faiss as faiss_module

    faiss: Any = faiss_module  # its stubs type the quantiser kind (an int) as a ScalarQuantizer

    n, dim = vectors.shape
    index = faiss.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_8bit, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = EF_CONSTRUCTION
    index.hnsw.efSearch = EF_SEARCH
    rows = np.arange(n) if n <= _SQ_SAMPLE else np.sort(np.random.default_rng(13).choice(n, _SQ_SAMPLE, False))
    index.train(np.ascontiguousarray(vectors[rows], dtype=np.float32))
    for start in range(0, n, _ADD_CHUNK):
        index.add(np.ascontiguousarray(vectors[start : start + _ADD_CHUNK], dtype=np.float32))
    return index

"""Parts: documents added after a build are written as a part of their own, so an add costs what it adds.

``kensaku add`` of new documents does not rebuild the index. It reads, tokenizes and embeds only them and writes a
part, ``parts/0001`` (then ``0002``, …), beside the build's own files with the same file set (findings, row
offsets, columns, vectors, BM25 term frequencies); then it replaces ``manifest.json`` (atomically), which lists the
parts (``parts``: their row counts) and their files' checksums. A reader sees the old manifest or the new one, never a
half-written part: a part's files are never changed once written, and one left by a killed add is unreferenced and
removed by the next add. Any other change (a document changed or removed, new metadata, another model or settings,
more than :data:`MAX_PARTS` parts) goes through a full build, which writes one part again ("merging", as Lucene
merges segments).

An index with parts searches as one: the rows of the parts follow the build's rows; the columns are merged (a value
first seen in a part gets the next code); BM25 statistics (N, document frequencies, mean length) are summed over the
parts, so every score equals that of a full build over the same documents (``tests/integration/test_parts.py``);
the vectors of a part are searched exactly (an HNSW or IVF index, when the build has one, covers the build's rows).
"""

from __future__ import annotations

import bisect
import itertools
import math
import os
import secrets
import shutil
from collections.abc import Callable, Iterator, Sequence
from functools import cached_property
from pathlib import Path

import numpy as np

from kensaku.index.columns import FIELDS, Columns, FindingTable
from kensaku.index.dense import DenseIndex, _as_ids, _best
from kensaku.index.sparse import CommonTerms, KeptTerm, SparseIndex, accumulate, length_norms
from kensaku.ingest.models import Finding

PARTS = "parts"
MAX_PARTS = 16


def part_name(number: int) -> str:
    """The folder of part ``number`` (from 1), relative to the index directory."""
    return f"{PARTS}/{number:04d}"


def write_part_directory(directory: Path, number: int, fill: Callable[[Path], None]) -> Path:
    """Create ``parts/NNNN`` through a temporary sibling and a rename (a folder of that number left by a killed add,
    which no manifest names, is removed first). ``fill`` is called with the temporary folder."""
    parts = directory / PARTS
    parts.mkdir(exist_ok=True)
    for stale in parts.iterdir():  # leftovers of killed adds: temporary folders and parts no manifest names yet
        if stale.name.startswith(".") or (stale.name.isdigit() and int(stale.name) >= number):
            shutil.rmtree(stale, ignore_errors=True)
    tmp = parts / f".{number:04d}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    tmp.mkdir()
    try:
        fill(tmp)
        target = directory / part_name(number)
        tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def concat_columns(parts: Sequence[Columns], joins: Sequence[bool]) -> Columns:
    """The columns of the parts' rows one after the other, equal to :meth:`Columns.of` over their findings.

    Args:
        parts: Each part's own columns.
        joins: For each boundary, whether its first row continues the block of the row before it (same document,
            municipality, chapter, section and heading).
    """
    values: dict[str, list[str]] = {name: [] for name in FIELDS}
    codes, blocks, hashes, rows = [], [], [], []
    start = block = 0
    for number, part in enumerate(parts):
        remapped = []
        for i, name in enumerate(FIELDS):
            known = {v: c for c, v in enumerate(values[name])}
            lookup = np.empty(len(part.values[name]), dtype=np.int32)
            for code, value in enumerate(part.values[name]):
                lookup[code] = known.setdefault(value, len(values[name]))
                if lookup[code] == len(values[name]):
                    values[name].append(value)
            remapped.append(lookup[part.codes[i]] if part.n_rows else np.zeros(0, dtype=np.int32))
        codes.append(np.vstack(remapped) if remapped else np.zeros((len(FIELDS), 0), dtype=np.int32))
        shift = block - (1 if number and joins[number - 1] else 0)
        blocks.append(part.blocks + shift)
        block = int(blocks[-1].max()) if part.n_rows else block
        hashes.append(part.hashes)
        rows.append(part.hash_rows + start)
        start += part.n_rows
    by_row = np.zeros(start, dtype=np.int64)  # each row's id hash, in row order
    by_row[np.concatenate(rows)] = np.concatenate(hashes)
    order = np.argsort(by_row, kind="stable")  # as Columns.of sorts them
    return Columns(
        {name: tuple(v) for name, v in values.items()},
        np.hstack(codes).astype(np.int32),
        np.concatenate(blocks).astype(np.int64),
        by_row[order],
        order.astype(np.int64),
    )


class PartedTable(FindingTable):
    """The findings of the build and its parts, one row numbering."""

    def __init__(self, columns: Columns, tables: Sequence[FindingTable]) -> None:
        """Join ``tables`` (each part's own) under the merged ``columns``."""
        super().__init__(columns, rows=None)
        self._tables = list(tables)
        self._starts = list(np.cumsum([0, *(len(t) for t in tables)])[:-1])

    def _at(self, index: int) -> Finding:
        """Row ``index``, from the part that holds it."""
        part = bisect.bisect_right(self._starts, index) - 1
        return self._tables[part][index - int(self._starts[part])]

    def __iter__(self) -> Iterator[Finding]:
        """The rows in order."""
        for table in self._tables:
            yield from table


class PartedDense(DenseIndex):
    """The vectors of the build and its parts, one row numbering; searched part by part, merged by score."""

    def __init__(self, parts: Sequence[DenseIndex]) -> None:
        """Join ``parts``."""
        self._parts = list(parts)
        self._starts = np.cumsum([0, *(p.n_docs for p in parts)])
        self.nprobe = parts[0].nprobe
        self._merged: np.ndarray | None = None

    @property
    def n_docs(self) -> int:
        """Number of vectors."""
        return int(self._starts[-1])

    @property
    def dim(self) -> int:
        """Vector dimension."""
        return self._parts[0].dim

    @property
    def kind(self) -> str:
        """The build's ANN kind (``hnsw`` or ``ivf``) when it has one, else ``flat``."""
        return next((p.kind for p in self._parts if p.kind != "flat"), "flat")

    def cosines(self, query: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """Cosine of ``query`` to every row (or to ``rows``), in row order."""
        if rows is not None:
            return self.scores_for(query, rows)
        return np.concatenate([p.cosines(query) for p in self._parts])

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` rows of every part (among ``allowed``), merged: best first, ties by row."""
        mask = None
        if allowed is not None:
            mask = np.zeros(self.n_docs, dtype=bool)
            mask[_as_ids(allowed, self.n_docs)] = True
        found_ids, found_scores = [], []
        for part, start in zip(self._parts, self._starts[:-1], strict=True):
            local = None if mask is None else mask[start : start + part.n_docs]
            if local is not None and not local.any():
                continue
            ids, scores = part.search(query, k, local)
            found_ids.append(ids + start)
            found_scores.append(scores)
        if not found_ids:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        ids, scores = np.concatenate(found_ids), np.concatenate(found_scores)
        order = np.argsort(ids, kind="stable")
        ids, scores = ids[order], scores[order]
        best = _best(scores, k)
        return ids[best], scores[best]

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        """The stored vectors of the given rows, from the parts that hold them."""
        ids = np.asarray(ids, dtype=np.int64)
        out = np.zeros((ids.size, self.dim), dtype=np.float32)
        which = np.searchsorted(self._starts, ids, side="right") - 1
        for number in np.unique(which):
            picked = which == number
            out[picked] = self._parts[int(number)].vectors(ids[picked] - self._starts[number])
        return out

    def moments_of(self, query: np.ndarray) -> tuple[float, float]:
        """Mean and standard deviation of the cosines of all rows to ``query`` (the parts' moments, weighted)."""
        if self.kind == "flat":
            cosines = self.cosines(query)
            return float(cosines.mean()), max(float(cosines.std()), 1e-6)
        moments = self.moment_matrix()
        q = np.asarray(query, dtype=np.float64).reshape(-1)
        mean = float(moments[0] @ q)
        variance = float(q @ moments[1:] @ q) - mean * mean
        return mean, max(math.sqrt(max(variance, 0.0)), 1e-6)

    def moment_matrix(self) -> np.ndarray:
        """See :meth:`DenseIndex.moment_matrix`: the parts' moments weighted by their rows (the build's are stored with
        its ANN index, a part's are computed from its few vectors), never a pass over all vectors."""
        if self._merged is None:
            weighted = [p.moment_matrix() * p.n_docs for p in self._parts]
            self._merged = np.sum(weighted, axis=0) / max(self.n_docs, 1)
        return self._merged


class PartedSparse:
    """BM25 over the build and its parts: N, document frequencies and the mean length summed over the parts, so the
    scores equal those of one index over all the rows."""

    def __init__(self, parts: Sequence[SparseIndex]) -> None:
        """Join ``parts`` (built with the same k1 and b)."""
        self._parts = list(parts)
        self._starts = np.cumsum([0, *(p.n_docs for p in parts)])
        self.k1, self.b = parts[0].k1, parts[0].b
        # Integer sums are exact in float64: the same mean as over the lengths of all rows at once.
        self._avgdl = self.total_length / max(self.n_docs, 1)

    @property
    def n_docs(self) -> int:
        """Number of indexed documents."""
        return int(self._starts[-1])

    @property
    def total_length(self) -> int:
        """Terms in all documents of all parts."""
        return sum(p.total_length for p in self._parts)

    def lengths_of(self, docs: np.ndarray) -> np.ndarray:
        """Terms in each of the documents ``docs`` (row numbers of the whole index, ascending)."""
        docs = np.asarray(docs, dtype=np.int64)
        pieces = [p.lengths_of(d - s) for p, s, d in self._split(docs)]
        return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int32)

    def idf(self, df: int) -> float:
        """Lucene's idf of a term in ``df`` documents of all parts."""
        return math.log(1.0 + (self.n_docs - df + 0.5) / (df + 0.5))

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """The documents (row numbers of the whole index) holding ``term`` and its frequency in each."""
        docs, tfs = [], []
        for part, start in zip(self._parts, self._starts[:-1], strict=True):
            d, t = part.postings(term)
            docs.append(d.astype(np.int64) + start)
            tfs.append(t)
        return np.concatenate(docs), np.concatenate(tfs)

    def scores(self, terms: Sequence[str]) -> np.ndarray:
        """BM25 score of every document for the query terms (as :meth:`SparseIndex.scores`)."""
        return accumulate(self.n_docs, terms, self.postings, lambda docs: self._norms[docs], self.idf, self._common)

    def common(self, term: str) -> KeptTerm | None:
        """The kept full-length arrays of ``term`` (:class:`CommonTerms`), or ``None``."""
        return self._common.get(term)

    @cached_property
    def _common(self) -> CommonTerms:
        return CommonTerms(self.n_docs)

    @cached_property
    def _norms(self) -> np.ndarray:
        """Each row's length normalisation with the parts' mean length (:func:`length_norms`), made on first use."""
        lengths = np.concatenate([p.lengths_of(np.arange(p.n_docs)) for p in self._parts])
        return length_norms(lengths, self._avgdl, self.k1, self.b)

    def _split(self, docs: np.ndarray) -> list[tuple[SparseIndex, int, np.ndarray]]:
        """``docs`` (ascending by part) cut at the parts' boundaries: (part, its first row, its documents)."""
        cuts = np.searchsorted(docs, self._starts)
        return [
            (part, int(start), docs[cuts[i] : cuts[i + 1]])
            for i, (part, start) in enumerate(zip(self._parts, self._starts[:-1], strict=True))
        ]


def continues_block(before: Finding, after: Finding) -> bool:
    """Whether ``after`` continues the block of ``before`` (:func:`kensaku.index.hybrid.block_ids`)."""
    key = (before.document, before.municipality, before.chapter, before.section, before.heading)
    return bool(after.heading) and key == (
        after.document,
        after.municipality,
        after.chapter,
        after.section,
        after.heading,
    )


def open_parts(
    directory: Path, counts: Sequence[int], base: tuple[FindingTable, DenseIndex, SparseIndex]
) -> tuple[PartedTable, PartedDense, PartedSparse]:
    """The build's rows (``base``) and those of its parts, read from ``parts/0001`` … as one index.

    Raises:
        ValueError: A part's files disagree with each other or with the manifest's row count.
    """
    from kensaku.index.store import FINDINGS, SPARSE

    tables, denses, sparses = [base[0]], [base[1]], [base[2]]
    for number, rows in enumerate(counts, start=1):
        folder = directory / part_name(number)
        table = FindingTable.open(folder, FINDINGS, Columns.load(folder))
        dense, sparse = DenseIndex.load(folder), SparseIndex.load(folder / SPARSE)
        if not isinstance(sparse, SparseIndex) or {len(table), dense.n_docs, sparse.n_docs} != {rows}:
            raise ValueError(f"{part_name(number)} does not hold the {rows} rows the manifest records")
        tables.append(table)
        denses.append(dense)
        sparses.append(sparse)
    joins = [bool(len(a) and len(b)) and continues_block(a[len(a) - 1], b[0]) for a, b in itertools.pairwise(tables)]
    columns = concat_columns([t.columns for t in tables], joins)
    return PartedTable(columns, tables), PartedDense(denses), PartedSparse(sparses)

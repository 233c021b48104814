"""The Milvus backend's store: a local kensaku index's findings written into a Milvus collection (Milvus Lite file or
server), documents added and removed as deletes and inserts, and the client-side BM25 statistics kept in sync.

Entry points: :meth:`MilvusStore.connect` (a checked URI, :mod:`kensaku.index.milvus_uri`), :meth:`MilvusStore.sync`
(the whole local index, e.g. after ``kensaku build``), :meth:`MilvusStore.add_document` /
:meth:`MilvusStore.remove_document` (after the same change to the local index), :meth:`MilvusStore.searcher` (a
:class:`~kensaku.index.milvus_search.MilvusSearcher`, which answers as the local ``Searcher``).

The lexical leg's terms are the local build's own: each finding's BM25 text (``lexical_text`` with the index's build
options) tokenized with the index's tokenizer settings. Schema and statistics: :mod:`kensaku.index.milvus_schema`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from kensaku.config import DEFAULTS, FusionConfig
from kensaku.errors import IndexMissingError, InputError
from kensaku.index.columns import field_value
from kensaku.index.milvus_schema import (
    DEFAULT_TIMEOUT,
    FILTER_FIELDS,
    SENTINEL,
    VARCHAR_MAX,
    Stats,
    call,
    create_collections,
    literal,
    load_stats,
    open_client,
    save_stats,
)
from kensaku.index.milvus_uri import BackendURI, parse_backend
from kensaku.index.sparse import length_norms
from kensaku.index.store import IndexBundle
from kensaku.index.tokenizer import Tokenizer

if TYPE_CHECKING:
    from kensaku.index.embed import Embedder
    from kensaku.index.milvus_search import MilvusSearcher
    from kensaku.index.relevance import Calibration

BATCH = 2_000  # rows per insert
DRIFT = 0.05  # stored weights are recomputed when the mean length moved this far from the one they were made with


@dataclass(frozen=True)
class _Rows:
    """Rows about to be written: their terms (sparse dimension ids), vectors and the Milvus fields."""

    terms: list[np.ndarray]
    vectors: np.ndarray
    records: list[dict[str, Any]]


_LITE_OPEN: dict[str, int] = {}  # open connections of this process per Milvus Lite file
_LITE_LOCK = threading.Lock()


class CollectionEmptyError(IndexMissingError):
    """Nothing was written into the Milvus collection yet."""


class MilvusStore:
    """A kensaku index's findings in one Milvus collection, with the BM25 statistics beside them.

    Args:
        uri: The checked backend URI (Lite or server).
        client: A connected ``MilvusClient``.
        stats: The stored statistics (``None`` before the first :meth:`sync`).
        timeout: Seconds each Milvus call may take.
    """

    def __init__(self, uri: BackendURI, client: Any, stats: Stats | None, timeout: float) -> None:  # noqa: ANN401
        """Wrap a connection (use :meth:`connect`)."""
        self.uri, self.client, self._stats, self.timeout = uri, client, stats, timeout

    @classmethod
    def connect(
        cls, uri: str | BackendURI, *, timeout: float = DEFAULT_TIMEOUT, environ: Mapping[str, str] | None = None
    ) -> MilvusStore:
        """Connect to the Milvus backend named by ``uri`` and read its statistics (if it was synced before).

        Raises:
            BackendURIError: A wrong URI or token file (with the forms that work).
            BackendUnavailableError: Milvus does not answer or refuses the token.
        """
        checked = uri if isinstance(uri, BackendURI) else parse_backend(uri, environ)
        if checked.is_local:
            raise InputError("the local backend is the index directory itself", "open it with kensaku.Index.open")
        client = open_client(checked, timeout)
        if checked.kind == "lite":
            with _LITE_LOCK:
                _LITE_OPEN[checked.address] = _LITE_OPEN.get(checked.address, 0) + 1
        return cls(checked, client, load_stats(client, checked), timeout)

    @property
    def stats(self) -> Stats:
        """The statistics of the synced collection.

        Raises:
            IndexMissingError: Nothing was synced into the collection yet.
        """
        if self._stats is None:
            raise CollectionEmptyError(
                f"no kensaku findings in collection {self.uri.collection!r} at {self.uri.address}",
                "write the index into it first (MilvusStore.sync / kensaku build --backend ...)",
            )
        return self._stats

    def __len__(self) -> int:
        """Findings in the collection."""
        return 0 if self._stats is None else self._stats.n_docs

    def close(self) -> None:
        """Close the connection. The last connection of this process to a Milvus Lite file also stops the engine
        that holds it, so another process can open the file (Lite lets one process hold a file at a time)."""
        self.client.close()
        if self.uri.kind != "lite":
            return
        with _LITE_LOCK:
            left = _LITE_OPEN.get(self.uri.address, 1) - 1
            _LITE_OPEN[self.uri.address] = left
            if left <= 0:
                del _LITE_OPEN[self.uri.address]
                from milvus_lite.server_manager import server_manager_instance  # type: ignore[import-untyped]

                server_manager_instance.release_server(self.uri.address)

    # --- writing ------------------------------------------------------------------------------------------------

    def sync(self, bundle: IndexBundle) -> float:
        """Write every finding of ``bundle`` into freshly created collections; returns the seconds it took."""
        started = time.perf_counter()
        sparse = bundle.sparse
        k1, b = float(getattr(sparse, "k1", DEFAULTS.bm25_k1)), float(getattr(sparse, "b", DEFAULTS.bm25_b))
        if k1 <= 0:
            raise InputError(f"BM25 k1={k1} cannot be stored as tf saturation", "use k1 > 0")
        manifest = bundle.manifest
        meta = {
            "model": manifest.model.name,
            "tokenizer": manifest.tokenizer.to_dict(),
            "fingerprint": manifest.fingerprint,
        }
        dim = int(bundle.dense.dim)
        stats = Stats(k1, b, 0, 0, 1.0, {}, np.zeros(1, np.int64), np.zeros((dim + 1, dim)), 0, 1, meta)
        rows = np.arange(len(bundle.findings), dtype=np.int64)
        tokenized = [self._terms(bundle, stats, rows[i : i + BATCH]) for i in range(0, rows.size, BATCH)]
        stats.avgdl_ref = sum(int(sum(t.size for t in p)) for p in tokenized) / max(rows.size, 1)
        call(self.uri, "creating the collections", create_collections, self.client, self.uri, dim)
        blocks = _renumbered(bundle.columns.blocks, 1)  # one numbering for all batches: a block may span two
        for start, terms in zip(range(0, rows.size, BATCH), tokenized, strict=True):
            chunk = slice(start, start + BATCH)
            self._insert(bundle, stats, rows[chunk], terms, blocks[chunk])
        self._commit(stats)
        return time.perf_counter() - started

    def add_document(self, bundle: IndexBundle, document: str) -> int:
        """Write the rows of ``document`` (a ``Finding.document``) as ``bundle`` (the local index after its add)
        holds them, replacing the rows the collection had for it; returns the rows written.

        Raises:
            InputError: ``bundle`` has no finding of ``document``.
        """
        rows = np.flatnonzero(bundle.columns.mask("document", [document])).astype(np.int64)
        if rows.size == 0:
            raise InputError(f"the index has no finding of document {document!r}", "add it to the local index first")
        self.remove_document(document)
        stats = self.stats
        blocks = _renumbered(bundle.columns.blocks[rows], stats.next_block)
        self._insert(bundle, stats, rows, self._terms(bundle, stats, rows), blocks)
        self._commit(stats)
        return int(rows.size)

    def remove_document(self, document: str) -> int:
        """Delete the rows of ``document`` and take them out of the statistics; returns how many there were."""
        stats = self.stats
        expression = f"document in {literal([document])}"
        gone = self.query(f"reading the rows of {document}", expression, ["seq", "sparse", "length", "dense"])
        if not gone:
            return 0
        vectors = np.asarray([r["dense"] for r in gone], dtype=np.float64)
        stats.moments[0] -= vectors.sum(axis=0)
        stats.moments[1:] -= vectors.T @ vectors
        for row in gone:
            terms = np.fromiter((int(t) for t in row["sparse"] if int(t) != SENTINEL), dtype=np.int64)
            stats.df[terms] -= 1
        stats.n_docs -= len(gone)
        stats.total_length -= sum(int(r["length"]) for r in gone)
        call(self.uri, f"deleting {document}", self.client.delete, self.uri.collection, filter=expression)
        self._commit(stats)
        return len(gone)

    def _terms(self, bundle: IndexBundle, stats: Stats, rows: np.ndarray) -> list[np.ndarray]:
        """The sparse dimension of each BM25 term of each row, as the local build tokenizes it (new terms are
        added to the vocabulary)."""
        from kensaku.index.build import lexical_text

        tokenizer = self._tokenizer(bundle)
        options = bundle.manifest.build_options
        vocab = stats.vocab
        out = []
        for row in rows:
            terms = tokenizer.tokenize(lexical_text(bundle.findings[int(row)], options))
            out.append(np.fromiter((vocab.setdefault(t, len(vocab) + 1) for t in terms), dtype=np.int64))
        return out

    def _tokenizer(self, bundle: IndexBundle) -> Tokenizer:
        cached: tuple[str, Tokenizer] | None = getattr(self, "_tokenizer_cache", None)
        if cached is None or cached[0] != bundle.fingerprint:
            cached = (bundle.fingerprint, Tokenizer(bundle.manifest.tokenizer))
            self._tokenizer_cache = cached
        return cached[1]

    def _insert(
        self, bundle: IndexBundle, stats: Stats, rows: np.ndarray, terms: list[np.ndarray], blocks: np.ndarray
    ) -> None:
        """Insert ``rows`` of ``bundle`` (with their term ids and block numbers) and count them into ``stats``."""
        if len(stats.vocab) + 1 > stats.df.size:
            grown = np.zeros(max(len(stats.vocab) + 1, 2 * stats.df.size), dtype=np.int64)
            grown[: stats.df.size] = stats.df
            stats.df = grown
        lengths = np.fromiter((t.size for t in terms), dtype=np.int64, count=len(terms))
        norms = length_norms(lengths, stats.avgdl_ref, stats.k1, stats.b)
        vectors = bundle.dense.vectors(rows)
        records = []
        for i, row in enumerate(rows):
            finding = bundle.findings[int(row)]
            ids, tfs = np.unique(terms[i], return_counts=True)
            stats.df[ids] += 1
            records.append(
                {
                    "seq": stats.next_seq + i,
                    "id": finding.id,
                    "dense": vectors[i].tolist(),
                    "sparse": _weights(ids, tfs, float(norms[i])),
                    "length": int(lengths[i]),
                    "block": int(blocks[i]),
                    "finding": _finding_json(finding),
                    **{name: field_value(finding, name) for _, name in FILTER_FIELDS},
                }
            )
        for start in range(0, len(records), BATCH):
            call(
                self.uri, "inserting findings", self.client.insert, self.uri.collection, records[start : start + BATCH]
            )
        wide = vectors.astype(np.float64)
        stats.moments[0] += wide.sum(axis=0)
        stats.moments[1:] += wide.T @ wide
        stats.n_docs += len(rows)
        stats.total_length += int(lengths.sum())
        stats.next_seq += len(rows)
        stats.next_block = max(stats.next_block, int(blocks.max()) + 1 if blocks.size else 0)

    def mark(self, **meta: Any) -> None:  # noqa: ANN401 - JSON values
        """Record ``meta`` (what index state the collection mirrors) in the stored statistics."""
        stats = self.stats
        stats.meta.update(meta)
        save_stats(self.client, self.uri, stats)

    def _commit(self, stats: Stats) -> None:
        """Store ``stats`` (after the rows are written) and keep them; re-weight when the mean length drifted."""
        if stats.n_docs and abs(stats.avgdl / stats.avgdl_ref - 1) > DRIFT:
            self.reweight(stats)
        save_stats(self.client, self.uri, stats)
        self._stats = stats

    def reweight(self, stats: Stats) -> None:
        """Recompute every stored sparse weight with the current mean length (upserts, :data:`BATCH` rows at a
        time). Scores never depend on it (the client re-scores exactly); the candidates each leg returns do."""
        fields = ["seq", "id", "dense", "sparse", "length", "block", "finding", *(f for _, f in FILTER_FIELDS)]
        new_ref = stats.avgdl
        for start in range(0, stats.next_seq, BATCH):
            rows = self.query("re-weighting the lexical leg", f"seq >= {start} and seq < {start + BATCH}", fields)
            for row in rows:
                terms = np.fromiter((int(t) for t in row["sparse"] if int(t) != SENTINEL), dtype=np.int64)
                if terms.size:
                    length = np.array([int(row["length"])])
                    old_norm = length_norms(length, stats.avgdl_ref, stats.k1, stats.b)
                    tfs = recover_tf(np.asarray([row["sparse"][int(t)] for t in terms], np.float32), old_norm)
                    new_norm = float(length_norms(length, new_ref, stats.k1, stats.b)[0])
                    row["sparse"] = _weights(terms, tfs, new_norm)
            if rows:
                call(self.uri, "re-weighting the lexical leg", self.client.upsert, self.uri.collection, list(rows))
        stats.avgdl_ref = new_ref

    # --- reading ------------------------------------------------------------------------------------------------

    def query(self, what: str, expression: str, fields: Sequence[str]) -> list[dict[str, Any]]:
        """The ``fields`` of the rows that match ``expression`` (``what``: for the error message)."""
        found: list[dict[str, Any]] = call(
            self.uri,
            what,
            self.client.query,
            self.uri.collection,
            filter=expression,
            output_fields=list(fields),
            timeout=self.timeout,
        )
        return found

    def rows(self, seqs: Sequence[int], fields: Sequence[str]) -> dict[int, dict[str, Any]]:
        """The ``fields`` of the rows with keys ``seqs``, by key."""
        if not len(seqs):
            return {}
        found = call(
            self.uri,
            "fetching findings",
            self.client.get,
            self.uri.collection,
            ids=[int(s) for s in seqs],
            output_fields=["seq", *fields],
            timeout=self.timeout,
        )
        return {int(r["seq"]): r for r in found}

    def searcher(
        self,
        embedder: Embedder,
        fusion: FusionConfig | None = None,
        calibration: Calibration | None = None,
    ) -> MilvusSearcher:
        """A searcher over the collection that answers as the local ``Searcher`` over the synced index."""
        from kensaku.index.milvus_search import MilvusSearcher

        return MilvusSearcher(self, embedder, fusion or FusionConfig(), calibration)


def _renumbered(blocks: np.ndarray, first: int) -> np.ndarray:
    """``blocks`` as consecutive numbers from ``first`` (the same grouping: only it matters to the block lift).

    >>> _renumbered(np.array([7, 7, 9, 12]), 5).tolist()
    [5, 5, 6, 7]
    """
    renumbered: np.ndarray = np.unique(np.asarray(blocks), return_inverse=True)[1].astype(np.int64) + first
    return renumbered


def _weights(ids: np.ndarray, tfs: np.ndarray, norm: float) -> dict[int, float]:
    """A finding's sparse row: per term, the float32 tf saturation ``tf / (tf + norm)`` (:data:`SENTINEL` when it
    has no term), after checking that the tf can be read back exactly (:func:`recover_tf`)."""
    if ids.size == 0:
        return {SENTINEL: 1.0}
    tf = tfs.astype(np.float64)
    weights = (tf / (tf + norm)).astype(np.float32)
    if not np.array_equal(recover_tf(weights, norm), tfs):
        raise InputError(
            f"a term occurs {int(tfs.max())} times in one finding, too often to store as a float32 weight",
            "split the document into shorter findings, or use the local backend",
        )
    return {int(i): float(w) for i, w in zip(ids, weights, strict=True)}


def recover_tf(weights: np.ndarray, norm: float | np.ndarray) -> np.ndarray:
    """The term frequencies of stored weights ``w = float32(tf / (tf + norm))``: ``round(w · norm / (1 − w))``.

    >>> recover_tf(np.float32([1 / 1.5, 3 / 3.7]), np.array([0.5, 0.7])).tolist()
    [1, 3]
    """
    w = np.asarray(weights, dtype=np.float64)
    tf: np.ndarray = np.rint(w * np.asarray(norm, dtype=np.float64) / (1.0 - w)).astype(np.int64)
    return tf


def _finding_json(finding: Any) -> str:  # noqa: ANN401 - a Finding
    """The finding as stored JSON (refused when over Milvus's VARCHAR limit)."""
    import json

    text = json.dumps(finding.to_dict(), ensure_ascii=False)
    if len(text.encode("utf-8")) > VARCHAR_MAX:
        raise InputError(
            f"finding {finding.id} takes {len(text.encode('utf-8')):,} bytes, over Milvus's {VARCHAR_MAX:,}",
            "split the document into shorter findings, or use the local backend",
        )
    return text

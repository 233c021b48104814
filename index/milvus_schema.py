"""The Milvus side of the Milvus backend: connecting (errors with the fix), the collections' schema and indexes, filter
expressions, and the client-side BM25 statistics stored beside the findings.

Findings collection (one row per finding; ``seq`` is the primary key):

- ``seq`` INT64: the row's place in index order (ties are broken by it, as the local index breaks them by row);
  ``id`` VARCHAR: the finding id (INVERTED index). ``seq`` and not ``id`` is the key because pymilvus's ``get`` builds
  its expression without escaping, so an id holding ``"`` silently matches nothing.
- ``dense`` FLOAT_VECTOR(dim), metric IP on unit vectors (= cosine): FLAT on Milvus Lite 2.5 (the only exact type it
  has; it also refuses HNSW/IVF_SQ8), HNSW (M=32, efConstruction=200, as the local index) on a server.
- ``sparse`` SPARSE_FLOAT_VECTOR, SPARSE_INVERTED_INDEX / IP: per term, ``tf / (tf + k1·(1 − b + b·dl/avgdl_ref))``
  (the BM25 tf saturation; the idf is the query's weight), so N and df can change without touching stored rows. A
  finding without a term holds :data:`SENTINEL` (no query uses it; Milvus refuses an empty sparse row).
- ``length`` INT32 (terms), ``block`` INT64 (■ block, for the block lift), the filter fields ``municipality``,
  ``chapter``, ``section``, ``kind``, ``document``, ``year`` (VARCHAR, INVERTED) and ``finding`` (the finding as JSON,
  what a hit shows).

Statistics collection (``<name>_stats``): the client's BM25 statistics (vocabulary, df, N, total length, avgdl_ref),
the vectors' moment sums and the counters, as one zlib-compressed ``.npz`` cut into VARCHAR chunks.
"""

from __future__ import annotations

import base64
import io
import json
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from kensaku.index.milvus_uri import TOKEN_ENV, TOKEN_FILE_ENV, BackendUnavailableError, BackendURI
from kensaku.index.query import Filters

SENTINEL = 0  # the sparse dimension of a finding without terms; real terms are 1, 2, …
FILTER_FIELDS: tuple[tuple[str, str], ...] = (
    ("municipalities", "municipality"),
    ("chapters", "chapter"),
    ("sections", "section"),
    ("kinds", "kind"),
    ("documents", "document"),
    ("years", "year"),
)
VARCHAR_MAX = 65_535
CHUNK = 60_000  # characters of the statistics blob per row
DEFAULT_TIMEOUT = 10.0
_T = TypeVar("_T")


def open_client(uri: BackendURI, timeout: float = DEFAULT_TIMEOUT) -> Any:  # noqa: ANN401 - pymilvus is untyped
    """A connected ``MilvusClient`` for ``uri`` (checked with one cheap call).

    Raises:
        BackendUnavailableError: Milvus is not installed, does not answer, or refuses the token.
    """
    if uri.is_local:
        raise ValueError("the local backend has no Milvus client")
    try:
        from pymilvus import MilvusClient  # type: ignore[import-untyped]
        from pymilvus.exceptions import MilvusException  # type: ignore[import-untyped]
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise BackendUnavailableError(
            f"the Milvus backend {uri.text!r} needs pymilvus ({exc})",
            "install it with pip install 'kensaku[milvus]', or use --backend local",
        ) from exc
    try:
        client = MilvusClient(uri=uri.address, token=uri.token, timeout=timeout)
        client.list_collections(timeout=timeout)
    except MilvusException as exc:
        raise connect_error(uri, exc) from exc
    return client


def connect_error(uri: BackendURI, exc: Exception) -> BackendUnavailableError:
    """The error for a failed connection: the token, a missing Lite engine or an unreachable server."""
    message = str(getattr(exc, "message", "") or exc)
    lowered = message.lower()
    if any(word in lowered for word in ("auth", "token", "credential", "permission", "unauthenticated")):
        state = "a token" if uri.token else "no token"
        return BackendUnavailableError(
            f"Milvus at {uri.address} refused the connection with {state} ({message})",
            f"set ${TOKEN_ENV} (or ${TOKEN_FILE_ENV}) to a valid user:password or API key",
        )
    if uri.kind == "lite":
        return BackendUnavailableError(
            f"Milvus Lite could not open {uri.address} ({message})",
            "install milvus-lite 2.5.1 (pip install 'kensaku[milvus]'); Linux and macOS only; "
            "or close the other process using the file",
        )
    return BackendUnavailableError(
        f"the Milvus server at {uri.address} did not answer ({message})",
        "start it, or check the host and port in --backend / $KENSAKU_BACKEND (milvus://host:19530)",
    )


@contextmanager
def guarded(uri: BackendURI, what: str) -> Iterator[None]:
    """Turn a Milvus failure during ``what`` (a stopped server, a lost connection) into a one-line error."""
    from pymilvus.exceptions import MilvusException

    try:
        yield
    except MilvusException as exc:
        message = str(getattr(exc, "message", "") or exc)
        raise BackendUnavailableError(
            f"Milvus at {uri.address} failed while {what} ({message[:300]})",
            "check that the server is running and reachable, then search again",
        ) from exc


def call(uri: BackendURI, what: str, function: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:  # noqa: ANN401
    """``function(*args, **kwargs)`` under :func:`guarded`."""
    with guarded(uri, what):
        return function(*args, **kwargs)


def create_collections(client: Any, uri: BackendURI, dim: int) -> None:  # noqa: ANN401
    """(Re)create the findings and statistics collections, with their indexes (dropping any there)."""
    from pymilvus import DataType, MilvusClient

    for name in (uri.collection, uri.stats_collection):
        if client.has_collection(name):
            client.drop_collection(name)
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("seq", DataType.INT64, is_primary=True)
    schema.add_field("id", DataType.VARCHAR, max_length=1024)
    schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dim)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field("length", DataType.INT32)
    schema.add_field("block", DataType.INT64)
    for _, name in FILTER_FIELDS:
        schema.add_field(name, DataType.VARCHAR, max_length=4096)
    schema.add_field("finding", DataType.VARCHAR, max_length=VARCHAR_MAX)
    params = client.prepare_index_params()
    if uri.kind == "lite":
        params.add_index("dense", index_type="FLAT", metric_type="IP")
    else:
        params.add_index("dense", index_type="HNSW", metric_type="IP", params={"M": 32, "efConstruction": 200})
    params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    for name in ("id", *(f for _, f in FILTER_FIELDS)):
        params.add_index(name, index_type="INVERTED")
    _create(client, uri.collection, schema, params)
    stats = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    stats.add_field("chunk", DataType.INT64, is_primary=True)
    stats.add_field("data", DataType.VARCHAR, max_length=VARCHAR_MAX)
    stats.add_field("v", DataType.FLOAT_VECTOR, dim=2)  # Milvus needs a vector field in every collection
    stats_index = client.prepare_index_params()
    stats_index.add_index("v", index_type="FLAT", metric_type="L2")
    _create(client, uri.stats_collection, stats, stats_index)


def _create(client: Any, name: str, schema: Any, params: Any) -> None:  # noqa: ANN401 - pymilvus is untyped
    """Create a collection, its indexes (without pymilvus's 0.5 s poll per index: loading waits for them) and load
    it."""
    client.create_collection(name, schema=schema, consistency_level="Strong")
    client.create_index(name, params, sync=False)
    client.load_collection(name)


def literal(values: Sequence[str]) -> str:
    """A Milvus list literal of strings (JSON quoting: the expression parser unquotes Go-style escapes).

    >>> literal(["加賀市", 'a"b'])
    '["加賀市", "a\\\\"b"]'
    """
    return json.dumps([str(v) for v in values], ensure_ascii=False)


def filter_expression(filters: Filters | None) -> str:
    """The Milvus boolean expression of ``filters`` (empty: no filter), the same rows :meth:`Filters.accepts` keeps.

    >>> filter_expression(Filters(municipalities=["加賀市"], exclude_ids=["a:L1"]))
    'municipality in ["加賀市"] and id not in ["a:L1"]'
    """
    if filters is None or not filters.active:
        return ""
    parts = [f"{name} in {literal(getattr(filters, attr))}" for attr, name in FILTER_FIELDS if getattr(filters, attr)]
    excluded = (
        ("municipality", filters.exclude_municipalities),
        ("document", filters.exclude_documents),
        ("id", filters.exclude_ids),
    )
    parts += [f"{name} not in {literal(values)}" for name, values in excluded if values]
    return " and ".join(parts)


@dataclass
class Stats:
    """The client-side BM25 statistics and counters of a Milvus collection (kept in sync on every add and remove).

    Attributes:
        k1, b: BM25 parameters (those of the local index).
        n_docs: Findings. total_length: Their terms.
        avgdl_ref: The mean length the stored sparse weights were computed with.
        vocab: Term → sparse dimension (1, 2, …; never reused). df: Findings holding each dimension's term.
        moments: ``(dim + 1, dim)`` float64: the sum of the vectors, then the sum of their outer products.
        next_seq, next_block: The next free row key and block number.
        meta: The index's model, tokenizer and build options (JSON-ready).
    """

    k1: float
    b: float
    n_docs: int
    total_length: int
    avgdl_ref: float
    vocab: dict[str, int]
    df: np.ndarray
    moments: np.ndarray
    next_seq: int
    next_block: int
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def avgdl(self) -> float:
        """The current mean length (integers: the same float as the local index's mean)."""
        return self.total_length / max(self.n_docs, 1)

    def idf(self, df: int) -> float:
        """Lucene's idf of a term in ``df`` findings (as :meth:`kensaku.index.sparse.SparseIndex.idf`)."""
        import math

        return math.log(1.0 + (self.n_docs - df + 0.5) / (df + 0.5))

    def moments_of(self, query: np.ndarray) -> tuple[float, float]:
        """Mean and standard deviation of all findings' cosines to ``query`` (as ``DenseIndex.moments_of``)."""
        import math

        n = max(self.n_docs, 1)
        q = np.asarray(query, dtype=np.float64).reshape(-1)
        mean = float((self.moments[0] / n) @ q)
        variance = float(q @ (self.moments[1:] / n) @ q) - mean * mean
        return mean, max(math.sqrt(max(variance, 0.0)), 1e-6)

    def to_blob(self) -> str:
        """The statistics as base64 text (zlib-compressed ``.npz``)."""
        terms = sorted(self.vocab, key=self.vocab.__getitem__)
        header = {k: getattr(self, k) for k in ("k1", "b", "n_docs", "total_length", "avgdl_ref", "next_seq")}
        header.update(next_block=self.next_block, meta=self.meta, terms=terms)
        buffer = io.BytesIO()
        text = np.frombuffer(json.dumps(header, ensure_ascii=False).encode("utf-8"), dtype=np.uint8)
        np.savez(buffer, header=text, df=self.df, moments=self.moments)
        return base64.b64encode(zlib.compress(buffer.getvalue(), 6)).decode("ascii")

    @classmethod
    def from_blob(cls, blob: str) -> Stats:
        """Read :meth:`to_blob`'s text."""
        arrays = np.load(io.BytesIO(zlib.decompress(base64.b64decode(blob))))
        header = json.loads(arrays["header"].tobytes().decode("utf-8"))
        vocab = {term: i for i, term in enumerate(header.pop("terms"), start=1)}
        return cls(vocab=vocab, df=arrays["df"], moments=arrays["moments"], **header)


def save_stats(client: Any, uri: BackendURI, stats: Stats) -> None:  # noqa: ANN401
    """Replace the stored statistics (rows of :data:`CHUNK` characters)."""
    blob = stats.to_blob()
    rows = [
        {"chunk": i, "data": blob[start : start + CHUNK], "v": [0.0, 0.0]}
        for i, start in enumerate(range(0, len(blob), CHUNK))
    ]
    with guarded(uri, "writing the BM25 statistics"):
        client.delete(uri.stats_collection, filter="chunk >= 0")
        client.insert(uri.stats_collection, rows)


def load_stats(client: Any, uri: BackendURI) -> Stats | None:  # noqa: ANN401
    """The stored statistics (``None`` when the collections do not exist yet)."""
    with guarded(uri, "reading the BM25 statistics"):
        if not client.has_collection(uri.collection) or not client.has_collection(uri.stats_collection):
            return None
        rows = client.query(uri.stats_collection, filter="chunk >= 0", output_fields=["chunk", "data"], limit=16_384)
    if not rows:
        return None
    return Stats.from_blob("".join(r["data"] for r in sorted(rows, key=lambda r: int(r["chunk"]))))

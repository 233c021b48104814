"""Where an index is searched: the local files (default) or a Milvus collection mirroring them (issue 15).

``Settings.backend`` (``--backend``, ``$KENSAKU_BACKEND``) names it: ``local``, ``milvus:///path/x.db`` (Milvus
Lite), ``milvus://host:19530`` or ``https://host`` (a server, token from ``$KENSAKU_MILVUS_TOKEN``). The local index
stays the source of truth: every write (build, add, remove, metadata) changes it, then :func:`mirrored` brings the
collection to the same state under the same writer lock (:mod:`kensaku.index.milvus_mirror`). Searches, similar
cases and findings then come from Milvus (:class:`~kensaku.index.milvus_search.MilvusSearcher`), with the same
hits, order and scores as the local searcher.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kensaku.index.milvus_uri import parse_backend

if TYPE_CHECKING:
    from kensaku.api import Index
    from kensaku.index.milvus import MilvusStore
    from kensaku.index.milvus_search import MilvusSearcher
    from kensaku.index.search import Searcher


def backend_setting(value: str, where: str = "--backend") -> str:
    """A checked backend URI as given (``local`` when empty).

    Raises:
        BackendURIError: Not a form kensaku knows (naming ``where`` and the forms that work).
    """
    text = value.strip() or "local"
    try:
        parse_backend(text)
    except Exception as exc:
        from kensaku.index.milvus_uri import BackendURIError

        if isinstance(exc, BackendURIError):
            raise BackendURIError(f"{where}: {exc.reason}", exc.fix) from exc
        raise
    return text


def is_local(index: Index) -> bool:
    """Whether ``index`` is searched in its own files."""
    return parse_backend(index.settings.backend).is_local


def store_of(index: Index) -> MilvusStore:
    """The connection to the collection that mirrors ``index`` (made once per index object)."""
    from kensaku.index.milvus import MilvusStore

    if index._store is None:
        index._store = MilvusStore.connect(index.settings.backend)
    return index._store


def mirrored(index: Index, before: Index | None = None) -> Index:
    """``index`` (just written, its writer lock held) with its collection brought to its state, through the
    connection of the index object it was made from (``before``) when that has one; unchanged for the local
    backend. The report is :attr:`Index.mirror_report`."""
    if is_local(index):
        return index
    from kensaku.index.milvus_mirror import mirror

    if before is not None and before._store is not None and before.settings.backend == index.settings.backend:
        index._store = before._store

    index.mirror_report = mirror(store_of(index), index.bundle)
    return index


def engine(index: Index) -> Searcher | MilvusSearcher:
    """What answers the searches of ``index``: its local searcher, or a Milvus searcher over a collection that
    mirrors it.

    Raises:
        BackendUnavailableError: Milvus does not answer.
        IndexMismatchError: The collection does not mirror the index as it is now (with the command that fixes it).
    """
    if is_local(index):
        return index.searcher
    embedder = index.embedder
    with index._lock:
        if index._engine is None:
            from kensaku.index.milvus_mirror import check_mirror

            store = store_of(index)
            command = f"kensaku build --index {index.directory} --backend {index.settings.backend}"
            check_mirror(store, index.bundle, command)
            index._engine = store.searcher(embedder, index.settings.fusion)
        return index._engine

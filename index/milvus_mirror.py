"""Keep a Milvus collection a mirror of a local index (issue 15: the local index stays the source of truth).

A build, an add, a removal or new metadata changes the local index first, under its writer lock; then
:func:`mirror` brings the collection to the same state, still under the lock: the documents the index no longer
holds are deleted, those new or changed (by the digest of their rows, ``SourceRecord.rows``) are written again, and
the collection records the manifest's fingerprint and those digests. A collection never written, or written for
another model or tokenizer, is written whole. A search refuses a collection whose fingerprint is not the index's,
with the command that mirrors it again (:func:`check_mirror`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from kensaku.errors import IndexMismatchError

if TYPE_CHECKING:
    from kensaku.index.milvus import MilvusStore
    from kensaku.index.store import IndexBundle


class CollectionMismatchError(IndexMismatchError):
    """The Milvus collection does not hold the index as it is now."""


@dataclass(frozen=True)
class MirrorReport:
    """What :func:`mirror` did: ``whole`` (the collection written from scratch), documents written and deleted."""

    uri: str
    whole: bool
    written: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()

    def summary(self) -> str:
        """One line for the command line."""
        if self.whole:
            return f"Milvus {self.uri}: the whole index written"
        if not (self.written or self.deleted):
            return f"Milvus {self.uri}: up to date"
        return f"Milvus {self.uri}: {len(self.written)} document(s) written, {len(self.deleted)} deleted"


def digests(bundle: IndexBundle) -> dict[str, str]:
    """Each document's name (``Finding.document``) and the digest of its rows."""
    return {s.name: s.rows or "" for s in bundle.manifest.sources}


def mirror(store: MilvusStore, bundle: IndexBundle) -> MirrorReport:
    """Bring the collection of ``store`` to the state of ``bundle`` (the local index, with its writer lock held by
    the caller)."""
    manifest = bundle.manifest
    wanted = digests(bundle)
    stats = store._stats  # None: never written
    same_kind = stats is not None and stats.meta.get("model") == manifest.model.name
    same_kind = same_kind and stats is not None and stats.meta.get("tokenizer") == manifest.tokenizer.to_dict()
    if stats is None or not same_kind or not isinstance(stats.meta.get("documents"), dict):
        store.sync(bundle)
        store.mark(fingerprint=manifest.fingerprint, documents=wanted)
        return MirrorReport(store.uri.text, True)
    if stats.meta.get("fingerprint") == manifest.fingerprint:
        return MirrorReport(store.uri.text, False)
    have: dict[str, str] = stats.meta["documents"]
    deleted = tuple(name for name in have if name not in wanted)
    for name in deleted:
        store.remove_document(name)
    written = tuple(name for name, digest in wanted.items() if have.get(name) != digest)
    for name in written:
        store.add_document(bundle, name)
    store.mark(fingerprint=manifest.fingerprint, documents=wanted)
    return MirrorReport(store.uri.text, False, written, deleted)


def check_mirror(store: MilvusStore, bundle: IndexBundle, command: str) -> None:
    """Refuse a collection that does not mirror ``bundle``'s state.

    Raises:
        IndexMissingError: Nothing was written into the collection.
        CollectionMismatchError: It mirrors another state of the index (or another index), with ``command``.
    """
    fingerprint = store.stats.meta.get("fingerprint")
    if fingerprint != bundle.manifest.fingerprint:
        raise CollectionMismatchError(
            f"the Milvus collection {store.uri.collection!r} at {store.uri.address} does not hold this index as it "
            f"is now (collection {str(fingerprint)[:12]}, index {bundle.manifest.fingerprint[:12]})",
            f"write it again: {command}",
        )

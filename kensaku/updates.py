"""The writing operations of :class:`kensaku.Index`: add, rebuild, remove documents and set their metadata.

Each function takes the index it changes and returns the new one (the old object keeps the old index); the methods of
:class:`~kensaku.api.Index` (:meth:`~kensaku.api.Index.add`, :meth:`~kensaku.api.Index.rebuild`,
:meth:`~kensaku.api.Index.remove`, :meth:`~kensaku.api.Index.set_metadata`), which document them, call these. Every
one holds the index's writer lock (:mod:`kensaku.writelock`) while it writes, and works on the index now in the
directory (:func:`on_disk`), so that what another process wrote since this object was opened is kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from kensaku.backend import mirrored
from kensaku.errors import IndexMissingError, IndexStoreError
from kensaku.index.append import append_documents
from kensaku.index.build import ProgressCallback, build_index
from kensaku.index.remove import removal_report, remove_documents
from kensaku.index.store import IndexBundle, load_index, read_manifest
from kensaku.ingest.pipeline import PathLike, as_paths
from kensaku.library import DocumentMeta, find_document, meta_for, plan_removal, recorded_inputs
from kensaku.writelock import write_lock

if TYPE_CHECKING:
    from kensaku.api import Index
    from kensaku.config import Settings
    from kensaku.index.build import BuildReport
    from kensaku.index.embed import Embedder


def add_documents(
    index: Index,
    paths: PathLike | Sequence[PathLike],
    *,
    show_progress: bool,
    on_progress: ProgressCallback | None,
    wait: float | None,
    meta: DocumentMeta | None,
) -> Index:
    """:meth:`Index.add <kensaku.api.Index.add>`: ``paths`` written as a part when they are new documents or changed
    ones of the index (whose old rows are marked removed), else the index built again from its sources plus
    ``paths``."""
    with write_lock(stored_directory(index), wait):
        base = on_disk(index)
        kept, missing = recorded_inputs(base.manifest)
        overrides = meta_for(as_paths(paths), meta)
        if not missing:  # new or changed documents only: written as a part, nothing else is read or rewritten
            appended = append_documents(
                base.bundle,
                as_paths(paths),
                embedder=base.embedder,
                settings=base.settings,
                meta=overrides,
                show_progress=show_progress,
                on_progress=on_progress,
            )
            if appended is not None:
                bundle, report = appended
                return mirrored(_index(bundle, embedder=base.embedder, settings=base.settings, report=report), index)
        new = build_from(base, [*kept, *as_paths(paths)], missing, overrides, show_progress, on_progress)
        return mirrored(new, index)


def rebuild_index(
    index: Index,
    paths: Sequence[PathLike] | None,
    *,
    full: bool,
    show_progress: bool,
    on_progress: ProgressCallback | None,
    wait: float | None,
) -> Index:
    """:meth:`Index.rebuild <kensaku.api.Index.rebuild>`: the index built again from ``paths`` or its recorded
    inputs."""
    with write_lock(stored_directory(index), wait):
        base = on_disk(index)
        kept, missing = recorded_inputs(base.manifest) if paths is None else (as_paths(paths), [])
        return mirrored(build_from(base, kept, missing, {}, show_progress, on_progress, full=full), index)


def remove_inputs(
    index: Index,
    paths: PathLike | Sequence[PathLike],
    *,
    wait: float | None,
    show_progress: bool,
    on_progress: ProgressCallback | None,
) -> Index:
    """:meth:`Index.remove <kensaku.api.Index.remove>`: the rows of the documents under ``paths`` marked removed, or
    the index built again without them; removed uploads deleted once the new index is in place."""
    with write_lock(stored_directory(index), wait):
        base = on_disk(index)
        plan = plan_removal(base.manifest, as_paths(paths), index.settings.documents_dir)
        kept = {str(k) for k in plan.inputs} | set(plan.missing)
        inputs = [p for p in base.manifest.inputs if p in kept]
        marked = remove_documents(base.bundle, plan.removed, inputs)
        if marked is not None:
            report = removal_report(base.manifest, marked)
            new = _index(marked, embedder=base._embedder, settings=base.settings, report=report)
        else:
            new = build_from(base, plan.inputs, plan.missing, {}, show_progress, on_progress)
        new = mirrored(new, index)
        for path in plan.delete:
            path.unlink(missing_ok=True)
    return new


def set_document_meta(index: Index, path: PathLike, meta: DocumentMeta, *, wait: float | None) -> Index:
    """:meth:`Index.set_metadata <kensaku.api.Index.set_metadata>`: the index rebuilt with ``meta`` for the document
    at ``path``, every document reused."""
    with write_lock(stored_directory(index), wait):
        base = on_disk(index)
        record = find_document(base.manifest, path)
        kept, missing = recorded_inputs(base.manifest)
        return mirrored(build_from(base, kept, missing, {record.path: meta}, False, None), index)


def build_from(
    index: Index,
    paths: Sequence[Path],
    missing: Sequence[str],
    meta: Mapping[str, DocumentMeta | None],
    show_progress: bool,
    on_progress: ProgressCallback | None,
    *,
    full: bool = False,
) -> Index:
    """Build this (on-disk) index from ``paths`` with the writer lock held; ``missing``: recorded inputs left
    out (warned of); ``meta``: new metadata by document path."""
    bundle, report = build_index(
        paths,
        stored_directory(index),
        embedder=index.embedder,
        settings=index.settings,
        show_progress=show_progress,
        on_progress=on_progress,
        incremental=not full,
        previous=index.bundle,
        meta=meta,
        dropped=missing,
    )
    return _index(bundle, embedder=index.embedder, settings=index.settings, report=replace(report, reason="requested"))


def stored_directory(index: Index) -> Path:
    """The index directory; refuses an index held in memory only."""
    if index.directory is None:
        raise IndexMissingError("this index lives in memory only", "build one from files with Index.build")
    return index.directory


def on_disk(index: Index) -> Index:
    """This index, or the one now in its directory when another writer replaced it since this one was opened
    (call with the writer lock held). When the directory holds no readable index, this one is used."""
    directory = stored_directory(index)
    try:
        manifest = read_manifest(directory)
        if manifest.fingerprint == index.fingerprint:
            return index
        bundle = load_index(directory, verify_sources=False, manifest=manifest)
    except IndexStoreError:
        return index
    same_model = manifest.model.name == index.manifest.model.name
    return _index(bundle, embedder=index._embedder if same_model else None, settings=index.settings)


def _index(
    bundle: IndexBundle, *, embedder: Embedder | None, settings: Settings, report: BuildReport | None = None
) -> Index:
    """A new :class:`~kensaku.api.Index` (imported here: :mod:`kensaku.api` imports this module)."""
    from kensaku.api import Index

    return Index(bundle, embedder=embedder, settings=settings, report=report)

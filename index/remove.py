"""Remove documents from a built index by marking their rows removed (:mod:`kensaku.index.removal`): one small file
and the manifest are written; nothing is read, tokenized or embedded again.

:func:`remove_documents` returns ``None`` when the index cannot hold removed rows (:func:`why_not_remove` says why);
the caller then builds again without the documents, as before.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from kensaku.files import atomic_file
from kensaku.index.build import BuildReport
from kensaku.index.columns import ROWS
from kensaku.index.incremental import BuildStats
from kensaku.index.integrity import FileRecord
from kensaku.index.manifest import Manifest, inputs_json
from kensaku.index.removal import MAX_REMOVED_SHARE, REMOVED, LiveTable, removed_name, rows_of_documents
from kensaku.index.sparse import PARAMS
from kensaku.index.store import MANIFEST, SPARSE, IndexBundle, load_index


def why_not_remove(bundle: IndexBundle, documents: Sequence[str]) -> str:
    """Why removing the ``documents`` (recorded paths) from the index ``bundle`` needs a build, or ``""`` when their
    rows can be marked removed."""
    manifest, directory = bundle.manifest, bundle.directory
    if directory is None or not (directory / ROWS).exists():
        return "the index is not in the columnar format"
    if not (directory / SPARSE / PARAMS).exists():
        return "the index's BM25 leg predates term frequencies"
    if sum(s.findings for s in manifest.sources) != len(bundle.findings):
        return "the index's documents do not account for its rows"
    gone = set(documents)
    dropped = sum(s.findings for s in manifest.sources if s.path in gone)
    if dropped >= len(bundle.findings):
        return "no row would remain"
    if manifest.removed + dropped > MAX_REMOVED_SHARE * manifest.stored_rows:
        share = f"{manifest.removed + dropped} of {manifest.stored_rows}"
        return f"removed rows would be more than {MAX_REMOVED_SHARE:.0%} of the index ({share}); a build drops them"
    return ""


def remove_documents(bundle: IndexBundle, documents: Sequence[str], inputs: Sequence[str]) -> IndexBundle | None:
    """Mark the rows of ``documents`` (recorded document paths) removed and write the manifest that no longer lists
    them, whose inputs are ``inputs``; with the writer lock held by the caller. ``None`` (nothing written) when
    this needs a build (:func:`why_not_remove`)."""
    if why_not_remove(bundle, documents):
        return None
    directory = bundle.directory
    assert directory is not None
    updated = with_inputs_copy(directory, replace(without_documents(bundle, documents), inputs=tuple(inputs))).stamped()
    atomic_file(directory / MANIFEST, updated.to_json().encode("utf-8"))  # the removal takes effect here
    forget_old_lists(directory, bundle.manifest, updated)
    return load_index(directory, verify_sources=False, manifest=updated)


def without_documents(bundle: IndexBundle, documents: Sequence[str]) -> Manifest:
    """Write the list of removed rows that adds the rows of ``documents`` (recorded paths) to those removed before,
    under a new name; the index's manifest without the documents and with that list (not written, not stamped)."""
    directory, manifest = bundle.directory, bundle.manifest
    assert directory is not None
    gone = set(documents)
    drop = [s.path in gone for s in manifest.sources]
    table = bundle.findings
    keep = table.rows.keep if isinstance(table, LiveTable) else np.arange(len(table), dtype=np.int64)
    rows = rows_of_documents([s.findings for s in manifest.sources], drop, keep)
    removed = np.union1d(_removed_rows(directory, manifest), rows).astype(np.int64)
    name = _write_removed(directory, manifest, removed)
    files = {k: v for k, v in manifest.files.items() if not k.startswith(f"{REMOVED}/")}
    return replace(
        manifest,
        sources=tuple(s for s, d in zip(manifest.sources, drop, strict=True) if not d),
        findings=manifest.stored_rows - int(removed.size),
        removed=int(removed.size),
        removed_file=name,
        files={**files, name: FileRecord.of_file(directory / name)},
    )


def with_inputs_copy(directory: Path, manifest: Manifest) -> Manifest:
    """``manifest`` with a copy of its inputs written beside its list of removed rows (``removed/NNNN.json``), which
    :func:`~kensaku.index.manifest.inputs_of` reads instead of the build's ``inputs.json`` (a rebuild named when
    the manifest is damaged then leaves the removed documents out)."""
    assert manifest.removed_file
    name = str(Path(manifest.removed_file).with_suffix(".json"))
    atomic_file(directory / name, inputs_json(manifest.rebuild_sources, len(manifest.parts)).encode("utf-8"))
    return replace(manifest, files={**manifest.files, name: FileRecord.of_file(directory / name)})


def removal_report(before: Manifest, after: IndexBundle) -> BuildReport:
    """What :func:`remove_documents` did, as a build reports it."""
    assert after.directory is not None
    manifest = after.manifest
    stats = BuildStats(unchanged=manifest.documents, removed=before.documents - manifest.documents)
    return BuildReport(after.directory, True, "requested", manifest.findings, manifest.documents, None, stats)


def _removed_rows(directory: Path, manifest: Manifest) -> np.ndarray:
    """The rows the manifest already marks removed."""
    if not manifest.removed:
        return np.zeros(0, dtype=np.int64)
    return np.asarray(np.load(directory / manifest.removed_file), dtype=np.int64)


def _write_removed(directory: Path, manifest: Manifest, removed: np.ndarray) -> str:
    """Write the list of removed rows under a name no manifest uses yet; its name, relative to ``directory``."""
    number = int(Path(manifest.removed_file).stem) + 1 if manifest.removed_file else 1
    name = removed_name(number)
    (directory / REMOVED).mkdir(exist_ok=True)
    buffer = io.BytesIO()
    np.save(buffer, removed)
    atomic_file(directory / name, buffer.getvalue())
    return name


def forget_old_lists(directory: Path, before: Manifest, after: Manifest) -> None:
    """Delete the lists of removed rows (and their copies of the inputs) that neither the new manifest (``after``) nor
    the one ``before`` it names (a reader that read that one may still open its list)."""
    keep = {Path(name).stem for name in (before.removed_file, after.removed_file) if name}
    folder = directory / REMOVED
    for path in folder.iterdir() if folder.is_dir() else ():
        if path.stem not in keep:
            try:
                os.unlink(path)
            except OSError:
                pass

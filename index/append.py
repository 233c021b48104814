"""Add new documents to a built index as a part (:mod:`kensaku.index.parts`): read, tokenize, embed and write only
them, then swap the manifest. The cost is that of the documents added, not of the index.

:func:`append_documents` returns ``None`` when the change is more than an addition of new documents, or the index
cannot take a part (:func:`why_not_append` says why); the caller then builds in full, as before.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from kensaku.config import Settings
from kensaku.files import atomic_file
from kensaku.index.build import (
    BuildReport,
    ProgressCallback,
    _source_records,
    build_bundle,
    nothing_to_index,
)
from kensaku.index.columns import ROWS
from kensaku.index.documents import apply_meta, carry_over
from kensaku.index.embed import Embedder
from kensaku.index.incremental import BuildStats, reuse_problem
from kensaku.index.integrity import json_text, record_files
from kensaku.index.journal import EmbedJournal
from kensaku.index.manifest import INPUTS, BuildOptions, DocumentMeta, IngestInfo, Manifest, ModelInfo, SourceRecord
from kensaku.index.parts import MAX_PARTS, part_name, write_part_directory
from kensaku.index.removal import rows_of_documents
from kensaku.index.remove import forget_old_lists, why_not_remove, with_inputs_copy, without_documents
from kensaku.index.sparse import PARAMS, SparseIndex
from kensaku.index.store import FINDINGS, MANIFEST, SPARSE, IndexBundle, load_index, write_findings
from kensaku.index.tokenizer import TOKENIZER_VERSION
from kensaku.ingest.pipeline import INGEST_VERSION, IngestResult, collect_files, ingest_paths


def why_not_append(bundle: IndexBundle, paths: Sequence[Path], embedder: Embedder, settings: Settings) -> str:
    """Why adding the documents under ``paths`` to the index ``bundle`` (loaded from its directory) needs a full
    build, or ``""`` when they can be added as a part (documents of the index among them that changed replace
    their old rows: :func:`replaced_documents`)."""
    manifest, directory = bundle.manifest, bundle.directory
    if directory is None or not (directory / "rows.npy").exists():
        return "the index is not in the columnar format"
    if not (directory / SPARSE / PARAMS).exists():
        return "the index's BM25 leg predates term frequencies"
    if len(manifest.parts) >= MAX_PARTS:
        return f"the index has {len(manifest.parts)} parts already; a full build merges them"
    ingest = IngestInfo(INGEST_VERSION, settings.max_chars)
    problem = reuse_problem(manifest, model=ModelInfo.of(embedder), options=BuildOptions.of(settings), ingest=ingest)
    if problem:
        return problem
    params = json.loads((directory / SPARSE / PARAMS).read_text(encoding="utf-8"))
    same = (manifest.tokenizer.version, manifest.tokenizer.form, manifest.build_options, params["k1"], params["b"])
    wanted = (TOKENIZER_VERSION, settings.token_form, BuildOptions.of(settings), settings.bm25_k1, settings.bm25_b)
    if same != wanted:
        return "the index was built with other BM25 settings"
    files = [str(f.resolve()) for f in collect_files(paths)]
    changed = replaced_documents(manifest, files)
    if any(s.path not in changed for s in manifest.sources if s.change()):
        return "documents of the index changed since it was built"
    recorded = {s.path for s in manifest.sources}
    if any(f in recorded and f not in changed for f in files):
        return "a document given is in the index already"
    return why_not_remove(bundle, changed) if changed else ""


def replaced_documents(manifest: Manifest, files: Sequence[str]) -> list[str]:
    """The documents of the index among ``files`` (resolved paths) whose bytes changed since they were read."""
    wanted = set(files)
    return [s.path for s in manifest.sources if s.path in wanted and s.change() == "changed"]


def append_documents(
    bundle: IndexBundle,
    paths: Sequence[Path],
    *,
    embedder: Embedder,
    settings: Settings,
    meta: Mapping[str, DocumentMeta | None],
    show_progress: bool = False,
    on_progress: ProgressCallback | None = None,
) -> tuple[IndexBundle, BuildReport] | None:
    """Add the documents under ``paths`` to the index ``bundle`` as a new part, with the writer lock held by the
    caller; ``None`` (nothing written) when this needs a full build (:func:`why_not_append`, or a new document's
    finding ids collide with the index's).

    Raises:
        NothingToIndexError: None of the documents gave a finding.
    """
    if why_not_append(bundle, paths, embedder, settings):
        return None
    directory, manifest = bundle.directory, bundle.manifest
    assert directory is not None
    changed = replaced_documents(manifest, [str(f.resolve()) for f in collect_files(paths)])
    result = ingest_paths(paths, max_chars=settings.max_chars, ocr=settings.ocr, limits=settings.limits)
    if not result.findings:
        raise nothing_to_index(result)
    if _ids_taken(bundle, result, changed):
        return None  # an id prefix taken already (two files of one name): a full build gives unique prefixes
    warned: dict[str, list[str]] = {}
    for warning in result.warnings:
        warned.setdefault(str(Path(warning.path).resolve()), []).append(warning.reason)
    prior = ({s.path: s for s in manifest.sources if s.path in set(changed)}, "")
    sources = carry_over(_source_records(result), prior, warned, [False] * len(result.sources), meta)
    journal = EmbedJournal(directory, ModelInfo.of(embedder))
    part = build_bundle(
        apply_meta(result.findings, sources),
        sources,
        embedder=embedder,
        settings=replace(settings, ann="flat"),  # a part is searched exactly
        show_progress=show_progress,
        on_progress=on_progress,
        journal=journal,
    )
    inputs = [str(Path(p).resolve()) for p in paths]
    base = without_documents(bundle, changed) if changed else manifest  # the changed documents' old rows go
    updated = _with_part(directory, base, part, sources, inputs)
    updated = (with_inputs_copy(directory, updated) if changed else updated).stamped()
    atomic_file(directory / MANIFEST, updated.to_json().encode("utf-8"))  # the add takes effect here
    forget_old_lists(directory, manifest, updated)
    journal.discard()
    stats = BuildStats(
        new=len(sources) - len(changed),
        changed=len(changed),
        unchanged=len(manifest.sources) - len(changed),
        embedded=len(part.findings) - journal.resumed,
        resumed=journal.resumed,
    )
    report = BuildReport(directory, True, "", updated.findings, updated.documents, result, stats)
    return load_index(directory, verify_sources=False, manifest=updated), report


def _ids_taken(bundle: IndexBundle, result: IngestResult, changed: Sequence[str]) -> bool:
    """Whether a finding read takes the id of a row of the index other than the old rows of a changed document
    (whose prefix must stay the one recorded, so that the ids equal a full build's)."""
    manifest, replaced = bundle.manifest, set(changed)
    prefixes = {s.path: s.prefix for s in manifest.sources}
    read = {str(Path(s.path).resolve()): s.prefix for s in result.sources}
    if any(prefixes[path] != prefix for path, prefix in read.items() if path in replaced):
        return True
    drop = [s.path in replaced for s in manifest.sources]
    old = set(rows_of_documents([s.findings for s in manifest.sources], drop, np.arange(len(bundle.findings))).tolist())
    rows = (bundle.findings.row_of(f.id) for f in result.findings)
    return any(row is not None and row not in old for row in rows)


def _with_part(
    directory: Path, manifest: Manifest, part: IndexBundle, sources: Sequence[SourceRecord], inputs: Sequence[str]
) -> Manifest:
    """Write ``part`` (its findings of ``sources``) as the index's next part; ``manifest`` with it (not written)."""
    number = len(manifest.parts) + 1
    digested: list[SourceRecord] = []

    def fill(folder: Path) -> None:
        records, offsets = write_findings(folder / FINDINGS, part.findings, sources, part.dense)
        digested.extend(records)
        np.save(folder / ROWS, offsets)
        (folder / INPUTS).write_text(json_text({"inputs": list(inputs)}, indent=2), encoding="utf-8")
        part.columns.save(folder)
        part.dense.save(folder)
        (folder / SPARSE).mkdir()
        assert isinstance(part.sparse, SparseIndex)
        part.sparse.save(folder / SPARSE)

    written = write_part_directory(directory, number, fill)
    files = {**manifest.files, **{f"{part_name(number)}/{n}": r for n, r in record_files(written).items()}}
    return replace(
        manifest,
        inputs=tuple(dict.fromkeys([*manifest.inputs, *inputs])),
        sources=(*manifest.sources, *digested),
        findings=manifest.findings + len(part.findings),
        parts=(*manifest.parts, len(part.findings)),
        files=files,
    )

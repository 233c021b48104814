"""Check an index in full, and salvage what is intact of a damaged one.

:func:`verify_index` (``kensaku verify``) reads every file of an index directory: the manifest's checksum and schema,
the SHA-256 of each data file against ``manifest.json``, then the loaded rows (unique ids, equal counts in every leg
and per document, filter columns that match ``findings.jsonl``, unit-length vectors). :func:`salvage` reads the
``findings.jsonl`` and ``vectors.npy`` (``dense.faiss`` in formats 1–5) of a damaged index, and the list of removed
rows (``removed/NNNN.npy``), and keeps the documents whose row blocks still match their digests in the manifest, for
a build to reuse (:mod:`kensaku.index.build`). Neither writes anything. Both are re-exported by
:mod:`kensaku.index.store`, which opens the index for them (imported inside the functions: the store imports this
module).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from kensaku.errors import IndexCorruptError, IndexStoreError
from kensaku.index.columns import Columns
from kensaku.index.dense import VECTORS, DenseIndex
from kensaku.index.integrity import block_digest, check_sha256
from kensaku.index.manifest import Manifest, SourceRecord, rebuild_hint
from kensaku.ingest.models import Finding

if TYPE_CHECKING:
    from kensaku.index.store import IndexBundle


@dataclass(frozen=True)
class VerifyReport:
    """What ``kensaku verify`` checked in an intact index.

    Attributes:
        directory: The index directory.
        files: Data files whose SHA-256 matched the manifest.
        bytes: Bytes hashed.
        findings: Rows loaded and cross-checked (findings, vectors, BM25 documents, per-document counts).
    """

    directory: Path
    files: int
    bytes: int
    findings: int


def verify_index(directory: Path) -> VerifyReport:
    """Check the index at ``directory`` in full: the manifest's checksum and schema, the SHA-256 of every file, then
    the loaded rows (unique ids, equal counts in every leg and per document, unit-length vectors).

    Raises:
        IndexMissingError, IndexMismatchError, IndexCorruptError: With the reason and the command that rebuilds it.
    """
    from kensaku.index.store import load_index, read_manifest

    directory = Path(directory)
    manifest = read_manifest(directory)
    hint = rebuild_hint(directory, manifest.rebuild_sources, full=True)
    if not manifest.files:
        raise IndexCorruptError(
            f"index at {directory} has format version {manifest.format_version}, which records no checksums", hint
        )
    hashed = check_sha256(directory, manifest.files, hint)
    bundle = load_index(directory, verify_sources=False, manifest=manifest)
    if manifest.sources and sum(s.findings for s in manifest.sources) != len(bundle.findings):
        raise IndexCorruptError(f"index at {directory}: the documents' finding counts do not add up", hint)
    _check_columns(bundle, directory, hint)
    rows = np.arange(len(bundle.findings), dtype=np.int64)
    norms = np.concatenate(
        [np.linalg.norm(bundle.dense.vectors(rows[i : i + 65536]), axis=1) for i in range(0, len(rows), 65536)]
    )
    off = np.flatnonzero(np.abs(norms - 1.0) > 1e-3)
    if off.size:
        raise IndexCorruptError(
            f"index at {directory}: {off.size} vector(s) are not of unit length (first: row {int(off[0])}, "
            f"finding {bundle.findings[int(off[0])].id})",
            hint,
        )
    return VerifyReport(directory.resolve(), len(manifest.files), hashed, len(bundle.findings))


def _check_columns(bundle: IndexBundle, directory: Path, hint: str) -> None:
    """Refuse duplicate ids, and columns that do not say what the findings say (parses every row)."""
    from kensaku.index.store import FINDINGS

    findings = bundle.findings.materialised()
    if len({f.id for f in findings}) != len(findings):
        raise IndexCorruptError(f"index at {directory}: {FINDINGS} holds duplicate finding ids", hint)
    stored, fresh = bundle.columns, Columns.of(findings)
    same = stored.values == fresh.values and all(
        np.array_equal(a, b)
        for a, b in ((stored.codes, fresh.codes), (stored.blocks, fresh.blocks), (stored.hashes, fresh.hashes))
    )
    if not same:
        raise IndexCorruptError(f"index at {directory}: the filter columns do not match {FINDINGS}", hint)


@dataclass(frozen=True)
class Salvage:
    """The rows of a damaged index whose documents' row blocks still match their digests in the manifest.

    Attributes:
        manifest: The damaged index's manifest (it parsed and matched its own checksum).
        verified: The documents whose rows are intact, in row order.
        findings: Their findings.
        dense: Their vectors, row for row.
        lost: The number of documents whose rows did not verify.
    """

    manifest: Manifest
    verified: tuple[SourceRecord, ...]
    findings: tuple[Finding, ...]
    dense: DenseIndex
    lost: int


def salvage(directory: Path) -> Salvage | None:
    """The verifiable rows of the damaged index at ``directory``, or ``None`` when nothing can be verified (the
    manifest is unreadable, predates row digests, or the findings or vector file cannot be read at all)."""
    from kensaku.index.store import DENSE, FINDINGS, read_manifest

    try:
        manifest = read_manifest(directory)
        if not manifest.sources or any(s.rows is None for s in manifest.sources):
            return None
        lines = (Path(directory) / FINDINGS).read_bytes().split(b"\n")[:-1]
        if (Path(directory) / VECTORS).exists():
            dense = DenseIndex(np.load(Path(directory) / VECTORS, mmap_mode="r"))
        else:
            dense = DenseIndex.from_bytes((Path(directory) / DENSE).read_bytes())
    except (IndexStoreError, OSError, RuntimeError, ValueError):
        return None
    keep = _kept_rows(directory, manifest)
    if keep is None:
        return None
    verified, findings, vectors, start = [], [], [], 0
    for source in manifest.sources:
        first = int(keep[start]) if start < keep.size else keep.size  # the document's rows are contiguous
        rows = range(first, first + source.findings)
        start += source.findings
        block = _verified_block(source, [line + b"\n" for line in lines[rows.start : rows.stop]], dense, rows)
        if block is not None:
            verified.append(source)
            findings += block[0]
            vectors.append(block[1])
    if not verified:
        return None
    return Salvage(
        manifest,
        tuple(verified),
        tuple(findings),
        DenseIndex.build(np.concatenate(vectors), ann="flat"),
        len(manifest.sources) - len(verified),
    )


def _kept_rows(directory: Path, manifest: Manifest) -> np.ndarray | None:
    """The rows in the files of the documents the manifest lists (all rows, unless documents were removed since the
    build), or ``None`` when the list of removed rows cannot be read."""
    stored = manifest.stored_rows
    if not manifest.removed:
        return np.arange(stored, dtype=np.int64)
    try:
        removed = np.load(Path(directory) / manifest.removed_file)
        alive = np.ones(stored, dtype=bool)
        alive[np.asarray(removed, dtype=np.int64)] = False
    except (OSError, ValueError, IndexError):
        return None
    return np.flatnonzero(alive)


def _verified_block(
    source: SourceRecord, lines: list[bytes], dense: DenseIndex, rows: range
) -> tuple[list[Finding], np.ndarray] | None:
    """A document's findings and vectors when its rows match their digest, else ``None``."""
    if len(lines) != len(rows) or rows.stop > dense.n_docs:
        return None
    vectors = dense.vectors(np.arange(rows.start, rows.stop, dtype=np.int64)).astype(np.float32)
    if block_digest(lines, vectors.tobytes()) != source.rows:
        return None
    try:
        return [Finding.from_dict(json.loads(line)) for line in lines], vectors
    except (ValueError, TypeError, KeyError, AttributeError):
        return None

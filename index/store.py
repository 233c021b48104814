"""Save and load an index directory: plain files plus a typed manifest, written atomically, refused on mismatch.

Layout of an index directory (format 6)::

    manifest.json     format version, model, tokenizer, build options, sources (sha256, size, mtime), counts,
                      size and checksums of every other file, and a checksum of itself
    findings.jsonl    one Finding per line, row i = vector i = BM25 document i
    rows.npy          byte offset of each row in findings.jsonl (rows are parsed only when a search returns them)
    columns.json/npy  per-field filter codes, the block of each row; ids.npy: sorted id hashes (kensaku.index.columns)
    vectors.npy       float32 vectors, L2-normalized, memory-mapped on open
    ann.faiss         an ANN index over the vectors (HNSW; IVF in older indexes), only in large indexes
    bm25/             term frequencies per term (.npy), document lengths, vocabulary and params (.json), no pickle

Formats 1–5 (``dense.faiss`` instead of ``vectors.npy``, bm25s score arrays, no row offsets or columns) are still
read: their findings are parsed on open, as before; the next build writes format 6.

A build writes into a temporary sibling directory and swaps it in (:func:`kensaku.files.atomic_directory`), so a
failed or killed build leaves the previous index as it was; :func:`kensaku.files.recover` (run by every load and
build) puts things right after a ``kill -9``. The manifest is read once per open. Every open checks the files
against the manifest's sizes, and the CRC-32 of every file up to :data:`CRC_ON_OPEN` bytes (larger ones, the
findings and vectors of a big index, would take seconds to read); ``kensaku verify`` checks the SHA-256 of all
(:func:`verify_index`, in :mod:`kensaku.index.verify` with :func:`salvage`, which keeps the intact rows of a damaged
index; both are re-exported here).
"""

from __future__ import annotations

import io
import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from kensaku.config import Settings
from kensaku.errors import (
    IndexCorruptError,
    IndexMismatchError,
    IndexMissingError,
    KensakuError,
)
from kensaku.files import atomic_directory, recover
from kensaku.index.columns import ROWS, Columns, FindingTable
from kensaku.index.dense import DenseIndex
from kensaku.index.integrity import (
    FileRecord,
    block_digest,
    check_bytes,
    check_sizes,
    json_text,
    record_files,
)
from kensaku.index.manifest import INPUTS, Manifest, SourceRecord, inputs_of, rebuild_hint
from kensaku.index.sparse import Sparse, SparseIndex
from kensaku.index.verify import Salvage as Salvage
from kensaku.index.verify import VerifyReport as VerifyReport
from kensaku.index.verify import salvage as salvage
from kensaku.index.verify import verify_index as verify_index
from kensaku.ingest.models import Finding

MANIFEST = "manifest.json"
FINDINGS = "findings.jsonl"
DENSE = "dense.faiss"  # formats 1-5
SPARSE = "bm25"
CRC_ON_OPEN = 64 * 1024 * 1024


@dataclass(frozen=True)
class IndexBundle:
    """A loaded (or freshly built) index: findings aligned with the vectors and BM25 documents.

    Attributes:
        directory: Where it is stored (``None`` while only in memory).
        manifest: What it was built from and how.
        findings: Row ``i`` is vector ``i`` and BM25 document ``i``.
        sparse: The BM25 leg.
        dense: The FAISS leg.
    """

    directory: Path | None
    manifest: Manifest
    findings: FindingTable
    sparse: Sparse
    dense: DenseIndex

    def __post_init__(self) -> None:
        """Keep findings given as a sequence as a :class:`FindingTable`."""
        if not isinstance(self.findings, FindingTable):
            object.__setattr__(self, "findings", FindingTable.of(self.findings))

    @property
    def columns(self) -> Columns:
        """The filter code columns of the findings."""
        return self.findings.columns

    @property
    def fingerprint(self) -> str:
        """Short id of this build (changes on every rebuild); for caches keyed on the index."""
        return self.manifest.fingerprint


def save_bundle(bundle: IndexBundle, directory: Path) -> IndexBundle:
    """Write ``bundle`` to ``directory`` atomically; returns it as saved (its manifest records the files)."""
    directory = Path(directory)
    with atomic_directory(directory) as tmp:
        sources, offsets = write_findings(tmp / FINDINGS, bundle.findings, bundle.manifest.sources, bundle.dense)
        np.save(tmp / ROWS, offsets)
        bundle.columns.save(tmp)
        bundle.dense.save(tmp)
        (tmp / SPARSE).mkdir()
        if not isinstance(bundle.sparse, SparseIndex):  # only built bundles are saved, never a loaded old one
            raise TypeError("the BM25 leg of an index of an older format cannot be saved; build the index again")
        bundle.sparse.save(tmp / SPARSE)
        inputs = {"inputs": list(bundle.manifest.rebuild_sources)}
        (tmp / INPUTS).write_text(json_text(inputs, indent=2), encoding="utf-8")
        manifest = replace(bundle.manifest, sources=sources, files=record_files(tmp))
        # The manifest goes last: a directory without one is never taken for an index.
        (tmp / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
    return replace(bundle, directory=directory.resolve(), manifest=manifest)


def write_findings(
    path: Path, findings: Sequence[Finding], sources: Sequence[SourceRecord], dense: DenseIndex
) -> tuple[tuple[SourceRecord, ...], np.ndarray]:
    """Write the findings one document at a time; returns the sources, each with the digest of its row block
    (findings lines and vectors), and the byte offset of every row."""
    offsets = np.zeros(len(findings) + 1, dtype=np.int64)
    blocks: list[tuple[SourceRecord | None, int]] = [(s, s.findings) for s in sources]
    blocks = blocks or [(None, len(findings))]
    out, start, position = [], 0, 0
    with path.open("wb") as handle:
        for source, count in blocks:
            rows = range(start, start + count)
            start = rows.stop
            lines = [(json_text(findings[i].to_dict()) + "\n").encode("utf-8") for i in rows]
            for i, line in zip(rows, lines, strict=True):
                position += len(line)
                offsets[i + 1] = position
            handle.write(b"".join(lines))
            if source is not None:
                vectors = dense.vectors(np.arange(rows.start, rows.stop, dtype=np.int64)).tobytes()
                out.append(replace(source, rows=block_digest(lines, vectors)))
        if start < len(findings):  # rows of no recorded document (indexes from memory)
            raise ValueError(f"{len(findings) - start} findings belong to no source of the manifest")
    return tuple(out), offsets


def save_index(bundle: IndexBundle, directory: Path) -> Path:
    """Write ``bundle`` to ``directory`` atomically; returns the final directory."""
    saved = save_bundle(bundle, directory)
    assert saved.directory is not None
    return saved.directory


def read_manifest(directory: Path) -> Manifest:
    """Read and check the manifest of the index at ``directory`` (after undoing what a killed build left).

    Raises:
        IndexMissingError: No index there.
        IndexCorruptError: The manifest is unreadable or damaged.
        IndexMismatchError: The index uses a format version this kensaku does not read.
    """
    recover(directory)
    path = Path(directory) / MANIFEST
    if not path.exists():
        if inputs_of(directory):
            raise IndexCorruptError(
                f"index at {directory} has lost its {MANIFEST}",
                rebuild_hint(directory, inputs_of(directory), full=True),
            )
        raise missing_index(directory)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise IndexCorruptError(
            f"the manifest {path} is unreadable ({exc})", rebuild_hint(directory, inputs_of(directory), full=True)
        ) from exc
    return Manifest.from_json(text, Path(directory))


def _holds_index(path: Path) -> bool:
    name = path.name
    temporary = name.startswith(".") and (".tmp-" in name or ".old-" in name)  # a build's leftovers
    return not temporary and (path / MANIFEST).is_file()


def nearby_indexes(directory: Path, limit: int = 3) -> list[Path]:
    """Indexes a mistyped ``directory`` may have meant, most alike first: folders inside it, beside it (or beside
    its missing parent, with its name) that hold a manifest, then the project's default index (``$KENSAKU_INDEX``,
    ``kensaku.toml`` or ``.kensaku/index``)."""
    from difflib import SequenceMatcher
    from itertools import islice

    target = Path(directory).absolute()
    parent = target.parent
    try:
        found = [c for c in target.iterdir() if c.is_dir()] if target.is_dir() else []
        if parent.is_dir():
            found += sorted(
                (c for c in islice(parent.iterdir(), 500) if c != target),
                key=lambda c: -SequenceMatcher(None, c.name, target.name).ratio(),
            )
        elif parent.parent.is_dir():
            found += [c / target.name for c in islice(parent.parent.iterdir(), 500)]
    except OSError:
        pass
    try:
        found.append(Settings.from_env().index_dir.absolute())
    except (KensakuError, OSError):  # a bad $KENSAKU_… or kensaku.toml is reported where it is read
        pass
    out = [c for c in dict.fromkeys(found) if c != target and _holds_index(c)]
    return out[:limit]


def missing_index(directory: Path) -> IndexMissingError:
    """The error for no index at ``directory``: ``no index at /abs/x (did you mean /abs/.kensaku/index?)`` when one
    is near (:func:`nearby_indexes`), else with the command that builds one there."""
    target = Path(directory).absolute()
    candidates = nearby_indexes(target)
    if candidates:
        shown = " or ".join(str(c) for c in candidates)
        return IndexMissingError(
            f"no index at {target} (did you mean {shown}?)", "give that folder with --index (or $KENSAKU_INDEX)"
        )
    why = f" (the folder has no {MANIFEST})" if target.is_dir() else ""
    quoted = shlex.quote(str(target))
    return IndexMissingError(f"no index at {target}{why}", f"build one with `kensaku build PATH ... --index {quoted}`")


def check_files(manifest: Manifest, directory: Path) -> None:
    """Check every data file of the index against the manifest's sizes, and those up to :data:`CRC_ON_OPEN` bytes
    against their CRC-32s.

    Raises:
        IndexCorruptError: A file is missing, extra, or differs; naming it and the command that rebuilds the index.
    """
    hint = rebuild_hint(directory, manifest.rebuild_sources, full=True)
    if manifest.files:
        check_sizes(directory, manifest.files, hint)
    for name, record in manifest.files.items():
        if record.size <= CRC_ON_OPEN:  # as an open checks them (larger files by size; `kensaku verify` reads all)
            _checked(directory, name, manifest.files, hint)


def check_model(manifest: Manifest, model: str, directory: Path) -> None:
    """Refuse to search an index with another embedding model than the one it was built with."""
    built = manifest.model.name
    if built != model:
        raise IndexMismatchError(
            f"index at {directory} was built with model {built!r} but {model!r} was requested",
            f"search it with --model {built} or {rebuild_hint(directory, manifest.rebuild_sources, full=True)} "
            f"--model {model}",
        )


def stale_sources(manifest: Manifest) -> list[str]:
    """Recorded documents that changed or disappeared since the build (one ``stat`` each; hashed only when moved)."""
    return [f"{s.path} ({change})" for s in manifest.sources if (change := s.change())]


def check_sources(manifest: Manifest, directory: Path) -> None:
    """Refuse an index whose source documents changed since it was built."""
    stale = stale_sources(manifest)
    if stale:
        raise IndexMismatchError(
            f"index at {directory} is out of date: {', '.join(stale[:5])}{' …' if len(stale) > 5 else ''}",
            rebuild_hint(directory, manifest.rebuild_sources),
        )


def load_index(
    directory: Path, *, model: str | None = None, verify_sources: bool = True, manifest: Manifest | None = None
) -> IndexBundle:
    """Load the index at ``directory`` and check it is whole and matches what is asked.

    Args:
        directory: The index directory.
        model: When given, the embedding model the caller will query with; another one is refused.
        verify_sources: Refuse the index when a source document changed since the build.
        manifest: The manifest when the caller has read it already (it is not read again).

    Raises:
        IndexMissingError, IndexMismatchError, IndexCorruptError: With the reason and the rebuild command.
    """
    directory = Path(directory)
    manifest = manifest or read_manifest(directory)
    if model is not None:
        check_model(manifest, model, directory)
    if verify_sources:
        check_sources(manifest, directory)
    hint = rebuild_hint(directory, manifest.rebuild_sources, full=True)
    try:
        findings, dense = _read_rows(directory, manifest, hint)
        sparse: Sparse = SparseIndex.load(directory / SPARSE)
        if manifest.parts:
            from kensaku.index.parts import open_parts

            if not isinstance(sparse, SparseIndex):
                raise ValueError("an index of an older format has parts")
            findings, dense, sparse = open_parts(directory, manifest.parts, (findings, dense, sparse))
        if manifest.removed:
            findings, dense, sparse = _without_removed(directory, manifest, (findings, dense, sparse), hint)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, EOFError, IndexError) as exc:
        raise IndexCorruptError(f"index at {directory} is damaged ({type(exc).__name__}: {exc})", hint) from exc
    sizes = {"manifest": manifest.findings, "findings": len(findings), "vectors": dense.n_docs, "bm25": sparse.n_docs}
    if len(set(sizes.values())) != 1:
        raise IndexCorruptError(f"index at {directory} is inconsistent (row counts {sizes})", hint)
    if manifest.model.dim != dense.dim:
        raise IndexCorruptError(
            f"index at {directory}: vectors have dim {dense.dim}, manifest says {manifest.model.dim}", hint
        )
    return IndexBundle(directory=directory, manifest=manifest, findings=findings, sparse=sparse, dense=dense)


def _without_removed(
    directory: Path, manifest: Manifest, rows: tuple[FindingTable, DenseIndex, Sparse], hint: str
) -> tuple[FindingTable, DenseIndex, Sparse]:
    """The index without the rows of the documents removed since the build (:mod:`kensaku.index.removal`)."""
    from kensaku.index.parts import PartedSparse
    from kensaku.index.removal import live_view

    findings, dense, sparse = rows
    if not isinstance(sparse, SparseIndex | PartedSparse):
        raise ValueError("an index of an older format has removed rows")
    removed = np.load(io.BytesIO(_checked(directory, manifest.removed_file, manifest.files, hint)))
    if removed.size != manifest.removed:
        raise ValueError(f"{manifest.removed_file} lists {removed.size} rows, the manifest {manifest.removed}")
    return live_view(findings, dense, sparse, removed)


def _read_rows(directory: Path, manifest: Manifest, hint: str) -> tuple[FindingTable, DenseIndex]:
    """The findings and vectors of the index, after checking the files' sizes and the CRC-32 of the small ones."""
    files = manifest.files
    if files:
        check_sizes(directory, files, hint)
    columnar = (directory / ROWS).exists()  # format 6 (told by its files: a test may age a manifest by hand)
    for name, record in files.items():
        if record.size <= CRC_ON_OPEN and (columnar or name.startswith(f"{SPARSE}/")):
            _checked(directory, name, files, hint)
    if columnar:
        columns = Columns.load(directory)
        return FindingTable.open(directory, FINDINGS, columns), DenseIndex.load(directory)
    findings = FindingTable.of(_read_findings(_checked(directory, FINDINGS, files, hint)))
    return findings, DenseIndex.from_bytes(_checked(directory, DENSE, files, hint))


def _checked(directory: Path, name: str, files: Mapping[str, FileRecord], hint: str) -> bytes:
    """The bytes of file ``name``, checked against the manifest's CRC-32 (when it records one)."""
    data = (directory / name).read_bytes()
    check_bytes(directory, name, data, files, hint)
    return data


def _read_findings(data: bytes) -> tuple[Finding, ...]:
    out = []
    for number, line in enumerate(data.decode("utf-8").split("\n")[:-1], start=1):
        try:
            out.append(Finding.from_dict(json.loads(line)))
        except (json.JSONDecodeError, TypeError, KeyError, AttributeError) as exc:
            raise ValueError(f"{FINDINGS} line {number}: {type(exc).__name__}: {exc}") from exc
    ids = {f.id for f in out}
    if len(ids) != len(out):
        raise ValueError(f"{FINDINGS} holds {len(out) - len(ids)} duplicate row(s)")
    return tuple(out)

"""Save and load an index directory: plain files plus a typed manifest, written atomically, refused on mismatch.

Layout of an index directory::

    manifest.json     format version, model, tokenizer, build options, sources (sha256, size, mtime), counts
    findings.jsonl    one Finding per line, row i = vector i = BM25 document i
    dense.faiss       FAISS IndexFlatIP over L2-normalized vectors
    bm25/             bm25s arrays (.npy) and vocabulary/params (.json), no pickle

A build writes into a temporary sibling directory and swaps it in (:func:`kensaku.files.atomic_directory`), so a
failed or killed build leaves the previous index as it was; :func:`kensaku.files.recover` (run by every load and
build) puts things right after a ``kill -9``. The manifest is read once per open.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kensaku.errors import IndexCorruptError, IndexMismatchError, IndexMissingError
from kensaku.files import atomic_directory, recover
from kensaku.index.dense import DenseIndex
from kensaku.index.manifest import Manifest, rebuild_hint
from kensaku.index.sparse import SparseIndex
from kensaku.ingest.models import Finding

MANIFEST = "manifest.json"
FINDINGS = "findings.jsonl"
DENSE = "dense.faiss"
SPARSE = "bm25"


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
    findings: tuple[Finding, ...]
    sparse: SparseIndex
    dense: DenseIndex

    @property
    def fingerprint(self) -> str:
        """Short id of this build (changes on every rebuild); for caches keyed on the index."""
        return self.manifest.fingerprint


def save_index(bundle: IndexBundle, directory: Path) -> Path:
    """Write ``bundle`` to ``directory`` atomically; returns the final directory."""
    directory = Path(directory)
    with atomic_directory(directory) as tmp:
        with (tmp / FINDINGS).open("w", encoding="utf-8") as handle:
            for finding in bundle.findings:
                handle.write(json.dumps(finding.to_dict(), ensure_ascii=False) + "\n")
        bundle.dense.save(tmp / DENSE)
        (tmp / SPARSE).mkdir()
        bundle.sparse.save(tmp / SPARSE)
        # The manifest goes last: a directory without one is never taken for an index.
        (tmp / MANIFEST).write_text(bundle.manifest.to_json(), encoding="utf-8")
    return directory.resolve()


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
        raise IndexMissingError(f"no index at {directory} (no {MANIFEST})", "build one with `kensaku build PATH ...`")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise IndexCorruptError(
            f"the manifest {path} is unreadable ({exc})", rebuild_hint(directory, full=True)
        ) from exc
    return Manifest.from_json(text, Path(directory))


def check_model(manifest: Manifest, model: str, directory: Path) -> None:
    """Refuse to search an index with another embedding model than the one it was built with."""
    built = manifest.model.name
    if built != model:
        raise IndexMismatchError(
            f"index at {directory} was built with model {built!r} but {model!r} was requested",
            f"search it with --model {built} or {rebuild_hint(directory, manifest.source_paths, full=True)} "
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
            rebuild_hint(directory, manifest.source_paths),
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
    hint = rebuild_hint(directory, manifest.source_paths, full=True)
    try:
        findings = tuple(_read_findings(directory / FINDINGS))
        dense = DenseIndex.load(directory / DENSE)
        sparse = SparseIndex.load(directory / SPARSE)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, EOFError) as exc:
        raise IndexCorruptError(f"index at {directory} is damaged ({type(exc).__name__}: {exc})", hint) from exc
    sizes = {"manifest": manifest.findings, "findings": len(findings), "vectors": dense.n_docs, "bm25": sparse.n_docs}
    if len(set(sizes.values())) != 1:
        raise IndexCorruptError(f"index at {directory} is inconsistent (row counts {sizes})", hint)
    if manifest.model.dim != dense.dim:
        raise IndexCorruptError(
            f"index at {directory}: vectors have dim {dense.dim}, manifest says {manifest.model.dim}", hint
        )
    return IndexBundle(directory=directory, manifest=manifest, findings=findings, sparse=sparse, dense=dense)


def _read_findings(path: Path) -> Iterator[Finding]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                yield Finding.from_dict(json.loads(line))
            except (json.JSONDecodeError, TypeError) as exc:
                raise ValueError(f"{path.name} line {number}: {exc}") from exc

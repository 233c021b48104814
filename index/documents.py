"""What a build carries over for each document besides its rows: when it was added, its reader's warnings, and the
metadata a user set (:class:`~kensaku.index.manifest.DocumentMeta`), applied to its findings.

Where the user's metadata lives, and why: in the manifest, in the document's own
:class:`~kensaku.index.manifest.SourceRecord` (format 4). Every build reads the records of the index it replaces
(:func:`prior_records`, also for a ``--full`` build) and carries them over by resolved path, so the metadata lives
exactly as long as the document is in the index, is covered by the manifest's checksum, and needs no second file to
keep in step with the index on every swap.

How it reaches the findings: at build time, :func:`apply_meta` sets ``Finding.municipality`` (and the citation),
``Finding.title`` and ``extra["title"]``, ``extra["year"]`` (a Western year, as text) and ``extra["tags"]``
(comma-joined). What the reader had found is kept beside each value that replaced it (``extra["original_…"]``), so
metadata that is changed or cleared later restores the reader's values without reading the document again. None
of these fields is embedded or indexed by BM25 (both legs take ``heading: text``), so changing metadata reuses
every vector: nothing is embedded again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from kensaku.errors import IndexStoreError
from kensaku.index.manifest import DocumentMeta, Manifest, SourceRecord
from kensaku.ingest.models import Finding

# The finding values metadata may replace: attributes of Finding, and keys of Finding.extra.
ATTRIBUTES = ("municipality", "title")
EXTRA_KEYS = ("title", "year", "tags")
KEPT = "original_"  # extra[KEPT + name] holds the reader's value while metadata replaces it


def now_utc() -> str:
    """The current time, UTC, ISO 8601 to the second (``2026-11-30T17:05:12+00:00``)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def prior_records(directory: Path, manifest: Manifest | None = None) -> tuple[dict[str, SourceRecord], str]:
    """The document records of the index at ``directory`` (or of ``manifest``) by path, and its build time;
    ``({}, "")`` when there is no readable manifest (a new or badly damaged index)."""
    if manifest is None:
        from kensaku.index.store import read_manifest

        try:
            manifest = read_manifest(directory)
        except IndexStoreError:
            return {}, ""
    return {s.path: s for s in manifest.sources}, manifest.created


def carry_over(
    sources: Sequence[SourceRecord],
    prior: tuple[dict[str, SourceRecord], str],
    warnings: Mapping[str, Sequence[str]],
    reused: Sequence[bool],
    meta: Mapping[str, DocumentMeta | None],
) -> list[SourceRecord]:
    """The new build's records with ``added``, ``warnings`` and ``meta`` filled in.

    Args:
        sources: The records of the documents just ingested, in row order.
        prior: :func:`prior_records` of the index being replaced.
        warnings: The reader's warnings of the documents read by this build, by resolved path.
        reused: Per source, whether its rows were taken over unread (then its recorded warnings are kept).
        meta: New metadata by resolved path (replacing the recorded one; an empty :class:`DocumentMeta` clears it).
    """
    records, created = prior
    stamp = now_utc()
    out = []
    for source, unread in zip(sources, reused, strict=True):
        old = records.get(source.path)
        added = (old.added or created) if old else stamp
        said = tuple(old.warnings) if (old and unread) else tuple(warnings.get(source.path, ()))
        chosen = meta[source.path] if source.path in meta else (old.meta if old else None)
        out.append(replace(source, added=added or stamp, warnings=said, meta=chosen or None))
    return out


def apply_meta(findings: Sequence[Finding], sources: Sequence[SourceRecord]) -> list[Finding]:
    """The findings with each document's metadata applied (and metadata no longer set undone); rows of a document
    are contiguous, in the order of ``sources``."""
    out: list[Finding] = []
    start = 0
    for source in sources:
        block = findings[start : start + source.findings]
        start += source.findings
        out.extend(with_meta(restored(f), source.meta) for f in block)
    out.extend(findings[start:])
    return out


def restored(finding: Finding) -> Finding:
    """The finding as its reader made it: every value that metadata replaced put back (the citation too)."""
    if not any(key.startswith(KEPT) for key in finding.extra):
        return finding
    extra = dict(finding.extra)
    values = {name: getattr(finding, name) for name in ATTRIBUTES}
    for name in ATTRIBUTES:
        if KEPT + name in extra:
            values[name] = extra.pop(KEPT + name)
    for name in EXTRA_KEYS:
        if KEPT + "extra_" + name in extra:
            kept = extra.pop(KEPT + "extra_" + name)
            if kept:
                extra[name] = kept
            else:
                extra.pop(name, None)
    citation = recite(finding, values["municipality"])
    return replace(finding, **values, citation=citation, extra=extra)


def with_meta(finding: Finding, meta: DocumentMeta | None) -> Finding:
    """The finding (as its reader made it) with ``meta`` applied; each replaced value kept in ``extra``."""
    if not meta:
        return finding
    extra = dict(finding.extra)
    values = {name: getattr(finding, name) for name in ATTRIBUTES}
    attributes = {"municipality": meta.municipality, "title": meta.title}
    keys = {"title": meta.title, "year": "" if meta.year is None else str(meta.year), "tags": ",".join(meta.tags)}
    for name, value in attributes.items():
        if value:
            extra[KEPT + name] = values[name]
            values[name] = value
    for name, value in keys.items():
        if value:
            extra[KEPT + "extra_" + name] = extra.get(name, "")
            extra[name] = value
    citation = recite(finding, values["municipality"])
    return replace(finding, **values, citation=citation, extra=extra)


def recite(finding: Finding, municipality: str) -> str:
    """The finding's citation naming ``municipality`` instead of its current one (citations read
    ``document｜municipality｜path｜location``, the municipality left out when empty).

    >>> from kensaku.ingest.memory import texts_to_findings
    >>> finding = texts_to_findings([{"text": "本文。", "municipality": "加賀市"}])[0]
    >>> recite(finding, "金沢市"), recite(finding, "")
    ('texts｜金沢市｜#1', 'texts｜#1')
    """
    if municipality == finding.municipality:
        return finding.citation
    head = finding.document + "｜"
    cited = finding.citation
    if not cited.startswith(head):
        return cited
    rest = cited[len(head) :]
    if finding.municipality and rest.startswith(finding.municipality + "｜"):
        rest = rest[len(finding.municipality) + 1 :]
    return head + (f"{municipality}｜" if municipality else "") + rest

"""Build an index from documents: ingest, tokenize for BM25, embed for FAISS, write the directory with its manifest.

Builds are incremental: when an index already exists at the target with the same model, build options and ingest
version, a document whose bytes (sha256), path and id prefix are unchanged is not read or embedded again; its
findings and vectors are taken from the old index. Every finding is tokenized again (MeCab is fast) and BM25 and
FAISS are rebuilt over all rows, so the result equals a full rebuild: same ids, same order, same vectors (the
default embedder's vectors do not depend on what else is embedded), same scores.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import cast

import numpy as np

from kensaku.config import DEFAULTS, Settings
from kensaku.errors import InputError, NoSearchableWordsError, NothingToIndexError
from kensaku.index.changes import _previous
from kensaku.index.changes import source_changes as source_changes
from kensaku.index.changes import why_rebuild as why_rebuild
from kensaku.index.columns import FindingTable
from kensaku.index.dense import AnnKind, DenseIndex
from kensaku.index.documents import apply_meta, carry_over, prior_records
from kensaku.index.embed import Embedder
from kensaku.index.incremental import BuildStats
from kensaku.index.journal import EmbedJournal
from kensaku.index.manifest import BuildOptions, DocumentMeta, IngestInfo, Manifest, ModelInfo, SourceRecord
from kensaku.index.sparse import SparseIndex, TokenIds
from kensaku.index.store import IndexBundle, save_bundle
from kensaku.index.tokenizer import Tokenizer, TokenizerConfig
from kensaku.ingest.models import Finding
from kensaku.ingest.pipeline import INGEST_VERSION, IngestError, IngestResult, PathLike, as_paths, ingest_paths

# Called with (stage, done, total) during a build: stage is "tokenize" or "embed" (for progress bars in the app).
ProgressCallback = Callable[[str, int, int], None]


@dataclass(frozen=True)
class BuildReport:
    """What a build did: where, how many findings from how many documents, which files failed, what was reused.

    Attributes:
        directory: The index directory.
        built: False when the index was up to date and left as it was.
        reason: Why it was built (``requested``, ``no index yet``, ``sources changed: …``) or ``up to date``.
        findings: Rows in the index.
        documents: Documents in the index.
        result: What ingestion produced (errors, warnings, ignored files); ``None`` when nothing was built.
        stats: New, changed, unchanged and removed documents and the findings embedded.
    """

    directory: Path
    built: bool
    reason: str
    findings: int
    documents: int
    result: IngestResult | None = None
    stats: BuildStats | None = None


def lexical_text(finding: Finding, options: BuildOptions) -> str:
    """The text the BM25 leg indexes for a finding: its text, the heading in front (``bm25_context``) and the
    municipality in front of that (``bm25_municipality``)."""
    text = finding.context_text if options.bm25_context else finding.text
    return f"{finding.municipality} {text}" if options.bm25_municipality and finding.municipality else text


def dense_text(finding: Finding, options: BuildOptions) -> str:
    """The text the dense leg embeds for a finding."""
    return finding.context_text if options.embed_context else finding.text


def _tokenize(
    findings: Sequence[Finding],
    tokenizer: Tokenizer,
    options: BuildOptions,
    show_progress: bool,
    on_progress: ProgressCallback | None,
) -> TokenIds:
    """The BM25 terms of every finding as term ids, one finding at a time (with a progress bar)."""
    from tqdm import tqdm

    token_lists = TokenIds()
    with tqdm(total=len(findings), desc="tokenize", unit="finding", file=sys.stderr, disable=not show_progress) as bar:
        for number, finding in enumerate(findings, start=1):
            token_lists.add(tokenizer.tokenize(lexical_text(finding, options)))
            bar.update(1)
            if on_progress and number % 100 == 0:
                on_progress("tokenize", number, len(findings))
    return token_lists


def build_bundle(
    findings: Sequence[Finding],
    sources: Sequence[SourceRecord] = (),
    *,
    embedder: Embedder,
    tokenizer: Tokenizer | None = None,
    settings: Settings = DEFAULTS,
    show_progress: bool = False,
    on_progress: ProgressCallback | None = None,
    known_vectors: Mapping[str, np.ndarray] | None = None,
    inputs: Sequence[str] = (),
    journal: EmbedJournal | None = None,
) -> IndexBundle:
    """Tokenize and embed ``findings`` into an in-memory :class:`IndexBundle` (not yet saved).

    Args:
        findings: The rows of the index, in order.
        sources: The documents they come from (empty for texts indexed from memory).
        embedder: Encodes the passages.
        tokenizer: Tokenizes for BM25 (default: MeCab with ``settings.token_form``).
        settings: What each leg indexes (heading context), BM25 k1 and b, the finding length limit.
        show_progress: Progress bars on stderr.
        on_progress: Called with (stage, done, total).
        known_vectors: Vectors by finding id that need no embedding (from the previous index).
        inputs: The paths the build was asked for (recorded, so that rebuilds walk folders again).
        journal: Where vectors are written in chunks as they are computed, and taken from when a killed build
            left them there (:mod:`kensaku.index.journal`); ``None`` embeds in one go and writes nothing.

    Raises:
        NothingToIndexError: ``findings`` is empty.
        NoSearchableWordsError: No finding has a word to index (only symbols or punctuation, such as 「・・・」).
        InputError: Two findings share an id.
    """
    if not findings:
        raise NothingToIndexError(
            "no findings to index", "check that the sources contain text (.txt .md .pdf .docx .html or corpus.jsonl)"
        )
    ids = [f.id for f in findings]
    if len(set(ids)) != len(ids):
        duplicate = next(i for i in ids if ids.count(i) > 1)
        raise InputError(f"finding id {duplicate!r} occurs more than once", "ids must be unique within an index")
    options = BuildOptions.of(settings)
    tokenizer = tokenizer or Tokenizer(TokenizerConfig(form=settings.token_form))
    token_lists = _tokenize(findings, tokenizer, options, show_progress, on_progress)
    if not token_lists:
        raise _no_words(findings, sources)
    sparse = SparseIndex.build(token_lists, k1=settings.bm25_k1, b=settings.bm25_b)
    dense = DenseIndex.build(
        _embed(findings, embedder, options, known_vectors or {}, show_progress, on_progress, journal),
        ann=cast(AnnKind, settings.ann),
    )
    manifest = Manifest(
        model=ModelInfo.of(embedder),
        tokenizer=tokenizer.config,
        dictionary=tokenizer.dictionary,
        build_options=options,
        ingest=IngestInfo(INGEST_VERSION, settings.max_chars),
        inputs=tuple(inputs),
        sources=tuple(sources),
        findings=len(findings),
    ).stamped()
    table = FindingTable.of(findings)
    return IndexBundle(directory=None, manifest=manifest, findings=table, sparse=sparse, dense=dense)


def _no_words(findings: Sequence[Finding], sources: Sequence[SourceRecord]) -> NoSearchableWordsError:
    """The error for findings of which none has a term: how many, what they look like, and what to do."""
    shown = "".join(f"「{f.text[:20]}」" for f in findings[:3]) + (" …" if len(findings) > 3 else "")
    problems = [(s.path, f"its {s.findings} finding(s) have no searchable word") for s in sources if s.findings]
    return NoSearchableWordsError(
        f"none of the {len(findings)} finding(s) has a searchable word, only symbols, punctuation or particles "
        f"({shown})",
        "index documents with text: BM25 indexes content words (nouns, verbs, names), not marks such as ・ ※ ー",
        problems,
    )


def _embed(
    findings: Sequence[Finding],
    embedder: Embedder,
    options: BuildOptions,
    known: Mapping[str, np.ndarray],
    show_progress: bool,
    on_progress: ProgressCallback | None,
    journal: EmbedJournal | None = None,
) -> np.ndarray:
    """Vectors of all findings: ``known`` ones as given, those a killed build left in ``journal`` taken from it, the
    others embedded chunk by chunk, each chunk written to ``journal`` as soon as it is done.

    Progress (the bar on stderr, whose ETA is reckoned from this run's rate, and ``on_progress``) counts the resumed
    vectors as done out of every finding that needed a vector.
    """
    from tqdm import tqdm

    vectors = np.zeros((len(findings), embedder.dim), dtype=np.float32)
    todo: list[int] = []
    for row, finding in enumerate(findings):
        if finding.id in known:
            vectors[row] = known[finding.id]
        else:
            todo.append(row)
    texts = [dense_text(findings[i], options) for i in todo]
    keys = journal.keys(texts) if journal else []
    resumed = set(journal.resume(keys, vectors, todo)) if journal else set()
    missing = [n for n in range(len(todo)) if n not in resumed]
    size = journal.size if journal else max(len(missing), 1)
    done = len(resumed)
    bar = tqdm(total=len(todo), initial=done, desc="embed", unit="finding", file=sys.stderr, disable=not show_progress)
    with bar:

        def embedded(count: int) -> None:
            nonlocal done
            done += count
            bar.update(count)
            if on_progress:
                on_progress("embed", done, len(todo))

        if on_progress and done:
            on_progress("embed", done, len(todo))
        for start in range(0, len(missing), size):
            part = missing[start : start + size]
            fresh = embedder.encode_passages([texts[n] for n in part], progress=embedded)
            vectors[[todo[n] for n in part]] = fresh
            if journal:
                journal.append([keys[n] for n in part], fresh)
    return vectors


def _source_records(result: IngestResult) -> list[SourceRecord]:
    return [
        SourceRecord(s.name, str(Path(s.path).resolve()), s.sha256, s.findings, s.prefix, s.size, s.mtime_ns)
        for s in result.sources
    ]


def build_index(
    paths: PathLike | Sequence[PathLike],
    directory: Path,
    *,
    embedder: Embedder,
    settings: Settings = DEFAULTS,
    show_progress: bool = False,
    on_progress: ProgressCallback | None = None,
    incremental: bool = True,
    previous: IndexBundle | None = None,
    manifest: Manifest | None = None,
    meta: Mapping[str, DocumentMeta | None] | None = None,
    dropped: Sequence[str] = (),
) -> tuple[IndexBundle, BuildReport]:
    """Read ``paths``, build the index and write it to ``directory`` atomically.

    What the index records about each document besides its rows (when it was added, its reader's warnings, the
    metadata a user set) is carried over from the index being replaced, even by a full build
    (:mod:`kensaku.index.documents`); the metadata is applied to the findings.

    Args:
        paths: Files and folders to index.
        directory: The index directory; an index already there is replaced only once the new one is complete.
        embedder: Encodes the passages.
        settings: Finding length, token form, heading context, BM25 k1 and b.
        show_progress: Progress bars on stderr.
        on_progress: Called with (stage, done, total).
        incremental: Reuse findings and vectors of unchanged documents from the index at ``directory``.
        previous: That index when the caller has it loaded already (it is not loaded again).
        manifest: Its manifest when the caller has read it already (it is not read again).
        meta: New metadata by resolved document path, replacing what is recorded (an empty ``DocumentMeta``
            clears it).
        dropped: Recorded sources that no longer exist and were left out; each becomes a warning of the report.

    Returns:
        The saved bundle, and the report (whose ``result.errors`` lists files that could not be read).

    Raises:
        SourceNotFoundError: A path does not exist.
        NothingToIndexError: Nothing indexable was found.
    """
    paths = as_paths(paths)
    old, why = (
        _previous(directory, embedder, settings, previous, manifest)
        if incremental
        else (None, "full rebuild requested")
    )
    prior = prior_records(directory, manifest or (previous.manifest if previous else None))
    reuse = old.reuse if old else None
    result = ingest_paths(paths, max_chars=settings.max_chars, reuse=reuse, ocr=settings.ocr, limits=settings.limits)
    result.warnings.extend(IngestError(path, DROPPED) for path in dropped)
    if not result.findings:
        raise nothing_to_index(result)
    warned: dict[str, list[str]] = {}
    for warning in result.warnings:
        warned.setdefault(str(Path(warning.path).resolve()), []).append(warning.reason)
    reused = [s.reused for s in result.sources]
    sources = carry_over(_source_records(result), prior, warned, reused, meta or {})
    known = old.vectors(_reused_findings(result)) if old else {}
    journal = EmbedJournal(directory, ModelInfo.of(embedder))  # vectors of a killed build of this index, if any
    bundle = build_bundle(
        apply_meta(result.findings, sources),
        sources,
        embedder=embedder,
        settings=settings,
        show_progress=show_progress,
        on_progress=on_progress,
        known_vectors=known,
        # What was asked for (folders too), so that a rebuild also picks up documents added to a folder since.
        inputs=list(dict.fromkeys(str(Path(p).resolve()) for p in paths)),
        journal=journal,
    )
    saved = save_bundle(bundle, directory)
    journal.discard()  # its vectors are in the saved index now
    final = saved.directory
    assert final is not None
    embedded = len(result.findings) - len(known) - journal.resumed
    if old is not None:
        stats = old.stats(sources, sum(1 for s in result.sources if s.reused), embedded)
    else:
        stats = BuildStats(new=len(sources), embedded=embedded, full_reason=why)
    stats = replace(stats, resumed=journal.resumed)
    report = BuildReport(final, True, "", len(bundle.findings), len(sources), result, stats)
    return saved, report


DROPPED = "was recorded as a source of the index but no longer exists; its documents were left out"


def nothing_to_index(result: IngestResult) -> NothingToIndexError:
    """The error for an ingest without findings, carrying each file's reason (skipped, warned of, or ignored)."""
    problems = [(e.path, e.reason) for e in [*result.errors, *result.warnings]]
    problems += [(path, "not a type kensaku reads; ignored") for path in result.ignored]
    files = len(result.sources) + len(result.errors)
    return NothingToIndexError(
        f"no findings to index: {len(result.errors)} of {files} file(s) could not be read and "
        f"{len(result.sources)} gave no findings",
        "fix the files (each one's reason is listed) or add documents with text "
        "(.txt .md .pdf .docx .html or corpus.jsonl)",
        problems,
    )


def _reused_findings(result: IngestResult) -> list[Finding]:
    """The findings of the documents that were taken over from the previous index."""
    out: list[Finding] = []
    start = 0
    for source in result.sources:
        if source.reused:
            out.extend(result.findings[start : start + source.findings])
        start += source.findings
    return out

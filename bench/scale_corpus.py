"""Inputs of the scale benchmarks: real Japanese sentences, real questions, municipality names, a synthetic corpus
written as BEIR ``corpus.jsonl`` documents, and the stand-in embedder.

The synthetic findings are made of real sentences (JSQuAD passages split into sentences, and the seed report's
findings); only their combination and their metadata are synthetic. ``HashEmbedder`` is a STAND-IN: hashed unit
vectors with no semantic neighbourhood structure, good for timing the index side only.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from common import CACHE, JSQUAD, ROOT, SEED_EVAL, seed_findings

MUNICIPALITIES = ROOT / "bench" / "data" / "municipalities.txt"
SCALE_CACHE = CACHE / "scale"
FINDINGS_PER_DOC = 1000
SENTENCE_END = re.compile(r"(?<=[。！？!?])")

# Chapter → sections, in the style of municipal plans and reports (the seed report's chapters plus common ones).
CHAPTERS: dict[str, tuple[str, ...]] = {
    "推進体制": ("庁内体制", "人材育成・人材活用", "外部連携", "推進組織"),
    "費用負担": ("財源確保", "受益者負担", "国の交付金", "民間資金の活用"),
    "市民参画": ("住民説明会", "意見募集", "若い世代の参加", "地域団体との協働"),
    "データ活用": ("データ連携基盤", "オープンデータ", "個人情報の保護", "分析と評価"),
    "防災・減災": ("避難所運営", "情報伝達", "要配慮者支援", "訓練"),
    "子育て・教育": ("保育", "学校教育", "子育て支援", "生涯学習"),
    "福祉・医療": ("高齢者福祉", "地域医療", "障害者支援", "健康づくり"),
    "産業振興": ("観光", "農林水産業", "中小企業支援", "雇用"),
    "その他": ("",),
}


def split_sentences(text: str, min_chars: int = 8) -> list[str]:
    """Split Japanese text after 。！？ and keep sentences of at least ``min_chars`` characters.

    >>> split_sentences("梅雨は雨季の一種である。日本では六月に始まる。短い。")
    ['梅雨は雨季の一種である。', '日本では六月に始まる。']
    """
    return [s.strip() for s in SENTENCE_END.split(text) if len(s.strip()) >= min_chars]


def jsquad_sentences() -> list[str]:
    """Every JSQuAD passage split into sentences, in corpus order (duplicates removed)."""
    path = JSQUAD / "corpus.jsonl"
    if not path.is_file():
        raise SystemExit(f"JSQuAD not found at {path}; set KENSAKU_SHARED to the folder holding bench/jsquad")
    seen: dict[str, None] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            for sentence in split_sentences(json.loads(line)["text"]):
                seen.setdefault(sentence, None)
    return list(seen)


def seed_texts() -> list[str]:
    """The seed report's findings (read with kensaku's ingest)."""
    return [f.text for f in seed_findings()]


def real_questions(n: int = 200) -> list[str]:
    """``n`` real Japanese questions: half from the seed questions (corpus/eval), half spread over JSQuAD's."""

    def read(path: Path) -> list[str]:
        lines = path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line)["text"] for line in lines if line.strip()]

    seed, jsquad = read(SEED_EVAL / "queries.jsonl"), read(JSQUAD / "queries.jsonl")
    half = min(n // 2, len(seed))
    rest = n - half
    step = max(1, len(jsquad) // rest)
    return seed[:half] + jsquad[::step][:rest]


def municipalities() -> list[str]:
    """The municipality names of bench/data/municipalities.txt; a name used in two prefectures is prefixed by its
    prefecture (``北海道森町``), as the seed report writes them."""
    rows = [line.split("\t") for line in MUNICIPALITIES.read_text(encoding="utf-8").splitlines()]
    rows = [row for row in rows if len(row) == 2 and not row[0].startswith("#")]
    counts: dict[str, int] = {}
    for _, name in rows:
        counts[name] = counts.get(name, 0) + 1
    return [name if counts[name] == 1 else pref + name for pref, name in rows]


@dataclass(frozen=True)
class SyntheticCorpus:
    """A synthetic corpus on disk: ``documents`` BEIR files of ``FINDINGS_PER_DOC`` findings each."""

    folder: Path
    documents: tuple[Path, ...]
    findings: int
    extra: Path  # one more 100-finding document, outside ``folder``, to add and remove


def _finding_text(rng: random.Random, sentences: Sequence[str]) -> str:
    """One finding: 1–3 consecutive real sentences."""
    start = rng.randrange(len(sentences))
    return "".join(sentences[start : start + rng.choice((1, 2, 2, 3))])


def _write_document(path: Path, doc_no: int, count: int, rng: random.Random, pools: tuple[list[str], ...]) -> None:
    sentences, names = pools
    chapters = list(CHAPTERS)
    lines = []
    for i in range(count):
        chapter = rng.choice(chapters)
        record = {
            "_id": f"d{doc_no:05d}-{i:04d}",
            "title": "",
            "text": _finding_text(rng, sentences),
            "municipality": rng.choice(names),
            "chapter": chapter,
            "section": rng.choice(CHAPTERS[chapter]),
        }
        lines.append(json.dumps(record, ensure_ascii=False))
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(path)


def synthetic_corpus(size: int, seed: int = 14) -> SyntheticCorpus:
    """The corpus of ``size`` findings (cached under .kensaku/bench-cache/scale/; deterministic by ``seed``)."""
    folder = SCALE_CACHE / f"corpus-{size}-seed{seed}"
    extra = SCALE_CACHE / f"extra-seed{seed}" / "added_100.jsonl"
    pools = (jsquad_sentences() + seed_texts(), municipalities())
    n_docs = -(-size // FINDINGS_PER_DOC)
    docs = tuple(folder / f"doc{d:05d}.jsonl" for d in range(n_docs))
    folder.mkdir(parents=True, exist_ok=True)
    for d, path in enumerate(docs):
        if not path.exists():
            count = min(FINDINGS_PER_DOC, size - d * FINDINGS_PER_DOC)
            _write_document(path, d, count, random.Random(f"{seed}-{d}"), pools)
    if not extra.exists():
        extra.parent.mkdir(parents=True, exist_ok=True)
        _write_document(extra, 99999, 100, random.Random(f"{seed}-extra"), pools)
    return SyntheticCorpus(folder, docs, size, extra)


class HashEmbedder:
    """STAND-IN embedder (``stand-in-hash-384``): each text is the normalized sum of hashed random unit vectors of
    its character bigrams. Deterministic and nearly free; it has no semantics, so it times the index, never quality.
    """

    def __init__(self, dim: int = 384) -> None:
        """Vectors of ``dim`` dimensions."""
        self._dim = dim
        self._known: dict[str, int] = {}  # bigram → 64-bit hash
        self.passage_seconds = 0.0  # time spent in encode_passages (the benchmark reports it)

    @property
    def name(self) -> str:
        """Recorded in the manifest: clearly not a real model."""
        return f"stand-in-hash-{self._dim}"

    @property
    def dim(self) -> int:
        """Vector dimension."""
        return self._dim

    def describe(self) -> dict[str, Any]:
        """Facts for the manifest."""
        return {"backend": "hash (benchmark stand-in, no semantics)", "dim": self._dim}

    def _hashes(self, text: str) -> np.ndarray:
        grams = [text[i : i + 2] for i in range(max(1, len(text) - 1))]
        known = self._known
        for gram in grams:
            if gram not in known:
                known[gram] = int.from_bytes(hashlib.blake2b(gram.encode(), digest_size=8).digest(), "little")
        return np.fromiter((known[g] for g in grams), dtype=np.uint64, count=len(grams))

    def _one(self, text: str) -> np.ndarray:
        """Sum of 4 signed hashed coordinates per character bigram, normalized."""
        hashes = self._hashes(text)
        out = np.zeros(self._dim, dtype=np.float32)
        for k in range(4):
            chunk = (hashes >> np.uint64(16 * k)) & np.uint64(0xFFFF)
            sign = np.where((chunk // np.uint64(self._dim)) & np.uint64(1), 1.0, -1.0).astype(np.float32)
            np.add.at(out, (chunk % np.uint64(self._dim)).astype(np.intp), sign)
        norm = float(np.linalg.norm(out))
        if norm == 0:
            out[0] = 1.0
            return out
        normalized: np.ndarray = out / norm
        return normalized

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        return np.stack([self._one(t) for t in texts]).astype(np.float32)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Query vectors (``(len(texts), dim)``, unit rows)."""
        return self._encode(texts)

    def encode_passages(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Passage vectors, in batches of 1,000 with ``progress`` after each."""
        started = time.perf_counter()
        parts = [np.zeros((0, self._dim), dtype=np.float32)]
        for start in range(0, len(texts), 1000):
            batch = texts[start : start + 1000]
            parts.append(self._encode(batch))
            if progress:
                progress(len(batch))
        self.passage_seconds += time.perf_counter() - started
        return np.concatenate(parts)

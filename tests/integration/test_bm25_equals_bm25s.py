"""kensaku's BM25 (term frequencies, scored per query) gives bm25s's scores bit for bit on the seed corpus, so
indexes of format 6 rank exactly as the bm25s indexes of formats 1–5 did."""

from __future__ import annotations

import random

import bm25s
import numpy as np

from kensaku.config import DEFAULTS
from kensaku.index.build import lexical_text
from kensaku.index.manifest import BuildOptions
from kensaku.index.sparse import SparseIndex, TokenIds
from kensaku.index.tokenizer import Tokenizer
from kensaku.ingest.pipeline import ingest_paths
from tests.support import ROOT


def test_scores_equal_bm25s_bit_for_bit() -> None:
    findings = ingest_paths([ROOT / "corpus"], max_chars=DEFAULTS.max_chars).findings
    tokenizer, options = Tokenizer(), BuildOptions.of(DEFAULTS)
    docs = [tokenizer.tokenize(lexical_text(f, options)) for f in findings]
    ours = SparseIndex.build(TokenIds.of(docs))
    theirs = bm25s.BM25(k1=DEFAULTS.bm25_k1, b=DEFAULTS.bm25_b, method="lucene")
    theirs.index([list(d) for d in docs], show_progress=False)
    vocab, rng = sorted(ours.vocab), random.Random(14)
    queries = [rng.sample(vocab, rng.randint(1, 8)) for _ in range(200)]
    queries += [[t, t] for t in vocab[:20]]  # a repeated term counts twice in both
    queries += [tokenizer.tokenize("フェローの契約形態は"), tokenizer.tokenize("データ連携基盤の運用費用")]
    for terms in queries:
        np.testing.assert_array_equal(ours.scores(terms), theirs.get_scores(terms).astype(np.float32))
    assert ours.n_docs == len(findings) == int(theirs.scores["num_docs"])

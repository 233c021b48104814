"""The HNSW dense leg on the real seed index (real default-model vectors, real questions): built, saved and opened
through the API, it ranks as the exact index does; its recall@10 against exact search on the real vectors; and an
index whose ``ann.faiss`` is format 6's IVF still opens and searches. Recall at 35k–119k real vectors is measured by
bench/ann_recall.py (bench/results/ann_recall.md)."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from kensaku import Filters, Index
from kensaku.config import DEFAULTS
from kensaku.index.dense import ANN, DenseIndex
from tests.support import ROOT

QUERIES = ["フェローの契約形態は", "データ連携基盤の運用費用", "住民の合意形成", "人材育成", "防災情報の伝達"]


@pytest.fixture(scope="module")
def flat(seed_index: Path) -> Index:
    return Index.open(seed_index)


@pytest.fixture(scope="module")
def hnsw(flat: Index, seed_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Index:
    """The seed index built again with ``ann="hnsw"`` (its vectors reused from the seed index), then opened."""
    directory = tmp_path_factory.mktemp("hnsw") / "index"
    shutil.copytree(seed_index, directory)
    settings = replace(DEFAULTS, ann="hnsw")
    Index.build([ROOT / "corpus"], directory, embedder=flat.embedder, settings=settings)
    return Index.open(directory, embedder=flat.embedder)


def test_a_saved_hnsw_index_opens_as_hnsw_and_ranks_as_the_exact_one(flat: Index, hnsw: Index) -> None:
    assert hnsw.bundle.dense.kind == "hnsw" and flat.bundle.dense.kind == "flat"
    np.testing.assert_array_equal(
        hnsw.bundle.dense.vectors(np.arange(len(flat))), flat.bundle.dense.vectors(np.arange(len(flat)))
    )
    munis = flat.bundle.columns.present("municipality")
    for query in QUERIES:
        for filters in (None, Filters(municipalities=munis[:2]), Filters(exclude_municipalities=munis[:1])):
            a, b = flat.searcher.query(query, 10, filters=filters), hnsw.searcher.query(query, 10, filters=filters)
            assert [h.finding.id for h in b.hits] == [h.finding.id for h in a.hits], (query, filters)
            for x, y in zip(a.hits, b.hits, strict=True):
                assert y.score == pytest.approx(x.score, abs=1e-5)
                assert y.relevance == pytest.approx(x.relevance, abs=1e-4)


def test_hits_only_searches_skip_the_count_and_return_the_hits_of_query(hnsw: Index) -> None:
    searcher = hnsw.searcher
    munis = hnsw.bundle.columns.present("municipality")
    for query in QUERIES:
        for filters in (None, Filters(exclude_municipalities=munis[:1])):
            terms, vector = hnsw.tokenizer.tokenize(query), hnsw.embedder.encode_queries([query])[0]
            counted = searcher.rank_vectors(terms, vector, 10, filters=filters)
            bare = searcher.rank_vectors(terms, vector, 10, filters=filters, count=False)
            assert counted is not None and bare is not None
            assert bare.all_rows.size == 0 and counted.all_rows.size >= 10  # the count pool is gathered for query()
            np.testing.assert_array_equal(bare.candidates, counted.candidates)
            np.testing.assert_array_equal(bare.fused, counted.fused)
            results = searcher.query(query, 10, filters=filters)
            hits = searcher.search(query, 10, filters=filters)
            assert [(h.finding.id, h.score) for h in hits] == [(h.finding.id, h.score) for h in results.hits]


def test_recall_at_10_on_the_real_vectors_and_questions(flat: Index) -> None:
    vectors = flat.bundle.dense.vectors(np.arange(len(flat)))
    lines = (ROOT / "corpus" / "eval" / "queries.jsonl").read_text(encoding="utf-8").splitlines()
    queries = flat.embedder.encode_queries([json.loads(line)["text"] for line in lines if line.strip()])
    exact, hnsw = DenseIndex.build(vectors, ann="flat"), DenseIndex.build(vectors, ann="hnsw")
    hnsw.ef_search = 16  # low, so that the walk, not an exhaustive candidate list, finds the neighbours
    found = [(hnsw.search(q, 10)[0], exact.search(q, 10)[0]) for q in queries]
    recall = np.mean([len(set(a.tolist()) & set(b.tolist())) / 10 for a, b in found])
    assert len(queries) >= 150 and recall >= 0.98


def test_an_ivf_index_of_format_6_still_opens_and_searches(flat: Index, tmp_path: Path) -> None:
    vectors = flat.bundle.dense.vectors(np.arange(len(flat)))
    DenseIndex.build(vectors, ann="ivf").save(tmp_path)
    loaded = DenseIndex.load(tmp_path)
    assert (tmp_path / ANN).is_file() and loaded.kind == "ivf"
    exact = DenseIndex.build(vectors, ann="flat")
    for q in vectors[::50]:
        assert loaded.search(q, 10)[0].tolist() == exact.search(q, 10)[0].tolist()  # every list probed: exact

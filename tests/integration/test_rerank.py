"""Reranking wired into the real search (seed index, MeCab, FAISS, the default model) with a tiny cross-encoder made
in the test (tests/rerank_support.py): the first ``depth`` results are the fused top ``depth`` in the cross-encoder's
own order, the rest keep the fused order, paging cuts the same list, and the counts do not change. The tiny model's
scores are random: nothing here says whether reranking helps."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from kensaku import DEFAULTS, Index, QueryError, Reranker, RerankerLoadError, load_reranker
from kensaku.evaluate import Benchmark, evaluate, rerank_run
from tests.rerank_support import tiny_cross_encoder

QUERIES = ("フェローの契約形態は", "住民に費用を負担してもらう仕組み")
DEPTH = 12


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_cross_encoder(tmp_path_factory.mktemp("rerank") / "tiny", QUERIES)


@pytest.fixture(scope="module")
def tiny(tiny_model: Path) -> Reranker:
    return load_reranker(str(tiny_model))


@pytest.fixture(scope="module")
def seed(seed_index: Path) -> Index:
    return Index.open(seed_index)


def predicted(model: Path, query: str, passages: list[str]) -> np.ndarray:
    """The cross-encoder's own scores, computed apart from kensaku."""
    from sentence_transformers import CrossEncoder

    encoder = CrossEncoder(str(model), device="cpu")
    return np.asarray(encoder.predict([(query, p) for p in passages], batch_size=32, show_progress_bar=False))


@pytest.mark.parametrize("query", QUERIES)
def test_the_top_depth_is_the_fused_top_in_the_cross_encoders_order(
    seed: Index, tiny: Reranker, tiny_model: Path, query: str
) -> None:
    fused = seed.query(query, DEPTH + 8).hits
    scores = predicted(tiny_model, query, [h.finding.context_text for h in fused[:DEPTH]])
    assert len(set(np.round(scores, 6))) > DEPTH // 2  # the scores differ: the order below is the model's
    expected = sorted(range(DEPTH), key=lambda i: (-scores[i], i))
    assert expected != list(range(DEPTH))  # the reranker does move hits

    found = seed.query(query, DEPTH + 8, reranker=tiny, rerank_depth=DEPTH).hits
    assert [h.finding.id for h in found[:DEPTH]] == [fused[i].finding.id for i in expected]
    assert [h.finding.id for h in found[DEPTH:]] == [h.finding.id for h in fused[DEPTH:]]
    assert [h.rank for h in found] == list(range(1, DEPTH + 9))
    assert [h.rerank for h in found[:DEPTH]] == pytest.approx([float(scores[i]) for i in expected], abs=1e-5)
    assert all(h.rerank is None for h in found[DEPTH:])
    assert all(h.rerank is None for h in fused)
    by_id = {h.finding.id: h for h in fused}  # the fused scores and relevance are kept, only the rank changes
    assert all(h.score == by_id[h.finding.id].score for h in found)
    assert all(h.relevance == by_id[h.finding.id].relevance for h in found)
    assert found[0].to_dict()["rerank"] == round(float(scores[expected[0]]), 6)


def test_pages_cut_the_reranked_list_and_counts_stay(seed: Index, tiny: Reranker) -> None:
    query = QUERIES[0]
    whole = [h.finding.id for h in seed.query(query, 25, reranker=tiny, rerank_depth=DEPTH).hits]
    for offset in (0, 5, 10, 15, 20):
        page = seed.query(query, 5, offset=offset, reranker=tiny, rerank_depth=DEPTH)
        plain = seed.query(query, 5, offset=offset)
        assert [h.finding.id for h in page.hits] == whole[offset : offset + 5]
        assert [h.rank for h in page.hits] == list(range(offset + 1, offset + 6))
        assert (page.total, page.answerable, page.offset, page.cutoff) == (
            plain.total,
            plain.answerable,
            plain.offset,
            plain.cutoff,
        )
    assert [h.finding.id for h in seed.search(query, 7, reranker=tiny, rerank_depth=DEPTH)] == whole[:7]


def test_a_name_is_loaded_once_and_the_settings_choose_the_default(
    seed_index: Path, tiny: Reranker, tiny_model: Path
) -> None:
    settings = replace(DEFAULTS, reranker=str(tiny_model), rerank_depth=DEPTH)
    index = Index.open(seed_index, settings=settings)
    assert index.reranker() is index.reranker(str(tiny_model))  # loaded once, kept by the index
    by_settings = index.query(QUERIES[1], 10)
    by_object = index.query(QUERIES[1], 10, reranker=tiny, rerank_depth=DEPTH)
    assert [h.finding.id for h in by_settings.hits] == [h.finding.id for h in by_object.hits]
    assert all(h.rerank is not None for h in by_settings.hits)
    assert Index.open(seed_index).reranker() is None  # no setting, no reranking
    assert all(h.rerank is None for h in index.search(QUERIES[1], 5, reranker="off"))  # off for this call
    with pytest.raises(QueryError, match="k=0 is out of range"):
        index.search(QUERIES[1], 0)
    with pytest.raises(QueryError, match="rerank depth 0"):
        index.query(QUERIES[1], 10, rerank_depth=0)
    with pytest.raises(QueryError, match="out of range"):
        index.query(QUERIES[1], 10, offset=DEFAULTS.max_k)


def test_a_reranker_that_cannot_be_loaded_says_why(tmp_path: Path, default_model: Path, seed: Index) -> None:
    with pytest.raises(RerankerLoadError) as missing:
        seed.search(QUERIES[0], reranker=str(tmp_path / "無い"))
    assert str(tmp_path / "無い") in missing.value.reason and "no such directory" in missing.value.reason
    assert "hotchpotch/japanese-reranker-xsmall-v2" in missing.value.fix
    (tmp_path / "empty").mkdir()
    with pytest.raises(RerankerLoadError, match="holds no loadable cross-encoder"):
        load_reranker(str(tmp_path / "empty"))
    embedder = default_model / "st" if (default_model / "st").is_dir() else default_model
    with pytest.raises(RerankerLoadError, match="is not a cross-encoder"):  # its scoring head would be random
        load_reranker(str(embedder))


def test_eval_adds_the_reranked_hybrid_row(seed: Index, tiny: Reranker, tiny_model: Path) -> None:
    searcher = seed.searcher
    ids = {q: [h.finding.id for h in seed.search(q, 5)] for q in QUERIES}
    queries = {"q1": QUERIES[0], "q2": QUERIES[1]}
    qrels = {"q1": {ids[QUERIES[0]][0]: 1}, "q2": {ids[QUERIES[1]][1]: 1}}
    bench = Benchmark(Path("."), "test", queries, qrels, None)
    metrics = evaluate(searcher, bench, reranker=tiny, rerank_depth=DEPTH)
    assert set(metrics) == {"bm25", "dense", "hybrid", "rerank"}
    run = {"q1": [h.finding.id for h in seed.search(QUERIES[0], 20)]}
    reranked = rerank_run(searcher, {"q1": QUERIES[0]}, run, tiny, DEPTH)["q1"]
    assert reranked == [h.finding.id for h in seed.search(QUERIES[0], 20, reranker=tiny, rerank_depth=DEPTH)]

"""Searcher logic (filters, modes, similar, errors) with a fake keyword embedder and real MeCab/BM25/FAISS."""

from __future__ import annotations

from pathlib import Path

import pytest

from kensaku.config import DEFAULTS, FusionConfig
from kensaku.errors import QueryError
from kensaku.index.build import build_bundle
from kensaku.index.search import Filters, Searcher
from kensaku.index.store import save_index
from kensaku.index.tokenizer import Tokenizer
from tests.support import SMALL_FINDINGS, KeywordEmbedder


@pytest.fixture(scope="module")
def searcher() -> Searcher:
    embedder = KeywordEmbedder()
    bundle = build_bundle(SMALL_FINDINGS, [], embedder=embedder, tokenizer=Tokenizer(), show_progress=False)
    return Searcher(bundle=bundle, embedder=embedder)


def test_hybrid_finds_contract_finding_first(searcher: Searcher) -> None:
    hits = searcher.search("フェローの契約形態は", k=3)
    assert hits[0].finding.id == "doc:L1"
    assert [h.rank for h in hits] == [1, 2, 3]
    assert hits[0].bm25 > 0 and hits[0].bm25_rank == 1 and hits[0].dense_rank == 1
    assert hits[0].score >= hits[1].score >= hits[2].score


def test_modes_use_one_leg(searcher: Searcher) -> None:
    bm25 = searcher.search("謝礼金", k=6, mode="bm25")
    assert bm25[0].finding.id == "doc:L1"
    assert bm25[0].score == pytest.approx(bm25[0].bm25)
    dense = searcher.search("住民", k=6, mode="dense")
    assert dense[0].score == pytest.approx(dense[0].dense)
    assert {h.finding.id for h in dense[:2]} == {"doc:L2", "doc:L5"}


def test_filters(searcher: Searcher) -> None:
    hits = searcher.search("予算 データ 住民", k=10, filters=Filters(chapters=("費用負担",)))
    assert {h.finding.chapter for h in hits} == {"費用負担"}
    assert len(hits) == 3
    lessons = searcher.search("フェロー", k=10, filters=Filters(kinds=("lesson",)))
    assert {h.finding.id for h in lessons} == {"doc:L2", "doc:L6"}
    only = searcher.search("フェロー", k=10, filters=Filters(municipalities=("松山市",)))
    assert [h.finding.id for h in only] == ["doc:L6"]
    assert searcher.search("フェロー", filters=Filters(municipalities=("存在しない市",))) == []


def test_k_larger_than_corpus_and_depth_smaller_than_k(searcher: Searcher) -> None:
    hits = searcher.search("住民", k=50, fusion=FusionConfig(depth=2))
    assert len(hits) == len(SMALL_FINDINGS)


def test_rrf_option(searcher: Searcher) -> None:
    hits = searcher.search("フェローの契約", k=2, fusion=FusionConfig(method="rrf", block_weight=0.0))
    assert hits[0].finding.id == "doc:L1"
    assert hits[0].score == pytest.approx(2 / 61)


def test_similar_excludes_self_and_municipality(searcher: Searcher) -> None:
    hits = searcher.similar("doc:L1", k=5)
    assert "doc:L1" not in {h.finding.id for h in hits}
    assert hits[0].finding.id == "doc:L2"
    other = searcher.similar("doc:L1", k=5, other_municipalities=True)
    assert all(h.finding.municipality != "加賀市" for h in other)
    by_text = searcher.similar(text="大学とデータ", k=1)
    assert by_text[0].finding.id == "doc:L3"
    with pytest.raises(KeyError, match="no finding with id"):
        searcher.similar("doc:L999")
    with pytest.raises(QueryError):
        searcher.similar()


@pytest.mark.parametrize("query", ["", "   ", "\u3000\n"])
def test_empty_query_refused(searcher: Searcher, query: str) -> None:
    with pytest.raises(QueryError, match="empty"):
        searcher.search(query)


def test_huge_query_refused_with_limit(searcher: Searcher) -> None:
    with pytest.raises(QueryError, match=f"{DEFAULTS.max_query_chars:,}"):
        searcher.search("契約" * DEFAULTS.max_query_chars)


@pytest.mark.parametrize("k", [0, -1, 1001])
def test_bad_k_refused(searcher: Searcher, k: int) -> None:
    with pytest.raises(QueryError, match="out of range"):
        searcher.search("契約", k=k)


def test_unknown_kind_refused() -> None:
    with pytest.raises(QueryError, match="unknown kind"):
        Filters(kinds=("lessons",))


def test_query_with_no_known_terms_still_ranks_by_dense(searcher: Searcher) -> None:
    hits = searcher.search("ＸＹＺ大学", k=1)  # "xyz" unknown to BM25; 大学 known to both
    assert hits[0].finding.id == "doc:L3"


def test_hit_to_dict_carries_citation(searcher: Searcher, tmp_path: Path) -> None:
    hit = searcher.search("フェローの契約", k=1)[0]
    data = hit.to_dict()
    assert list(data)[:5] == ["rank", "score", "id", "text", "citation"]
    assert data["citation"] == "doc.txt｜加賀市｜推進体制 › 見出し｜L1"
    assert data["municipality"] == "加賀市" and data["line_start"] == 1
    save_index(searcher.bundle, tmp_path / "ix")  # a bundle built in memory saves cleanly
    assert (tmp_path / "ix" / "manifest.json").is_file()

"""The Milvus backend on a real Milvus Lite file answers as the local index: the same hits in the same order with
the same scores (bit for bit per leg, fused within 1e-6) for the seed eval questions, with filters, for similar
cases with other municipalities, and after adding and removing a document; a wrong URI, a missing folder, a server
that is not there and an engine killed mid-search give one-line errors (real model, MeCab, FAISS, Milvus Lite)."""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from kensaku import Filters, Index
from kensaku.evaluate import load_benchmark
from kensaku.index.hybrid import Mode
from kensaku.index.milvus import MilvusStore
from kensaku.index.milvus_search import MilvusSearcher
from kensaku.index.milvus_uri import BackendUnavailableError, BackendURIError
from kensaku.index.results import Hit
from kensaku.index.search import Searcher
from tests.support import ROOT

NEW_NAME = "松本市 防災.md"
NEW_TEXT = "# 防災\n\n## 避難計画\n\n- 松本市は避難所の混雑状況を地図で公開した。\n- 住民説明会を三回開いた。\n"


@pytest.fixture(scope="module")
def questions() -> list[str]:
    return list(load_benchmark(ROOT / "corpus" / "eval", "test").queries.values())


@pytest.fixture(scope="module")
def local(seed_index: Path) -> Index:
    return Index.open(seed_index)


@pytest.fixture(scope="module")
def store(local: Index, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MilvusStore]:
    path = tmp_path_factory.mktemp("milvus") / "findings.db"
    milvus = MilvusStore.connect(f"milvus://{path}", timeout=5)
    milvus.sync(local.bundle)
    yield milvus
    milvus.close()


def same_hits(a: list[Hit], b: list[Hit]) -> None:
    assert [h.finding for h in a] == [h.finding for h in b]
    assert [(h.bm25, h.dense, h.bm25_rank, h.dense_rank) for h in a] == [
        (h.bm25, h.dense, h.bm25_rank, h.dense_rank) for h in b
    ]
    np.testing.assert_allclose([h.score for h in a], [h.score for h in b], rtol=0, atol=1e-6)


def both(local: Index, store: MilvusStore) -> tuple[Searcher, MilvusSearcher]:
    return local.searcher, store.searcher(local.embedder, local.settings.fusion)


def test_seed_questions_rank_alike_in_every_mode(local: Index, store: MilvusStore, questions: list[str]) -> None:
    searcher, milvus = both(local, store)
    assert len(store) == len(local) and store.stats.total_length == local.bundle.sparse.total_length  # type: ignore[attr-defined]
    vectors = local.embedder.encode_queries(questions)
    modes: tuple[Mode, ...] = ("hybrid", "bm25", "dense")
    for number, (question, vector) in enumerate(zip(questions, vectors, strict=True)):
        terms = searcher.tokenizer.tokenize(question)  # type: ignore[union-attr]
        for mode in modes if number < 15 else ("hybrid",):
            if mode == "bm25" and not terms:
                continue
            same_hits(
                searcher.search_vectors(terms, vector, 10, mode=mode),
                milvus.search_vectors(terms, vector, 10, mode=mode),
            )


def test_pages_relevance_and_verdict(local: Index, store: MilvusStore, questions: list[str]) -> None:
    searcher, milvus = both(local, store)
    for question in [*questions[:5], "美味しいラーメン屋"]:
        a, b = searcher.query(question, 5, offset=5), milvus.query(question, 5, offset=5)
        same_hits(a.hits, b.hits)
        assert a.answerable == b.answerable and b.total_exact is False and b.offset == 5
        np.testing.assert_allclose([h.relevance for h in a.hits], [h.relevance for h in b.hits], atol=1e-3)  # type: ignore[arg-type]


def test_filters_and_similar_with_other_municipalities(local: Index, store: MilvusStore) -> None:
    searcher, milvus = both(local, store)
    first = next(iter(local.findings))
    municipalities = sorted({f.municipality for f in local.findings if f.municipality})
    filters = [
        Filters(municipalities=municipalities[:2]),
        Filters(chapters=[first.chapter], kinds=["lesson"]),
        Filters(exclude_municipalities=municipalities[:3], exclude_ids=[first.id]),
        Filters(documents=[first.document], sections=[first.section]),
        Filters(years=["1999"]),
    ]
    for f in filters:
        for question in ("住民に費用を負担してもらう仕組み", "大学と組むメリット"):
            same_hits(searcher.search(question, 10, filters=f), milvus.search(question, 10, filters=f))
    assert milvus.search("大学と組むメリット", 10, filters=Filters(years=["1999"])) == []
    for hit in searcher.search("データ連携基盤", 3):
        for other in (False, True):
            a = searcher.similar(hit.finding.id, k=10, other_municipalities=other)
            b = milvus.similar(hit.finding.id, k=10, other_municipalities=other)
            same_hits(a, b)
            if other:
                assert all(h.finding.municipality != hit.finding.municipality for h in b)
    assert milvus.finding(first.id) == first


def test_add_and_remove_a_document_as_the_local_index(
    local: Index, seed_index: Path, tmp_path: Path, questions: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("kensaku.index.milvus.DRIFT", -1.0)  # re-weight every stored row on each change
    directory = tmp_path / "index"
    shutil.copytree(seed_index, directory)
    (tmp_path / NEW_NAME).write_text(NEW_TEXT, encoding="utf-8")
    before = Index.open(directory, embedder=local.embedder)
    milvus = MilvusStore.connect(f"milvus://{tmp_path}/f.db?collection=changes", timeout=5)
    milvus.sync(before.bundle)
    added = before.add(tmp_path / NEW_NAME)
    document = next(f.document for f in added.findings if f.municipality == "松本市" or "防災" in f.document)
    assert milvus.add_document(added.bundle, document) >= 1
    checks = [*questions[:10], "松本市の避難所の混雑状況", "住民説明会を三回開いた"]
    for index in (added, added.remove(tmp_path / NEW_NAME)):
        if index is not added:
            assert milvus.remove_document(document) >= 1
        assert len(milvus) == len(index) and milvus.stats.avgdl == index.bundle.sparse._avgdl  # type: ignore[attr-defined]
        assert milvus.stats.avgdl_ref == milvus.stats.avgdl
        searcher, searched = both(index, milvus)
        for question in checks:
            same_hits(searcher.search(question, 10), searched.search(question, 10))
    assert milvus.remove_document(document) == 0
    milvus.close()


def test_wrong_uri_missing_folder_and_absent_server(tmp_path: Path) -> None:
    with pytest.raises(BackendURIError, match="unknown backend scheme"):
        MilvusStore.connect("milvsu://localhost:19530")
    with pytest.raises(BackendURIError) as missing:
        MilvusStore.connect(f"milvus://{tmp_path}/no/such/folder/x.db")
    assert "mkdir -p" in missing.value.fix
    started = time.monotonic()
    with pytest.raises(BackendUnavailableError) as absent:
        MilvusStore.connect("milvus://127.0.0.1:1", timeout=2)
    assert time.monotonic() - started < 10
    assert "http://127.0.0.1:1" in absent.value.reason and "start it" in absent.value.fix
    fresh = MilvusStore.connect(f"milvus://{tmp_path}/empty.db", timeout=5)
    with pytest.raises(Exception, match="no kensaku findings") as empty:
        fresh.stats  # noqa: B018 - the property raises
    assert "sync" in str(empty.value)
    fresh.close()


def _lite_processes() -> list[int]:
    """The Milvus Lite engines this test process started (its children named milvus)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().split(") ")[-1].split()
            name = stat.read_text().split("(")[1].split(")")[0]
        except (OSError, IndexError):
            continue
        if int(fields[1]) == os.getpid() and "milvus" in name:
            out.append(int(stat.parent.name))
    return out


def test_engine_killed_mid_session_gives_a_clear_error(local: Index, tmp_path: Path) -> None:
    known = set(_lite_processes())
    milvus = MilvusStore.connect(f"milvus://{tmp_path}/k.db", timeout=3)
    engine = sorted(set(_lite_processes()) - known)
    assert len(engine) == 1
    milvus.sync(local.bundle)
    searcher = milvus.searcher(local.embedder)
    assert searcher.search("大学と組むメリット", 3)
    os.kill(engine[0], signal.SIGKILL)
    os.waitpid(engine[0], 0)
    started = time.monotonic()
    with pytest.raises(BackendUnavailableError) as failed:
        searcher.search("大学と組むメリット", 3)
    assert time.monotonic() - started < 30
    assert "failed while searching" in failed.value.reason and "running" in failed.value.fix

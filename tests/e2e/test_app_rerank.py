"""The app with ``$KENSAKU_RERANKER`` (AppTest, the seed index, a tiny cross-encoder made in the test with random
weights): the Japanese toggle, on by default, reranks the results (their score breakdown shows the cross-encoder's
score) and off searches without it; a reranker that cannot be loaded is a Japanese error and the results still show."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kensaku import Index, Reranker, load_reranker
from kensaku.app.plaintext import markdown_literal
from tests.e2e.test_app import cards, header, search, start
from tests.rerank_support import tiny_cross_encoder

QUERY = "フェローの契約形態は"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_cross_encoder(tmp_path_factory.mktemp("rerank") / "tiny", [QUERY])


def breakdown(at: AppTest) -> str:
    return "\n".join(t.value for t in at.text)


def test_the_toggle_reranks_and_turns_it_off(
    monkeypatch: pytest.MonkeyPatch, seed_index: Path, tiny_model: Path
) -> None:
    monkeypatch.setenv("KENSAKU_RERANKER", str(tiny_model))
    monkeypatch.setenv("KENSAKU_RERANK_DEPTH", "10")
    at = start(monkeypatch, seed_index)
    toggle = at.toggle(key="use_rerank")
    assert toggle.label == f"再ランキング（{markdown_literal(str(tiny_model))}）を使う"
    assert toggle.value is True
    assert any("上位 10 件を" in c.value and "クロスエンコーダー" in c.value for c in at.caption)
    search(at, QUERY)
    assert not at.error
    total, first, _ = header(at)
    reranker: Reranker = load_reranker(str(tiny_model))
    index = Index.open(seed_index)
    expected = index.query(QUERY, 10, reranker=reranker, rerank_depth=10)
    assert total == expected.total and first == 1 and cards(at)
    details = breakdown(at)
    for hit in expected.hits:  # every shown hit has the cross-encoder's score in its breakdown
        if f"ID {hit.finding.id}" in details:
            assert f"再ランキング {hit.rerank:.4f}｜ID {hit.finding.id}" in details
    assert f"ID {expected.hits[0].finding.id}" in details

    at.toggle(key="use_rerank").set_value(False).run()
    assert not at.exception
    assert cards(at) and "再ランキング" not in breakdown(at)
    assert header(at)[0] == total  # the count does not depend on reranking


def test_a_reranker_that_cannot_be_loaded_is_shown_in_japanese(
    monkeypatch: pytest.MonkeyPatch, seed_index: Path, tmp_path: Path
) -> None:
    monkeypatch.setenv("KENSAKU_RERANKER", str(tmp_path / "無い"))
    at = start(monkeypatch, seed_index)
    search(at, QUERY)
    assert [e.value for e in at.error] == [
        "再ランキング用のモデルを読み込めませんでした。再ランキングなしで検索します。"
        "管理者に「詳細（原文）」の内容を伝えてください。"
    ]
    assert any(e.label == "詳細（原文）" for e in at.expander)
    assert cards(at) and header(at)[1] == 1  # the search went on without the reranker
    assert "再ランキング" not in breakdown(at)

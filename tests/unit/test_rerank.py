"""Reranking logic with a stand-in scorer (a table of scores by passage text: pure logic, no model): the first
``depth`` hits in score order, ties in their fused order, the rest after them, ranks from 1, ``rerank`` set on the
reranked ones only, the passage is ``heading: text``. Also the settings: ``$KENSAKU_RERANKER``,
``$KENSAKU_RERANK_DEPTH`` and ``reranker`` in ``kensaku.toml``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from kensaku.config import PROJECT_FILE, Settings, reranker_setting
from kensaku.errors import InputError
from kensaku.index.rerank import Reranker, rerank, rerank_order
from kensaku.index.search import Hit
from tests.support import SMALL_FINDINGS

QUERY = "フェローの契約形態は"


class TableScorer:
    """Scores each passage from a table; records what it was asked."""

    def __init__(self, scores: Mapping[str, float]) -> None:
        self.scores = scores
        self.calls: list[list[tuple[str, str]]] = []

    def predict(self, sentences: list[tuple[str, str]], **options: Any) -> list[float]:
        self.calls.append(list(sentences))
        return [self.scores[passage] for _, passage in sentences]


def fused_hits() -> list[Hit]:
    """The six small findings as a fused ranking (rank 1 first, falling scores)."""
    return [Hit(i + 1, 1.0 - i / 10, f, 1.0, 0.5, i + 1, i + 1) for i, f in enumerate(SMALL_FINDINGS)]


def passages(hits: list[Hit]) -> list[str]:
    return [h.finding.context_text for h in hits]


def test_the_top_depth_is_put_in_score_order_and_the_rest_keeps_its_place() -> None:
    hits = fused_hits()
    table = dict(zip(passages(hits), [0.1, 0.9, 0.5, 0.7, 5.0, 6.0], strict=True))
    scorer = TableScorer(table)
    out = rerank(QUERY, hits, Reranker("table", scorer), depth=4)
    assert [h.finding.id for h in out] == [hits[i].finding.id for i in (1, 3, 2, 0, 4, 5)]
    assert [h.rank for h in out] == [1, 2, 3, 4, 5, 6]
    assert [h.rerank for h in out] == [0.9, 0.7, 0.5, 0.1, None, None]  # the high scores below depth are not used
    assert [h.score for h in out[:4]] == [0.9, 0.7, 0.8, 1.0]  # the fused score is kept
    assert scorer.calls == [[(QUERY, p) for p in passages(hits)[:4]]]  # one batch: only the top depth is scored
    assert scorer.calls[0][0][1] == "見出し: フェローとの契約は要綱で定め、謝礼金で対応している。"  # heading: text


def test_ties_keep_the_fused_order_and_a_deep_depth_takes_all() -> None:
    hits = fused_hits()
    table = dict(zip(passages(hits), [1.0, 2.0, 1.0, 2.0, 1.0, 2.0], strict=True))
    out = rerank(QUERY, hits, Reranker("table", TableScorer(table)), depth=100)
    assert [h.finding.id for h in out] == [hits[i].finding.id for i in (1, 3, 5, 0, 2, 4)]
    assert all(h.rerank is not None for h in out)
    assert rerank(QUERY, [], Reranker("table", TableScorer({})), depth=30) == []


def test_the_order_function_and_a_depth_below_one() -> None:
    reranker = Reranker("table", TableScorer({"a": 0.2, "b": 0.3, "c": 0.1}))
    order, scores = rerank_order(QUERY, ["a", "b", "c"], reranker, depth=2)
    assert order == [1, 0, 2] and scores.tolist() == [0.2, 0.3]
    assert reranker.score(QUERY, []).shape == (0,)
    with pytest.raises(InputError, match="rerank depth 0 is below 1"):
        rerank_order(QUERY, ["a"], reranker, depth=0)
    assert repr(reranker) == "Reranker('table')"


def test_settings_from_the_environment(tmp_path: Path) -> None:
    assert Settings.from_env({}, cwd=tmp_path).reranker is None
    assert Settings.from_env({}, cwd=tmp_path).rerank_depth == 30
    settings = Settings.from_env(
        {"KENSAKU_RERANKER": " hotchpotch/japanese-reranker-xsmall-v2 ", "KENSAKU_RERANK_DEPTH": "50"}, cwd=tmp_path
    )
    assert (settings.reranker, settings.rerank_depth) == ("hotchpotch/japanese-reranker-xsmall-v2", 50)
    for value in ("0", "-3", "三十", "1.5"):
        with pytest.raises(InputError, match="KENSAKU_RERANK_DEPTH"):
            Settings.from_env({"KENSAKU_RERANK_DEPTH": value}, cwd=tmp_path)
    assert [reranker_setting(v) for v in ("none", "OFF", "  ", "/models/ruri")] == [None, None, None, "/models/ruri"]


def test_settings_from_the_project_file(tmp_path: Path) -> None:
    root = tmp_path / "案件"
    (root / "models" / "再ランク").mkdir(parents=True)
    (root / PROJECT_FILE).write_text('reranker = "models/再ランク"\n', encoding="utf-8")
    assert Settings.from_env({}, cwd=root / "models").reranker == str(root.resolve() / "models" / "再ランク")
    (root / PROJECT_FILE).write_text('reranker = "cl-nagoya/ruri-v3-reranker-310m"\n', encoding="utf-8")
    assert Settings.from_env({}, cwd=root).reranker == "cl-nagoya/ruri-v3-reranker-310m"
    assert Settings.from_env({"KENSAKU_RERANKER": "off"}, cwd=root).reranker is None  # the environment wins
    (root / PROJECT_FILE).write_text("reranker = 3\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        Settings.from_env({}, cwd=root)
    assert 'reranker = "hotchpotch/japanese-reranker-xsmall-v2"' in caught.value.fix


def test_a_path_that_is_no_folder_is_refused_before_any_model_loads(tmp_path: Path) -> None:
    from kensaku.errors import RerankerLoadError
    from kensaku.index.rerank import load_reranker

    (tmp_path / "model.bin").write_bytes(b"\0")
    for given, why in (
        (str(tmp_path / "model.bin"), "(a file)"),
        (str(tmp_path / "無い"), "(no such directory)"),
        ("./models/none", "(no such directory)"),
        ("  ", "is empty"),
    ):
        with pytest.raises(RerankerLoadError) as caught:
            load_reranker(given)
        assert why in caught.value.reason and (given.strip() in caught.value.reason)
        assert "hotchpotch/japanese-reranker-xsmall-v2 on a machine with internet" in caught.value.fix

"""Retrieval metrics against hand-computed values."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from kensaku.evaluate import load_benchmark, ndcg_at, recall_at, rr_at, score_run, success_at


def test_ndcg_graded_hand_computed() -> None:
    ranked = ["d3", "d1", "x", "d2"]
    qrels = {"d1": 2, "d2": 1, "d3": 1}
    dcg = 1 / math.log2(2) + 2 / math.log2(3) + 0 + 1 / math.log2(5)
    idcg = 2 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at(ranked, qrels, 10) == pytest.approx(dcg / idcg)
    assert ndcg_at(ranked, qrels, 1) == pytest.approx(1 / 2)


def test_recall_rr_success() -> None:
    ranked = ["a", "b", "c", "d"]
    qrels = {"c": 1, "z": 1, "n": 0}
    assert recall_at(ranked, qrels, 10) == 0.5
    assert recall_at(ranked, qrels, 2) == 0.0
    assert rr_at(ranked, qrels, 10) == pytest.approx(1 / 3)
    assert rr_at(ranked, qrels, 2) == 0.0
    assert success_at(ranked, qrels, 5) == 1.0
    assert success_at(ranked, qrels, 1) == 0.0


def test_score_run_counts_missing_queries_as_zero() -> None:
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}, "q3": {"c": 0}}  # q3 has no relevant doc: not judged
    run = {"q1": ["a"]}
    metrics = score_run(run, qrels)
    assert metrics["MRR@10"] == 0.5
    assert metrics["success@1"] == 0.5


def test_load_benchmark(tmp_path: Path) -> None:
    (tmp_path / "qrels").mkdir()
    (tmp_path / "queries.jsonl").write_text(
        '{"_id": "q1", "text": "梅雨とは"}\n{"_id": "q2", "text": "未使用"}\n', encoding="utf-8"
    )
    (tmp_path / "qrels" / "dev.tsv").write_text("query-id\tcorpus-id\tscore\nq1\tp1\t1\n", encoding="utf-8")
    bench = load_benchmark(tmp_path, "dev")
    assert bench.queries == {"q1": "梅雨とは"}
    assert bench.qrels == {"q1": {"p1": 1}}
    assert bench.corpus is None
    with pytest.raises(FileNotFoundError, match=r"test\.tsv"):
        load_benchmark(tmp_path, "test")

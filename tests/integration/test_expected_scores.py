"""The shipped defaults still score what README.md and docs/results.md report (tests/expected_scores.toml), on the
seed questions and on JSQuAD, per leg and fused, through the public API with the real model (BM25 to the 4th
decimal; the legs that use the int8 model within a few questions' worth, as they differ slightly between CPUs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kensaku import FusionConfig, Index
from kensaku.evaluate import evaluate, load_benchmark
from tests.support import ROOT, expected_scores, score_tolerance, shared_dir

EXPECTED: dict[str, Any] = expected_scores()
JSQUAD = shared_dir() / "bench" / "jsquad"
LEGS = ("bm25", "dense", "hybrid", "rrf")


def compare(name: str, index: Index, benchmark: Path) -> None:
    """Evaluate every leg on the test split and compare with the expected scores of ``name``."""
    bench = load_benchmark(benchmark, "test")
    expected = EXPECTED[name]
    assert len(bench.queries) == expected["queries"]
    measured = evaluate(index.searcher, bench, show_progress=False)
    rrf = evaluate(index.searcher, bench, modes=("hybrid",), fusion=FusionConfig(method="rrf"), show_progress=False)
    measured["rrf"] = rrf["hybrid"]
    off = {
        f"{leg} {metric}": (round(measured[leg][metric], 4), value, allowed)
        for leg in LEGS
        for metric, value in expected[leg].items()
        if abs(measured[leg][metric] - value) > (allowed := score_tolerance(leg, expected["queries"]))
    }
    assert not off, f"{name}: measured, expected and tolerance: {off}"


def test_seed_questions(seed_index: Path) -> None:
    compare("seed", Index.open(seed_index), ROOT / "corpus" / "eval")


@pytest.mark.slow
def test_jsquad(tmp_path_factory: pytest.TempPathFactory, default_model: Path) -> None:
    if not (JSQUAD / "corpus.jsonl").is_file():
        pytest.skip(f"JSQuAD not found at {JSQUAD}; set KENSAKU_SHARED to the folder holding bench/jsquad")
    index = Index.build([JSQUAD / "corpus.jsonl"], tmp_path_factory.mktemp("jsquad") / "index")
    compare("jsquad", index, JSQUAD)

"""The shipped defaults still score what README.md and docs/results.md report (tests/expected_scores.toml), on the
seed questions and on JSQuAD, per leg and fused, through the public API with the real model."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from kensaku import FusionConfig, Index
from kensaku.evaluate import evaluate, load_benchmark
from tests.support import ROOT, shared_dir

EXPECTED: dict[str, Any] = tomllib.loads((ROOT / "tests" / "expected_scores.toml").read_text(encoding="utf-8"))
TOLERANCE = float(EXPECTED["tolerance"])
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
        f"{leg} {metric}": (round(measured[leg][metric], 4), value)
        for leg in LEGS
        for metric, value in expected[leg].items()
        if abs(measured[leg][metric] - value) > TOLERANCE
    }
    assert not off, f"{name}: measured vs expected beyond ±{TOLERANCE}: {off}"


def test_seed_questions(seed_index: Path) -> None:
    compare("seed", Index.open(seed_index), ROOT / "corpus" / "eval")


@pytest.mark.slow
def test_jsquad(tmp_path_factory: pytest.TempPathFactory, default_model: Path) -> None:
    if not (JSQUAD / "corpus.jsonl").is_file():
        pytest.skip(f"JSQuAD not found at {JSQUAD}; set KENSAKU_SHARED to the folder holding bench/jsquad")
    index = Index.build([JSQUAD / "corpus.jsonl"], tmp_path_factory.mktemp("jsquad") / "index")
    compare("jsquad", index, JSQUAD)

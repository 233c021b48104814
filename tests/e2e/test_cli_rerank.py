"""``kensaku search|export|eval --reranker`` as a process, with a tiny cross-encoder made in the test (random weights:
the wiring is tested, not the quality): JSON hits carry the cross-encoder's scores in its order, the text output shows
them, and a reranker that cannot be loaded is one line naming it, exit status 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.rerank_support import tiny_cross_encoder
from tests.support import ROOT

EXE = Path(sys.executable).parent / "kensaku"
QUERY = "フェローの契約形態は"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_cross_encoder(tmp_path_factory.mktemp("rerank") / "tiny", [QUERY])


def kensaku(*args: str, index: Path, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {key: value for key, value in os.environ.items() if not key.startswith("KENSAKU_RERANK")}
    environ.update(KENSAKU_INDEX=str(index), **env)
    return subprocess.run([str(EXE), *args], capture_output=True, text=True, env=environ, cwd=cwd, timeout=300)


def test_search_json_is_in_the_cross_encoders_order(seed_index: Path, tiny_model: Path, tmp_path: Path) -> None:
    from sentence_transformers import CrossEncoder

    from kensaku import Index

    proc = kensaku(
        "search", QUERY, "-k", "8", "--reranker", str(tiny_model), "--rerank-depth", "5", "--format", "json",
        index=seed_index, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    hits = json.loads(proc.stdout)["results"]
    fused = Index.open(seed_index).search(QUERY, 8)
    scores = CrossEncoder(str(tiny_model), device="cpu").predict(
        [(QUERY, h.finding.context_text) for h in fused[:5]], show_progress_bar=False
    )
    expected = sorted(range(5), key=lambda i: (-scores[i], i))
    assert [h["id"] for h in hits] == [fused[i].finding.id for i in expected] + [h.finding.id for h in fused[5:]]
    assert [h["rerank"] for h in hits[:5]] == pytest.approx([float(scores[i]) for i in expected], abs=1e-5)
    assert [h["rerank"] for h in hits[5:]] == [None, None, None]
    assert [h["rank"] for h in hits] == list(range(1, 9))

    env_proc = kensaku(
        "search", QUERY, "-k", "3", "--format", "text", index=seed_index, cwd=tmp_path,
        KENSAKU_RERANKER=str(tiny_model), KENSAKU_RERANK_DEPTH="5",
    )  # fmt: skip
    assert env_proc.returncode == 0, env_proc.stderr
    assert f" 1. [{hits[0]['score']:.3f}; rerank {np.float64(hits[0]['rerank']):.3f}]" in env_proc.stdout
    off = kensaku("search", QUERY, "--reranker", "none", "--format", "json", index=seed_index, cwd=tmp_path,
                  KENSAKU_RERANKER=str(tiny_model))  # fmt: skip
    assert off.returncode == 0 and all(h["rerank"] is None for h in json.loads(off.stdout)["results"])


def test_export_and_eval_take_the_reranker(seed_index: Path, tiny_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    proc = kensaku(
        "export", "--query", QUERY, "-k", "4", "--format", "json", "-o", str(out), "--reranker", str(tiny_model),
        index=seed_index, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    searched = kensaku("search", QUERY, "-k", "4", "--reranker", str(tiny_model), "--format", "json",
                       index=seed_index, cwd=tmp_path)  # fmt: skip
    exported = json.loads(out.read_text(encoding="utf-8"))
    assert QUERY in out.read_text(encoding="utf-8")
    ids = [h["id"] for h in json.loads(searched.stdout)["results"]]
    assert ids and all(i in json.dumps(exported, ensure_ascii=False) for i in ids)
    bench = ROOT / "corpus" / "eval"
    proc = kensaku(
        "eval", "--benchmark", str(bench), "--split", "dev", "--format", "json", "--reranker", str(tiny_model),
        "--no-progress", index=seed_index, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads(proc.stdout)["metrics"]
    assert set(metrics) == {"bm25", "dense", "hybrid", "rerank"}
    assert 0.0 <= metrics["rerank"]["nDCG@10"] <= 1.0


@pytest.mark.parametrize(
    ("reranker", "named"),
    [
        ("/no/such/dir", "'/no/such/dir' is not a folder"),
        ("hotchpotch/japanese-reranker-xsmall-v2", "could not be fetched from the Hugging Face hub"),
    ],
)
def test_a_reranker_that_cannot_be_loaded_is_one_line(
    seed_index: Path, tmp_path: Path, reranker: str, named: str
) -> None:
    proc = kensaku(
        "search", QUERY, "--reranker", reranker, index=seed_index, cwd=tmp_path, HF_HUB_OFFLINE="1"
    )  # offline: the hub is not tried (no network here either way)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("kensaku: error: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert named in proc.stderr and "hotchpotch/japanese-reranker-xsmall-v2 on a machine with internet" in proc.stderr
    assert proc.stdout == ""

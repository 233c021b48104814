"""Adding new documents writes a part (only they are read, tokenized and embedded) and the index then equals a full
build over the same documents: the same rows in the same order, vectors, columns, BM25 scores bit for bit, search
results, relevance, filters and similar cases; a full build merges the parts (real model, MeCab, FAISS)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from kensaku import Filters, Index
from kensaku.cli import main
from kensaku.index.embed import Embedder, load_embedder
from kensaku.index.store import verify_index
from tests.support import ROOT

SEED = ROOT / "corpus" / "smartcity_model_project_cases.txt"
QUERIES = ("フェローの契約形態は", "住民説明会の回数", "費用負担の考え方", "データ連携基盤", "松本市の防災")
NEW = {
    "松本市 防災.md": (
        "# 防災\n\n## 避難計画\n\n- 松本市は避難所の混雑状況を地図で公開した。\n- 住民説明会を三回開いた。\n"
    ),
    "費用.txt": "■ 費用負担\n\n初期費用は国の交付金で賄い、運営費は参加企業が負担する。\n",
}


@pytest.fixture(scope="module")
def embedder(default_model: Path) -> Embedder:
    return load_embedder("e5-small-int8")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("parts")
    (root / "base").mkdir()
    shutil.copy(SEED, root / "base" / SEED.name)
    for name, text in NEW.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def same_index(a: Index, b: Index) -> None:
    """``a`` and ``b`` hold the same rows and search alike, to the last bit where the arithmetic is the same."""
    assert [f.id for f in a.findings] == [f.id for f in b.findings] and list(a.findings) == list(b.findings)
    rows = np.arange(len(a))
    np.testing.assert_array_equal(a.bundle.dense.vectors(rows), b.bundle.dense.vectors(rows))
    ca, cb = a.bundle.columns, b.bundle.columns
    assert ca.values == cb.values
    for x, y in ((ca.codes, cb.codes), (ca.blocks, cb.blocks), (ca.hashes, cb.hashes), (ca.hash_rows, cb.hash_rows)):
        np.testing.assert_array_equal(x, y)
    for query in QUERIES:
        terms = a.tokenizer.tokenize(query)
        np.testing.assert_array_equal(a.bundle.sparse.scores(terms), b.bundle.sparse.scores(terms))
        ra, rb = a.query(query, 10), b.query(query, 10)
        assert [(h.finding.id, h.score, h.bm25, h.dense) for h in ra.hits] == [
            (h.finding.id, h.score, h.bm25, h.dense) for h in rb.hits
        ]
        # The relevance's mean and spread of all cosines come from one matrix-vector product per part, which BLAS
        # may round differently from one over all rows (1e-7 seen).
        assert [h.relevance for h in ra.hits] == pytest.approx([h.relevance for h in rb.hits], abs=1e-6)
        assert (ra.total, ra.answerable) == (rb.total, rb.answerable)


def test_added_documents_become_a_part_equal_to_a_full_build(corpus: Path, embedder: Embedder, tmp_path: Path) -> None:
    built = Index.build([corpus / "base"], tmp_path / "parted", embedder=embedder)
    added = built.add([corpus / "松本市 防災.md"])
    assert added.manifest.parts == (2,) and (tmp_path / "parted" / "parts" / "0001" / "vectors.npy").exists()
    stats = added.report.stats if added.report else None
    assert stats is not None and (stats.new, stats.unchanged, stats.embedded) == (1, 1, 2)
    added = added.add([corpus / "費用.txt"])
    assert added.manifest.parts == (2, 1) and added.manifest.documents == 3
    reopened = Index.open(tmp_path / "parted", embedder=embedder)
    assert verify_index(tmp_path / "parted").findings == len(reopened) == 283  # columns re-derived and equal

    full = Index.build(
        [corpus / "base", corpus / "松本市 防災.md", corpus / "費用.txt"], tmp_path / "full", embedder=embedder
    )
    assert full.manifest.parts == ()
    same_index(reopened, full)

    muni = Filters(municipalities=["松本市"])
    assert [h.finding.id for h in reopened.search("避難所", 3, filters=muni)] == [
        h.finding.id for h in full.search("避難所", 3, filters=muni)
    ]
    source = next(f for f in reopened.findings if f.municipality == "松本市")
    assert [h.finding.id for h in reopened.similar(source.id, k=5, other_municipalities=True)] == [
        h.finding.id for h in full.similar(source.id, k=5, other_municipalities=True)
    ]


def test_a_full_build_merges_the_parts_and_other_changes_go_through_it(
    corpus: Path, embedder: Embedder, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(corpus / "base", docs)
    shutil.copy(corpus / "費用.txt", tmp_path / "費用.txt")
    index = Index.build([docs], tmp_path / "index", embedder=embedder).add([tmp_path / "費用.txt"])
    assert index.manifest.parts == (1,)
    (tmp_path / "費用.txt").write_text(NEW["費用.txt"] + "追加の運営費は市が負担する。\n", encoding="utf-8")
    changed = index.add([corpus / "松本市 防災.md"])  # a recorded document changed: a full (incremental) build
    assert changed.manifest.parts == () and changed.manifest.documents == 3
    stats = changed.report.stats if changed.report else None
    assert stats is not None and stats.changed == 1 and stats.unchanged == 1 and stats.new == 1
    again = Index.open(tmp_path / "index", embedder=embedder).add([tmp_path / "費用.txt"])  # in the index already
    assert again.manifest.parts == ()


def test_a_part_left_by_a_killed_add_is_ignored_and_replaced(
    corpus: Path, embedder: Embedder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index = Index.build([corpus / "base"], tmp_path / "index", embedder=embedder)
    orphan = tmp_path / "index" / "parts" / "0001"
    orphan.mkdir(parents=True)
    (orphan / "findings.jsonl").write_text("half written\n", encoding="utf-8")  # no manifest names it
    (tmp_path / "index" / "parts" / ".0002.tmp-1-ab").mkdir()
    assert len(Index.open(tmp_path / "index")) == len(index)
    assert main(["verify", "--index", str(tmp_path / "index")]) == 0
    capsys.readouterr()
    code = main(["add", str(corpus / "費用.txt"), "--index", str(tmp_path / "index"), "--format", "json"])
    assert code == 0 and json.loads(capsys.readouterr().out)["findings"] == len(index) + 1
    assert sorted(p.name for p in (tmp_path / "index" / "parts").iterdir()) == ["0001"]
    assert Index.open(tmp_path / "index").manifest.parts == (1,)
    assert main(["verify", "--index", str(tmp_path / "index")]) == 0

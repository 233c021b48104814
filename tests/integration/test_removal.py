"""Removing a document marks its rows removed (one small file and the manifest are written, nothing is read or
embedded) and the index then equals a full build of the remaining documents: the same rows in the same order,
vectors, columns, BM25 scores bit for bit, search results, filters and similar cases (real model, MeCab, FAISS)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from kensaku import Filters, Index
from kensaku.cli import main
from kensaku.errors import FindingNotFoundError
from kensaku.index.embed import Embedder, load_embedder
from kensaku.index.manifest import inputs_of
from kensaku.index.store import verify_index
from tests.integration.test_parts import NEW, SEED, same_index


@pytest.fixture(scope="module")
def embedder(default_model: Path) -> Embedder:
    return load_embedder("e5-small-int8")


@pytest.fixture()
def docs(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    (root / "base").mkdir(parents=True)
    shutil.copy(SEED, root / "base" / SEED.name)
    for name, text in NEW.items():
        (root / name).write_text(text, encoding="utf-8")
    (root / "加賀市.txt").write_text(
        "■ フェロー\n\n加賀市はフェローと業務委託契約を結んだ。\n\n■ 費用\n\n運営費は市が負担する。\n", encoding="utf-8"
    )
    return root


def test_a_removed_document_leaves_an_index_equal_to_a_full_build(
    docs: Path, embedder: Embedder, tmp_path: Path
) -> None:
    built = Index.build(
        [docs / "加賀市.txt", docs / "松本市 防災.md", docs / "base"], tmp_path / "i", embedder=embedder
    )
    added = built.add([docs / "費用.txt"])  # a part after the build's rows
    gone = {d.name: d.findings for d in added.documents()}["松本市 防災.md"]
    vectors_before = (tmp_path / "i" / "vectors.npy").stat().st_mtime_ns
    removed = added.remove([docs / "松本市 防災.md"])  # rows in the middle of the build's
    manifest = removed.manifest
    assert manifest.documents == 3 and manifest.parts == (1,) and manifest.removed == gone > 0
    assert manifest.findings == len(added) - gone == len(removed)
    assert (tmp_path / "i" / manifest.removed_file).exists() and manifest.removed_file == "removed/0001.npy"
    assert (tmp_path / "i" / "vectors.npy").stat().st_mtime_ns == vectors_before  # nothing rewritten
    stats = removed.report.stats if removed.report else None
    assert stats is not None and (stats.removed, stats.embedded, stats.unchanged) == (1, 0, 3)
    assert str(docs / "松本市 防災.md") not in manifest.inputs and len(manifest.inputs) == 3

    reopened = Index.open(tmp_path / "i", embedder=embedder)
    assert verify_index(tmp_path / "i").findings == len(reopened)  # columns re-derived and equal
    full = Index.build([docs / "加賀市.txt", docs / "base", docs / "費用.txt"], tmp_path / "full", embedder=embedder)
    same_index(reopened, full)
    assert [d.path for d in reopened.documents()] == [d.path for d in full.documents()]
    source = next(f for f in reopened.findings if f.municipality == "加賀市")
    assert [h.finding.id for h in reopened.similar(source.id, k=5, other_municipalities=True)] == [
        h.finding.id for h in full.similar(source.id, k=5, other_municipalities=True)
    ]
    muni = Filters(municipalities=["加賀市"])
    assert [h.finding.id for h in reopened.search("フェロー", 3, filters=muni)] == [
        h.finding.id for h in full.search("フェロー", 3, filters=muni)
    ]
    assert "松本市" not in reopened.bundle.columns.present("municipality")
    dropped = next(f for f in added.findings if f.document == "松本市 防災.md")
    with pytest.raises(FindingNotFoundError):
        reopened.finding(dropped.id)  # a removed row is not found by its id


def test_removed_rows_survive_adds_and_removals_and_a_build_drops_them(
    docs: Path, embedder: Embedder, tmp_path: Path
) -> None:
    index = Index.build(
        [docs / "base", docs / "加賀市.txt", docs / "松本市 防災.md"], tmp_path / "i", embedder=embedder
    )
    counts = {d.name: d.findings for d in index.documents()}
    index = index.remove([docs / "加賀市.txt"])
    assert inputs_of(tmp_path / "i") == [str(docs / "base"), str(docs / "松本市 防災.md")]
    index = index.add([docs / "費用.txt"]).add([docs / "加賀市.txt"])  # back again
    assert len(index.manifest.parts) == 2 and index.manifest.parts[1] == counts["加賀市.txt"]
    assert index.manifest.removed == counts["加賀市.txt"]
    remaining = [str(docs / "base"), str(docs / "松本市 防災.md"), str(docs / "費用.txt"), str(docs / "加賀市.txt")]
    assert inputs_of(tmp_path / "i") == remaining == list(index.manifest.inputs)
    index = index.remove([docs / "松本市 防災.md"])
    assert index.manifest.removed == counts["加賀市.txt"] + counts["松本市 防災.md"]
    assert index.manifest.removed_file == "removed/0002.npy"
    names = sorted(p.name for p in (tmp_path / "i" / "removed").iterdir())
    assert names == ["0001.json", "0001.npy", "0002.json", "0002.npy"]
    # What a damaged manifest's rebuild command would name: the remaining inputs, never a removed one.
    assert inputs_of(tmp_path / "i") == [p for p in remaining if "松本市" not in p] == list(index.manifest.inputs)
    full = Index.build([docs / "base", docs / "費用.txt", docs / "加賀市.txt"], tmp_path / "full", embedder=embedder)
    same_index(Index.open(tmp_path / "i", embedder=embedder), full)
    assert verify_index(tmp_path / "i").findings == len(full)

    merged = index.rebuild()  # a build writes the remaining rows only
    assert (merged.manifest.parts, merged.manifest.removed, merged.manifest.removed_file) == ((), 0, "")
    assert not (tmp_path / "i" / "removed").exists()
    same_index(merged, full)
    stats = merged.report.stats if merged.report else None
    assert stats is not None and stats.embedded == 0


def test_removing_most_of_the_rows_builds_again(docs: Path, embedder: Embedder, tmp_path: Path) -> None:
    index = Index.build([docs / "base", docs / "加賀市.txt"], tmp_path / "i", embedder=embedder)
    kaga = {d.name: d.findings for d in index.documents()}["加賀市.txt"]
    smaller = index.remove([docs / "base"])  # nearly every row: kept as removed rows they would be most of the index
    assert (smaller.manifest.removed, smaller.manifest.findings, smaller.manifest.documents) == (0, kaga, 1)
    assert not (tmp_path / "i" / "removed").exists()


def test_the_cli_removes_and_a_damaged_index_reuses_the_remaining_rows(
    docs: Path, embedder: Embedder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "i"
    Index.build([docs / "base", docs / "加賀市.txt", docs / "松本市 防災.md"], target, embedder=embedder)
    code = main(["remove", str(docs / "加賀市.txt"), "--index", str(target), "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["removed"] == [str(docs / "加賀市.txt")]
    assert main(["verify", "--index", str(target)]) == 0
    capsys.readouterr()
    rows = np.load(target / "removed" / "0001.npy")
    assert rows.size == Index.open(target).manifest.removed > 0 and rows.dtype == np.int64

    with (target / "bm25" / "tfs.npy").open("r+b") as handle:  # damage the BM25 leg: a rebuild reuses the rows
        handle.seek(-4, 2)
        handle.write(b"\xff\xff\xff\xff")
    rebuilt = Index.build([docs / "base", docs / "松本市 防災.md"], target, embedder=embedder)
    stats = rebuilt.report.stats if rebuilt.report else None
    assert stats is not None and stats.embedded == 0 and len(rebuilt) == len(rebuilt.findings)
    assert "加賀市.txt" not in {d.name for d in rebuilt.documents()}


def test_a_changed_document_given_to_add_replaces_its_rows_without_a_build(
    docs: Path, embedder: Embedder, tmp_path: Path
) -> None:
    paths = [docs / "base", docs / "加賀市.txt", docs / "松本市 防災.md"]
    index = Index.build(paths, tmp_path / "i", embedder=embedder)
    old = {d.name: d for d in index.documents()}["加賀市.txt"]
    (docs / "加賀市.txt").write_text(
        "■ フェロー\n\n加賀市はフェローと業務委託契約を結んだ。\n\n■ 人材\n\n大学と連携して人材を育てた。\n\n"
        "■ 費用\n\n運営費は市が負担する。\n",
        encoding="utf-8",
    )
    assert index.stale == [f"{docs / '加賀市.txt'} (changed)"]
    updated = index.add([docs / "加賀市.txt"])
    stats = updated.report.stats if updated.report else None
    assert stats is not None and (stats.new, stats.changed, stats.unchanged) == (0, 1, 2)
    assert stats.embedded == 3 and updated.manifest.parts == (3,) and updated.manifest.removed == old.findings
    assert updated.stale == [] and [d.name for d in updated.documents()][-1] == "加賀市.txt"
    assert {d.name: d for d in updated.documents()}["加賀市.txt"].added == old.added  # still the first time added

    full = Index.build(paths, tmp_path / "full", embedder=embedder)
    reopened = Index.open(tmp_path / "i", embedder=embedder)
    assert sorted(f.id for f in reopened.findings) == sorted(f.id for f in full.findings)
    by_id = {f.id: f for f in full.findings}
    assert all(by_id[f.id] == f for f in reopened.findings)
    for query in ("フェローの契約形態は", "大学と連携した人材育成", "運営費の負担"):
        terms = full.tokenizer.tokenize(query)
        ours = dict(zip((f.id for f in reopened.findings), reopened.bundle.sparse.scores(terms), strict=True))
        theirs = dict(zip((f.id for f in full.findings), full.bundle.sparse.scores(terms), strict=True))
        assert ours == theirs  # BM25 bit for bit, whatever the row order
        ra, rb = reopened.query(query, 10), full.query(query, 10)
        assert [(h.finding.id, h.score) for h in ra.hits] == [(h.finding.id, h.score) for h in rb.hits]
        assert (ra.total, ra.answerable) == (rb.total, rb.answerable)
    assert verify_index(tmp_path / "i").findings == len(full)

"""``--backend`` / ``$KENSAKU_BACKEND`` / ``Settings.backend``: an index searched in a Milvus Lite collection that
mirrors it. Every write (build, add, remove, new metadata) changes the local index and then the collection, under
the same lock; searches, similar cases and findings come from Milvus and equal the local ones; a collection that no
longer mirrors the index is refused with the command that fixes it (real model, MeCab, FAISS, Milvus Lite)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from kensaku import Filters, Index
from kensaku.backend import backend_setting, engine
from kensaku.cli import main
from kensaku.config import DEFAULTS, Settings
from kensaku.errors import IndexMismatchError
from kensaku.index.embed import Embedder, load_embedder
from kensaku.index.milvus_search import MilvusSearcher
from kensaku.index.milvus_uri import BackendURIError
from kensaku.index.search import Searcher
from kensaku.library import DocumentMeta
from tests.integration import test_removal

docs = test_removal.docs  # the fixture of the same documents as the removal tests

QUESTIONS = ("フェローの契約形態は", "住民説明会は何回開いたか", "避難所の混雑状況", "大学との連携の成果")


@pytest.fixture(scope="module")
def embedder(default_model: Path) -> Embedder:
    return load_embedder("e5-small-int8")


def same_answers(milvus: Index, local: Index) -> None:
    """The same hits (ids, order, per-leg scores), similar cases and findings from both backends."""
    assert isinstance(engine(milvus), MilvusSearcher) and isinstance(engine(local), Searcher)
    for question in QUESTIONS:
        got, want = milvus.search(question, 10), local.search(question, 10)
        assert [(h.finding.id, h.bm25, h.dense) for h in got] == [(h.finding.id, h.bm25, h.dense) for h in want]
        assert [h.score for h in got] == pytest.approx([h.score for h in want], abs=1e-6)
    kaga = Filters(municipalities=["加賀市"])
    assert [h.finding.id for h in milvus.search("契約", 5, filters=kaga)] == [
        h.finding.id for h in local.search("契約", 5, filters=kaga)
    ]
    source = local.search("フェローの契約形態は", 1)[0].finding
    assert [h.finding.id for h in milvus.similar(source.id, k=5, other_municipalities=True)] == [
        h.finding.id for h in local.similar(source.id, k=5, other_municipalities=True)
    ]
    assert milvus.finding(source.id) == local.finding(source.id)


def test_every_write_is_mirrored_and_searches_equal_the_local_index(
    docs: Path, embedder: Embedder, tmp_path: Path
) -> None:
    uri = f"milvus://{tmp_path / 'milvus' / 'x.db'}"
    (tmp_path / "milvus").mkdir()
    settings = replace(DEFAULTS, backend=uri)
    built = Index.build([docs / "base", docs / "加賀市.txt"], tmp_path / "i", embedder=embedder, settings=settings)
    assert built.mirror_report is not None and built.mirror_report.whole
    same_answers(built, Index.open(tmp_path / "i", embedder=embedder))

    added = built.add([docs / "松本市 防災.md"])
    assert added.mirror_report is not None
    assert (added.mirror_report.written, added.mirror_report.deleted) == (("松本市 防災.md",), ())
    same_answers(added, Index.open(tmp_path / "i", embedder=embedder))
    assert any(h.finding.document == "松本市 防災.md" for h in added.search("避難所の混雑状況", 3))

    removed = added.remove([docs / "加賀市.txt"])
    assert removed.mirror_report is not None
    assert (removed.mirror_report.written, removed.mirror_report.deleted) == ((), ("加賀市.txt",))
    local = Index.open(tmp_path / "i", embedder=embedder)
    same_answers_without_kaga(removed, local)

    tagged = removed.set_metadata(docs / "松本市 防災.md", DocumentMeta(municipality="松本市", year=2024))
    assert tagged.mirror_report is not None and tagged.mirror_report.written == ("松本市 防災.md",)
    year = Filters(years=["2024"])
    assert [h.finding.id for h in tagged.search("避難", 5, filters=year)] == [
        h.finding.id for h in Index.open(tmp_path / "i", embedder=embedder).search("避難", 5, filters=year)
    ]


def same_answers_without_kaga(milvus: Index, local: Index) -> None:
    for question in QUESTIONS:
        assert [h.finding.id for h in milvus.search(question, 10)] == [h.finding.id for h in local.search(question, 10)]
    kaga = Filters(municipalities=["加賀市"])  # the seed report's 加賀市 findings stay
    got = milvus.search("契約", 5, filters=kaga)
    assert [h.finding.id for h in got] == [h.finding.id for h in local.search("契約", 5, filters=kaga)]
    assert got and all(h.finding.document != "加賀市.txt" for h in got)


def test_a_collection_behind_the_index_is_refused_then_mirrored_by_build(
    docs: Path, embedder: Embedder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target, uri = tmp_path / "i", f"milvus://{tmp_path / 'x.db'}"
    assert main(["build", str(docs / "base"), "--index", str(target), "--backend", uri, "--no-progress"]) == 0
    assert "the whole index written" in capsys.readouterr().err
    assert main(["add", str(docs / "加賀市.txt"), "--index", str(target), "--no-progress"]) == 0  # local only
    capsys.readouterr()
    assert main(["search", "フェロー", "--index", str(target), "--backend", uri]) == 2
    err = capsys.readouterr().err
    assert "does not hold this index as it is now" in err and f"--backend {uri}" in err
    with pytest.raises(IndexMismatchError):
        Index.open(target, embedder=embedder, settings=replace(DEFAULTS, backend=uri)).search("フェロー")

    assert main(["build", "--if-needed", "--index", str(target), "--backend", uri, "--no-progress"]) == 0
    assert "1 document(s) written, 0 deleted" in capsys.readouterr().err
    assert main(["search", "フェロー 契約", "--index", str(target), "--backend", uri, "--format", "json"]) == 0
    via_milvus = json.loads(capsys.readouterr().out)
    assert main(["search", "フェロー 契約", "--index", str(target), "--format", "json"]) == 0
    local = json.loads(capsys.readouterr().out)
    # The one difference the JSON says: Milvus counts `total` over the candidates it fetched (a lower bound).
    assert via_milvus.pop("total_exact") is False and local.pop("total_exact") is True
    assert via_milvus == local


def test_the_backend_setting_is_checked_where_it_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    assert backend_setting("  ") == "local" and backend_setting("milvus:///tmp/x.db") == "milvus:///tmp/x.db"
    with pytest.raises(BackendURIError, match=r"^\$KENSAKU_BACKEND: "):
        backend_setting("milvis://host", "$KENSAKU_BACKEND")
    monkeypatch.setenv("KENSAKU_BACKEND", "milvus:///tmp/kensaku-test.db")
    assert Settings.from_env().backend == "milvus:///tmp/kensaku-test.db"
    monkeypatch.setenv("KENSAKU_BACKEND", "ftp://x")
    with pytest.raises(BackendURIError, match="KENSAKU_BACKEND"):
        Settings.from_env()

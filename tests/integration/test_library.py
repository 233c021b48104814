"""The document library with the real default model, MeCab and FAISS, on real Japanese files (three published
ordinances, a PDF and a DOCX written here): documents added with ``kensaku add`` survive ``kensaku build`` without
paths (the ``make run`` bug), removal deletes uploads and refuses what it cannot remove, metadata reaches the
findings and the filters without embedding anything again, and uploads are stored safely."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import docx
import numpy as np
import pytest

from kensaku import DEFAULTS, Index, Settings
from kensaku.api import index_stamp
from kensaku.cli import main
from kensaku.config import MB
from kensaku.errors import InputError
from kensaku.index.embed import Embedder, load_embedder
from kensaku.index.search import Filters
from kensaku.ingest import read_document
from kensaku.ingest.metadata import document_metadata
from kensaku.library import DocumentMeta, store_upload
from tests.pdfs import make_pdf, wrap

ORDINANCES = Path(__file__).resolve().parent.parent / "fixtures" / "real" / "ordinance"
SHELTER = "避難所の運営は地域の自主防災組織が担い、市は物資の備蓄と職員の派遣を行う。"
ALERT = "防災行政無線と登録制メールで避難情報を伝え、高齢者には民生委員が個別に連絡する。"
FELLOW = "外部人材のフェローとは業務委託契約を結び、報酬は月額三十万円、任期は二年とした。"
BUDGET = "実証事業の費用は国の交付金で賄い、運用費は参加企業が負担する。"


def write_pdf(path: Path) -> None:
    pages = [["第1章 避難所の運営", "", *wrap(SHELTER)], [], ["第2章 情報伝達", "", *wrap(ALERT)]]
    path.write_bytes(make_pdf(pages, title="令和5年度 地域防災計画の概要", images={2}))


def write_docx(path: Path) -> None:
    document = docx.Document()
    document.add_heading("外部人材の活用", level=1)
    document.add_paragraph(FELLOW)
    document.add_heading("費用負担", level=1)
    document.add_paragraph(BUDGET)
    document.save(str(path))


@pytest.fixture(scope="module")
def embedder(default_model: Path) -> Embedder:
    return load_embedder("e5-small-int8")


@pytest.fixture(scope="module")
def shelf(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    """A folder of three ordinances (the index's first input), a PDF and a DOCX to add, and the built index."""
    root = tmp_path_factory.mktemp("library")
    folder = root / "例規 集"
    folder.mkdir()
    for name in ("gyosei_tetsuzuki_ho_excerpt.txt", "katsuragi_chushajo_jorei.txt", "katsuragi_kaihan_seibi_jorei.txt"):
        shutil.copy(ORDINANCES / name, folder / name)
    write_pdf(root / "防災計画.pdf")
    write_docx(root / "外部人材.docx")
    Index.build([folder], root / "base", embedder=embedder, settings=replace(DEFAULTS, ocr=False))
    return root


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return replace(DEFAULTS, ocr=False, documents_dir=tmp_path / "documents")


@pytest.fixture()
def index_dir(shelf: Path, tmp_path: Path) -> Path:
    shutil.copytree(shelf / "base", tmp_path / "index")
    return tmp_path / "index"


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    capsys.readouterr()
    assert main([*args, "--no-progress", "--format", "json"]) == 0
    return dict(json.loads(capsys.readouterr().out))


def test_build_without_paths_keeps_documents_added_since(
    shelf: Path, index_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make run` runs `kensaku build --if-needed` without paths: it used to mean corpus/ and dropped the two."""
    monkeypatch.chdir(tmp_path)  # no kensaku.toml here: the defaults
    pdf, word = shelf / "防災計画.pdf", shelf / "外部人材.docx"
    added = cli(capsys, "add", str(pdf), str(word), "--index", str(index_dir), "--no-ocr")
    assert added["documents"] == 5
    again = cli(capsys, "build", "--if-needed", "--index", str(index_dir), "--no-ocr")
    assert (again["built"], again["reason"], again["documents"]) == (False, "up to date", 5)
    rebuilt = cli(capsys, "build", "--index", str(index_dir), "--no-ocr")
    reuse = rebuilt["reuse"]
    assert isinstance(reuse, dict)
    assert (rebuilt["built"], rebuilt["documents"]) == (True, 5)
    assert (reuse["removed"], reuse["unchanged"], reuse["embedded"]) == (0, 5, 0)
    index = Index.open(index_dir)
    assert {d.name for d in index.documents()} >= {"防災計画.pdf", "外部人材.docx"}
    assert str(pdf) in index.manifest.inputs and str(word) in index.manifest.inputs


def test_a_recorded_source_that_disappeared_is_named_not_silently_dropped(
    shelf: Path, index_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    copy = tmp_path / "一時 資料.docx"
    shutil.copy(shelf / "外部人材.docx", copy)
    assert cli(capsys, "add", str(copy), "--index", str(index_dir))["documents"] == 4
    copy.unlink()
    capsys.readouterr()
    assert main(["build", "--if-needed", "--index", str(index_dir), "--no-progress", "--format", "json"]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["documents"] == 3 and summary["reuse"]["removed"] == 1
    assert f"kensaku: warning: {copy}: recorded source of the index no longer exists" in captured.err


def test_build_with_paths_replaces_the_sources_and_says_which_are_dropped(
    shelf: Path, index_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["build", str(shelf / "防災計画.pdf"), "--index", str(index_dir), "--no-progress", "--no-ocr"]) == 0
    err = capsys.readouterr().err
    assert f"no longer indexed: {shelf / '例規 集'}" in err
    assert [d.name for d in Index.open(index_dir).documents()] == ["防災計画.pdf"]


def test_remove_deletes_uploads_and_refuses_what_it_cannot_remove(
    shelf: Path, index_dir: Path, settings: Settings, embedder: Embedder
) -> None:
    upload = store_upload(settings.documents_dir, "防災計画.pdf", (shelf / "防災計画.pdf").read_bytes(), max_mb=5)
    index = Index.open(index_dir, embedder=embedder, settings=settings).add([upload, shelf / "外部人材.docx"])
    assert len(index.documents()) == 5 and [d.owned for d in index.documents()].count(True) == 1
    member = shelf / "例規 集" / "katsuragi_chushajo_jorei.txt"
    with pytest.raises(InputError) as inside:
        index.remove([member])
    assert str(shelf / "例規 集") in inside.value.reason and "move the file out" in inside.value.fix
    with pytest.raises(InputError) as unknown:
        index.remove([shelf / "ない.pdf"])
    assert str(upload) in unknown.value.fix and str(shelf / "例規 集") in unknown.value.fix
    assert upload.exists()
    smaller = index.remove([upload])
    assert not upload.exists()
    assert smaller.report is not None and smaller.report.stats is not None
    assert (smaller.report.stats.removed, smaller.report.stats.embedded) == (1, 0)
    assert [d.name for d in smaller.documents()][-1] == "外部人材.docx" and len(smaller.documents()) == 4
    assert not any(f.document == "防災計画.pdf" for f in Index.open(index_dir).findings)
    folder_gone = smaller.remove([shelf / "例規 集"])
    assert [d.name for d in folder_gone.documents()] == ["外部人材.docx"]
    assert (shelf / "例規 集" / "katsuragi_chushajo_jorei.txt").exists()  # not an upload: never deleted


def test_metadata_reaches_findings_and_filters_without_embedding_again(
    shelf: Path, index_dir: Path, settings: Settings, embedder: Embedder
) -> None:
    pdf = shelf / "防災計画.pdf"
    index = Index.open(index_dir, embedder=embedder, settings=settings).add([pdf, shelf / "外部人材.docx"])
    before = index.bundle.dense.vectors(np.arange(len(index)))
    stamp = index_stamp(index_dir)
    assert stamp is not None and index_stamp(index_dir) == stamp and index_stamp(index_dir.parent / "なし") is None
    meta = DocumentMeta(municipality="金沢市", year=2022, tags=("防災", "計画"))
    changed = index.set_metadata(pdf, meta)
    assert index_stamp(index_dir) not in (None, stamp)  # the app notices the change
    assert changed.report is not None and changed.report.stats is not None
    assert (changed.report.stats.embedded, changed.report.stats.unchanged, changed.report.stats.new) == (0, 5, 0)
    assert np.array_equal(changed.bundle.dense.vectors(np.arange(len(changed))), before)
    mine = [f for f in changed.findings if f.document == "防災計画.pdf"]
    assert mine and all(f.municipality == "金沢市" for f in mine)
    assert all((f.extra["year"], f.extra["tags"]) == ("2022", "防災,計画") for f in mine)
    assert all("｜金沢市｜" in f.citation for f in mine)
    hits = changed.search("避難所の運営は誰が担うか", 5, filters=Filters(municipalities=["金沢市"]))
    assert hits and {h.finding.document for h in hits} == {"防災計画.pdf"}
    assert {h.finding.document for h in changed.search("避難所", 5, filters=Filters(years=["2022"]))} == {
        "防災計画.pdf"
    }
    reopened = Index.open(index_dir, settings=settings)  # kept by the index on disk
    info = next(d for d in reopened.documents() if d.name == "防災計画.pdf")
    assert (info.municipality, info.year, info.tags) == ("金沢市", 2022, ("防災", "計画"))
    rebuilt = reopened.rebuild(full=True)  # even a full rebuild keeps it
    assert next(d for d in rebuilt.documents() if d.name == "防災計画.pdf").municipality == "金沢市"
    cleared = rebuilt.set_metadata(pdf, DocumentMeta())
    reader_year = document_metadata(read_document(pdf, ocr=False)).year
    back = [f for f in cleared.findings if f.document == "防災計画.pdf"]
    assert all(f.municipality != "金沢市" and "tags" not in f.extra for f in back)
    assert all(f.extra.get("year") == (str(reader_year) if reader_year else None) for f in back)
    assert [f.citation for f in back] == [f.citation for f in index.findings if f.document == "防災計画.pdf"]


def test_documents_describe_each_document(shelf: Path, index_dir: Path, settings: Settings, embedder: Embedder) -> None:
    upload = store_upload(settings.documents_dir, "人材.docx", (shelf / "外部人材.docx").read_bytes(), max_mb=5)
    base = Index.open(index_dir, embedder=embedder, settings=settings)
    added_before = {d.path: d.added for d in base.documents()}
    index = base.add([shelf / "防災計画.pdf", upload], meta=None)
    documents = {d.name: d for d in index.documents()}
    assert sum(d.findings for d in documents.values()) == len(index)
    pdf, word = documents["防災計画.pdf"], documents["人材.docx"]
    assert (pdf.kind, pdf.pages, pdf.owned) == ("pdf", 3, False)
    assert (word.kind, word.pages, word.owned, word.path) == ("docx", None, True, str(upload))
    assert any("p.2" in w for w in pdf.warnings)  # the page without a text layer, as the reader said
    assert pdf.title == "令和5年度 地域防災計画の概要"
    assert pdf.year == document_metadata(read_document(shelf / "防災計画.pdf", ocr=False)).year
    jorei = documents["katsuragi_chushajo_jorei.txt"]
    assert (jorei.kind, jorei.municipality) == ("txt", "かつらぎ町")
    assert datetime.fromisoformat(word.added).utcoffset() is not None
    for doc in index.documents():  # added is kept by rebuilds for documents already there
        if doc.path in added_before:
            assert doc.added == added_before[doc.path]
    later = index.set_metadata(upload, DocumentMeta(title="外部人材の活用について"))
    assert {d.path: d.added for d in later.documents()} == {d.path: d.added for d in index.documents()}
    assert next(d for d in later.documents() if d.owned).warnings == word.warnings


def test_store_upload(tmp_path: Path) -> None:
    folder = tmp_path / "文書"
    data = "# 防災計画\n\n- 避難所の運営は地域の自主防災組織が担う。\n".encode()
    first = store_upload(folder, "C:\\fakepath\\防災 計画.md", data, max_mb=1)
    assert first == (folder / "防災 計画.md").resolve() and first.read_bytes() == data
    assert store_upload(folder, "防災 計画.md", data, max_mb=1) == first  # identical content: the same file
    other = store_upload(folder, "防災 計画.md", data + "- 追記。\n".encode(), max_mb=1)
    assert other.name == "防災 計画_2.md"
    assert store_upload(folder, "防災 計画.md", data + "- 追記。\n".encode(), max_mb=1) == other
    assert oct(first.stat().st_mode & 0o777) == oct(0o666 & ~_umask())
    with pytest.raises(InputError) as suffix:
        store_upload(folder, "setup.exe", b"MZ", max_mb=1)
    assert "not a type kensaku reads" in suffix.value.reason and ".pdf" in suffix.value.fix
    with pytest.raises(InputError) as size:
        store_upload(folder, "大きい.pdf", b"%" * (MB + 1), max_mb=1)
    assert "over the upload limit of 1 MB" in size.value.reason and "KENSAKU_MAX_UPLOAD_MB" in size.value.fix
    with pytest.raises(InputError, match="empty"):
        store_upload(folder, "空.txt", b"", max_mb=1)
    assert sorted(p.name for p in folder.iterdir()) == ["防災 計画.md", "防災 計画_2.md"]  # no temporary left


def test_store_upload_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure while the file is put in place leaves neither the file nor a temporary behind."""
    folder = tmp_path / "文書"

    def broken(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "link", broken)
    with pytest.raises(OSError, match="No space"):
        store_upload(folder, "報告.txt", "本文です。".encode(), max_mb=1)
    assert list(folder.iterdir()) == []


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_similar_elsewhere_never_returns_the_same_document_when_it_has_no_municipality(
    tmp_path: Path, embedder: Embedder
) -> None:
    # Two users' notes without a municipality: "other municipalities" means another document, not the same one.
    (tmp_path / "会議メモ.txt").write_text(
        "# 人材育成\n\n職員向けのデータ分析研修を年二回開いた。\n\n研修の受講者が各課でデータ活用を進めた。\n",
        encoding="utf-8",
    )
    (tmp_path / "視察記録.txt").write_text(
        "# 研修\n\n外部講師を招いて職員のデータ分析研修を行った。\n", encoding="utf-8"
    )
    index = Index.build([tmp_path], tmp_path / "index", embedder=embedder)
    source = next(f for f in index.findings if f.document == "会議メモ.txt" and "年二回" in f.text)
    assert source.municipality == ""
    similar = index.similar(source.id, k=5, other_municipalities=True)
    assert similar and {hit.finding.document for hit in similar} == {"視察記録.txt"}
    anywhere = index.similar(source.id, k=5)
    assert "会議メモ.txt" in {hit.finding.document for hit in anywhere}

"""Builds that find nothing to index say why, per file, with a typed error; headings-only documents are warned of;
a query without a word is answered by the dense leg (hybrid) or refused with the reason (bm25). Real MeCab, real
readers (PDF via reportlab, DOCX via python-docx); the embedder is the keyword fake, as only BM25 and ingest are
under test."""

from __future__ import annotations

import json
import os
from pathlib import Path

import docx
import pytest

import kensaku.api
from kensaku import Index, NoSearchableWordsError, NothingToIndexError, QueryError
from kensaku.cli import main
from kensaku.index.build import why_rebuild
from tests.pdfs import make_pdf
from tests.support import KeywordEmbedder, older_manifest

HEADINGS_ONLY = "has headings but no body text; nothing from it is indexed"


@pytest.fixture()
def fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI builds with the keyword fake instead of loading the default model."""
    monkeypatch.setattr(kensaku.api, "load_embedder", lambda *args, **kwargs: KeywordEmbedder())


def _headings_docx(path: Path) -> None:
    d = docx.Document()
    d.add_heading("第1章 推進体制", 1)
    d.add_heading("庁内体制", 2)
    d.save(str(path))


@pytest.fixture()
def all_skipped(tmp_path: Path) -> Path:
    """A folder where every file gives nothing, each for its own reason."""
    folder = tmp_path / "資料"
    folder.mkdir()
    (folder / "空.txt").write_bytes(b"")
    (folder / "旧形式.docx").write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + bytes(4096))  # a .doc renamed
    (folder / "壊れた.docx").write_bytes(os.urandom(2048).replace(b"PK", b"pk"))  # not a zip at all
    (folder / "スキャン.pdf").write_bytes(make_pdf([[]], images=[1]))  # an image, no text layer
    (folder / "見出しだけ.md").write_text("# 第1章 推進体制\n\n## 庁内体制\n\n## 費用負担\n", encoding="utf-8")
    _headings_docx(folder / "見出しだけ.docx")
    return folder


EXPECTED_REASONS = {
    "空.txt": "file is 0 bytes",
    "旧形式.docx": "an old Word 97–2003 .doc",
    "壊れた.docx": "is not a Word .docx file (not a zip archive)",
    "スキャン.pdf": "text layer",  # no text layer (the wording depends on whether OCR is available)
    "見出しだけ.md": HEADINGS_ONLY,
    "見出しだけ.docx": HEADINGS_ONLY,
}


def test_symbols_only_texts_raise_a_typed_error() -> None:
    with pytest.raises(NoSearchableWordsError) as caught:
        Index.from_texts(["・・・", "※"], embedder=KeywordEmbedder())
    error = caught.value
    assert isinstance(error, NothingToIndexError) and isinstance(error, ValueError)
    assert error.reason.startswith("none of the 2 finding(s) has a searchable word")
    assert "「・・・」「※」" in error.reason and "index documents with text" in error.fix


def test_query_without_a_word_falls_back_to_dense_or_says_so() -> None:
    index = Index.from_texts(["フェローとの契約を結んだ。", "※ 予算は別に定める。"], embedder=KeywordEmbedder())
    hits = index.search("・・・", k=2)  # hybrid: no BM25 term, ranked by the dense leg alone
    assert len(hits) == 2 and all(h.bm25 == 0.0 and h.bm25_rank == 0 for h in hits)
    with pytest.raises(QueryError, match=r"has no word for BM25 .*search in hybrid or dense mode"):
        index.search("・・・", mode="bm25")


def test_every_file_skipped_carries_each_reason(all_skipped: Path, tmp_path: Path) -> None:
    with pytest.raises(NothingToIndexError) as caught:
        Index.build([all_skipped], tmp_path / "index", embedder=KeywordEmbedder())
    error = caught.value
    assert error.reason == "no findings to index: 4 of 6 file(s) could not be read and 2 gave no findings"
    reasons = {Path(path).name: reason for path, reason in error.problems}
    assert reasons.keys() == EXPECTED_REASONS.keys()
    for name, expected in EXPECTED_REASONS.items():
        assert expected in reasons[name], name


def test_headings_only_documents_are_warned_of(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "本文.md").write_text("# 体制\n\nフェローとの契約は要綱で定めた。\n", encoding="utf-8")
    (folder / "見出しだけ.md").write_text("# 第1章 推進体制\n\n## 庁内体制\n", encoding="utf-8")
    _headings_docx(folder / "見出しだけ.docx")
    index = Index.build([folder], tmp_path / "index", embedder=KeywordEmbedder())
    for _ in range(2):  # a rebuild reuses nothing from them, so it warns again
        assert index.report is not None and index.report.result is not None
        warned = {Path(w.path).name: w.reason for w in index.report.result.warnings}
        assert warned.keys() == {"見出しだけ.md", "見出しだけ.docx"}
        assert all(reason.startswith(HEADINGS_ONLY) for reason in warned.values())
        index = Index.build([folder], tmp_path / "index", embedder=KeywordEmbedder())


def test_cli_prints_each_files_reason_and_exits_2(
    all_skipped: Path, tmp_path: Path, fake_model: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["build", str(all_skipped), "--index", str(tmp_path / "index"), "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    lines = err.splitlines()
    for name, expected in EXPECTED_REASONS.items():
        assert any(line.startswith(f"kensaku: {all_skipped / name}: ") and expected in line for line in lines), name
    assert lines[-1].startswith("kensaku: error: no findings to index: 4 of 6 file(s) could not be read")


def test_cli_symbols_only_file_exits_2_with_the_message(
    tmp_path: Path, fake_model: None, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "区切り.txt").write_text("ー・ー・ー・ー・ー\n\n・・・\n\n※\n", encoding="utf-8")  # a separator line
    (folder / "記号.txt").write_text("・・・\n\n――\n\n※\n", encoding="utf-8")  # no finding at all
    code = main(["build", str(folder), "--index", str(tmp_path / "index"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"kensaku: {(folder / '区切り.txt').resolve()}: its 1 finding(s) have no searchable word" in err
    assert "kensaku: error: none of the 1 finding(s) has a searchable word" in err and "「ー・ー・ー・ー・ー」" in err
    assert "記号.txt" not in err  # it gave no finding, a warning of the build that did not happen


def test_cli_build_json_lists_the_headings_only_warning(
    tmp_path: Path, fake_model: None, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "本文.md").write_text("# 体制\n\nフェローとの契約は要綱で定めた。\n", encoding="utf-8")
    (folder / "見出しだけ.md").write_text("# 第1章 推進体制\n", encoding="utf-8")
    code = main(["build", str(folder), "--index", str(tmp_path / "index"), "--no-progress", "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0 and f"kensaku: warning: {folder / '見出しだけ.md'}: {HEADINGS_ONLY}" in err
    assert [w["reason"].startswith(HEADINGS_ONLY) for w in json.loads(out)["warnings"]] == [True]


def test_index_of_an_older_tokenizer_is_rebuilt_if_needed(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "ほっけ.md").write_text("# 献立\n\n𩸽の開きを焼いた。\n", encoding="utf-8")
    index = Index.build([folder], tmp_path / "index", embedder=KeywordEmbedder())
    assert index.search("𩸽", mode="bm25")[0].finding.text == "𩸽の開きを焼いた。"
    assert why_rebuild(tmp_path / "index", "keyword-fake", [folder])[0] == ""
    manifest_path = tmp_path / "index" / "manifest.json"
    data = json.loads(manifest_path.read_text(encoding="utf-8"))
    del data["tokenizer"]["version"]  # as written before the version was recorded
    manifest_path.write_text(json.dumps(older_manifest(data), ensure_ascii=False), encoding="utf-8")
    reason, _ = why_rebuild(tmp_path / "index", "keyword-fake", [folder])
    assert reason == "the index was tokenized by tokenizer version 1, this kensaku uses version 2"
    rebuilt = Index.build([folder], tmp_path / "index", embedder=KeywordEmbedder(), if_needed=True)
    assert rebuilt.report is not None and rebuilt.report.built and rebuilt.manifest.tokenizer.version == 2

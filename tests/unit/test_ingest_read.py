"""Reading files (encodings, line ends, bad files) and ingest_paths over files, directories and BEIR corpora."""

from __future__ import annotations

import codecs
import hashlib
import json
from pathlib import Path

import pytest

from kensaku.ingest import IngestError, IngestResult, SourceInfo, ingest_paths, read_document
from tests.support import ROOT

SEED_DIR = ROOT / "corpus"
TEXT = (
    "スマートシティの取組事例\n"
    "加賀市では市長が先導した。全角数字１２３と半角123、（括弧）と「かぎ」。\n"
    "\n"
    "- データ連携基盤を整備する。\n"
)
LINES = (
    "スマートシティの取組事例",
    "加賀市では市長が先導した。全角数字１２３と半角123、（括弧）と「かぎ」。",
    "",
    "- データ連携基盤を整備する。",
)

ENCODINGS = [
    # (label, bytes)
    ("utf-8", TEXT.encode("utf-8")),
    ("utf-8 with BOM", codecs.BOM_UTF8 + TEXT.encode("utf-8")),
    ("cp932", TEXT.encode("cp932")),
    ("shift_jis", TEXT.encode("shift_jis")),
    ("euc-jp", TEXT.encode("euc_jp")),
    ("utf-16 with BOM", TEXT.encode("utf-16")),
    ("iso-2022-jp", TEXT.encode("iso2022_jp")),
]

JIS_X_0213 = "㐂の字と森鷗外の本、スマートシティの推進体制について述べる。\n"


@pytest.mark.parametrize("encoding", ["shift_jisx0213", "euc_jisx0213"])
def test_jis_x_0213_text_beyond_cp932(tmp_path: Path, encoding: str) -> None:
    with pytest.raises(UnicodeEncodeError):
        JIS_X_0213.encode("cp932")  # 㐂 and 鷗 are not in CP932: charset-normalizer decides
    path = tmp_path / "x0213.txt"
    path.write_bytes(JIS_X_0213.encode(encoding))
    assert read_document(path).lines == (JIS_X_0213.strip(),)


def test_western_code_page_guess_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin.txt"
    path.write_bytes("Café crème brûlée à la carte, naïve façade.".encode("cp1252") * 3)
    with pytest.raises(ValueError, match="cannot be decoded as UTF-8, Shift_JIS"):
        read_document(path)


@pytest.mark.parametrize(("label", "data"), ENCODINGS, ids=[e[0] for e in ENCODINGS])
def test_encodings_decode_identically(tmp_path: Path, label: str, data: bytes) -> None:
    path = tmp_path / "doc.txt"
    path.write_bytes(data)
    doc = read_document(path)
    assert doc.lines == LINES, label
    assert doc.lines[1] == "加賀市では市長が先導した。全角数字１２３と半角123、（括弧）と「かぎ」。"
    assert doc.title == "スマートシティの取組事例"
    assert doc.sha256 == hashlib.sha256(data).hexdigest()
    assert doc.name == "doc.txt" and doc.path == str(path)


LINE_ENDS = [("\r\n", "crlf"), ("\r", "cr"), ("\n", "lf")]


@pytest.mark.parametrize(("end", "label"), LINE_ENDS, ids=[e[1] for e in LINE_ENDS])
def test_line_ends_normalized(tmp_path: Path, end: str, label: str) -> None:
    path = tmp_path / f"{label}.txt"
    path.write_bytes(end.join(["一行目", "", "三行目。", "四行目"]).encode("utf-8") + end.encode())
    doc = read_document(path)
    assert doc.lines == ("一行目", "", "三行目。", "四行目")
    [first, second] = ingest_paths([path]).findings
    assert (first.line_start, first.text) == (1, "一行目")
    assert (second.line_start, second.line_end, second.text) == (3, 4, "三行目。四行目")


def test_last_line_without_newline_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "tail.txt"
    path.write_text("本文。\n\n(日本電気(株)資料)", encoding="utf-8")
    assert read_document(path).lines == ("本文。", "", "(日本電気(株)資料)")


BAD_FILES = [
    # (name, bytes, message fragment)
    ("empty.txt", b"", "0 bytes"),
    ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary"),
    ("controls.txt", bytes(range(1, 32)) * 10, "binary data"),
    ("undecodable.txt", b"\x85\x86\x87\x88\x89", "cannot be decoded"),
    ("blank.txt", "\u3000 \n\t\n".encode(), "only whitespace"),
]


@pytest.mark.parametrize(("name", "data", "message"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_files_raise_with_reason(tmp_path: Path, name: str, data: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ValueError, match=message) as info:
        read_document(path)
    assert str(path) in str(info.value)


def test_size_limit_is_stated(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    with path.open("wb") as fh:
        fh.truncate(51 * 1024 * 1024)  # sparse: no 51 MB write
    result = ingest_paths([path])
    assert result.findings == []
    [error] = result.errors
    assert "50 MB" in error.reason and "51.0 MB" in error.reason


def test_japanese_path_with_spaces(tmp_path: Path) -> None:
    folder = tmp_path / "取組 事例 集"
    folder.mkdir()
    path = folder / "加賀市 メモ.txt"
    path.write_text("■ 推進体制\n\n- 市長のリーダーシップで推進する。\n", encoding="utf-8")
    result = ingest_paths([str(folder)])
    [finding] = result.findings
    assert finding.id == "加賀市 メモ:L3"
    assert finding.document == "加賀市 メモ.txt"
    assert finding.citation == "加賀市 メモ.txt｜加賀市｜推進体制｜L3"
    assert finding.municipality == "加賀市"  # from the file name
    assert result.sources == [
        SourceInfo(
            name="加賀市 メモ.txt",
            path=str(path),
            sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
            findings=1,
            prefix="加賀市 メモ",
            size=path.stat().st_size,
            mtime_ns=path.stat().st_mtime_ns,
        )
    ]


def test_directory_with_one_good_and_one_bad_file(tmp_path: Path) -> None:
    (tmp_path / "a_good.md").write_text("# 事例\n\n## 体制\n\n- 庁内公募で人材を集めた。\n", encoding="utf-8")
    (tmp_path / "b_bad.txt").write_bytes(b"")
    result = ingest_paths([tmp_path])
    assert isinstance(result, IngestResult)
    assert [f.id for f in result.findings] == ["a_good:L5"]
    assert [s.name for s in result.sources] == ["a_good.md"]
    assert result.errors == [IngestError(path=str(tmp_path / "b_bad.txt"), reason=result.errors[0].reason)]
    assert "0 bytes" in result.errors[0].reason
    assert str(result.errors[0]).startswith(str(tmp_path / "b_bad.txt"))


def test_walk_is_sorted_and_skips_hidden_eval_and_jsonl(tmp_path: Path) -> None:
    for rel in ("b.txt", "a/z.md", "a/y.markdown", "eval/q.txt", ".hidden/h.txt", "c/.h.txt", "corpus.jsonl", "x.pptx"):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{path.stem}の本文です。\n", encoding="utf-8")
    result = ingest_paths([tmp_path])
    assert [s.name for s in result.sources] == ["b.txt", "y.markdown", "z.md"]
    assert result.errors == []
    assert result.ignored == [str(tmp_path / "x.pptx")]


def test_missing_path_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such file or directory"):
        ingest_paths([tmp_path / "存在しない.txt"])


def test_directory_without_documents_raises(tmp_path: Path) -> None:
    (tmp_path / "notes.pptx").write_bytes(b"PK")
    with pytest.raises(ValueError, match=r"\.txt, \.md, \.markdown, \.pdf, \.docx, \.html, \.htm"):
        ingest_paths([tmp_path])


def test_same_stem_in_two_directories_gets_parent_prefix(tmp_path: Path) -> None:
    for town in ("加賀市", "松山市"):
        (tmp_path / town).mkdir()
        (tmp_path / town / "report.txt").write_text(f"{town}の取組を紹介する。\n", encoding="utf-8")
    ids = [f.id for f in ingest_paths([tmp_path]).findings]
    assert ids == ["加賀市/report:L1", "松山市/report:L1"]


def test_file_listed_twice_is_read_once(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("一度だけ読む。\n", encoding="utf-8")
    result = ingest_paths([path, tmp_path, str(path)])
    assert len(result.sources) == 1 and len(result.findings) == 1


def test_seed_corpus_directory(tmp_path: Path) -> None:
    result = ingest_paths([SEED_DIR])
    [source] = result.sources
    assert source.name == "smartcity_model_project_cases.txt"
    assert source.findings == len(result.findings) > 200
    seed_bytes = (SEED_DIR / source.name).read_bytes()
    assert source.sha256 == hashlib.sha256(seed_bytes).hexdigest()
    assert result.errors == []


BEIR_LINES = [
    {"_id": "doc1", "title": "庁内体制", "text": "全庁的な推進体制を**構築**した。"},
    {"_id": "doc2", "title": "", "text": "フェロー制度で外部人材を活用する。"},
    {"_id": 3, "title": "費用負担", "text": "国の交付金を活用する。"},
]


def write_jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8")
    return path


def test_beir_corpus(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "corpus.jsonl", BEIR_LINES)
    result = ingest_paths([path])
    assert result.errors == []
    got = [(f.id, f.text, f.heading, f.line_start, f.line_end, f.kind, f.document) for f in result.findings]
    assert got == [
        ("doc1", "全庁的な推進体制を構築した。", "庁内体制", 1, 1, "practice", "corpus.jsonl"),
        ("doc2", "フェロー制度で外部人材を活用する。", "", 2, 2, "practice", "corpus.jsonl"),
        ("3", "国の交付金を活用する。", "費用負担", 3, 3, "practice", "corpus.jsonl"),
    ]
    first = result.findings[0]
    assert (first.chapter, first.section, first.municipality) == ("", "", "")
    assert first.citation == "corpus.jsonl｜庁内体制｜L1"
    assert result.sources == [
        SourceInfo(
            name="corpus.jsonl",
            path=str(path),
            sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
            findings=3,
            size=path.stat().st_size,
            mtime_ns=path.stat().st_mtime_ns,
        )
    ]


BAD_BEIR = [
    # (records or raw text, message fragment)
    ([BEIR_LINES[0], BEIR_LINES[0]], "already used on line 1"),
    ([{"title": "題", "text": "本文。"}], "missing '_id'"),
    ('{"_id": "a", "text": "本文。"}\n{broken\n', "line 2: not a valid UTF-8 JSON line"),
    ([{"_id": "a", "title": "", "text": ""}], "no BEIR records with text"),
]


@pytest.mark.parametrize(("content", "message"), BAD_BEIR)
def test_bad_beir_corpus_is_an_error_entry(tmp_path: Path, content: object, message: str) -> None:
    path = tmp_path / "corpus.jsonl"
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        assert isinstance(content, list)
        write_jsonl(path, content)
    good = tmp_path / "good.txt"
    good.write_text("正常な文書です。\n", encoding="utf-8")
    result = ingest_paths([path, good])
    [error] = result.errors
    assert message in error.reason
    assert [s.name for s in result.sources] == ["good.txt"]


def test_unsupported_explicit_file_is_an_error_entry(tmp_path: Path) -> None:
    path = tmp_path / "report.pptx"
    path.write_bytes(b"PK\x03\x04")
    [error] = ingest_paths([path]).errors
    assert "unsupported file type '.pptx'" in error.reason


def test_same_stem_in_one_directory_uses_file_name(tmp_path: Path) -> None:
    (tmp_path / "report.txt").write_text("テキスト版の本文。\n", encoding="utf-8")
    (tmp_path / "report.md").write_text("マークダウン版の本文。\n", encoding="utf-8")
    ids = sorted(f.id for f in ingest_paths([tmp_path]).findings)
    assert ids == ["report.md:L1", "report.txt:L1"]

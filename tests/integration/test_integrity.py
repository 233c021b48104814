"""Damaged indexes are refused with a command that repairs them, from any directory (issue 11).

Each damage below was served silently (exit 0, wrong answers) or crashed before the manifest recorded checksums;
each is now refused on open with the file named, and ``kensaku build`` — the printed command, or a plain
incremental build — gives back the index a fresh build gives. Real MeCab, FAISS and the default model.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from kensaku import Index, IndexCorruptError, IndexStoreError
from kensaku.cli import main
from kensaku.index.integrity import canonical_checksum
from kensaku.index.store import load_index, verify_index

DOCS = {
    "加賀市_報告.txt": "■ 推進体制\n\n- フェローとは業務委託契約を結んだ。\n- 庁内公募で人材を集めた。\n\n"
    "■ 費用負担\n\n- 住民に費用の一部を負担してもらう仕組みを作った。\n- 大学と連携して実証した。\n",
    "会津若松市_報告.md": "# データ連携\n\n都市OSでデータを連携した。\n\n# 合意形成\n\n"
    "住民説明会を重ねて合意を得た。オプトインで参加者を集めた。\n",
}
# The same layout in other words: as many rows, so its vector file has exactly the size of ours.
WORDS = {"フェロー": "専門家", "住民": "市民", "大学": "企業", "都市OS": "基盤", "説明会": "協議会"}
OTHER = {name: re.sub("|".join(WORDS), lambda m: WORDS[m.group()], text) for name, text in DOCS.items()}


def _write(folder: Path, docs: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in docs.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(documents, a pristine index of them, an index of other documents with the same number of rows)."""
    root = tmp_path_factory.mktemp("integrity")
    docs = _write(root / "docs", DOCS)
    Index.build([docs], root / "pristine")
    other = _write(root / "other", OTHER)
    Index.build([other], root / "other-index")
    return docs, root / "pristine", root / "other-index"


def _flip(path: Path, at: float = 0.6) -> None:
    data = bytearray(path.read_bytes())
    data[int(len(data) * at)] ^= 0x40
    path.write_bytes(bytes(data))


def _zero_block(path: Path) -> None:
    data = bytearray(path.read_bytes())
    start = len(data) // 3
    data[start : start + 4096] = bytes(min(4096, len(data) - start))
    path.write_bytes(bytes(data))


def _lines(path: Path, change: Callable[[list[str]], list[str]]) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(change(lines)), encoding="utf-8")


def _swap_rows(lines: list[str]) -> list[str]:
    lines[0], lines[1] = lines[1], lines[0]
    return lines


def _edit_text(lines: list[str]) -> list[str]:
    at = next(i for i, line in enumerate(lines) if "契約" in line)
    lines[at] = lines[at].replace("契約", "雇用")  # as many bytes: only the checksum sees it
    return lines


def _manifest(index: Path, change: Callable[[dict[str, object]], None], *, seal: bool = False) -> None:
    data = json.loads((index / "manifest.json").read_text(encoding="utf-8"))
    change(data)
    if seal:
        data["checksum"] = canonical_checksum(data)
    (index / "manifest.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def _surface_tokens(data: dict[str, object]) -> None:
    tokenizer = data["tokenizer"]
    assert isinstance(tokenizer, dict)
    tokenizer["form"] = "surface"


def _other_vectors(index: Path, other: Path) -> None:
    ours, theirs = (index / "vectors.npy").read_bytes(), (other / "vectors.npy").read_bytes()
    assert len(ours) == len(theirs)  # the same size: only a checksum tells them apart
    (index / "vectors.npy").write_bytes(theirs)


DAMAGE: list[tuple[str, Callable[[Path, Path], None], str]] = [
    ("vector byte flipped", lambda i, o: _flip(i / "vectors.npy"), "vectors.npy does not match its checksum"),
    ("vector block zeroed", lambda i, o: _zero_block(i / "vectors.npy"), "vectors.npy does not match"),
    ("vectors of another index", _other_vectors, "vectors.npy does not match"),
    ("findings rows swapped", lambda i, o: _lines(i / "findings.jsonl", _swap_rows), "findings.jsonl does not match"),
    ("finding text edited", lambda i, o: _lines(i / "findings.jsonl", _edit_text), "findings.jsonl does not match"),
    ("finding row duplicated", lambda i, o: _lines(i / "findings.jsonl", lambda ls: [ls[0], *ls[:-1]]), "findings"),
    ("bm25 array flipped", lambda i, o: _flip(i / "bm25" / "tfs.npy", 0.9), "tfs.npy"),
    ("bm25 array empty", lambda i, o: (i / "bm25" / "docs.npy").write_bytes(b""), "docs.npy"),
    ("bm25 of another index", lambda i, o: _copy_bm25(i, o), "bm25/"),
    ("model name edited", lambda i, o: _manifest(i, lambda d: d.update(model={"name": "x", "dim": 384})), "checksum"),
    ("tokenizer edited", lambda i, o: _manifest(i, _surface_tokens), "checksum"),
    ("counts null", lambda i, o: _manifest(i, lambda d: d.update(counts=None), seal=True), "'counts' is null"),
    ("manifest an array", lambda i, o: (i / "manifest.json").write_text("[]", encoding="utf-8"), "not a JSON object"),
]


def _copy_bm25(index: Path, other: Path) -> None:
    shutil.rmtree(index / "bm25")
    shutil.copytree(other / "bm25", index / "bm25")


def _answers(index: Path) -> list[list[str]]:
    searcher = Index.open(index)
    queries = ("フェローの契約形態は", "住民の費用負担", "合意形成の進め方")
    return [[hit.finding.id for hit in searcher.search(q, 5)] for q in queries]


@pytest.fixture(scope="module")
def expected(built: tuple[Path, Path, Path]) -> list[list[str]]:
    return _answers(built[1])


@pytest.mark.parametrize(("what", "damage", "message"), DAMAGE, ids=[d[0] for d in DAMAGE])
def test_damaged_index_is_refused_naming_the_file_and_a_command_that_works_anywhere(
    built: tuple[Path, Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    what: str,
    damage: Callable[[Path, Path], None],
    message: str,
) -> None:
    docs, pristine, other = built
    index = tmp_path / "index"
    shutil.copytree(pristine, index)
    damage(index, other)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(IndexStoreError) as caught:
        Index.open(index)
    error = str(caught.value)
    assert re.search(message, error), error
    command = re.search(r"`(kensaku build [^`]+)`", error)
    assert command is not None, error
    assert shlex.split(command.group(1))[2:] == [str(docs), "--index", str(index), "--full"]


REPAIRED = ["vector block zeroed", "findings rows swapped", "bm25 of another index", "model name edited"]


@pytest.mark.parametrize("what", REPAIRED)
def test_the_printed_command_repairs_the_index_from_another_directory(
    built: tuple[Path, Path, Path],
    expected: list[list[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    what: str,
) -> None:
    _, pristine, other = built
    index = tmp_path / "index"
    shutil.copytree(pristine, index)
    dict((d[0], d[1]) for d in DAMAGE)[what](index, other)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["search", "フェローの契約形態は", "--index", str(index)]) == 2
    command = re.search(r"`(kensaku build [^`]+)`", capsys.readouterr().err)
    assert command is not None
    assert main([*shlex.split(command.group(1))[1:], "--no-progress"]) == 0
    assert _answers(index) == expected
    assert verify_index(index).findings == len(load_index(pristine).findings)


REUSE = [
    # (damage, documents whose rows still verify and are reused, documents read and embedded again)
    ("vector byte flipped", 1, 1),
    ("findings rows swapped", 1, 1),
    ("finding row duplicated", 0, 2),  # every later row moved: no block verifies, nothing is reused
    ("counts null", 0, 2),  # the manifest itself is damaged: no digests to check rows against
]


@pytest.mark.parametrize(("what", "reused", "embedded_again"), REUSE, ids=[r[0] for r in REUSE])
def test_a_plain_build_reuses_only_the_rows_that_verify(
    built: tuple[Path, Path, Path],
    expected: list[list[str]],
    tmp_path: Path,
    what: str,
    reused: int,
    embedded_again: int,
) -> None:
    docs, pristine, other = built
    index = tmp_path / "index"
    shutil.copytree(pristine, index)
    dict((d[0], d[1]) for d in DAMAGE)[what](index, other)
    report = Index.build([docs], index).report  # no --full: damaged rows must not be taken over
    assert report is not None and report.stats is not None
    stats = report.stats
    assert (stats.unchanged, stats.changed + stats.new) == (reused, embedded_again)
    if reused:
        assert f"the rows of {reused} of 2 documents matched" in stats.repair and not stats.full_reason
    else:
        assert stats.full_reason and not stats.repair
    assert _answers(index) == expected
    assert verify_index(index).findings == len(load_index(pristine).findings)


def test_verify_reports_an_intact_index_and_names_a_damaged_file(
    built: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, pristine, _ = built
    index = tmp_path / "index"
    shutil.copytree(pristine, index)
    assert main(["verify", "--index", str(index), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["intact"] is True and report["files"] == 13 and report["findings"] == len(load_index(index).findings)
    vectors = np.frombuffer((index / "vectors.npy").read_bytes(), dtype=np.uint8)
    assert report["bytes"] >= vectors.size
    _flip(index / "bm25" / "vocab.json", 0.5)
    assert main(["verify", "--index", str(index)]) == 2
    assert "vocab.json" in capsys.readouterr().err


def test_unknown_extra_files_are_left_alone(built: tuple[Path, Path, Path], tmp_path: Path) -> None:
    _, pristine, _ = built
    index = tmp_path / "index"
    shutil.copytree(pristine, index)
    (index / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    assert len(load_index(index).findings) == len(load_index(pristine).findings)


def test_an_error_refusal_is_a_typed_error(built: tuple[Path, Path, Path], tmp_path: Path) -> None:
    _, pristine, _ = built
    index = tmp_path / "index"
    shutil.copytree(pristine, index)
    _flip(index / "vectors.npy")
    with pytest.raises(IndexCorruptError, match=r"vectors\.npy .*--full"):
        Index.open(index)


def test_files_over_the_open_limit_are_checked_by_size_on_open_and_in_full_by_verify(
    built: tuple[Path, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import kensaku.index.store

    _, pristine, _ = built
    index = tmp_path / "index"
    shutil.copytree(pristine, index)
    _flip(index / "vectors.npy")
    monkeypatch.setattr(kensaku.index.store, "CRC_ON_OPEN", 1024)  # as if every data file were large
    assert len(Index.open(index)) == len(load_index(pristine).findings)  # opened by size: no file is read whole
    assert main(["verify", "--index", str(index)]) == 2
    assert "vectors.npy" in capsys.readouterr().err
    (index / "vectors.npy").write_bytes((index / "vectors.npy").read_bytes()[:-4])
    with pytest.raises(IndexCorruptError, match=r"vectors\.npy"):
        Index.open(index)  # a size that differs is refused on every open

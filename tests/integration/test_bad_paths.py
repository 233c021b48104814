"""`kensaku build` over a folder with bad paths (link loops, a self-link, a link out of the folder, names that are not
UTF-8) indexes the good documents, says why each bad one was skipped, and saves an index whose CP932-named
document is searchable; text output never carries terminal escapes. Real MeCab, FAISS and the default model.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from kensaku.cli import main

DOCS = {
    "good.txt": "# 推進体制\n\n加賀市ではフェローを任期付き職員として採用し、契約は要綱で定めた。\n",
    "報告書.txt": "# 費用負担\n\n多気町では住民に会費を負担してもらう仕組みを作った。\n",
}
OUTSIDE = "# 外部\n\nこのフォルダの外にある秘密の文書で、決して索引に入ってはならない。\n"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main([*argv, "--no-progress"])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "good.txt").write_text(DOCS["good.txt"], encoding="utf-8")
    raw = os.path.join(os.fsencode(folder), "報告書.txt".encode("cp932"))  # a name from a Windows zip
    Path(os.fsdecode(raw)).write_text(DOCS["報告書.txt"], encoding="utf-8")
    Path(os.fsdecode(os.path.join(os.fsencode(folder), b"\xff\xfe\x80.txt"))).write_text(
        "# 連携\n\n会津若松市は大学と連携してデータ分析の人材を育成する。\n", encoding="utf-8"
    )
    (tmp_path / "outside.txt").write_text(OUTSIDE, encoding="utf-8")
    (folder / "a").symlink_to("b")
    (folder / "b").symlink_to("a")
    (folder / "self.txt").symlink_to("self.txt")
    (folder / "out.txt").symlink_to(tmp_path / "outside.txt")
    return folder


def test_build_skips_bad_paths_and_the_cp932_document_is_searchable(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index = str(tmp_path / "index")
    code, out, err = run(capsys, "build", str(corpus), "--index", index)
    assert code == 0, err
    assert "indexed 3 findings from 3 document(s)" in out
    for name in ("a", "b", "self.txt"):
        assert f"kensaku: skipped {corpus / name}: is a symbolic link that loops back on itself" in err
    assert f"kensaku: skipped {corpus / 'out.txt'}: is a symbolic link to {tmp_path / 'outside.txt'}" in err
    assert (tmp_path / "index" / "manifest.json").is_file()

    query = "住民に会費を負担してもらう"
    code, out, err = run(capsys, "search", query, "--index", index, "--format", "json", "-k", "3")
    assert code == 0, err
    top = json.loads(out)["results"][0]
    assert top["document"] == "報告書.txt" and top["id"] == "報告書:L3"
    assert top["citation"].startswith("報告書.txt｜多気町｜")
    assert "秘密" not in out

    code, out, err = run(capsys, "build", str(corpus), "--index", index, "--if-needed")
    assert code == 0 and "is up to date" in out  # the recorded non-UTF-8 paths are found and checked again


def test_a_folder_where_every_path_is_bad_lists_every_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (tmp_path / "outside.txt").write_text(OUTSIDE, encoding="utf-8")
    (folder / "self.txt").symlink_to("self.txt")
    (folder / "out.txt").symlink_to(tmp_path / "outside.txt")
    (folder / "empty.txt").write_bytes(b"")
    code, _, err = run(capsys, "build", str(folder), "--index", str(tmp_path / "index"))
    assert code == 2 and "Traceback" not in err
    assert f"kensaku: {folder / 'self.txt'}: is a symbolic link that loops back on itself" in err
    assert f"kensaku: {folder / 'out.txt'}: is a symbolic link to {tmp_path / 'outside.txt'}" in err
    assert f"kensaku: {folder / 'empty.txt'}: file is 0 bytes" in err
    assert "kensaku: error: no findings to index" in err


def test_search_text_output_has_no_terminal_escapes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = tmp_path / "\x1b[31mescape.txt"
    # Two escapes: a few stray control characters are read as text (the CLI must be safe for such indexes).
    doc.write_text("# 契約\n\nフェローとの契約は\x1b[31m要綱\x1b[0mで定め、謝礼金で対応している。\n", encoding="utf-8")
    index = str(tmp_path / "index")
    code, out, err = run(capsys, "build", str(doc), "--index", index)
    assert code == 0, err
    assert "\x1b" not in out + err
    code, out, err = run(capsys, "search", "フェローの契約", "--index", index)
    assert code == 0, err
    assert "フェローとの契約は" in out and "謝礼金" in out
    assert "\x1b" not in out

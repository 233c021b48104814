"""Bad paths in a corpus folder: symbolic links (loops, self-links, out of the folder), names that are not UTF-8.

One bad path never stops the batch: each is reported with its reason and the other documents are indexed. Links are
followed only while they stay inside the walked folder. A CP932 file name (from a Windows zip) is read through its
real bytes and cited as text.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kensaku.errors import SourceNotFoundError
from kensaku.ingest import IngestError, ingest_paths
from kensaku.ingest.filenames import LINK_BROKEN, LINK_LOOP, display_name, display_path, has_surrogates
from kensaku.ingest.pipeline import collect_files, id_prefixes

GOOD = "# 推進体制\n\n加賀市ではフェローを任期付き職員として採用し、契約は要綱で定めた。\n"
CP932_DOC = "# 費用負担\n\n多気町では住民に会費を負担してもらう仕組みを作った。\n"
BAD_NAME_DOC = "# 連携\n\n会津若松市は大学と連携してデータ分析の人材を育成する。\n"
OUTSIDE = "# 外部\n\nこのフォルダの外にある秘密の文書で、決して索引に入ってはならない。\n"
HIDDEN = "# 保管\n\n松山市は人流データを販売して投資を回収する。\n"

CP932_NAME = "報告書.txt".encode("cp932")
INVALID_NAME = b"\xff\xfe\x80\x81.txt"  # neither UTF-8 nor CP932


def write_bytes_name(folder: Path, name: bytes, text: str) -> None:
    """Create a file whose name is raw bytes (as unpacked from a zip), the way the file system keeps it."""
    fd = os.open(os.path.join(os.fsencode(folder), name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    """A folder with good documents and every kind of bad path next to them."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "good.txt").write_text(GOOD, encoding="utf-8")
    (tmp_path / "outside.txt").write_text(OUTSIDE, encoding="utf-8")
    (folder / "a").symlink_to("b")  # a -> b -> a
    (folder / "b").symlink_to("a")
    (folder / "self.txt").symlink_to("self.txt")
    (folder / "out.txt").symlink_to(tmp_path / "outside.txt")
    (folder / ".archive").mkdir()
    (folder / ".archive" / "memo.txt").write_text(HIDDEN, encoding="utf-8")
    (folder / "memo.txt").symlink_to(".archive/memo.txt")  # stays inside: followed
    (folder / "alias.txt").symlink_to("good.txt")  # the same file as good.txt: kept under its own name
    write_bytes_name(folder, CP932_NAME, CP932_DOC)
    write_bytes_name(folder, INVALID_NAME, BAD_NAME_DOC)
    return folder


def reasons(errors: list[IngestError]) -> dict[str, str]:
    return {Path(e.path).name: e.reason for e in errors}


def test_bad_paths_are_reported_and_the_others_indexed(corpus: Path) -> None:
    result = ingest_paths([corpus])
    by_document = {f.document: f for f in result.findings}
    assert set(by_document) == {"good.txt", "memo.txt", "報告書.txt", "\ufffd\ufffd\ufffd\ufffd.txt"}
    assert "フェロー" in by_document["good.txt"].text
    assert "人流データ" in by_document["memo.txt"].text
    errors = reasons(result.errors)
    assert set(errors) == {"a", "b", "self.txt", "out.txt"}
    assert errors["a"] == errors["b"] == errors["self.txt"] == LINK_LOOP
    assert "outside the folder" in errors["out.txt"] and str(corpus.parent / "outside.txt") in errors["out.txt"]
    assert not any("秘密" in f.text for f in result.findings)


def test_a_cp932_name_is_cited_as_text_and_keeps_its_bytes(corpus: Path) -> None:
    result = ingest_paths([corpus])
    finding = next(f for f in result.findings if "多気町" in f.text)
    assert finding.document == "報告書.txt" and finding.title == "費用負担"
    assert finding.citation.startswith("報告書.txt｜") and finding.id.startswith("報告書:")
    source = next(s for s in result.sources if s.name == "報告書.txt")
    assert os.fsencode(source.path).endswith(CP932_NAME)  # the real path opens the file again
    assert Path(source.path).read_text(encoding="utf-8") == CP932_DOC


def test_nothing_shown_carries_surrogates(corpus: Path) -> None:
    result = ingest_paths([corpus])
    shown = [f.id for f in result.findings] + [f.citation for f in result.findings]
    shown += [f.document for f in result.findings] + [f.title for f in result.findings]
    shown += [s.name for s in result.sources] + [s.prefix for s in result.sources]
    shown += [e.path for e in result.errors] + [e.reason for e in result.errors] + result.ignored
    assert not [text for text in shown if has_surrogates(text)]
    assert [s.path for s in result.sources if has_surrogates(s.path)]  # real paths keep the bytes


def test_a_link_out_to_a_system_file_is_not_read(tmp_path: Path) -> None:
    target = next((Path(p) for p in ("/etc/passwd", "/etc/hostname") if Path(p).is_file()), None)
    if target is None:
        pytest.skip("no /etc/passwd or /etc/hostname here")
    (tmp_path / "good.txt").write_text(GOOD, encoding="utf-8")
    (tmp_path / "notes.txt").symlink_to(target)
    result = ingest_paths([tmp_path])
    assert [f.document for f in result.findings] == ["good.txt"]
    assert [(Path(e.path).name, str(target) in e.reason) for e in result.errors] == [("notes.txt", True)]
    assert "root:" not in "".join(f.text for f in result.findings)


def test_a_link_given_explicitly_is_followed(tmp_path: Path, corpus: Path) -> None:
    result = ingest_paths([corpus / "out.txt"])
    assert ["秘密" in f.text for f in result.findings] == [True]
    assert result.errors == []


def test_a_self_looping_argument_does_not_stop_the_batch(tmp_path: Path, corpus: Path) -> None:
    loop = tmp_path / "loop.txt"
    loop.symlink_to("loop.txt")
    dangling = tmp_path / "gone.txt"
    dangling.symlink_to(tmp_path / "nowhere.txt")
    result = ingest_paths([loop, corpus / "good.txt", dangling])
    assert [f.document for f in result.findings] == ["good.txt"]
    assert reasons(result.errors) == {"loop.txt": LINK_LOOP, "gone.txt": LINK_BROKEN}


def test_a_missing_argument_is_still_an_error(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError, match="no such file"):
        ingest_paths([tmp_path / "ない.txt"])


def test_folder_links_are_not_descended(tmp_path: Path) -> None:
    folder, elsewhere = tmp_path / "corpus", tmp_path / "elsewhere"
    (folder / "sub").mkdir(parents=True)
    elsewhere.mkdir()
    (folder / "sub" / "good.txt").write_text(GOOD, encoding="utf-8")
    (elsewhere / "outside.txt").write_text(OUTSIDE, encoding="utf-8")
    (folder / "inner").symlink_to("sub")  # inside: adds nothing, its document is walked at its real place
    (folder / "outer").symlink_to(elsewhere)
    (folder / "sub" / "up").symlink_to("..")  # a loop for a walk that followed folder links
    result = ingest_paths([folder])
    assert [f.document for f in result.findings] == ["good.txt"]
    assert list(reasons(result.errors)) == ["outer"]
    assert "the folder" in result.errors[0].reason and str(elsewhere) in result.errors[0].reason


def test_a_folder_of_only_bad_links_reports_each_one(tmp_path: Path) -> None:
    (tmp_path / "outside.txt").write_text(OUTSIDE, encoding="utf-8")
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "self.txt").symlink_to("self.txt")
    (folder / "out.txt").symlink_to(tmp_path / "outside.txt")
    result = ingest_paths([folder])  # no InputError("no documents found"): each file's reason is kept instead
    assert result.findings == [] and sorted(reasons(result.errors)) == ["out.txt", "self.txt"]


def test_collect_files_keeps_a_linked_file_under_its_own_name(corpus: Path) -> None:
    problems: list[IngestError] = []
    files = collect_files([corpus], problems=problems)
    names = [display_name(f.name) for f in files]
    assert "alias.txt" not in names and "good.txt" in names and "memo.txt" in names
    assert len(problems) == 4


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("報告書.txt".encode("cp932"), "報告書.txt"),
        ("令和5年度_加賀市スマートシティ.md".encode("cp932"), "令和5年度_加賀市スマートシティ.md"),
        ("ﾃﾞｰﾀ活用①.pdf".encode("cp932"), "ﾃﾞｰﾀ活用①.pdf"),  # half-width kana and NEC specials are CP932
        ("加賀市.txt".encode(), "加賀市.txt"),  # valid UTF-8 stays as it is
        # EUC-JP is not CP932 either: UTF-8 with U+FFFD for each bad byte (the last two happen to be UTF-8 Ͽ)
        ("会議録.txt".encode("euc-jp"), "\ufffd\ufffd\ufffd\u03ff.txt"),
        (b"\xff\xfe\x80\x81.txt", "\ufffd\ufffd\ufffd\ufffd.txt"),  # cp932 would map these to private use
    ],
)
def test_display_name(raw: bytes, shown: str) -> None:
    assert display_name(os.fsdecode(raw)) == shown


def test_display_path_decodes_each_component_alone() -> None:
    path = os.fsdecode("資料".encode() + b"/" + "報告書.txt".encode("cp932"))
    assert display_path(path) == "資料/報告書.txt"


def test_names_that_read_the_same_get_distinct_prefixes(tmp_path: Path) -> None:
    for name in (b"\xff.txt", b"\xfe.txt"):
        write_bytes_name(tmp_path, name, GOOD)
    files = collect_files([tmp_path])
    prefixes = id_prefixes(files)
    assert len(set(prefixes.values())) == 2
    assert not any(has_surrogates(p) for p in prefixes.values())
    result = ingest_paths([tmp_path])
    assert len(result.findings) == 2 and len({f.id for f in result.findings}) == 2

"""Errors are types: every refusal is a KensakuError with the fix in its message; the CLI maps them (and only them)
to one line and exit status 2, so a real bug still shows as a traceback."""

from __future__ import annotations

import pytest

import kensaku.cli
from kensaku import errors
from kensaku.errors import (
    DocumentError,
    FindingNotFoundError,
    InputError,
    KensakuError,
    NoSearchableWordsError,
    NothingToIndexError,
    QueryError,
    SourceNotFoundError,
)

# (error, built-in type a caller may already catch, expected str())
ERRORS = [
    (QueryError("the query is empty", "type a question"), ValueError, "the query is empty; type a question"),
    (InputError("k=0 is out of range", "use 1 to 1000"), ValueError, "k=0 is out of range; use 1 to 1000"),
    (
        SourceNotFoundError("a.pdf: no such file", "check the path"),
        FileNotFoundError,
        "a.pdf: no such file; check the path",
    ),
    (
        DocumentError("報告書.pdf", "needs a password", "remove it"),
        ValueError,
        "報告書.pdf: needs a password; remove it",
    ),
    (
        FindingNotFoundError("no finding with id 'x'", "ids look like 'doc:L1'"),
        KeyError,
        "no finding with id 'x'; ids look like 'doc:L1'",
    ),
    (
        NoSearchableWordsError("none of the 2 finding(s) has a searchable word (「・・・」「※」)", "index text"),
        ValueError,
        "none of the 2 finding(s) has a searchable word (「・・・」「※」); index text",
    ),
]


@pytest.mark.parametrize(("error", "builtin", "text"), ERRORS, ids=[type(e).__name__ for e, _, _ in ERRORS])
def test_errors_carry_reason_and_fix_and_stay_catchable_as_builtins(
    error: KensakuError, builtin: type[Exception], text: str
) -> None:
    assert str(error) == text and isinstance(error, builtin) and isinstance(error, KensakuError)
    assert error.reason and error.fix and text.endswith(error.fix)
    with pytest.raises(builtin):
        raise error


def test_document_error_keeps_the_path_apart() -> None:
    error = DocumentError("資料/旧.doc", "is an old Word file", "save it as .docx")
    assert error.path == "資料/旧.doc" and error.detail == "is an old Word file; save it as .docx"


def test_every_public_error_derives_from_the_base() -> None:
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), KensakuError), name


def test_cli_maps_library_errors_to_status_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refuse(args: object) -> int:
        raise QueryError("the query has 2,001 characters, over the limit of 2,000", "shorten it")

    monkeypatch.setitem(kensaku.cli.COMMANDS, "info", refuse)
    assert kensaku.cli.main(["info"]) == 2
    assert (
        capsys.readouterr().err
        == "kensaku: error: the query has 2,001 characters, over the limit of 2,000; shorten it\n"
    )


def test_cli_lets_a_bug_show_as_a_bug(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(args: object) -> int:
        raise ValueError("a programming error, not the user's")

    monkeypatch.setitem(kensaku.cli.COMMANDS, "info", broken)
    with pytest.raises(ValueError, match="programming error"):
        kensaku.cli.main(["info"])


def test_nothing_to_index_carries_each_files_reason_and_the_cli_prints_them(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    problems = [("資料/空.txt", "file is 0 bytes"), ("資料/見出し.md", "has headings but no body text")]
    error = NothingToIndexError("no findings to index: 1 of 2 file(s) could not be read", "fix the files", problems)
    assert error.problems == tuple(problems) and str(error).endswith("; fix the files")

    def refuse(args: object) -> int:
        raise error

    monkeypatch.setitem(kensaku.cli.COMMANDS, "info", refuse)
    assert kensaku.cli.main(["info"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "kensaku: 資料/空.txt: file is 0 bytes",
        "kensaku: 資料/見出し.md: has headings but no body text",
        "kensaku: error: no findings to index: 1 of 2 file(s) could not be read; fix the files",
    ]

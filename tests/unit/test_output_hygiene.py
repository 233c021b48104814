"""What reaches a terminal or the app's Markdown is inert: invisible or undecodable queries are refused, control
characters never reach the terminal, and file names show literally in Markdown.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from kensaku.app.plaintext import markdown_literal
from kensaku.cli import main
from kensaku.errors import InputError, QueryError
from kensaku.index.build import BuildReport
from kensaku.index.search import Hit, check_query
from kensaku.ingest import IngestError, IngestResult
from kensaku.terminal import print_hits, read_queries, report_build
from tests.support import make_finding

EMPTY = "the query is empty; type a question such as 「フェローの契約形態は」"

INVISIBLE_QUERIES = (
    "\u200b",  # zero width space
    "\ufeff",  # byte order mark
    "\u2060",  # word joiner
    "\u3164",  # Hangul filler
    "\u2800",  # braille pattern blank
    "\u00a0\u3000",  # no-break and ideographic spaces
    "\u0301\u3099",  # combining acute and dakuten without a base
    "\u200b \u200d\ufeff\u3000\u115f\ufe0f",
    "\x1b\x07",
    "",
)

VISIBLE_QUERIES = (
    ("フェローの契約形態は", "フェローの契約形態は"),
    ("\u3000フェローの契約形態は\u3000", "フェローの契約形態は"),
    ("\u200b契約", "\u200b契約"),
    ("か\u3099", "か\u3099"),  # a combining mark with its base
    ("ㅤ한글", "ㅤ한글"),  # a Hangul filler next to Hangul
)


@pytest.mark.parametrize("query", INVISIBLE_QUERIES)
def test_invisible_queries_are_empty(query: str) -> None:
    with pytest.raises(QueryError) as error:
        check_query(query)
    assert str(error.value) == EMPTY


@pytest.mark.parametrize(("query", "checked"), VISIBLE_QUERIES)
def test_visible_queries_pass(query: str, checked: str) -> None:
    assert check_query(query) == checked


@pytest.mark.parametrize(
    "raw",
    ["フェローの契約形態は".encode("cp932"), "住民の費用負担".encode("euc-jp"), b"\xff\xfe"],
)
def test_undecodable_query_bytes_are_refused(raw: bytes) -> None:
    query = os.fsdecode(raw)  # how Python hands over a command line typed in another encoding
    with pytest.raises(QueryError, match="bytes that are not UTF-8") as error:
        check_query(query)
    assert "UTF-8 terminal" in error.value.fix


def test_cli_refuses_an_undecodable_query(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["search", os.fsdecode("契約".encode("cp932")), "--index", "/nonexistent"])
    err = capsys.readouterr().err
    assert code == 2 and "not UTF-8" in err and "Traceback" not in err


def test_a_queries_file_that_is_not_utf8_names_the_file_and_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "質問.txt"
    path.write_bytes("フェローの契約形態は\n住民の費用負担\n".encode("cp932"))
    with pytest.raises(InputError) as error:
        read_queries(str(path))
    assert str(path) in error.value.reason and "not UTF-8" in error.value.reason
    assert "iconv -f CP932 -t UTF-8" in error.value.fix


def test_a_queries_file_with_a_bom_is_read(tmp_path: Path) -> None:
    path = tmp_path / "q.txt"
    path.write_bytes("\ufeffフェローの契約形態は\n\n住民の費用負担\n".encode())
    assert read_queries(str(path)) == ["フェローの契約形態は", "", "住民の費用負担"]  # the blank line is kept


def test_queries_on_standard_input_must_be_utf8(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO("契約\n".encode("cp932")), encoding="utf-8"))
    with pytest.raises(InputError, match=r"queries file - \(standard input\) is not UTF-8 text \(byte 1 is 0x8c\)"):
        read_queries("-")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO("契約\n大学との連携\n".encode()), encoding="utf-8"))
    assert read_queries("-") == ["契約", "大学との連携"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("住民の費用負担\n"))  # a text stream without bytes underneath
    assert read_queries("-") == ["住民の費用負担"]


def test_cli_reports_a_cp932_queries_file_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "q.txt"
    path.write_bytes("フェローの契約形態は\n".encode("cp932"))
    code = main(["search", "--queries", str(path), "--index", str(tmp_path / "index")])
    err = capsys.readouterr().err
    assert code == 2 and f"queries file {path} is not UTF-8 text" in err and "Traceback" not in err


ESCAPES = "\x1b[31m赤い文字\x1b[0m\x1b]0;title\x07\x9b2J\x7f"


def test_hits_print_without_control_characters(capsys: pytest.CaptureFixture[str]) -> None:
    finding = make_finding(3, f"フェローの契約{ESCAPES}は要綱で定めた。")
    finding = replace(finding, citation=finding.citation + "\x1b[2J", id="doc\x1b[1m:L3")
    print_hits("契約\x1b[5m", [Hit(1, 0.9, finding, 0.5, 0.8, 1, 1)])
    out = capsys.readouterr().out
    assert not [ch for ch in out if ch in "\x1b\x07\x7f\x9b"]
    assert "フェローの契約[31m赤い文字[0m]0;title2Jは要綱で定めた。" in out
    assert "id: doc[1m:L3" in out and out.startswith("# 契約[5m\n")


def test_build_messages_print_without_control_characters(capsys: pytest.CaptureFixture[str]) -> None:
    result = IngestResult(
        errors=[IngestError("corpus/\x1b[31mevil.txt", "file is 0 bytes; nothing to index")],
        warnings=[IngestError("corpus/ok.pdf", "page 2: \x1b]0;pwned\x07 no text layer")],
        ignored=["corpus/\x1b[2Jnotes.xyz"],
    )
    report = BuildReport(Path("index"), True, "requested", 1, 1, result)
    assert report_build(argparse.Namespace(format="text"), report) == 0
    captured = capsys.readouterr()
    assert "\x1b" not in captured.out + captured.err and "\x07" not in captured.err
    assert "kensaku: skipped corpus/[31mevil.txt: file is 0 bytes" in captured.err


MARKDOWN_NAMES = (
    "**bold**<img src=x>.txt",
    "[リンク](javascript:alert(1)).md",
    "# 見出し.txt",
    "1. 番号.txt",
    "> 引用.txt",
    "`コード`.txt",
    "~~取消~~ | 表 |.txt",
    "&lt;b&gt;.txt",
    "__下線__ _斜体_.txt",
    "改行\n# 見出し.txt",
    "    字下げ.txt",
)


@pytest.mark.parametrize("name", MARKDOWN_NAMES)
def test_markdown_in_file_names_renders_literally(name: str) -> None:
    html = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"]).render(markdown_literal(name))
    shown = name.replace("\n", " ").strip().replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert html == f"<p>{shown}</p>\n"


@pytest.mark.parametrize("name", [":red[赤]", ":smile:", ":material/home:", "$x^2$", "https://example.com"])
def test_streamlit_extras_are_escaped(name: str) -> None:
    escaped = markdown_literal(name)
    assert ":" not in escaped.replace("\\:", "") and "$" not in escaped.replace("\\$", "")
    assert escaped.replace("\\", "") == name

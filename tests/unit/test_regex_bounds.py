"""No hang on hostile text: every regular expression of the readers, segmenters, export and app rendering runs in
linear time on adversarial 100,000-character lines, and the readers and the segmenter finish such a document fast.

The patterns are found by introspection (every module-level ``re.Pattern`` of :mod:`kensaku.ingest` and its
submodules, :mod:`kensaku.export`, :mod:`kensaku.app.render`, :mod:`kensaku.index.tokenizer`, also inside tuples
such as ``_NUMBERED``), so a new pattern is covered without touching this file. Each one gets every input with
``search``, ``match``, ``fullmatch`` and ``sub``: more than any module uses, so a pattern is safe wherever it is
used next. Inputs grow 1,000 → 10,000 → 100,000 characters, so that a quadratic or cubic pattern fails in a second
instead of hanging the run (the markdown heading regex this replaced took 96 s on 2,000 spaces).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import kensaku.ingest
from kensaku.ingest.models import Document, Finding
from kensaku.ingest.readers import markdown, text, webpage
from kensaku.ingest.segment import segment

LINE_CHARS = 100_000
MAX_SECONDS = 1.0
# (line length, budget for one use): a linear pattern takes microseconds on the short lines; one over 0.1 s there
# would take 10 s (quadratic) or hours (cubic) on 100,000 characters, so the test stops there.
STEPS = ((1_000, 0.1), (10_000, 0.1), (LINE_CHARS, MAX_SECONDS))
READER_MAX_SECONDS = 2.0
OTHER_MODULES = ("kensaku.export", "kensaku.app.render", "kensaku.index.tokenizer")

# Runs of one character or marker, the whole line long.
RUNS = (
    " ",
    "\u3000",
    "\t",
    "#",
    "[",
    "]",
    "(",
    ")",
    "（",
    "<!--",
    "-->",
    "<",
    "-",
    "*",
    "_",
    "~",
    "～",
    "|",
    "!",
    "![",
    "[a](",
    "](",
    "- ",
    "* ",
    "1",
    "１",
    "1.",
    "第",
    "条",
    "第1",
    "の一",
    "あ",
    "ア",
    "一",
    "、",
    "。",
    ".",
    "/",
    "**",
    "(cid:1) ",
    "<meta ",
    "○",
    "●",
    "※",
    "a_",
    "\\",
    "\x1b[31m",
)
# Line starts that most patterns accept, then a run of spaces the pattern's quantifiers can share, then a character
# that makes the match fail at the very end (or the end itself).
HEADS = (
    "",
    "# 見出し",
    "#",
    "###### ",
    "- ",
    "1.",
    "1. 推進体制 ～",
    "第1条",
    "第1章",
    "(1)",
    "（人口",
    "■",
    "●",
    "○",
    "※",
    "|",
    "令和",
    "2019",
    "取組を通じた知見",
    "p",
    "<meta ",
    "![a](b)",
    "出典",
)
SPACES_TAILS = ((" ", "x"), ("\u3000", "x"), (" ", ""))


def _inputs(n: int) -> Iterator[tuple[str, str]]:
    """``(label, line)`` pairs of about ``n`` characters."""
    for run in RUNS:
        yield f"{run!r} × {n // len(run)}", run * (n // len(run))
    for head in HEADS:
        for space, tail in SPACES_TAILS:
            yield f"{head!r} + {space!r} × {n} + {tail!r}", head + space * n + tail


def _modules() -> list[ModuleType]:
    names = [m.name for m in pkgutil.walk_packages(kensaku.ingest.__path__, "kensaku.ingest.")]
    return [importlib.import_module(name) for name in [*names, *OTHER_MODULES]]


def _found(value: object, where: str, depth: int = 0) -> Iterator[tuple[str, re.Pattern[Any]]]:
    """``(name, pattern)`` for the patterns in a module attribute: the value, or in a tuple, list or dict in it."""
    if isinstance(value, re.Pattern):
        yield where, value
    elif depth < 2 and isinstance(value, tuple | list):
        for i, item in enumerate(value):
            yield from _found(item, f"{where}[{i}]", depth + 1)
    elif depth < 2 and isinstance(value, dict):
        for key, item in value.items():
            yield from _found(item, f"{where}[{key!r}]", depth + 1)


def _patterns() -> dict[str, re.Pattern[Any]]:
    """Every module-level pattern, once, named by the module and attribute that first hold it."""
    seen: set[int] = set()
    out: dict[str, re.Pattern[Any]] = {}
    for module in _modules():
        for attr, value in vars(module).items():
            for name, pattern in _found(value, f"{module.__name__}.{attr}"):
                if id(pattern) not in seen:
                    seen.add(id(pattern))
                    out[name] = pattern
    return out


PATTERNS = _patterns()


def _uses(pattern: re.Pattern[Any], line: str) -> Iterator[tuple[str, Callable[[], object]]]:
    """The four ways a module can use a pattern, on ``line`` (UTF-8 encoded for a bytes pattern)."""
    subject: str | bytes = line.encode() if isinstance(pattern.pattern, bytes) else line
    empty = subject[:0]
    yield "sub", lambda: pattern.sub(empty, subject)
    yield "search", lambda: pattern.search(subject)
    yield "match", lambda: pattern.match(subject)
    yield "fullmatch", lambda: pattern.fullmatch(subject)


def _slowest(pattern: re.Pattern[Any]) -> tuple[float, str]:
    """The longest time one use of ``pattern`` took on one input of 100,000 characters; stops at the first use
    over its step's budget (then the time is scaled up to what it would be on 100,000 characters at least)."""
    worst = (0.0, "")
    for n, budget in STEPS:
        for label, line in _inputs(n):
            for use, call in _uses(pattern, line):
                start = time.perf_counter()
                call()
                took = time.perf_counter() - start
                if took >= budget:
                    return took * MAX_SECONDS / budget, f"{use} on {label}: {took:.2f} s"
                worst = max(worst, (took, f"{use} on {label}"))
    return worst


def test_patterns_are_found() -> None:
    """The introspection finds the patterns this test is about, also those inside tuples."""
    assert len(PATTERNS) >= 60
    assert {"kensaku.ingest.headings._NUMBERED[0][0]", "kensaku.ingest.segment.generic._LINK"} <= PATTERNS.keys()
    assert {"kensaku.ingest.readers.htmlsource._META_CHARSET", "kensaku.export._MD_INLINE"} <= PATTERNS.keys()


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_pattern_is_linear_on_hostile_lines(name: str) -> None:
    took, where = _slowest(PATTERNS[name])
    assert took < MAX_SECONDS, f"{name} /{PATTERNS[name].pattern!r}/ took {took:.2f} s ({where})"


# -- end to end: readers and the segmenter on a document made of hostile lines ------------------------------------

HOSTILE_LINES = (
    "# 見出し" + " " * 5_000 + "x",
    "## 見出し" + "\u3000" * 5_000 + "x",
    "#" * LINE_CHARS,
    "[" * LINE_CHARS,
    "[a](" * (LINE_CHARS // 4),
    "(" * LINE_CHARS,
    "- " + " " * LINE_CHARS + "x",
    "1." + " " * LINE_CHARS + "x",
    "第1条" + " " * LINE_CHARS + "x",
)


def _markdown_document() -> str:
    """Hostile lines between real paragraphs; the unclosed ``<!--`` run comes last, as it hides what follows."""
    parts = ["# 議事録", "", "第1回の本文です。"]
    for line in HOSTILE_LINES:
        parts += ["", line, "", "加賀市の取組を紹介します。"]
    parts += ["", "## 見出し" + " " * 5_000 + "x", "", "節の本文です。", "", "<!--" * (LINE_CHARS // 4)]
    return "\n".join(parts) + "\n"


def _timed(call: Callable[[], Document]) -> tuple[Document, list[Finding], float]:
    start = time.perf_counter()
    doc = call()
    findings = segment(doc)
    return doc, findings, time.perf_counter() - start


def _check(findings: list[Finding], took: float) -> None:
    assert took < READER_MAX_SECONDS, f"took {took:.2f} s"
    texts = [f.text for f in findings]
    assert "第1回の本文です。" in texts
    assert texts.count("加賀市の取組を紹介します。") == len(HOSTILE_LINES)


@pytest.mark.parametrize("reader", [markdown, text], ids=["markdown", "text"])
def test_text_readers_and_segmenter_finish_hostile_document(reader: ModuleType) -> None:
    data = _markdown_document().encode()
    doc, findings, took = _timed(lambda: reader.read(data, Path("hostile.md")))
    _check(findings, took)
    assert doc.title == "議事録"
    last = next(f for f in findings if f.text == "節の本文です。")
    assert last.heading == "見出し x"


def test_segmenter_reads_long_spaced_heading() -> None:
    """The heading of 5,000 spaces that took minutes is a heading, its spaces one."""
    lines = (
        "# 題名",
        "",
        "## 見出し" + " " * 5_000 + "x",
        "",
        "本文です。",
        "",
        "## 次" + "\u3000" * 5_000,
        "",
        "次の本文。",
    )
    doc = Document(path="h.md", name="h.md", title="題名", lines=lines, sha256="0")
    start = time.perf_counter()
    findings = segment(doc)
    assert time.perf_counter() - start < READER_MAX_SECONDS
    assert [(f.text, f.heading) for f in findings] == [("本文です。", "見出し x"), ("次の本文。", "次")]


def test_html_reader_finishes_hostile_page() -> None:
    body = "".join(f"<p>{line}</p>\n<p>加賀市の取組を紹介します。</p>\n" for line in HOSTILE_LINES)
    page = (
        "<html><head><title>議事録" + " " * 5_000 + "| 加賀市</title></head><body>\n<h1>議事録</h1>\n"
        f"<p>第1回の本文です。</p>\n{body}<p>" + "<!--" * (LINE_CHARS // 4) + "</p></body></html>\n"
    )
    doc, findings, took = _timed(lambda: webpage.read(page.encode(), Path("hostile.html")))
    _check(findings, took)
    assert doc.title == "議事録"

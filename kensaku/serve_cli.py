"""The command-line side of the HTTP API: ``kensaku serve`` and ``--server URL`` of ``search``, ``similar``, ``export``.

``kensaku serve`` refuses (exit 2) a host other than loopback without a token (``$KENSAKU_TOKEN`` or
``--token-file``), and ``--writable`` without one. With ``--server URL`` a search is sent to a running server
(:mod:`kensaku.client`) and printed as if it had run here: the model is not loaded, so a call takes milliseconds.
A ``--queries`` file sends one request per line; ``export --server`` writes the files a local export writes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kensaku.errors import InputError

if TYPE_CHECKING:
    from kensaku.client import Client
    from kensaku.index.search import Hit

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def add_serve_command(commands: Any) -> None:  # noqa: ANN401 - argparse's subparsers action is private
    """The ``serve`` sub-command."""
    from kensaku.cli import _add_fusion_args, _add_index_args
    from kensaku.serve_limits import ServeLimits

    limits = ServeLimits()
    p = commands.add_parser("serve", help="an HTTP JSON API over the index (search, similar, export, documents)")
    p.add_argument(
        "--host", default=DEFAULT_HOST, help=f"address to bind (default: {DEFAULT_HOST}; others need a token)"
    )
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT})")
    p.add_argument("--token-file", metavar="FILE", help="file holding the bearer token (default: $KENSAKU_TOKEN)")
    p.add_argument("--writable", action="store_true", help="serve POST /documents (add, remove); needs a token")
    p.add_argument(
        "--max-body-bytes", type=int, default=limits.max_body_bytes, help="largest request body (default: 65536)"
    )
    p.add_argument(
        "--rate-limit",
        type=float,
        default=limits.rate,
        metavar="PER_SECOND",
        help=f"requests per second per client IP, 0: off (default: {limits.rate:g}, bursts of {limits.burst})",
    )
    p.add_argument("--burst", type=int, default=limits.burst, help="requests a client may send at once")
    _add_fusion_args(p)
    _add_index_args(p)


def add_server_arg(parser: argparse.ArgumentParser) -> None:
    """``--server URL`` of ``search``, ``similar`` and ``export``."""
    parser.add_argument(
        "--server",
        metavar="URL",
        help="send the request to a running kensaku serve (e.g. http://127.0.0.1:8765; token from $KENSAKU_TOKEN) "
        "instead of loading the model here",
    )


def read_token(token_file: str | None) -> str | None:
    """The bearer token: the first line of ``token_file``, else ``$KENSAKU_TOKEN``, else ``None``.

    Raises:
        InputError: The file cannot be read or is empty.
    """
    if token_file is None:
        return os.environ.get("KENSAKU_TOKEN") or None
    try:
        token = Path(token_file).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise InputError(f"cannot read the token file {token_file}: {exc.strerror}", "give a readable file") from exc
    if not token:
        raise InputError(f"the token file {token_file} is empty", "write the token into it (one line)")
    return token


def cmd_serve(args: argparse.Namespace) -> int:
    """``kensaku serve``: run the API (one process, one worker: the model is loaded once) until interrupted."""
    import uvicorn

    from kensaku.cli import _settings
    from kensaku.serve import create_app
    from kensaku.serve_limits import ServeLimits, is_loopback

    token = read_token(args.token_file)
    if not is_loopback(args.host) and not token:
        raise InputError(
            f"--host {args.host} is reachable from other machines and no token is set",
            "set $KENSAKU_TOKEN or give --token-file FILE (or bind to 127.0.0.1)",
        )
    if not 0 <= args.port <= 65535:
        raise InputError(f"--port {args.port} is out of range", "use 1 to 65535 (default 8765)")
    settings = _settings(args)
    limits = ServeLimits(max_body_bytes=args.max_body_bytes, rate=args.rate_limit, burst=args.burst)
    app = create_app(settings.index_dir, settings, token=token, writable=args.writable, limits=limits)
    health = app.state.served.index
    where = f"{settings.index_dir} on http://{args.host}:{args.port}"
    sys.stderr.write(f"kensaku: serving {len(health):,} findings of {where} (docs: /docs)\n")
    sys.stderr.flush()
    uvicorn.run(app, host=args.host, port=args.port, workers=1, log_level="warning", access_log=False)
    return 0


def _filters(args: argparse.Namespace) -> dict[str, object]:
    chosen: dict[str, object] = {
        "municipality": args.municipality,
        "chapter": args.chapter,
        "section": args.section,
        "document": args.document,
        "year": args.year,
    }
    return {**chosen, "kind": args.kind}


LOCAL_FLAGS = (
    ("--model", "model"), ("--device", "device"), ("--backend", "backend"),
    ("--fusion", "fusion"), ("--w-dense", "w_dense"), ("--depth", "depth"),
    ("--block-weight", "block_weight"), ("--reranker", "reranker"), ("--rerank-depth", "rerank_depth"),
)  # fmt: skip
"""The flags that choose how this machine would search: a server searches with its own, so they are refused."""


def connect(args: argparse.Namespace) -> Client:
    """The client of ``args.server`` (token from ``$KENSAKU_TOKEN``), after refusing the ranking flags.

    Raises:
        InputError: A flag of :data:`LOCAL_FLAGS` was given (never silently dropped).
    """
    from kensaku.client import Client

    local = [flag for flag, attr in LOCAL_FLAGS if getattr(args, attr, None) is not None]
    if local:
        raise InputError(
            f"{', '.join(local)} cannot be sent to a server: it searches its own index with its own settings",
            "leave them out, or start the server with them (kensaku serve --index … )",
        )
    return Client(args.server, token=read_token(None))


def _print(args: argparse.Namespace, blocks: list[dict[str, Any]]) -> None:
    """The server's blocks printed as :func:`kensaku.terminal.emit` prints the local ones (JSON as it came)."""
    from kensaku.client import results_of
    from kensaku.terminal import emit

    if args.format == "json":
        sys.stdout.write(json.dumps(blocks[0] if len(blocks) == 1 else blocks, ensure_ascii=False, indent=2) + "\n")
    else:
        emit(args, [results_of(block) for block in blocks])


def search_via_server(args: argparse.Namespace, queries: list[str]) -> int:
    """``kensaku search --server URL``: one ``POST /search`` per query (checked already; a blank line of a queries
    file gives the empty block it gives here), printed as the command prints its own."""
    from kensaku.index.results import Results
    from kensaku.terminal import block_dict

    client = connect(args)
    blocks = [
        client.search(query, k=args.k, offset=args.offset, mode=args.mode, filters=_filters(args))
        if query
        else block_dict(Results("", [], 0, False, args.offset))
        for query in queries
    ]
    _print(args, blocks)
    return 0


def similar_via_server(args: argparse.Namespace) -> int:
    """``kensaku similar --server URL``: the server's answer, printed as the command prints its own."""
    client = connect(args)
    data = client.similar(
        args.id, text=args.text, k=args.k, other_municipalities=args.other_municipalities, filters=_filters(args)
    )
    _print(args, [data])
    return 0


def export_via_server(args: argparse.Namespace, questions: list[str]) -> tuple[list[list[Hit]], str]:
    """The hits of each question (``POST /search``, the flags' k, mode and filters) and the index fingerprint
    (``GET /health``, before and after): what ``kensaku export --server URL`` writes, as a local export would.

    Raises:
        ServerError: The server's index changed while the questions were searched.
    """
    from kensaku.client import ServerError, hit_of

    client = connect(args)
    before = str(client.health()["fingerprint"])
    found = [
        [hit_of(row) for row in client.search(q, k=args.k, mode=args.mode, filters=_filters(args))["results"]]
        for q in questions
    ]
    after = str(client.health()["fingerprint"])
    if after != before:  # the file names one index build: hits from two would be cited under the wrong one
        raise ServerError(
            f"the server's index changed during the export (build {before} → {after})", "run the export again"
        )
    return found, after

"""The ``kensaku mcp`` sub-command: the index as an MCP server (:mod:`kensaku.mcp_server`, which imports the ``mcp``
SDK only when the command runs)."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from kensaku.errors import InputError

DEFAULT_PORT = 8766  # kensaku.mcp_server.DEFAULT_PORT, repeated so that parsing the command line imports no SDK


def add_mcp_commands(commands: Any) -> None:  # noqa: ANN401 - argparse's subparsers action is private
    """The ``mcp`` sub-command."""
    from kensaku.cli import _add_index_args

    p = commands.add_parser(
        "mcp", help="serve the index to AI assistants over MCP (tools: search, similar_cases, get_finding, ...)"
    )
    p.add_argument(
        "--transport",
        choices=("stdio", "http"),
        default="stdio",
        help="stdio (default: the client starts this command) or http (streamable HTTP at http://HOST:PORT/mcp)",
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="HTTP address to listen on (default: 127.0.0.1); another than loopback needs $KENSAKU_TOKEN, which "
        "clients then send as 'Authorization: Bearer TOKEN'",
    )
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"HTTP port (default: {DEFAULT_PORT})")
    _add_index_args(p)


def cmd_mcp(args: argparse.Namespace) -> int:
    """``kensaku mcp``: serve until the client disconnects (stdio) or the process is stopped (HTTP)."""
    from kensaku.cli import _settings

    try:
        from kensaku.mcp_server import run
    except ImportError as exc:  # the SDK is the extra `serve`
        raise InputError(
            f"kensaku mcp needs the MCP SDK, which is not installed ({exc})", "pip install 'kensaku[serve]'"
        ) from exc
    settings = _settings(args)
    logging.getLogger("kensaku").propagate = False  # the SDK logs to the root logger: each message once, as kensaku's
    run(args.transport, settings.index_dir, args.host, args.port, settings=settings, model=args.model)
    return 0


MCP_COMMANDS = {"mcp": cmd_mcp}

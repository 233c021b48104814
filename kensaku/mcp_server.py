"""``kensaku mcp``: the index as an MCP server (the official Python SDK, ``mcp``), over stdio or streamable HTTP.

Four read-only tools, each described in Japanese and English: ``search`` (a question → cited excerpts),
``similar_cases`` (a finding id or a text → similar findings, by default from other municipalities; filtered by
municipality, chapter and kind as ``search``), ``get_finding`` (an id → its text, citation and the findings around
it) and ``list_documents``. A result is text for the assistant — each excerpt numbered and followed by its citation
(出典), which it is asked to quote — and the same hits as structured content, field for field as ``kensaku search
--format json`` prints them (:mod:`kensaku.mcp_tools` does what the tools do; this module registers and serves them).

The index is opened and the model loaded once, when the server starts; a tool call never loads anything. A
:class:`~kensaku.errors.KensakuError` (an unknown id, an empty question, an unknown municipality) becomes a tool
error result with its one-line message; anything else is logged on stderr and the client gets the SDK's generic
error, never a traceback. In stdio mode nothing but the protocol goes to stdout (logs and warnings go to stderr).

Streamable HTTP listens on the loopback interface (``127.0.0.1``, the SDK's DNS-rebinding protection on); another
host is refused unless ``$KENSAKU_TOKEN`` is set, and then every request must carry ``Authorization: Bearer
<token>``. The command line imports this module (and with it the SDK, the extra ``serve``) only when ``kensaku mcp``
runs (:mod:`kensaku.cli_mcp`).
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import logging
import os
import sys
from collections.abc import MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field
from starlette.types import ASGIApp, Receive, Scope, Send

from kensaku.errors import InputError
from kensaku.mcp_tools import MAX_K, KensakuTools, guarded

if TYPE_CHECKING:
    from kensaku.api import Index
    from kensaku.config import Settings

logger = logging.getLogger("kensaku")

Transport = Literal["stdio", "http"]
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8766
TOKEN_ENV = "KENSAKU_TOKEN"
HTTP_PATH = "/mcp"

INSTRUCTIONS = (
    "kensaku は自治体のスマートシティ事例（知見・課題と取組）を検索します。回答では抜粋を引用し、各抜粋の「出典」行を"
    "そのまま示してください。\n"
    "kensaku searches municipal smart-city findings (lessons and practices). When you answer, quote the excerpts and "
    "give each one's 出典 (citation) line exactly as shown."
)

SEARCH_DESCRIPTION = (
    "質問に答える事例（知見・課題／取組）を検索し、出典付きの抜粋を返します。自治体・章・種別で絞り込めます。\n"
    "Search the findings (lessons and practices) that answer a question, in Japanese; returns numbered excerpts, each "
    "with its citation (document, page/line, municipality, chapter › section › heading, finding id). Optional filters: "
    "municipality (e.g. 加賀市), chapter (e.g. 推進体制), kind (lesson = 知見・課題, practice = 取組)."
)
SIMILAR_DESCRIPTION = (
    "ある事例（ID）または文章に似た事例を探します。既定では同じ自治体の事例を除き、他の自治体の事例を返します。"
    "自治体・章・種別で絞り込めます。\n"
    "Find findings similar to a finding (by its id, e.g. from search) or to a text; by default only findings of "
    "other municipalities than the given finding's (other_municipalities=false to include its own). Returns cited "
    "excerpts like search. Optional filters on the similar findings, as in search: municipality (e.g. 加賀市), "
    "chapter (e.g. 推進体制), kind (lesson = 知見・課題, practice = 取組)."
)
GET_DESCRIPTION = (
    "事例の ID から本文・出典・前後の事例（同じ文書内）を返します。\n"
    "Get one finding by its id: its full text, its citation (short and full, with the source note), its "
    "chapter › section › heading, and the findings just before and after it in its document."
)
DOCUMENTS_DESCRIPTION = (
    "索引に入っている文書の一覧（ファイル名・種類・頁数・事例数・自治体・年度）を返します。\n"
    "List the documents of the index: file name, type, pages, number of findings, municipality, year, title."
)


# --- the server -------------------------------------------------------------------------------------------------------

Question = Annotated[str, Field(description="質問 / the question, e.g. フェローの契約形態は")]
Count = Annotated[int, Field(ge=1, le=MAX_K, description=f"件数 / number of excerpts (1–{MAX_K})")]
Municipality = Annotated[
    str | None, Field(description="自治体で絞り込み / only this municipality, e.g. 加賀市 (as in citations)")
]
Chapter = Annotated[str | None, Field(description="章で絞り込み / only this chapter, e.g. 推進体制")]
Kind = Annotated[
    Literal["lesson", "practice"] | None,
    Field(description="種別 / only lessons (lesson = 知見・課題) or only practices (practice = 取組)"),
]
FindingId = Annotated[str, Field(description="事例の ID / a finding id as search returns it, e.g. doc:L214")]
OptionalId = Annotated[str | None, Field(description="事例の ID / the finding to match (or give text)")]
OptionalText = Annotated[str | None, Field(description="文章 / a text to match instead of a finding")]
Others = Annotated[
    bool, Field(description="他の自治体のみ / only other municipalities than the finding's own (default true)")
]
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)


def create_server(index: Index) -> MCPServer:
    """The MCP server with the four tools over ``index`` (opened, its model loaded: see :func:`open_for_serving`)."""
    from kensaku import __version__

    tools = KensakuTools(index)
    server: MCPServer = MCPServer(
        "kensaku", instructions=INSTRUCTIONS, version=__version__, log_level="WARNING", subscriptions=False
    )

    @server.tool(name="search", description=SEARCH_DESCRIPTION, annotations=READ_ONLY)
    def search(
        question: Question, k: Count = 5, municipality: Municipality = None, chapter: Chapter = None, kind: Kind = None
    ) -> CallToolResult:
        return guarded(lambda: tools.search(question, k, municipality, chapter, kind))

    @server.tool(name="similar_cases", description=SIMILAR_DESCRIPTION, annotations=READ_ONLY)
    def similar_cases(
        finding_id: OptionalId = None,
        text: OptionalText = None,
        k: Count = 5,
        other_municipalities: Others = True,
        municipality: Municipality = None,
        chapter: Chapter = None,
        kind: Kind = None,
    ) -> CallToolResult:
        filters = (municipality, chapter, kind)
        return guarded(lambda: tools.similar_cases(finding_id, text, k, other_municipalities, filters))

    @server.tool(name="get_finding", description=GET_DESCRIPTION, annotations=READ_ONLY)
    def get_finding(finding_id: FindingId) -> CallToolResult:
        return guarded(lambda: tools.get_finding(finding_id))

    @server.tool(name="list_documents", description=DOCUMENTS_DESCRIPTION, annotations=READ_ONLY)
    def list_documents() -> CallToolResult:
        return guarded(tools.list_documents)

    return server


def open_for_serving(index_dir: Path, settings: Settings, model: str | None = None) -> Index:
    """The index at ``index_dir`` (the default one built from the corpus first, as the CLI does), with its model
    loaded and its searcher made, so that no tool call waits for them. Says on stderr when it is out of date.

    Raises:
        KensakuError: No index there, another model, a damaged index, an unreachable backend.
    """
    from kensaku.api import open_or_build
    from kensaku.backend import engine
    from kensaku.terminal import warn_stale

    with contextlib.redirect_stdout(sys.stderr):  # nothing a library prints may reach the protocol's stdout
        index = open_or_build(index_dir, settings, model=model)
        warn_stale(index)
        engine(index)  # loads the model; for Milvus, checks the collection
    return index


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback name or address (``localhost``, ``127.0.0.1``, ``::1``).

    >>> [is_loopback(h) for h in ("127.0.0.1", "localhost", "[::1]", "0.0.0.0", "192.168.1.5", "example.org")]
    [True, True, True, False, False, False]
    """
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def http_token(host: str, environ: MutableMapping[str, str] | None = None) -> str | None:
    """The bearer token HTTP requests must carry: ``$KENSAKU_TOKEN``, required for a host that is not loopback.

    Raises:
        InputError: A host other than loopback without ``$KENSAKU_TOKEN``.
    """
    token = (os.environ if environ is None else environ).get(TOKEN_ENV, "").strip() or None
    if token is None and not is_loopback(host):
        raise InputError(
            f"--host {host} would let other machines reach the index without a password",
            f"use --host 127.0.0.1, or set ${TOKEN_ENV} to a secret that clients send as 'Authorization: Bearer …'",
        )
    return token


class BearerToken:
    """ASGI middleware: an HTTP request without ``Authorization: Bearer <token>`` gets 401 (compared in constant
    time); lifespan events pass through."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        """Wrap ``app``."""
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse an HTTP request without the token; pass everything else on."""
        if scope["type"] == "http":
            given = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not hmac.compare_digest(given, self.expected):
                body = f'{{"error": "unauthorized: send Authorization: Bearer ${TOKEN_ENV}"}}'.encode()
                headers = [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")]
                await send({"type": "http.response.start", "status": 401, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def run(
    transport: Transport,
    index_dir: Path,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    settings: Settings | None = None,
    model: str | None = None,
) -> None:
    """Open the index, load the model, and serve MCP until the client closes stdin (stdio) or the process is
    stopped (HTTP, at ``http://HOST:PORT/mcp``).

    Raises:
        InputError: An unknown transport, or a host that is not loopback without ``$KENSAKU_TOKEN``.
        KensakuError: The index cannot be opened (see :func:`open_for_serving`).
    """
    from kensaku.config import Settings

    if transport not in ("stdio", "http"):
        raise InputError(f"unknown transport {transport!r}", "use stdio or http")
    token = http_token(host) if transport == "http" else None
    settings = settings or Settings.from_env()
    index = open_for_serving(index_dir, settings, model)
    server = create_server(index)
    if transport == "stdio":
        logger.info("MCP server on stdio: %s", index)
        server.run("stdio")
        return
    import uvicorn

    app: ASGIApp = server.streamable_http_app(host=host, streamable_http_path=HTTP_PATH)
    if token is not None:
        app = BearerToken(app, token)
    shown = f"[{host}]" if ":" in host else host
    logger.info("MCP server at http://%s:%d%s: %s", shown, port, HTTP_PATH, index)
    uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning")).run()

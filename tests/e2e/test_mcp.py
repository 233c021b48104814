"""``kensaku mcp`` end to end: the real server in a subprocess, driven by the official MCP SDK's own client.

One stdio session (one model load) answers every stdio check; the streamable HTTP check starts a second server on a
free localhost port. Both open the seed index built once per test session with the real default model.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult, TextContent

from kensaku import Index
from tests.e2e.browser_support import free_port

ROOT = Path(__file__).resolve().parents[2]
QUESTION = "フェローの契約形態は"
TOOLS = {"search", "similar_cases", "get_finding", "list_documents"}


def _env() -> dict[str, str]:
    """What the server needs of this environment (the SDK passes only HOME, PATH and a few more by default)."""
    keep = ("HOME", "PATH", "LANG", "KENSAKU_CACHE", "HF_HUB_OFFLINE", "TMPDIR")
    env = {key: os.environ[key] for key in keep if key in os.environ}
    return {**env, "PYTHONPATH": str(ROOT), "KENSAKU_BACKEND": "local"}


@asynccontextmanager
async def stdio_session(index: Path) -> AsyncIterator[ClientSession]:
    """An initialized client session with ``python -m kensaku.cli mcp --index INDEX`` over stdio."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "kensaku.cli", "mcp", "--index", str(index), "--no-progress"],
        env=_env(),
        cwd=str(ROOT),
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


def _text(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def _run(check: Callable[[ClientSession], Awaitable[None]], index: Path) -> None:
    async def main() -> None:
        async with stdio_session(index) as session:
            await check(session)

    anyio.run(main)


@pytest.fixture(scope="module")
def index(seed_index: Path) -> Index:
    return Index.open(seed_index)


def test_stdio_tools(seed_index: Path, index: Index) -> None:
    """Every tool over stdio in one session: answers equal the library's, citations in the text, errors as
    results."""
    top = index.search(QUESTION, k=5)[0]
    results: dict[str, CallToolResult] = {}

    async def check(session: ClientSession) -> None:
        listed = (await session.list_tools()).tools
        assert {tool.name for tool in listed} == TOOLS
        for tool in listed:
            description = tool.description or ""
            assert any("\u3040" <= ch <= "\u30ff" for ch in description), tool.name  # Japanese (kana)
            assert any(word in description for word in ("Search", "Find", "Get", "List")), tool.name  # English
        results["search"] = await session.call_tool("search", {"question": QUESTION, "k": 5})
        results["get"] = await session.call_tool("get_finding", {"finding_id": top.finding.id})
        results["similar"] = await session.call_tool("similar_cases", {"finding_id": top.finding.id, "k": 5})
        results["documents"] = await session.call_tool("list_documents", {})
        results["unknown"] = await session.call_tool("get_finding", {"finding_id": "no-such:L1"})
        results["empty"] = await session.call_tool("search", {"question": "\u3000"})
        results["filter"] = await session.call_tool("search", {"question": QUESTION, "municipality": "加賀"})
        results["filtered"] = await session.call_tool(
            "search", {"question": QUESTION, "municipality": top.finding.municipality, "kind": top.finding.kind}
        )
        results["after"] = await session.call_tool("search", {"question": QUESTION, "k": 1})  # still serving

    _run(check, seed_index)

    found = results["search"]
    assert not found.is_error
    text = _text(found)
    assert text.startswith(f"検索 (search): {QUESTION}")
    assert f"1. 「{top.finding.text}」\n   出典 (citation): {top.finding.citation}" in text
    assert f"ID: {top.finding.id}" in text
    structured = found.structured_content
    assert structured is not None
    library = [hit.to_dict() for hit in index.query(QUESTION, 5).hits]
    assert structured["results"] == library  # field for field what `kensaku search --format json` prints
    assert structured["results"][0]["text"] == top.finding.text

    got = results["get"]
    assert not got.is_error and got.structured_content is not None
    assert got.structured_content["text"] == top.finding.text
    assert got.structured_content["citation"] == top.finding.citation
    assert top.finding.citation in _text(got)
    rows = [f.id for f in index.findings]
    row = rows.index(top.finding.id)
    assert (got.structured_content["previous"] or {}).get("id") == (rows[row - 1] if row > 0 else None)

    similar = results["similar"]
    assert not similar.is_error and similar.structured_content is not None
    hits = similar.structured_content["results"]
    expected = index.similar(top.finding.id, k=5, other_municipalities=True)
    assert [h["id"] for h in hits] == [h.finding.id for h in expected] and hits
    assert all(h["municipality"] != top.finding.municipality for h in hits)
    assert top.finding.id not in {h["id"] for h in hits}

    documents = results["documents"]
    assert not documents.is_error and documents.structured_content is not None
    assert [d["name"] for d in documents.structured_content["documents"]] == [d.name for d in index.documents()]
    assert "smartcity_model_project_cases.txt" in _text(documents)

    unknown = results["unknown"]
    assert unknown.is_error
    assert "no finding with id 'no-such:L1'" in _text(unknown)
    assert "Traceback" not in _text(unknown)
    assert results["empty"].is_error and "the query is empty" in _text(results["empty"])
    assert results["filter"].is_error and "加賀市" in _text(results["filter"])  # the known value suggested

    filtered = results["filtered"].structured_content
    assert filtered is not None and filtered["results"]
    assert {h["municipality"] for h in filtered["results"]} == {top.finding.municipality}
    assert {h["kind"] for h in filtered["results"]} == {top.finding.kind}
    assert not results["after"].is_error


def test_stdio_similar_by_text(seed_index: Path, index: Index) -> None:
    """similar_cases with a text instead of an id; neither or both is an error result."""
    results: dict[str, CallToolResult] = {}

    async def check(session: ClientSession) -> None:
        results["text"] = await session.call_tool("similar_cases", {"text": "大学と連携した人材育成", "k": 3})
        results["neither"] = await session.call_tool("similar_cases", {})

    _run(check, seed_index)
    structured = results["text"].structured_content
    assert structured is not None
    expected = index.similar(text="大学と連携した人材育成", k=3)
    assert [h["id"] for h in structured["results"]] == [h.finding.id for h in expected]
    assert results["neither"].is_error and "give finding_id or text" in _text(results["neither"])


def test_stdio_similar_cases_filtered(seed_index: Path, index: Index) -> None:
    """similar_cases with municipality, chapter and kind: only such findings, equal to ``Index.similar(...,
    filters=...)``; an unknown value is the search tool's error result (the known value suggested)."""
    from kensaku.index.search import Filters

    top = index.search(QUESTION, k=1)[0].finding
    other = next(f for f in index.findings if f.municipality and f.municipality != top.municipality)
    by_text = {"text": "大学と連携した人材育成", "k": 5, "municipality": other.municipality, "kind": other.kind}
    by_id = {"finding_id": top.id, "k": 5, "municipality": other.municipality, "chapter": other.chapter}
    results: dict[str, CallToolResult] = {}
    schema: dict[str, Any] = {}

    async def check(session: ClientSession) -> None:
        listed = {tool.name: tool for tool in (await session.list_tools()).tools}
        schema.update(listed["similar_cases"].input_schema)
        results["text"] = await session.call_tool("similar_cases", by_text)
        results["id"] = await session.call_tool("similar_cases", by_id)
        results["unknown"] = await session.call_tool("similar_cases", {**by_id, "municipality": "加賀"})
        results["kind"] = await session.call_tool("similar_cases", {**by_id, "kind": "idea"})
        results["search_unknown"] = await session.call_tool("search", {"question": QUESTION, "municipality": "加賀"})

    _run(check, seed_index)
    assert {"municipality", "chapter", "kind"} <= set(schema["properties"])
    filters = Filters(municipalities=[other.municipality], kinds=[other.kind])
    expected = index.similar(text=by_text["text"], k=5, filters=filters)
    structured = results["text"].structured_content
    assert structured is not None and not results["text"].is_error
    assert structured["results"] == [hit.to_dict() for hit in expected] and expected
    assert {h["municipality"] for h in structured["results"]} == {other.municipality}
    assert {h["kind"] for h in structured["results"]} == {other.kind}
    filters = Filters(municipalities=[other.municipality], chapters=[other.chapter])
    expected = index.similar(top.id, k=5, other_municipalities=True, filters=filters)
    structured = results["id"].structured_content
    assert structured is not None and [h["id"] for h in structured["results"]] == [h.finding.id for h in expected]
    assert expected and {(h["municipality"], h["chapter"]) for h in structured["results"]} == {
        (other.municipality, other.chapter)
    }
    assert results["unknown"].is_error and _text(results["unknown"]) == _text(results["search_unknown"])
    assert results["kind"].is_error and "kind" in _text(results["kind"])  # the SDK's validation, as for search


TOKEN = "s3cret-token"


@pytest.fixture
def http_server(seed_index: Path, tmp_path: Path) -> Iterator[str]:
    """``kensaku mcp --transport http`` with ``$KENSAKU_TOKEN`` on a free localhost port; yields its URL once it
    listens."""
    port = free_port()
    command = [sys.executable, "-m", "kensaku.cli", "mcp", "--index", str(seed_index), "--no-progress"]
    command += ["--transport", "http", "--port", str(port)]
    env = {**_env(), "KENSAKU_TOKEN": TOKEN}
    with (tmp_path / "stdout").open("wb") as out, (tmp_path / "stderr").open("wb") as err:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=err)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.poll() is None, (tmp_path / "stderr").read_text()
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        else:
            pytest.fail("the MCP HTTP server did not listen within 60 s")
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert (tmp_path / "stdout").read_bytes() == b""  # logs go to stderr
    assert b"Traceback" not in (tmp_path / "stderr").read_bytes()


def test_streamable_http(http_server: str, index: Index) -> None:
    """The same search over streamable HTTP on localhost; a request without the bearer token gets 401."""
    request = urllib.request.Request(http_server, data=b"{}", method="POST")
    request.add_header("Content-Type", "application/json")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 401
    results: dict[str, CallToolResult] = {}

    async def main() -> None:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=60) as http,
            streamable_http_client(http_server, http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            results["search"] = await session.call_tool("search", {"question": QUESTION, "k": 3})

    anyio.run(main)
    top = index.search(QUESTION, k=3)[0]
    assert not results["search"].is_error
    assert top.finding.citation in _text(results["search"])
    assert results["search"].structured_content is not None
    assert results["search"].structured_content["results"][0]["text"] == top.finding.text


def test_stdio_stdout_is_protocol_only(seed_index: Path) -> None:
    """Started over stdio, the server writes nothing to stdout but protocol messages: one JSON-RPC answer to
    ``initialize``; it exits with status 0 when stdin closes."""
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}},
    }
    command = [sys.executable, "-m", "kensaku.cli", "mcp", "--index", str(seed_index)]
    done = subprocess.run(
        command, input=json.dumps(initialize) + "\n", cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1
    answer = json.loads(lines[0])
    assert answer["id"] == 1 and answer["result"]["serverInfo"]["name"] == "kensaku"
    assert "MCP server on stdio" in done.stderr


def test_non_loopback_host_needs_token(seed_index: Path) -> None:
    """--host 0.0.0.0 without $KENSAKU_TOKEN is refused before the index is opened (exit status 2, one line)."""
    command = [sys.executable, "-m", "kensaku.cli", "mcp", "--index", str(seed_index), "--transport", "http"]
    done = subprocess.run(
        [*command, "--host", "0.0.0.0"], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "KENSAKU_TOKEN" in done.stderr and "Traceback" not in done.stderr

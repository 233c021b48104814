"""The guards of ``kensaku serve`` (kensaku/serve_limits.py) driven as ASGI directly: token, rate, body size."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from kensaku.errors import InputError
from kensaku.serve_cli import read_token
from kensaku.serve_limits import Guard, ServeLimits, TokenBucket, is_loopback, token_matches


def test_loopback_hosts() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.9.9.9", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "192.168.1.5", "::", "example.org", ""))


def test_token_matches_only_the_bearer_token() -> None:
    assert token_matches("Bearer abc", "abc") and token_matches("bearer abc ", "abc")
    assert not any(token_matches(h, "abc") for h in ("", "Bearer ab", "Basic abc", "Bearer abcd", "abc"))


def test_bucket_refills_at_its_rate_per_client() -> None:
    bucket = TokenBucket(rate=10.0, burst=3)
    assert [bucket.take("a", now=0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.take("b", now=0.0)  # another client has its own bucket
    assert not bucket.take("a", now=0.05) and bucket.take("a", now=0.2)  # 0.1 s gives one token back


def test_read_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KENSAKU_TOKEN", "from-env")
    assert read_token(None) == "from-env"
    (tmp_path / "t").write_text(" from-file \n")
    assert read_token(str(tmp_path / "t")) == "from-file"
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(InputError, match="is empty"):
        read_token(str(tmp_path / "empty"))
    with pytest.raises(InputError, match="cannot read the token file"):
        read_token(str(tmp_path / "missing"))


def run(guard: Guard, chunks: list[bytes], headers: dict[str, str], path: str = "/search") -> tuple[int, bytes]:
    """One request through ``guard``; the status and body sent back."""
    sent: list[dict[str, Any]] = []
    messages = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "path": path,
        "client": ("10.1.2.3", 5000),
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
    }
    asyncio.run(guard(scope, receive, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


async def echo(scope: Any, receive: Any, send: Any) -> None:
    """An app that sends back the body it read."""
    message = await receive()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": message["body"]})


def test_guard_order_and_json_errors() -> None:
    guard = Guard(echo, ServeLimits(max_body_bytes=10, rate=1, burst=3), token="tok")
    status, body = run(guard, [b"{}"], {})
    assert status == 401 and json.loads(body)["error"]["reason"] == "missing or wrong bearer token"
    assert run(guard, [b"", b"{}"], {"authorization": "Bearer tok"}) == (200, b"{}")  # streamed in, replayed
    assert run(guard, [b"{}"], {}, path="/health")[0] == 200  # open without the token
    status, body = run(guard, [b"{}"], {"authorization": "Bearer tok"})  # a burst of 3: the fourth is refused
    assert status == 429 and json.loads(body)["error"]["status"] == 429


def test_guard_refuses_large_bodies_by_length_and_by_stream() -> None:
    guard = Guard(echo, ServeLimits(max_body_bytes=10, rate=0), token=None)
    status, body = run(guard, [b"x" * 11], {"content-length": "11"})
    assert status == 413 and "11 bytes; the limit is 10 bytes" in json.loads(body)["error"]["reason"]
    status, _ = run(guard, [b"x" * 6, b"x" * 6], {})  # chunked: no Content-Length
    assert status == 413
    assert run(guard, [b"x" * 5, b"x" * 5], {}) == (200, b"x" * 10)

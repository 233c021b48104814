"""The guards of ``kensaku serve`` (:mod:`kensaku.serve`): the bearer token, the request body size and a per-client
rate limit, as one pure ASGI middleware that answers before FastAPI parses anything, and the JSON error body.

Every refusal is JSON, ``{"error": {"reason": ..., "fix": ..., "status": ...}}``, as every other error of the API.

>>> bucket = TokenBucket(rate=2.0, burst=2)
>>> [bucket.take("10.0.0.1", now=0.0) for _ in range(3)]
[True, True, False]
>>> bucket.take("10.0.0.1", now=0.5), bucket.take("10.0.0.2", now=0.5)
(True, True)
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

OPEN_PATHS = frozenset({"/health"})
"""Paths answered without the token (a load balancer's or a supervisor's liveness check)."""


@dataclass(frozen=True)
class ServeLimits:
    """What one request may ask for.

    Attributes:
        max_body_bytes: The largest request body (checked on ``Content-Length`` and while it streams): 413 past it.
        rate: Requests per second one client (IP address) may make on average; ``0`` turns the limit off.
        burst: Requests one client may make at once before ``rate`` applies: 429 past it.
    """

    max_body_bytes: int = 64 * 1024
    rate: float = 50.0
    burst: int = 100


def error_body(status: int, reason: str, fix: str = "") -> bytes:
    """The JSON error object: ``{"error": {"reason", "fix", "status"}}``."""
    return json.dumps({"error": {"reason": reason, "fix": fix, "status": status}}, ensure_ascii=False).encode()


def is_loopback(host: str) -> bool:
    """Whether binding to ``host`` keeps the server on this machine (``localhost``, ``127.0.0.0/8``, ``::1``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def token_matches(header: str, token: str) -> bool:
    """Whether an ``Authorization`` header carries ``Bearer <token>`` (compared in constant time)."""
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


class TokenBucket:
    """A token bucket per client: ``burst`` requests at once, refilled at ``rate`` per second. Thread-safe."""

    def __init__(self, rate: float, burst: int) -> None:
        """Start every client with a full bucket."""
        self.rate, self.burst = rate, burst
        self._buckets: dict[str, tuple[float, float]] = {}  # client → (tokens, when counted)
        self._lock = threading.Lock()

    def take(self, client: str, now: float | None = None) -> bool:
        """Take one token for ``client``; ``False`` when its bucket is empty (the request is refused)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, then = self._buckets.get(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - then) * self.rate)
            if len(self._buckets) > 10_000:  # forget clients whose buckets are full again
                self._buckets = {c: v for c, v in self._buckets.items() if v[0] + (now - v[1]) * self.rate < self.burst}
            if tokens < 1:
                self._buckets[client] = (tokens, now)
                return False
            self._buckets[client] = (tokens - 1, now)
            return True


class Guard:
    """ASGI middleware: rate limit, token (when set), then body size, before the app sees the request.

    Args:
        app: The FastAPI app.
        limits: The body and rate limits.
        token: The bearer token every request but :data:`OPEN_PATHS` must carry; ``None``: none asked.
    """

    def __init__(self, app: ASGIApp, limits: ServeLimits, token: str | None) -> None:
        """Wrap ``app``."""
        self.app, self.limits, self.token = app, limits, token
        self.bucket = TokenBucket(limits.rate, limits.burst) if limits.rate > 0 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse or pass on one request."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        refusal = self._refusal(scope, headers)
        if refusal is not None:
            await _respond(send, *refusal)
            return
        await self._guarded(scope, receive, send)

    def _refusal(self, scope: Scope, headers: dict[str, str]) -> tuple[int, str, str] | None:
        """``(status, reason, fix)`` when the request is refused before its body is read."""
        client = (scope.get("client") or ("unknown", 0))[0]
        if self.bucket is not None and not self.bucket.take(client):  # first: wrong tokens count too
            rate = f"{self.limits.rate:g} requests per second (burst {self.limits.burst})"
            return 429, f"too many requests from {client}: the limit is {rate}", "wait a moment and send it again"
        if self.token is not None and scope["path"] not in OPEN_PATHS:
            if not token_matches(headers.get("authorization", ""), self.token):
                return 401, "missing or wrong bearer token", "send the header 'Authorization: Bearer <token>'"
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.limits.max_body_bytes:
            return 413, *self._too_large(int(length))
        return None

    def _too_large(self, size: int | None) -> tuple[str, str]:
        """The reason and fix of a 413."""
        limit = self.limits.max_body_bytes
        said = f"{size:,} bytes" if size is not None else "more bytes"
        return f"the request body has {said}; the limit is {limit:,} bytes", "send a shorter request"

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Read the whole body first, counting it as it streams in (a chunked body has no ``Content-Length``), and
        refuse it past the limit; then run the app on it."""
        chunks: list[bytes] = []
        seen, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.limits.max_body_bytes:
                await _respond(send, 413, *self._too_large(None))
                return
            chunks.append(chunk)
            more = bool(message.get("more_body", False))
        body, given = b"".join(chunks), False

        async def replay() -> Message:
            nonlocal given
            if given:
                return await receive()  # waits for the disconnect
            given = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


async def _respond(send: Send, status: int, reason: str, fix: str) -> None:
    """Send a JSON error response."""
    body = error_body(status, reason, fix)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

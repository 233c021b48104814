"""A small client of ``kensaku serve`` (standard library only): search and similar through a running server.

The answers are the JSON objects ``kensaku search|similar --format json`` prints; an error of the server is raised
as the :class:`~kensaku.errors.KensakuError` the command line would have raised, with the same reason and fix.
:func:`hit_of` and :func:`results_of` turn an answer back into the :class:`~kensaku.index.search.Hit` and
:class:`~kensaku.index.search.Results` a local search returns (importing them only then).

>>> Client("http://127.0.0.1:8765/").base
'http://127.0.0.1:8765'
"""

from __future__ import annotations

import dataclasses
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kensaku.errors import FindingNotFoundError, InputError, KensakuError, QueryError

if TYPE_CHECKING:
    from kensaku.index.search import Hit, Results
    from kensaku.ingest.models import Finding

SCORES = ("bm25", "dense", "bm25_rank", "dense_rank", "relevance", "rerank")


class ServerError(KensakuError):
    """The server could not be reached, or it failed (5xx)."""


def _raised(status: int, reason: str, fix: str) -> KensakuError:
    """The library error a status stands for (404: no such finding, 422: bad query or value)."""
    if status == 404:
        return FindingNotFoundError(reason, fix)
    if status == 422:
        return QueryError(reason, fix)
    if status in (401, 403, 413, 429):
        return InputError(reason, fix)
    return ServerError(reason, fix)


def finding_of(data: Mapping[str, Any]) -> Finding:
    """A finding as the server sends it (:meth:`Finding.to_dict`), derived keys such as ``citation`` left out."""
    from kensaku.ingest.models import Finding

    names = {f.name for f in dataclasses.fields(Finding)}
    return Finding.from_dict({key: value for key, value in data.items() if key in names})


def hit_of(row: Mapping[str, Any]) -> Hit:
    """One result row of a search's JSON (:meth:`Hit.to_dict`) back as the :class:`~kensaku.index.search.Hit`.

    The finding is rebuilt from the row's finding fields (:func:`finding_of`), the scores from ``rank``, ``score``
    and the legs' fields.
    """
    from kensaku.index.results import Hit

    scores = {key: row[key] for key in SCORES}
    return Hit(rank=row["rank"], score=row["score"], finding=finding_of(row), **scores)


def results_of(data: Mapping[str, Any]) -> Results | tuple[str, list[Hit]]:
    """A block the server sent, back as the object :func:`kensaku.terminal.emit` prints: a search's
    :class:`~kensaku.index.search.Results` (it has ``total``), else similar's ``(query, hits)``."""
    from kensaku.index.results import Results

    hits = [hit_of(row) for row in data["results"]]
    if "total" not in data:
        return (data["query"], hits)
    exact, cutoff = data.get("total_exact", True), data.get("cutoff")  # an older server sends neither
    return Results(data["query"], hits, data["total"], data["answerable"], data["offset"], cutoff, exact)


class Client:
    """A connection to ``kensaku serve`` at ``base`` (``http://127.0.0.1:8765``).

    Args:
        base: The server's URL.
        token: The bearer token, when the server asks for one.
        timeout: Seconds to wait for one answer.
    """

    def __init__(self, base: str, token: str | None = None, timeout: float = 60.0) -> None:
        """Remember where the server is."""
        self.base, self.token, self.timeout = base.rstrip("/"), token, timeout

    def request(self, method: str, path: str, body: Mapping[str, object] | None = None) -> bytes:
        """The body of one answer.

        Raises:
            KensakuError: The server's error (reason and fix as the command line prints them), or unreachable.
        """
        data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                return bytes(answer.read())
        except urllib.error.HTTPError as exc:
            try:
                error = json.loads(exc.read())["error"]
            except (ValueError, KeyError, TypeError):
                raise ServerError(f"{self.base} answered {exc.code} {exc.reason}", "check the server's log") from exc
            raise _raised(exc.code, error["reason"], error.get("fix", "")) from exc
        except (urllib.error.URLError, OSError) as exc:
            why = getattr(exc, "reason", exc)
            raise ServerError(
                f"cannot reach the server at {self.base}: {why}", "start it with kensaku serve, or drop --server"
            ) from exc

    def get(self, path: str, params: Mapping[str, Any]) -> Any:  # noqa: ANN401 - JSON
        """GET ``path`` with ``params`` (lists repeat the key); the decoded JSON."""
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None}, doseq=True)
        return json.loads(self.request("GET", f"{path}?{query}"))

    def search(
        self,
        query: str,
        *,
        k: int = 10,
        offset: int = 0,
        mode: str = "hybrid",
        filters: Mapping[str, object] | None = None,
    ) -> dict[str, Any]:
        """``POST /search``: the object ``kensaku search --format json`` prints."""
        chosen = {key: value for key, value in (filters or {}).items() if value}
        body = {"query": query, "k": k, "offset": offset, "mode": mode, "filters": chosen}
        answer: dict[str, Any] = json.loads(self.request("POST", "/search", body))
        return answer

    def similar(
        self,
        finding_id: str | None = None,
        *,
        text: str | None = None,
        k: int = 10,
        other_municipalities: bool = False,
        filters: Mapping[str, object] | None = None,
    ) -> dict[str, Any]:
        """``GET /similar``: the object ``kensaku similar --format json`` prints."""
        params = {"id": finding_id, "text": text, "k": k, "other_municipalities": str(other_municipalities).lower()}
        answer: dict[str, Any] = self.get("/similar", {**params, **{k: v for k, v in (filters or {}).items() if v}})
        return answer

    def health(self) -> dict[str, Any]:
        """``GET /health``: fingerprint, findings, documents, model."""
        answer: dict[str, Any] = self.get("/health", {})
        return answer

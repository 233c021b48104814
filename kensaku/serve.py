"""``kensaku serve``: an HTTP JSON API over one index (FastAPI), the index and its model loaded once.

Endpoints (OpenAPI docs at ``/docs``, the schema at ``/openapi.json``):

- ``GET /search?q=…&k=…`` and ``POST /search`` (``query``, ``k``, ``offset``, ``mode``, ``filters``): the object
  ``kensaku search --format json`` prints (:func:`kensaku.terminal.block_dict`), every finding field and citation.
- ``GET /similar?id=…`` (or ``text=…``): the object ``kensaku similar --format json`` prints.
- ``GET /findings/{id}`` (``?last=ID``): the finding and the findings just before it and after it (or after
  ``last``) in its document.
- ``GET /manifest``, ``/facets``, ``/rows``, ``/findings/{id}/section``: what the app reads when it runs on a server
  (:mod:`kensaku.serve_browse`).
- ``GET /export?q=…&format=md``: the file ``kensaku export`` writes (the same bytes but the time it was made).
- ``GET /documents``; ``POST /documents`` and ``POST /documents/remove`` (``{"paths": [...]}``, paths on the
  server) when the server was started with write access.
- ``GET /health``: index fingerprint, findings, documents, model.

The guards (:mod:`kensaku.serve_limits`) run before a request is parsed: a bearer token (required on a non-loopback
host and for writes), the body size and a per-client rate limit. Every error is JSON,
``{"error": {"reason", "fix", "status"}}``, with the message the command line prints. Searches run in FastAPI's
thread pool, in parallel; :class:`~kensaku.api.Index` is safe to share between threads.
"""

from __future__ import annotations

import threading
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from kensaku.config import DEFAULTS, Settings
from kensaku.errors import FindingNotFoundError, IndexLockedError, InputError, KensakuError
from kensaku.serve_limits import Guard, ServeLimits, error_body

if TYPE_CHECKING:
    from kensaku.api import Index
    from kensaku.index.search import Filters

Mode = Literal["hybrid", "bm25", "dense"]
Kind = Literal["lesson", "practice"]
MEDIA_TYPES = {
    "md": "text/markdown; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


class FilterModel(BaseModel):
    """The filters of a search, as the command line's flags (each a list of values; ``kind`` one value)."""

    model_config = ConfigDict(extra="forbid")
    municipality: list[str] = []
    chapter: list[str] = []
    section: list[str] = []
    document: list[str] = []
    year: list[str] = []
    kind: Kind | None = None


class SearchRequest(BaseModel):
    """``POST /search``: what ``kensaku search`` takes."""

    model_config = ConfigDict(extra="forbid")
    query: str
    k: int = DEFAULTS.k
    offset: int = 0
    mode: Mode = "hybrid"
    filters: FilterModel = Field(default_factory=FilterModel)


class PathsRequest(BaseModel):
    """``POST /documents`` and ``POST /documents/remove``: files or folders on the server."""

    model_config = ConfigDict(extra="forbid")
    paths: list[str] = Field(min_length=1)


def status_of(error: KensakuError) -> int:
    """The HTTP status of a library error: 404 unknown finding, 409 index locked, 422 bad input, else 500."""
    if isinstance(error, FindingNotFoundError):
        return 404
    if isinstance(error, IndexLockedError):
        return 409
    return 422 if isinstance(error, InputError) else 500


def _error(status: int, reason: str, fix: str = "") -> Response:
    """A JSON error response."""
    return Response(error_body(status, reason, fix), status, media_type="application/json")


class Served:
    """The index a server answers from; a write swaps it for the new one (searches keep the one they started on)."""

    def __init__(self, index: Index, writable: bool) -> None:
        """Hold ``index``."""
        self.writable = writable
        self.current = (index, {f.id: i for i, f in enumerate(index.findings)})  # swapped as one
        self._write = threading.Lock()

    @property
    def index(self) -> Index:
        """The index served now."""
        return self.current[0]

    def swap(self, write: Any) -> Index:  # noqa: ANN401 - a callable of the old index returning the new one
        """Run one write at a time and serve its result."""
        with self._write:
            new: Index = write(self.index)
            self.current = (new, {f.id: i for i, f in enumerate(new.findings)})
            return new


def filters_from(model: FilterModel, index: Index) -> Filters:
    """The library's filters, each value checked against the index as the command line does.

    Raises:
        QueryError: A value no finding has, with the known values.
    """
    from kensaku.filtercheck import check_filters
    from kensaku.index.search import Filters

    kinds = [model.kind] if model.kind else []
    filters = Filters(
        municipalities=model.municipality,
        chapters=model.chapter,
        sections=model.section,
        kinds=kinds,
        documents=model.document,
        years=model.year,
    )
    check_filters(index.findings, filters)
    return filters


def _filter_params(
    municipality: Annotated[list[str], Query()] = [],  # noqa: B006 - FastAPI copies defaults
    chapter: Annotated[list[str], Query()] = [],  # noqa: B006
    section: Annotated[list[str], Query()] = [],  # noqa: B006
    document: Annotated[list[str], Query()] = [],  # noqa: B006
    year: Annotated[list[str], Query()] = [],  # noqa: B006
    kind: Kind | None = None,
) -> FilterModel:
    """The filters of a GET request: ``?municipality=加賀市&municipality=…&kind=lesson``."""
    return FilterModel(
        municipality=municipality, chapter=chapter, section=section, document=document, year=year, kind=kind
    )


def create_app(
    index_dir: str | Path,
    settings: Settings = DEFAULTS,
    token: str | None = None,
    writable: bool = False,
    limits: ServeLimits | None = None,
) -> FastAPI:
    """The API over the index at ``index_dir``, opened (and its model loaded) now.

    Args:
        index_dir: The index directory.
        settings: Search defaults (fusion, reranker, device) as the command line takes them.
        token: The bearer token every request but ``/health`` must carry; ``None``: none (loopback only).
        writable: Serve ``POST /documents`` and ``POST /documents/remove``; needs a ``token``.
        limits: Body size and rate limits (default :class:`ServeLimits`).

    Raises:
        InputError: ``writable`` without a token.
        IndexMissingError: No index there (and the other errors of :meth:`kensaku.api.Index.open`).
    """
    from kensaku.api import Index
    from kensaku.serve_browse import add_browse_routes

    if writable and not token:
        raise InputError("write access needs a token", "set $KENSAKU_TOKEN or give --token-file FILE")
    index = Index.open(index_dir, settings=settings)
    index.search("起動確認", 1)  # load the model, tokenizer and searcher before the first request
    served = Served(index, writable)
    app = FastAPI(title="kensaku", summary="Japanese semantic search over findings, with citations.")
    app.state.served = served
    _add_error_handlers(app)
    _add_search_routes(app, served)
    _add_document_routes(app, served)
    add_browse_routes(app, served)
    app.add_middleware(Guard, limits=limits or ServeLimits(), token=token)
    return app


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(KensakuError)
    async def kensaku_error(_: Request, exc: KensakuError) -> Response:
        return _error(status_of(exc), exc.reason, exc.fix)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> Response:
        parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        return _error(422, "; ".join(parts) or "invalid request", "see /docs for the parameters")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> Response:
        return _error(exc.status_code, str(exc.detail), "see /docs for the endpoints")


def _search(served: Served, body: SearchRequest) -> dict[str, object]:
    from kensaku.terminal import block_dict

    index = served.index
    filters = filters_from(body.filters, index)
    results = index.query(body.query, body.k, offset=body.offset, mode=body.mode, filters=filters)
    return block_dict(results)


def _add_search_routes(app: FastAPI, served: Served) -> None:
    @app.get("/health")
    def health() -> dict[str, object]:
        """Liveness and what is served: index fingerprint, findings, documents, model."""
        index = served.index
        manifest = index.manifest
        return {
            "status": "ok",
            "fingerprint": index.fingerprint,
            "findings": len(index),
            "documents": manifest.documents,
            "model": manifest.model.name,
            "writable": served.writable,
        }

    @app.get("/search")
    def search_get(
        filters: Annotated[FilterModel, Depends(_filter_params)],
        q: str = "",
        k: int = DEFAULTS.k,
        offset: int = 0,
        mode: Mode = "hybrid",
    ) -> dict[str, object]:
        """One page of results, as ``kensaku search --format json`` prints it."""
        return _search(served, SearchRequest(query=q, k=k, offset=offset, mode=mode, filters=filters))

    @app.post("/search")
    def search_post(body: SearchRequest) -> dict[str, object]:
        """As ``GET /search``, with the filters as an object."""
        return _search(served, body)

    _add_similar_routes(app, served)


def _add_similar_routes(app: FastAPI, served: Served) -> None:
    @app.get("/similar")
    def similar(
        filters: Annotated[FilterModel, Depends(_filter_params)],
        id: str | None = None,
        text: str | None = None,
        k: int = DEFAULTS.k,
        other_municipalities: bool = False,
    ) -> dict[str, object]:
        """Findings most like a finding (``id``) or a ``text``, as ``kensaku similar --format json`` prints them."""
        from kensaku.terminal import block_dict

        if (id is None) == (text is None):
            raise InputError(
                "give a finding id or --text TEXT (not both)", "e.g. kensaku similar ID --other-municipalities"
            )
        index = served.index
        checked = filters_from(filters, index)
        hits = index.similar(id, text=text, k=k, other_municipalities=other_municipalities, filters=checked)
        return block_dict((id or text or "", hits))

    @app.get("/findings/{finding_id}")
    def finding(finding_id: str, last: str | None = None) -> dict[str, object]:
        """The finding, and the findings just before it and just after it (or after ``last``, the last finding of
        a card) in its document (``null`` at either end)."""
        from kensaku.app.context import neighbours

        index, rows = served.current
        found = index.finding(finding_id)
        if last is not None and index.finding(last).document != found.document:
            raise InputError(f"finding {last!r} is not in the document of {found.id!r}", "give one of its findings")
        around = neighbours(index.findings, rows, found.id, last or found.id)
        before, after = around.previous, around.next
        return {
            "finding": found.to_dict(),
            "previous": before.to_dict() if before else None,
            "next": after.to_dict() if after else None,
        }

    @app.get("/export")
    def export(
        filters: Annotated[FilterModel, Depends(_filter_params)],
        q: str = "",
        format: str = "md",
        k: int = DEFAULTS.k,
        mode: Mode = "hybrid",
    ) -> Response:
        """The cited excerpts of one search as ``kensaku export --query q --format f`` writes them."""
        fmt, data, created = export_bytes(served.index, q, format, k, mode, filters)
        from kensaku.export import file_name

        disposition = f'attachment; filename="{file_name(fmt, created)}"'
        return Response(data, media_type=MEDIA_TYPES[fmt], headers={"content-disposition": disposition})


def export_bytes(
    index: Index, query: str, fmt: str, k: int, mode: Mode, model: FilterModel
) -> tuple[str, bytes, datetime]:
    """What ``kensaku export --query`` writes for one format: the format, the bytes and when it was made.

    Raises:
        InputError: An unknown format; QueryError: as a search.
    """
    from kensaku import __version__
    from kensaku.api import JST
    from kensaku.export import ExportMeta, check_format, export
    from kensaku.index.search import check_query

    fmt = check_format(fmt.strip().lower())
    question = check_query(query)
    filters = filters_from(model, index)
    hits = index.search(question, k, mode=mode, filters=filters)
    chosen = {"municipality": model.municipality, "chapter": model.chapter, "section": model.section}
    chosen.update(document=model.document, year=model.year, kind=[model.kind] if model.kind else [])
    chosen = {key: values for key, values in chosen.items() if values}
    meta = ExportMeta(question, datetime.now(JST), chosen, index.fingerprint, __version__, questions=())
    return fmt, export(hits, meta, fmt, queries=[question] * len(hits)), meta.created


def _add_document_routes(app: FastAPI, served: Served) -> None:
    @app.get("/documents")
    def documents() -> list[dict[str, Any]]:
        """The documents of the index (name, type, pages, findings, metadata, warnings, added)."""
        return [asdict(info) for info in served.index.documents()]

    read_only = ("this server is read-only", "start it with kensaku serve --writable (and a token)")

    @app.post("/documents", response_model=None)
    def add(body: PathsRequest) -> dict[str, object] | Response:
        """Add documents (files or folders on the server); only new and changed ones are embedded."""
        if not served.writable:
            return _error(403, *read_only)
        new = served.swap(lambda index: index.add(body.paths, wait=0))
        return {"fingerprint": new.fingerprint, "findings": len(new), "documents": new.manifest.documents}

    @app.post("/documents/remove", response_model=None)
    def remove(body: PathsRequest) -> dict[str, object] | Response:
        """Remove documents (recorded inputs of the index)."""
        if not served.writable:
            return _error(403, *read_only)
        new = served.swap(lambda index: index.remove(body.paths, wait=0))
        return {"fingerprint": new.fingerprint, "findings": len(new), "documents": new.manifest.documents}

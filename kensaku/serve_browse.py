"""The browsing side of ``kensaku serve``: what the app needs besides searching, so that it can run on a server.

The app (``$KENSAKU_SERVER``, :class:`kensaku.remote.RemoteIndex`) reads through these endpoints what it would
otherwise read from the index files, so it neither loads the model nor holds the findings:

- ``GET /manifest``: the index's ``manifest.json`` (with its checksum), the documents changed since the build
  (``stale``) and the command that brings the index up to date.
- ``GET /facets?muni=…&lessons_only=true``: the filter options with their counts, each narrowed by the other
  filters, in the order the app lists them (:func:`kensaku.app.filters.options`), and how many findings pass all of
  them (``matching``).
- ``GET /rows?id=…&id=…``: each finding's position in the index (unknown ids are left out), to group neighbouring
  hits into one card.
- ``GET /findings/{id}/section``: the whole ■ section of a finding, in document order.
- ``GET /documents/files`` and ``GET /documents/file?name=…``: which documents' original files are on the server,
  and one of them (a card's 「原文をダウンロード」).

The answers are computed by the same pure functions the app uses on a local index, so both show the same.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from fastapi import FastAPI, Query
from fastapi.responses import FileResponse, Response

from kensaku.serve_limits import error_body

if TYPE_CHECKING:
    from kensaku.serve import Served

# The app's filter keys (kensaku.app.filters.FIELDS) as query parameters.
FACET_PARAMS = ("doc", "muni", "year", "chapter", "section")
MAX_IDS = 500


def add_browse_routes(app: FastAPI, served: Served) -> None:
    """Register ``/manifest``, ``/facets``, ``/rows``, ``/documents/files``, ``/documents/file`` and
    ``/findings/{id}/section`` on ``app``."""
    reading = _readings(served)

    @app.get("/manifest")
    def manifest() -> dict[str, object]:
        """The index's manifest (as ``manifest.json`` holds it), the documents changed since the build, and the
        command that updates the index."""
        index = served.index
        return {
            "manifest": json.loads(index.manifest.to_json()),
            "stale": index.stale,
            "update_command": index.update_command(),
        }

    @app.get("/facets")
    def facets(
        doc: Annotated[list[str], Query()] = [],  # noqa: B006 - FastAPI copies defaults
        muni: Annotated[list[str], Query()] = [],  # noqa: B006
        year: Annotated[list[str], Query()] = [],  # noqa: B006
        chapter: Annotated[list[str], Query()] = [],  # noqa: B006
        section: Annotated[list[str], Query()] = [],  # noqa: B006
        lessons_only: bool = False,
    ) -> dict[str, object]:
        """The options of every filter with their counts (each counted over the findings passing the other
        filters), and the number of findings passing all of them."""
        from kensaku.app.filters import matching, options

        index = served.index
        chosen = {"doc": doc, "muni": muni, "year": year, "chapter": chapter, "section": section}
        chosen = {key: values for key, values in chosen.items() if values}
        found = options(index.findings, chosen, lessons_only, reading=reading(index.fingerprint))
        listed = {field: [{"value": o.value, "count": o.count} for o in values] for field, values in found.items()}
        return {"options": listed, "matching": matching(index.findings, chosen, lessons_only)}

    @app.get("/rows")
    def rows(id: Annotated[list[str], Query(max_length=MAX_IDS)] = []) -> dict[str, object]:  # noqa: B006
        """Each given finding's position in the index (ids it does not hold are left out)."""
        _, positions = served.current
        return {"rows": {finding_id: positions[finding_id] for finding_id in id if finding_id in positions}}

    @app.get("/documents/files")
    def files() -> dict[str, object]:
        """The names of the documents whose original file is on the server now (those ``/documents/file`` gives)."""
        return {"names": [info.name for info in served.index.documents() if Path(info.path).is_file()]}

    @app.get("/documents/file", response_model=None)
    def file(name: str) -> Response:
        """The original file of the document ``name`` (as a citation names it), as it is on the server now; 404
        when the index has no such document or its file is gone."""
        listed = [info for info in served.index.documents() if info.name == name]
        if not listed:
            return _not_found(f"no document named {name!r} in this index", "see GET /documents for the names")
        path = Path(listed[0].path)
        if not path.is_file():
            return _not_found(f"the file of {name!r} is no longer at {path}", "add the document again")
        return FileResponse(path, filename=path.name)

    @app.get("/findings/{finding_id}/section")
    def section(finding_id: str) -> dict[str, object]:
        """The finding's whole ■ section (its run of findings with the same document, municipality, chapter,
        section and heading), in document order."""
        from kensaku.app.context import section as section_of

        index, positions = served.current
        found = index.finding(finding_id)  # FindingNotFoundError: 404
        return {"findings": [f.to_dict() for f in section_of(index.findings, positions, found.id)]}


def _not_found(reason: str, fix: str) -> Response:
    """A JSON 404 with the library's reason and fix."""
    return Response(error_body(404, reason, fix), 404, media_type="application/json")


def _readings(served: Served) -> Callable[[str], Callable[[str], str]]:
    """The 50音順 sort key of the served index's tokenizer, one memo per index build."""

    @lru_cache(maxsize=2)
    def reading(fingerprint: str) -> Callable[[str], str]:
        return lru_cache(maxsize=None)(served.index.tokenizer.reading)

    return reading

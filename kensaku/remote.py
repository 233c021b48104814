"""An index served by ``kensaku serve``, seen through HTTP: what the app needs of :class:`~kensaku.api.Index`.

The app runs on a server when ``$KENSAKU_SERVER`` is set (``Settings.server``): it then loads neither the model
nor the index files. Searches, similar cases and findings come from the server; so do the filter options and the
context of a card (:mod:`kensaku.serve_browse`), computed there by the same functions the app uses on a local index.
Two things are done here: tokenizing the question for highlighting (MeCab, with the served index's own tokenizer
settings from its manifest) and writing exports (the same code as :meth:`kensaku.api.Index.export`, with the served
index's fingerprint), so both look as they do with a local index.

>>> RemoteIndex.__name__
'RemoteIndex'
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kensaku.client import Client, finding_of, hit_of, results_of

if TYPE_CHECKING:
    from kensaku.index.manifest import Manifest
    from kensaku.index.results import Hit, Results
    from kensaku.index.search import Filters
    from kensaku.index.tokenizer import Tokenizer
    from kensaku.ingest.models import Finding
    from kensaku.library import DocumentInfo

# Library filter fields → the server's filter parameters (kensaku.serve.FilterModel).
FILTER_PARAMS = {
    "municipalities": "municipality",
    "chapters": "chapter",
    "sections": "section",
    "documents": "document",
    "years": "year",
}


def filter_params(filters: Filters | None) -> dict[str, object]:
    """The server's filters for the library's ``filters`` (``kind``: one value at most).

    Raises:
        QueryError: Filters the server cannot take (several kinds, exclusions).
    """
    from kensaku.errors import QueryError

    if filters is None:
        return {}
    if len(filters.kinds) > 1 or filters.exclude_ids or filters.exclude_municipalities or filters.exclude_documents:
        raise QueryError("a server takes one kind and no exclusions", "narrow the filters")
    params: dict[str, object] = {name: list(getattr(filters, field)) for field, name in FILTER_PARAMS.items()}
    params["kind"] = filters.kinds[0] if filters.kinds else None
    return params


class RemoteIndex:
    """The index a running ``kensaku serve`` answers from (its build at the time this object was made).

    Args:
        base: The server's URL (``http://127.0.0.1:8765``).
        token: The bearer token, when the server asks for one.

    Raises:
        KensakuError: The server cannot be reached or refuses (``ServerError``, or the error it sent).
    """

    def __init__(self, base: str, token: str | None = None) -> None:
        """Read the served index's manifest."""
        from kensaku.index.manifest import Manifest

        self.client = Client(base, token=token)
        answer = json.loads(self.client.request("GET", "/manifest"))
        self._manifest = Manifest.from_json(json.dumps(answer["manifest"]), Path(self.client.base))
        self._stale: list[str] = list(answer["stale"])
        self._update: str = answer["update_command"]
        self._tokenizer: Tokenizer | None = None
        self._lock = threading.Lock()

    @property
    def base(self) -> str:
        """The server's URL."""
        return self.client.base

    def stamp(self) -> str:
        """The fingerprint of the index the server answers from now (one ``GET /health``)."""
        return str(self.client.health()["fingerprint"])

    @property
    def manifest(self) -> Manifest:
        """The served index's manifest."""
        return self._manifest

    @property
    def fingerprint(self) -> str:
        """The served index build."""
        return self._manifest.fingerprint

    @property
    def stale(self) -> list[str]:
        """Documents changed on the server since the index was built."""
        return self._stale

    def update_command(self) -> str:
        """The command that brings the served index up to date (run where the server runs)."""
        return self._update

    def __len__(self) -> int:
        """Number of findings."""
        return self._manifest.findings

    @property
    def tokenizer(self) -> Tokenizer:
        """A tokenizer with the served index's settings (for highlighting; searches are tokenized by the server)."""
        from kensaku.index.tokenizer import Tokenizer

        with self._lock:
            if self._tokenizer is None:
                self._tokenizer = Tokenizer(self._manifest.tokenizer)
            return self._tokenizer

    def finding(self, finding_id: str) -> Finding:
        """The finding with ``finding_id``; raises :class:`~kensaku.errors.FindingNotFoundError`."""
        return finding_of(self._finding(finding_id)["finding"])

    def _finding(self, finding_id: str, last: str | None = None) -> dict[str, Any]:
        answer: dict[str, Any] = self.client.get(f"/findings/{urllib.parse.quote(finding_id, safe='')}", {"last": last})
        return answer

    def neighbours(self, first_id: str, last_id: str = "") -> tuple[Finding | None, Finding | None]:
        """The finding before ``first_id`` and the one after ``last_id`` (default ``first_id``) in their document."""
        answer = self._finding(first_id, last_id or None)
        before, after = answer["previous"], answer["next"]
        return (None if before is None else finding_of(before), None if after is None else finding_of(after))

    def section(self, finding_id: str) -> list[Finding]:
        """The whole ■ section of the finding, in document order."""
        answer = self.client.get(f"/findings/{urllib.parse.quote(finding_id, safe='')}/section", {})
        return [finding_of(row) for row in answer["findings"]]

    def rows(self, finding_ids: Sequence[str]) -> dict[str, int]:
        """The positions in the index of ``finding_ids`` (ids the index does not hold are left out)."""
        if not finding_ids:
            return {}
        rows: dict[str, int] = self.client.get("/rows", {"id": list(finding_ids)})["rows"]
        return rows

    def facets(
        self, chosen: Mapping[str, Sequence[str]], lessons_only: bool
    ) -> tuple[dict[str, list[tuple[str, int]]], int]:
        """The filter options ``(value, count)`` of each of the app's filter keys, and how many findings pass."""
        params = {key: list(values) for key, values in chosen.items() if values}
        answer = self.client.get("/facets", {**params, "lessons_only": str(lessons_only).lower()})
        found = {key: [(row["value"], int(row["count"])) for row in rows] for key, rows in answer["options"].items()}
        return found, int(answer["matching"])

    def query(
        self, query: str, k: int = 10, *, offset: int = 0, filters: Filters | None = None, reranker: object = None
    ) -> Results:
        """One page of results with the total, as :meth:`kensaku.api.Index.query` (the server's own settings
        rank; a reranker is the server's, so ``reranker`` must be ``None``)."""
        from kensaku.errors import QueryError

        if reranker is not None:
            raise QueryError("a server reranks with its own settings", "start kensaku serve --reranker NAME")
        found = results_of(self.client.search(query, k=k, offset=offset, filters=filter_params(filters)))
        assert not isinstance(found, tuple)  # a search's block always has its total
        return found

    def similar(
        self,
        finding_id: str | None = None,
        *,
        text: str | None = None,
        k: int = 10,
        other_municipalities: bool = False,
        filters: Filters | None = None,
    ) -> list[Hit]:
        """Findings most like a finding or a text, as :meth:`kensaku.api.Index.similar`."""
        data = self.client.similar(
            finding_id, text=text, k=k, other_municipalities=other_municipalities, filters=filter_params(filters)
        )
        return [hit_of(row) for row in data["results"]]

    def export(
        self,
        hits: Sequence[Hit],
        fmt: str,
        *,
        query: str = "",
        queries: Sequence[str] | None = None,
        notes: Sequence[str] | None = None,
        filters: Mapping[str, Sequence[str]] | None = None,
        created: datetime | None = None,
    ) -> bytes:
        """The hits as cited excerpts, as :meth:`kensaku.api.Index.export` writes them for the served index."""
        from kensaku.api import export_hits

        return export_hits(
            hits, fmt, self.fingerprint, query=query, queries=queries, notes=notes, filters=filters, created=created
        )

    def documents(self) -> list[DocumentInfo]:
        """The documents of the served index (their paths are on the server)."""
        from kensaku.library import DocumentInfo

        rows = self.client.get("/documents", {})
        return [DocumentInfo(**{**row, "tags": tuple(row["tags"]), "warnings": tuple(row["warnings"])}) for row in rows]

    def available_files(self) -> set[str]:
        """The names of the documents whose original file the server has now."""
        return set(self.client.get("/documents/files", {})["names"])

    def document_file(self, name: str) -> bytes:
        """The original file of the document ``name``, from the server.

        Raises:
            SourceNotFoundError: The index has no such document, or its file is gone from the server.
        """
        from kensaku.errors import FindingNotFoundError, SourceNotFoundError

        try:
            return self.client.request("GET", "/documents/file?" + urllib.parse.urlencode({"name": name}))
        except FindingNotFoundError as exc:  # the client's reading of a 404
            raise SourceNotFoundError(exc.reason, exc.fix) from exc

    def __repr__(self) -> str:
        """``RemoteIndex(280 findings, http://127.0.0.1:8765)``."""
        return f"RemoteIndex({len(self)} findings, {self.base})"

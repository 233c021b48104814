"""What the app reads of its index, whether it opened the index itself or searches through a running server.

With ``$KENSAKU_SERVER`` the app holds a :class:`~kensaku.remote.RemoteIndex` instead of an
:class:`~kensaku.api.Index`. Both search, find similar cases, look up findings, list documents and export the same
way; what the app otherwise computes over all the findings of a local index (filter options and counts, positions
for grouping a card, a card's neighbours and ■ section) the server computes with the same functions
(:mod:`kensaku.serve_browse`). These functions take either and hide the difference from the pages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache

from kensaku.api import Index
from kensaku.app.context import Neighbours, neighbours, section
from kensaku.app.filters import Option, matching, options
from kensaku.app.grouping import positions
from kensaku.ingest.models import Finding
from kensaku.remote import RemoteIndex

AppIndex = Index | RemoteIndex

_READERS: dict[str, Callable[[str], str]] = {}


def reader(index: Index) -> Callable[[str], str]:
    """Sort key for names in 50音順: their MeCab reading by the index's tokenizer, memoised per name and build."""
    found = _READERS.get(index.fingerprint)
    if found is None:
        if len(_READERS) >= 4:
            _READERS.clear()
        found = _READERS[index.fingerprint] = lru_cache(maxsize=None)(index.tokenizer.reading)
    return found


def filter_options(index: AppIndex, chosen: Mapping[str, Sequence[str]], lessons_only: bool) -> dict[str, list[Option]]:
    """The options of every filter with their counts, each narrowed by the other filters
    (:func:`kensaku.app.filters.options`)."""
    if isinstance(index, RemoteIndex):
        found, _ = index.facets(chosen, lessons_only)
        return {key: [Option(value, count) for value, count in rows] for key, rows in found.items()}
    return options(index.findings, chosen, lessons_only, reading=reader(index))


def matching_count(index: AppIndex, chosen: Mapping[str, Sequence[str]], lessons_only: bool) -> int:
    """How many findings pass all the filters."""
    if isinstance(index, RemoteIndex):
        return index.facets(chosen, lessons_only)[1]
    return matching(index.findings, chosen, lessons_only)


_ROWS: dict[str, Mapping[str, int]] = {}


def rows_of(index: AppIndex, finding_ids: Sequence[str]) -> Mapping[str, int]:
    """The positions in the index of (at least) ``finding_ids``, for grouping neighbouring hits into one card."""
    if isinstance(index, RemoteIndex):
        return index.rows(list(dict.fromkeys(finding_ids)))
    found = _ROWS.get(index.fingerprint)
    if found is None:
        if len(_ROWS) >= 4:
            _ROWS.clear()
        found = _ROWS[index.fingerprint] = positions(index.findings)
    return found


def around(index: AppIndex, first_id: str, last_id: str) -> Neighbours:
    """The finding before ``first_id`` and the one after ``last_id`` in their document."""
    if isinstance(index, RemoteIndex):
        return Neighbours(*index.neighbours(first_id, last_id))
    return neighbours(index.findings, rows_of(index, ()), first_id, last_id)


def section_of(index: AppIndex, finding_id: str) -> list[Finding]:
    """The whole ■ section of a finding, in document order."""
    if isinstance(index, RemoteIndex):
        return index.section(finding_id)
    return section(index.findings, rows_of(index, ()), finding_id)

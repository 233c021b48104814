"""Check what a search asks before it runs: the query text (:func:`check_query`) and the restrictions on the
findings it may return (:class:`Filters`); read and write no files."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace

from kensaku.config import DEFAULTS
from kensaku.errors import QueryError
from kensaku.index.hybrid import MODES
from kensaku.ingest.models import KINDS, Finding


@dataclass(frozen=True)
class Filters:
    """Restrict results to findings whose fields are among the given values (empty = no restriction).

    Any sequence of strings may be given; it is kept as a tuple. ``documents`` are file names as in
    ``Finding.document``; ``years`` are matched against ``finding.extra["year"]`` (the document's year or 年度 set as
    metadata; a finding without one matches no year).

    >>> Filters(municipalities=["加賀市"]).municipalities
    ('加賀市',)
    """

    municipalities: Sequence[str] = ()
    chapters: Sequence[str] = ()
    sections: Sequence[str] = ()
    kinds: Sequence[str] = ()
    exclude_municipalities: Sequence[str] = ()
    exclude_ids: Sequence[str] = ()
    documents: Sequence[str] = ()
    years: Sequence[str] = ()
    exclude_documents: Sequence[str] = ()

    def __post_init__(self) -> None:
        """Keep every value as a tuple; reject a bare string (a sequence of characters) and an unknown kind."""
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, str):
                raise QueryError(f"Filters({item.name}={value!r}) is a string", f"give a list: [{value!r}]")
            object.__setattr__(self, item.name, tuple(value))
        unknown = [k for k in self.kinds if k not in KINDS]
        if unknown:
            raise QueryError(f"unknown kind {unknown[0]!r}", f"use one of {', '.join(KINDS)}")

    @property
    def active(self) -> bool:
        """Whether any restriction is set."""
        return any(
            (
                self.municipalities,
                self.chapters,
                self.sections,
                self.kinds,
                self.exclude_municipalities,
                self.exclude_ids,
                self.documents,
                self.years,
                self.exclude_documents,
            )
        )

    def accepts(self, finding: Finding) -> bool:
        """Whether ``finding`` passes every restriction."""
        checks = (
            (self.municipalities, finding.municipality),
            (self.chapters, finding.chapter),
            (self.sections, finding.section),
            (self.kinds, finding.kind),
            (self.documents, finding.document),
            (self.years, finding.extra.get("year", "")),
        )
        if any(allowed and value not in allowed for allowed, value in checks):
            return False
        return (
            finding.municipality not in self.exclude_municipalities
            and finding.id not in self.exclude_ids
            and finding.document not in self.exclude_documents
        )


# Letters and symbols that show nothing (Hangul fillers, the blank braille pattern): a query of only these, of
# whitespace (also U+00A0, U+3000), controls, format characters (ZWSP U+200B, BOM U+FEFF, U+2060) and combining marks
# without a base is empty.
_BLANK_CHARACTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
_BLANK_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "Me"})


def check_query(query: str) -> str:
    """Return the stripped query or raise :class:`QueryError` for an empty, undecodable or over-long one.

    A query of only invisible characters is empty; one with lone surrogates (bytes that were not UTF-8, as Python
    decodes a command line typed in another encoding) is refused.

    >>> check_query("  フェローの契約形態は　")
    'フェローの契約形態は'
    >>> check_query("\u200b\ufeff\u3000")
    Traceback (most recent call last):
    kensaku.errors.QueryError: the query is empty; type a question such as 「フェローの契約形態は」
    """
    if any("\ud800" <= ch <= "\udfff" for ch in query):
        raise QueryError(
            "the query contains bytes that are not UTF-8 (it was typed or passed in another encoding)",
            "use a UTF-8 terminal (e.g. LANG=ja_JP.UTF-8), or write the queries to a UTF-8 file for --queries",
        )
    text = query.strip()
    if all(ch in _BLANK_CHARACTERS or unicodedata.category(ch) in _BLANK_CATEGORIES for ch in text):
        raise QueryError("the query is empty", "type a question such as 「フェローの契約形態は」")
    if len(text) > DEFAULTS.max_query_chars:
        raise QueryError(
            f"the query has {len(text):,} characters, over the limit of {DEFAULTS.max_query_chars:,}",
            "shorten it to the question you want answered",
        )
    return text


def similar_filters(source: Finding, filters: Filters, other_municipalities: bool) -> Filters:
    """``filters`` for the findings similar to ``source``: ``source`` itself excluded, and with
    ``other_municipalities`` the findings of its municipality too (or of its document when it has no municipality:
    a user's file nobody set one for, where "elsewhere" is another document, never the same one)."""
    exclude_muni, exclude_docs = filters.exclude_municipalities, filters.exclude_documents
    if other_municipalities and source.municipality:
        exclude_muni = (*exclude_muni, source.municipality)
    elif other_municipalities:
        exclude_docs = (*exclude_docs, source.document)
    return replace(
        filters,
        exclude_municipalities=exclude_muni,
        exclude_documents=exclude_docs,
        exclude_ids=(*filters.exclude_ids, source.id),
    )


def check_mode_and_k(mode: str, k: int) -> None:
    """Refuse an unknown search ``mode`` or a ``k`` out of range (both searchers' ``rank_vectors``)."""
    if mode not in MODES:
        raise QueryError(f"unknown mode {mode!r}", f"use one of {', '.join(MODES)}")
    if not 1 <= k <= DEFAULTS.max_k:
        raise QueryError(f"k={k} is out of range", f"use 1 to {DEFAULTS.max_k}")


def check_page(offset: int, k: int) -> None:
    """Refuse a page that starts before the first result or ends past :attr:`Settings.max_k`."""
    if offset < 0 or offset + k > DEFAULTS.max_k:
        raise QueryError(
            f"offset={offset} with k={k} is out of range", f"keep 0 <= offset and offset + k <= {DEFAULTS.max_k}"
        )


def check_terms(text: str, terms: Sequence[str], mode: str) -> None:
    """Refuse a ``bm25`` search whose query has no word to match."""
    if mode == "bm25" and not terms:
        raise QueryError(
            f"the query {text[:40]!r} has no word for BM25 (only symbols, particles or spaces)",
            "add a content word, or search in hybrid or dense mode",
        )

"""The sidebar's filter options (pure logic, no Streamlit): cascading counts, report order and 50音順.

Each filter offers the values found in the findings that pass the *other* filters (so 節 is narrowed by 章, and a
municipality's documents by the municipality), each with its count: 「加賀市（12）」. 章 and 節 are listed in
report order (the order they first appear in the index); 文書 and 自治体 in 50音順 by their reading (the MeCab
reading of the index's tokenizer, :meth:`~kensaku.index.tokenizer.Tokenizer.reading`; names it cannot read sort by
their NFKC form); 年度 in ascending order.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from kensaku.index.columns import FIELDS as FIELDS_OF_COLUMNS
from kensaku.index.columns import Columns
from kensaku.ingest.models import Finding

# URL parameter / state key → what a finding holds for it.
FIELDS: tuple[str, ...] = ("doc", "muni", "year", "chapter", "section")
# State key → the index's column (kensaku.index.columns.FIELDS).
COLUMN: dict[str, str] = {
    "doc": "document",
    "muni": "municipality",
    "year": "year",
    "chapter": "chapter",
    "section": "section",
}
LABELS: dict[str, str] = {"doc": "文書", "muni": "自治体", "year": "年度", "chapter": "章", "section": "節"}
REPORT_ORDER = frozenset({"chapter", "section"})
READING_ORDER = frozenset({"doc", "muni"})


def value_of(finding: Finding, field: str) -> str:
    """The value of filter ``field`` for ``finding`` (``""``: the finding has none).

    >>> f = Finding("d:L1", "t", "d.txt", "加賀市", "推進体制", "", "", "lesson", 1, 1, "d.txt", extra={"year": "2023"})
    >>> [value_of(f, field) for field in FIELDS]
    ['d.txt', '加賀市', '2023', '推進体制', '']
    """
    if field == "doc":
        return finding.document
    if field == "muni":
        return finding.municipality
    if field == "year":
        return finding.extra.get("year", "")
    if field == "chapter":
        return finding.chapter
    if field == "section":
        return finding.section
    raise KeyError(field)


@dataclass(frozen=True)
class Option:
    """One value a filter can take, and how many findings have it (given the other filters)."""

    value: str
    count: int

    @property
    def label(self) -> str:
        """``加賀市（12）``."""
        return f"{self.value}（{self.count}）"


def passes(finding: Finding, chosen: Mapping[str, Sequence[str]], lessons_only: bool, *, skip: str = "") -> bool:
    """Whether ``finding`` passes every chosen filter except ``skip``."""
    if lessons_only and finding.kind != "lesson":
        return False
    return all(not values or value_of(finding, field) in values for field, values in chosen.items() if field != skip)


def nfkc_key(value: str) -> str:
    """The default sort key: NFKC form (full-width and half-width forms meet)."""
    return unicodedata.normalize("NFKC", value)


def _year_key(value: str) -> tuple[int, str]:
    return (int(value), value) if value.isdigit() else (10**9, value)


def options(
    findings: Sequence[Finding],
    chosen: Mapping[str, Sequence[str]],
    lessons_only: bool = False,
    *,
    reading: Callable[[str], str] = nfkc_key,
) -> dict[str, list[Option]]:
    """The options of every filter, each counted over the findings that pass the other filters.

    A chosen value is always offered (with count 0 when the other filters leave none), so a choice never vanishes
    from its widget.

    Args:
        findings: All findings of the index, in index order.
        chosen: The values chosen per field (``doc``, ``muni``, ``year``, ``chapter``, ``section``).
        lessons_only: Only 知見・課題 findings count.
        reading: Sort key for 文書 and 自治体 (their reading, for 50音順).

    Returns:
        Options per field, in display order.
    """
    columns = getattr(findings, "columns", None)
    if isinstance(columns, Columns):  # an index's findings: counted over the code columns, no row is read
        return _column_options(columns, chosen, lessons_only, reading)
    counts: dict[str, Counter[str]] = {field: Counter() for field in FIELDS}
    first_seen: dict[str, dict[str, int]] = {field: {} for field in FIELDS}
    for row, finding in enumerate(findings):
        for field in FIELDS:
            value = value_of(finding, field)
            if not value:
                continue
            first_seen[field].setdefault(value, row)
            if passes(finding, chosen, lessons_only, skip=field):
                counts[field][value] += 1
    result: dict[str, list[Option]] = {}
    for field in FIELDS:
        values = {v for v, n in counts[field].items() if n} | set(chosen.get(field, ()))
        result[field] = [Option(v, counts[field][v]) for v in _ordered(field, values, first_seen[field], reading)]
    return result


def _ordered(field: str, values: set[str], first_seen: Mapping[str, int], reading: Callable[[str], str]) -> list[str]:
    if field in REPORT_ORDER:
        return sorted(values, key=lambda v: (first_seen.get(v, len(first_seen)), v))
    if field in READING_ORDER:
        return sorted(values, key=lambda v: (nfkc_key(reading(v)), v))
    return sorted(values, key=_year_key)


def matching(findings: Sequence[Finding], chosen: Mapping[str, Sequence[str]], lessons_only: bool) -> int:
    """How many findings pass all the filters."""
    columns = getattr(findings, "columns", None)
    if isinstance(columns, Columns):
        return int(np.count_nonzero(_passing(columns, chosen, lessons_only)))
    return sum(passes(finding, chosen, lessons_only) for finding in findings)


def _passing(columns: Columns, chosen: Mapping[str, Sequence[str]], lessons_only: bool, skip: str = "") -> np.ndarray:
    """Mask of the rows passing every chosen filter except ``skip`` (:func:`passes` over the columns)."""
    mask = columns.mask("kind", ["lesson"]) if lessons_only else np.ones(columns.n_rows, dtype=bool)
    for field, values in chosen.items():
        if values and field != skip:
            mask &= columns.mask(COLUMN[field], list(values))
    return mask


def _column_options(
    columns: Columns, chosen: Mapping[str, Sequence[str]], lessons_only: bool, reading: Callable[[str], str]
) -> dict[str, list[Option]]:
    """:func:`options` over the code columns (a column's values are in first-seen order: code = first row's rank)."""
    result: dict[str, list[Option]] = {}
    for field in FIELDS:
        name = COLUMN[field]
        values = columns.values[name]
        codes = columns.codes[FIELDS_OF_COLUMNS.index(name)]
        counted = np.bincount(codes[_passing(columns, chosen, lessons_only, skip=field)], minlength=len(values))
        count = {v: int(n) for v, n in zip(values, counted, strict=True) if v}
        offered = {v for v, n in count.items() if n} | set(chosen.get(field, ()))
        first_seen = {v: code for code, v in enumerate(values)}
        result[field] = [Option(v, count.get(v, 0)) for v in _ordered(field, offered, first_seen, reading)]
    return result


def describe(chosen: Mapping[str, Sequence[str]], lessons_only: bool) -> list[str]:
    """The filters that are set, in words: ``["自治体: 加賀市、松山市", "知見・課題のみ"]``."""
    parts = [f"{LABELS[field]}: {'、'.join(values)}" for field, values in chosen.items() if values]
    return [*parts, "知見・課題のみ"] if lessons_only else parts

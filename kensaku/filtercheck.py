"""Filter values checked against what an index holds: a value no finding has is refused with the known values.

A filter value that matches nothing (``--municipality 加賀`` where the index says 「加賀市」) would give an empty
result that looks like "nothing relevant"; :func:`check_filters` refuses it instead, naming the value, the closest
known values (「加賀」 → 「加賀市」) and the first known values with their count. The command line calls it before
searching; the app can call it on values typed by hand.

>>> from kensaku.ingest.models import Finding
>>> findings = [Finding("a:L1", "text", "a.txt", "加賀市", "推進体制", "", "", "practice", 1, 1, "a.txt｜L1")]
>>> values_of(findings, "municipalities")
['加賀市']
>>> suggestions("加賀", ["会津若松市", "加賀市"])
['加賀市']
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from kensaku.errors import QueryError

if TYPE_CHECKING:
    from kensaku.index.search import Filters
    from kensaku.ingest.models import Finding

# Filter field → (what one value is called, what several are called).
NAMES: dict[str, tuple[str, str]] = {
    "municipalities": ("municipality", "municipalities"),
    "chapters": ("chapter", "chapters"),
    "sections": ("section", "sections"),
    "documents": ("document", "documents"),
    "years": ("year", "years"),
}
SHOWN = 10  # known values listed in a message
CLOSE = 3  # close matches suggested first


def _year(finding: Finding) -> str:
    return str(finding.extra.get("year", "") or "")


VALUE_OF: dict[str, Callable[[Finding], str]] = {
    "municipalities": lambda f: f.municipality,
    "chapters": lambda f: f.chapter,
    "sections": lambda f: f.section,
    "documents": lambda f: f.document,
    "years": _year,
}


def values_of(findings: Iterable[Finding], field: str) -> list[str]:
    """The distinct non-empty values of filter ``field`` in ``findings``: in index (report) order, years sorted.

    The findings of an index (a :class:`~kensaku.index.columns.FindingTable`) answer from their code columns without
    reading a row.
    """
    columns = getattr(findings, "columns", None)
    if columns is not None:
        values = columns.present(NAMES[field][0])
    else:
        values = list(dict.fromkeys(value for value in map(VALUE_OF[field], findings) if value))
    return sorted(values, key=lambda v: (len(v), v)) if field == "years" else values


def _key(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold().strip()


def suggestions(value: str, known: Sequence[str], n: int = CLOSE) -> list[str]:
    """The known values closest to ``value``: those containing it (or contained in it) first, then difflib's close
    matches (NFKC and case folded, so 「１．推進体制」 finds 「1.推進体制」)."""
    wanted = _key(value)
    keys = {_key(k): k for k in known}
    out = [k for key, k in keys.items() if wanted and (wanted in key or key in wanted)]
    out.sort(key=lambda k: abs(len(_key(k)) - len(wanted)))
    out += [keys[m] for m in difflib.get_close_matches(wanted, list(keys), n=n, cutoff=0.5) if keys[m] not in out]
    return out[:n]


def _quoted(values: Iterable[str]) -> str:
    return "".join(f"「{v}」" for v in values)


def describe_unknown(field: str, value: str, known: Sequence[str]) -> tuple[str, str]:
    """``(reason, fix)`` for a value of filter ``field`` that no finding has: the close matches, then known values."""
    one, many = NAMES[field]
    reason = f"no finding in this index has {one} 「{value}」"
    if not known:
        hint = " (set them with `kensaku meta PATH --municipality …`)" if field == "municipalities" else ""
        return reason, f"this index has no {one} values{hint}; drop this filter"
    close = suggestions(value, known)
    parts = [f"did you mean {_quoted(close)}?"] if close else []
    more = f" … and {len(known) - SHOWN} more" if len(known) > SHOWN else ""
    parts.append(f"this index has {len(known)} {one if len(known) == 1 else many}: {_quoted(known[:SHOWN])}{more}")
    return reason, " ".join(parts)


def check_filters(findings: Sequence[Finding], filters: Filters) -> None:
    """Refuse filter values that no finding of ``findings`` has (municipalities, chapters, sections, documents,
    years; kinds are checked by :class:`~kensaku.index.query.Filters` itself, exclusions may name anything).

    Raises:
        QueryError: Naming each unknown value, the closest known values and the known values (up to
            :data:`SHOWN`) with their count.
    """
    problems = []
    for field in NAMES:
        wanted = [str(v) for v in getattr(filters, field)]
        if not wanted:
            continue
        known = values_of(findings, field)
        present = set(known)
        problems += [describe_unknown(field, value, known) for value in dict.fromkeys(wanted) if value not in present]
    if len(problems) == 1:
        raise QueryError(*problems[0])
    if problems:
        raise QueryError(
            "; ".join(f"{reason}: {fix}" for reason, fix in problems), "use values the index holds, or drop the filters"
        )

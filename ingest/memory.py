"""Findings from texts held in memory (strings or dicts with metadata), for indexing without files.

Each item becomes one finding, cited by its position in the list (``#3``); it is not split, so the caller chooses
the granularity. Keys other than the finding fields are kept in ``Finding.extra``.

>>> finding = texts_to_findings([{"text": "住民の会費を原資にする。", "municipality": "仙台市", "url": "https://…"}])[0]
>>> finding.id, finding.citation, finding.extra
('texts:1', 'texts｜仙台市｜#1', {'url': 'https://…'})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from kensaku.errors import InputError
from kensaku.ingest.models import KINDS, Finding, Kind, format_citation, format_location, normalize_heading
from kensaku.ingest.normalize import clean_text

TextItem = str | Mapping[str, object]
FIELDS = ("id", "text", "municipality", "chapter", "section", "heading", "kind", "citation")
UNIT = "#"


def _field(data: Mapping[str, object], key: str) -> str:
    value = data.get(key)
    return clean_text(str(value)) if value is not None else ""


def _kind(value: str, number: int) -> Kind:
    if value in ("", "practice"):
        return "practice"
    if value == "lesson":
        return "lesson"
    raise InputError(f"item {number} has kind {value!r}", f"use one of {', '.join(KINDS)}")


def _finding(item: TextItem, number: int, name: str) -> Finding:
    if not isinstance(item, str | Mapping):
        raise InputError(f"item {number} is a {type(item).__name__}", "give a string or a dict with a 'text' key")
    data: Mapping[str, object] = {"text": item} if isinstance(item, str) else item
    text = _field(data, "text")
    if not text:
        raise InputError(f"item {number} has no text", "give every item a non-empty 'text'")
    municipality, chapter, section, heading = (
        _field(data, k) for k in ("municipality", "chapter", "section", "heading")
    )
    path = (chapter, section, heading)
    chapter, section = normalize_heading(chapter), normalize_heading(section)  # filter values agree across sources
    location = format_location(number, number, unit=UNIT)
    return Finding(
        id=_field(data, "id") or f"{name}:{number}",
        text=text,
        document=name,
        municipality=municipality,
        chapter=chapter,
        section=section,
        heading=heading,
        kind=_kind(_field(data, "kind"), number),
        line_start=number,
        line_end=number,
        citation=_field(data, "citation")
        or format_citation(document=name, municipality=municipality, path=path, location=location),
        title=name,
        line_unit=UNIT,
        extra={key: str(value) for key, value in data.items() if key not in FIELDS and value is not None},
    )


def texts_to_findings(texts: Sequence[TextItem], *, name: str = "texts") -> list[Finding]:
    """One finding per item, in order.

    Args:
        texts: Strings, or dicts with ``text`` and optionally ``id``, ``municipality``, ``chapter``, ``section``,
            ``heading``, ``kind`` and ``citation``; other keys go to ``extra``.
        name: Document name, used in default ids (``texts:1``) and citations.

    Raises:
        InputError: An item is not a string or dict, has no text or an unknown kind, or two ids are the same.
    """
    if isinstance(texts, str):
        raise InputError("texts is one string", "give a list of strings: [text]")
    findings = [_finding(item, number, name) for number, item in enumerate(texts, start=1)]
    seen: dict[str, int] = {}
    for number, finding in enumerate(findings, start=1):
        if finding.id in seen:
            raise InputError(
                f"items {seen[finding.id]} and {number} have the same id {finding.id!r}", "ids must be unique"
            )
        seen[finding.id] = number
    return findings

"""Load a BEIR ``corpus.jsonl`` (one ``{"_id", "title", "text"}`` object per line) as findings.

A line may also carry ``municipality``, ``chapter`` and ``section`` (strings), at the top level or inside a
``metadata`` object (a top-level value wins over a nested one); they become the finding's fields, so filters
work on such a corpus.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from kensaku.errors import DocumentError
from kensaku.ingest.filenames import display_name
from kensaku.ingest.models import Finding, format_citation, format_location
from kensaku.ingest.normalize import clean_text

META_FIELDS = ("municipality", "chapter", "section")


def _meta(record: dict[str, object], *, line_no: int, shown: str) -> dict[str, str]:
    """The optional ``municipality``/``chapter``/``section`` of a record, cleaned; ``""`` for those absent.

    >>> _meta({"_id": "1", "municipality": " 加賀市 ", "metadata": {"chapter": "推進体制"}}, line_no=1, shown="c")
    {'municipality': '加賀市', 'chapter': '推進体制', 'section': ''}
    """
    nested = record.get("metadata")
    inner = nested if isinstance(nested, dict) else {}
    found: dict[str, str] = {}
    for field in META_FIELDS:
        value = record.get(field)
        value = inner.get(field) if value is None else value
        if value is not None and not isinstance(value, str):
            raise DocumentError(
                shown,
                f"line {line_no}: '{field}' must be a string, got {type(value).__name__} ({value!r:.40})",
                f'write it as text, e.g. "{field}": "加賀市", or leave it out',
            )
        found[field] = clean_text(value or "")
    return found


def _finding(record: object, *, name: str, line_no: int, shown: str) -> Finding | None:
    """One finding from one parsed line, or ``None`` when the record has neither text nor title."""
    if not isinstance(record, dict):
        raise DocumentError(
            shown, f"line {line_no}: expected a JSON object with _id/title/text, got {type(record).__name__}"
        )
    if "_id" not in record or record["_id"] in (None, ""):
        raise DocumentError(shown, f"line {line_no}: missing '_id'", "every BEIR corpus line needs _id, title and text")
    heading = clean_text(str(record.get("title") or ""))
    text = clean_text(str(record.get("text") or ""))
    if not text:
        # Some BEIR corpora have title-only documents; the title is then the only searchable text.
        text = heading
    if not text:
        return None
    meta = _meta(record, line_no=line_no, shown=shown)
    path = tuple(part for part in (meta["chapter"], meta["section"], heading) if part) or (heading,)
    return Finding(
        id=str(record["_id"]),
        text=text,
        document=name,
        municipality=meta["municipality"],
        chapter=meta["chapter"],
        section=meta["section"],
        heading=heading,
        kind="practice",
        line_start=line_no,
        line_end=line_no,
        citation=format_citation(
            document=name, municipality=meta["municipality"], path=path, location=format_location(line_no, line_no)
        ),
        title=name,
    )


def load_beir_corpus(path: str | Path) -> tuple[list[Finding], str]:
    """Read a BEIR corpus file; each line becomes one finding whose id is the document ``_id``.

    Blank lines and records with neither text nor title are skipped. The file is streamed, so large corpora are fine.

    Args:
        path: The ``.jsonl`` file.

    Returns:
        The findings in file order, and the SHA-256 of the raw bytes.

    Raises:
        DocumentError: A line is not valid UTF-8 JSON, lacks ``_id``, or repeats an ``_id``; or no line has text.
    """
    p = Path(path)
    shown = str(path)
    digest = hashlib.sha256()
    findings: list[Finding] = []
    seen: dict[str, int] = {}
    with p.open("rb") as fh:
        for line_no, raw in enumerate(fh, start=1):
            digest.update(raw)
            try:
                line = raw.decode("utf-8-sig" if line_no == 1 else "utf-8").strip()
                record = json.loads(line) if line else None
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise DocumentError(
                    shown, f"line {line_no}: not a valid UTF-8 JSON line ({exc})", "fix or remove it"
                ) from exc
            if record is None:
                continue
            finding = _finding(record, name=display_name(p.name), line_no=line_no, shown=shown)
            if finding is None:
                continue
            if finding.id in seen:
                raise DocumentError(
                    shown,
                    f"line {line_no}: _id '{finding.id}' already used on line {seen[finding.id]}",
                    "ids must be unique",
                )
            seen[finding.id] = line_no
            findings.append(finding)
    if not findings:
        raise DocumentError(
            shown,
            "no BEIR records with text; nothing to index",
            'expected lines like {"_id": "d1", "title": "...", "text": "..."}',
        )
    return findings, digest.hexdigest()

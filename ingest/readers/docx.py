"""Word ``.docx`` reader (python-docx): body paragraphs and tables, in document order, as :class:`Block` values.

What is read and how it is numbered:

* The body only: headers, footers, comments, footnotes and text boxes are not findings. Paragraphs inside content
  controls are read; the paragraphs of a table-of-contents control or with a ``TOC``/``目次`` style are skipped.
* ``¶n`` (``Document.origins``) counts, from 1 in document order, every body paragraph (empty ones too, and those
  inside content controls) and every row of a body-level table. Paragraphs and nested tables inside a table cell
  belong to their row and are not counted separately. The number is therefore stable across rebuilds.
* Heading styles (``Heading 1``…, ``見出し 1``…, style id ``Heading1``, or an outline level on the style, its base
  styles or the paragraph) give heading blocks; the first ``Title``/``表題`` paragraph is the document title unless
  the core properties hold one. Custom styles are headings by name too, also through ``basedOn``: a name with
  見出し, Heading, Title, タイトル, 表題, 章 or 節 (``章タイトル``); a digit in it is the level, else 節 gives 2,
  the others 1. Without a heading style, a short paragraph (≤ 40 characters, no 。) set apart from the body text
  by its formatting, fully bold or clearly larger (≥ 1.2 × and 1 pt over the body size), is a heading when body
  text or a less emphasized such line follows; its size and boldness rank its level. A bold phrase inside a
  sentence leaves its paragraph body text. List styles (``List Paragraph``, ``List Bullet``, ``リスト段落``,
  ``箇条書き``…) and numbering (``w:numPr``) give list items.
* A line break inside a paragraph is joined like a browser joins lines: nothing between two full-width characters,
  one space otherwise (:func:`~kensaku.ingest.readers.base.join_breaks`). Ruby annotations (furigana) and deleted
  revisions are left out.
* Tables: one block per row, ``列名: 値／列名: 値`` when the first row is a header
  (:func:`~kensaku.ingest.readers.base.table_texts`); the row's longest cell is its quote (``Document.quotes``),
  the text a citation shows (``¶5「年間五千万円を一般会計に計上した。」``), since Word's search cannot find the
  rendered row.
  Horizontally merged cells appear once; a vertically merged cell's text is repeated in each row it spans.

"""

from __future__ import annotations

import io
import re
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kensaku.config import DEFAULTS, MB, ReadLimits
from kensaku.ingest.models import Document
from kensaku.ingest.normalize import clean_text
from kensaku.ingest.readers.base import (
    MAX_HEADING_LEVEL,
    Block,
    Cell,
    ReadError,
    join_breaks,
    new_document,
    render_blocks,
    table_texts,
)
from kensaku.ingest.readers.limits import check_package, check_table

if TYPE_CHECKING:
    import docx.document

SUFFIXES: tuple[str, ...] = (".docx",)
MAX_BYTES: int = DEFAULTS.max_binary_mb * MB

# lxml ships no type information; elements are typed as this alias.
Element = Any

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_OLE_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")
_CORE_PROPERTIES = "http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties"
# Subtrees of a paragraph whose text is not part of it: ruby annotation, revisions, drawings and text boxes.
_SKIPPED = frozenset(
    _W + tag for tag in ("pPr", "rPr", "rt", "del", "moveFrom", "drawing", "pict", "object", "txbxContent")
) | {_MC_FALLBACK}
_SECTION_WORD = r"(?<![季調])節"  # 節 of a section, not of 季節 or 調節
_HEADING_WORD = re.compile(rf"見出し|heading|title|タイトル|表題|(?<!文)章|{_SECTION_WORD}", re.IGNORECASE)
_NOT_HEADING = re.compile(r"subtitle|副題|toc|目次|contents|caption|図表番号", re.IGNORECASE)
_DIGIT = re.compile(r"(?<![0-9０-９])[1-9１-９](?![0-9０-９])")
_HEADING_ID = re.compile(r"^Heading([1-9])$")
FORMAT_HEADING_MAX_CHARS = 40
_TITLE_NAMES = frozenset({"title", "表題", "タイトル"})
_TOC_NAME = re.compile(r"^(?:toc|目次|contents)\s*(?:[1-9１-９]|heading|の見出し)$", re.IGNORECASE)
_LIST_NAME = re.compile(r"^(?:list (?:paragraph|bullet|number|continue)|リスト段落|箇条書き|段落番号)", re.IGNORECASE)
_OUTLINE_BODY = 9


def _val(el: Element | None) -> str:
    """The ``w:val`` attribute of ``el`` (``""`` when ``el`` or the attribute is missing)."""
    return "" if el is None else str(el.get(_W + "val") or "")


def _count(el: Element | None, default: int) -> int:
    """The ``w:val`` of ``el`` as a positive count (``gridSpan``, ``gridBefore``) clamped to 1000, else ``default``
    (``int()`` refuses more than 4,300 digits, and ``isdigit`` admits superscripts it refuses)."""
    val = _val(el).lstrip("0")
    if not val.isdecimal():
        return default
    return 1000 if len(val) > 4 else min(int(val), 1000)


@dataclass(frozen=True)
class _Style:
    level: int = 0
    title: bool = False
    item: bool = False
    toc: bool = False
    bold: bool = False
    size: int = 0  # font size in half-points; 0: the document default


@dataclass(frozen=True)
class _Raw:
    """A style as written: name, base style, outline level, numbering, and its own bold and size (if set)."""

    name: str
    based_on: str
    outline: str
    numbered: bool
    bold: bool | None
    size: int | None


@dataclass(frozen=True)
class _Styles:
    """Paragraph styles by id (``""``: the default one), character styles' (bold, size), the default size."""

    paragraphs: dict[str, _Style]
    characters: dict[str, tuple[bool | None, int | None]]
    default_size: int


def _run_format(rpr: Element | None) -> tuple[bool | None, int | None]:
    """Bold and size (half-points) set in a ``w:rPr``; ``None`` where not set."""
    if rpr is None:
        return None, None
    b = rpr.find(_W + "b")
    size = _val(rpr.find(_W + "sz"))
    return (None if b is None else _val(b).lower() not in ("0", "false", "off")), int(size) if size.isdigit() else None


def _styles(root: Element) -> _Styles:
    """What each style means for reading, by style id."""
    raw: dict[str, _Raw] = {}
    characters: dict[str, _Raw] = {}
    default = ""
    for style in root.iterfind(_W + "style"):
        kind = style.get(_W + "type", "paragraph")
        sid = str(style.get(_W + "styleId") or "")
        numbered = _val(style.find(f"{_W}pPr/{_W}numPr/{_W}numId")) not in ("", "0")
        outline = _val(style.find(f"{_W}pPr/{_W}outlineLvl"))
        bold, size = _run_format(style.find(_W + "rPr"))
        entry = _Raw(
            _val(style.find(_W + "name")).strip(), _val(style.find(_W + "basedOn")), outline, numbered, bold, size
        )
        if kind == "paragraph":
            raw[sid] = entry
            default = sid if style.get(_W + "default") in ("1", "true") else default
        elif kind == "character":
            characters[sid] = entry
    resolved = {sid: _resolve(sid, raw) for sid in raw}
    resolved[""] = resolved.get(default, _Style())
    chars = {sid: (_inherited(sid, characters, "bold"), _inherited(sid, characters, "size")) for sid in characters}
    _, default_size = _run_format(root.find(f"{_W}docDefaults/{_W}rPrDefault/{_W}rPr"))
    return _Styles(resolved, chars, default_size or 20)


def _chain(sid: str, raw: dict[str, _Raw]) -> Iterator[_Raw]:
    """The style ``sid`` and its base styles, nearest first (a ``basedOn`` loop is cut)."""
    seen: set[str] = set()
    while sid in raw and sid not in seen:
        seen.add(sid)
        yield raw[sid]
        sid = raw[sid].based_on


def _inherited(sid: str, raw: dict[str, _Raw], attribute: str) -> Any:  # noqa: ANN401 - bool | int | None
    """The nearest value of ``attribute`` (``bold`` or ``size``) set on the style or its base styles."""
    return next((v for r in _chain(sid, raw) if (v := getattr(r, attribute)) is not None), None)


def _name_level(name: str) -> int:
    """The heading level a style name implies (``見出し 2`` → 2, ``章タイトル`` → 1, ``節見出し`` → 2), else 0."""
    if not _HEADING_WORD.search(name) or _NOT_HEADING.search(name) or name.lower() in _TITLE_NAMES:
        return 0
    digit = _DIGIT.search(name)
    if digit:
        return int(digit.group())
    return 2 if re.search(_SECTION_WORD, name) and "章" not in name else 1


def _resolve(sid: str, raw: dict[str, _Raw]) -> _Style:
    """Heading level (by name, id or outline level, inherited through ``basedOn``), title, list, TOC, font."""
    name = raw[sid].name
    m = _HEADING_ID.match(sid)
    level = int(m.group(1)) if m else 0
    item = bool(_LIST_NAME.match(name))
    for style in _chain(sid, raw):  # its own name, its own outline level, then those of its base styles
        level = level or _name_level(style.name)
        if not level and style.outline.isdigit() and int(style.outline) < _OUTLINE_BODY:
            level = int(style.outline) + 1
        item = item or style.numbered
    title = name.lower() in _TITLE_NAMES or sid == "Title"
    bold, size = _inherited(sid, raw, "bold"), _inherited(sid, raw, "size")
    return _Style(level, title, item and not level, bool(_TOC_NAME.match(name)), bool(bold), size or 0)


def _paragraph_style(p: Element, styles: dict[str, _Style]) -> _Style:
    """The paragraph's style, with its own outline level and numbering applied."""
    ppr = p.find(_W + "pPr")
    if ppr is None:
        return styles.get("", _Style())
    style = styles.get(_val(ppr.find(_W + "pStyle")), styles.get("", _Style()))
    outline = _val(ppr.find(_W + "outlineLvl"))
    if outline.isdigit():
        level = int(outline) + 1 if int(outline) < _OUTLINE_BODY else 0
        style = replace(style, level=level, item=style.item and not level)
    numbered = _val(ppr.find(f"{_W}numPr/{_W}numId"))
    if numbered and not style.level:
        style = replace(style, item=numbered != "0")
    return style


def _collect_text(el: Element, out: list[str]) -> None:
    """Append the visible text under ``el`` (runs, hyperlinks, fields, inline controls) to ``out``."""
    for child in el:
        tag = child.tag
        if tag == _W + "t":
            out.append(child.text or "")
        elif tag in (_W + "tab", _W + "ptab"):
            out.append("\t")
        elif tag in (_W + "br", _W + "cr"):
            out.append("\n")
        elif tag == _W + "noBreakHyphen":
            out.append("-")
        elif tag not in _SKIPPED:
            _collect_text(child, out)


def _paragraph_text(p: Element) -> str:
    """The text of one ``w:p``, line breaks joined."""
    out: list[str] = []
    _collect_text(p, out)
    return join_breaks("".join(out))


def _is_toc(sdt: Element) -> bool:
    gallery = sdt.find(f"{_W}sdtPr/{_W}docPartObj/{_W}docPartGallery")
    return _val(gallery).lower() == "table of contents"


def _block_items(parent: Element) -> Iterator[tuple[str, Element]]:
    """``("p" | "toc" | "tbl", element)`` for the paragraphs and tables of a body or cell, in document order."""
    for child in parent:
        if child.tag == _W + "p":
            yield "p", child
        elif child.tag == _W + "tbl":
            yield "tbl", child
        elif child.tag in (_W + "sdt", _W + "customXml"):
            content = child.find(_W + "sdtContent") if child.tag == _W + "sdt" else child
            toc = child.tag == _W + "sdt" and _is_toc(child)
            for kind, el in _block_items(content if content is not None else ()):
                yield ("toc" if toc and kind == "p" else kind), el


def _wrapped(parent: Element, tag: str) -> Iterator[Element]:
    """The children of ``parent`` with ``tag``, also inside content controls and custom XML wrappers."""
    for child in parent:
        if child.tag == tag:
            yield child
        elif child.tag in (_W + "sdt", _W + "customXml"):
            content = child.find(_W + "sdtContent") if child.tag == _W + "sdt" else child
            yield from _wrapped(content if content is not None else (), tag)


def _cell_text(tc: Element) -> str:
    """A cell's paragraphs (and nested tables, row by row) joined with spaces."""
    parts = [_paragraph_text(el) if kind != "tbl" else " ".join(_table_texts(el)) for kind, el in _block_items(tc)]
    return clean_text(" ".join(parts))


def _table_rows(tbl: Element) -> tuple[list[list[Cell]], bool | None]:
    """The cells of every row of a ``w:tbl`` and whether its first row is marked as a header (``None``: guess)."""
    rows: list[list[Cell]] = []
    above: dict[int, str] = {}
    header = False
    for i, tr in enumerate(_wrapped(tbl, _W + "tr")):
        if i == 0:
            marker = tr.find(f"{_W}trPr/{_W}tblHeader")
            header = marker is not None and _val(marker) not in ("0", "false")
        col = _count(tr.find(f"{_W}trPr/{_W}gridBefore"), 0)
        cells: list[Cell] = []
        for tc in _wrapped(tr, _W + "tc"):
            span = _count(tc.find(f"{_W}tcPr/{_W}gridSpan"), 1)
            merge = tc.find(f"{_W}tcPr/{_W}vMerge")
            continued = merge is not None and _val(merge) in ("", "continue")
            text = above.get(col, "") if continued else _cell_text(tc)
            above[col] = text
            cells.append(Cell(text, col, span))
            col += span
        rows.append(cells)
    return rows, True if header else None


def _table_texts(tbl: Element) -> list[str]:
    """The text of every row of a ``w:tbl`` (see :func:`table_texts`)."""
    rows, header = _table_rows(tbl)
    return table_texts(rows, header=header)


def _row_quote(row: list[Cell]) -> str:
    """What Word's search finds of a table row: its longest cell (the row is rendered ``列名: 値／…``)."""
    return max((c.text for c in row), key=len, default="")


def _check_tables(body: Element, limits: ReadLimits) -> None:
    """Refuse a table whose grid, or the text its vertically merged cells repeat, is over ``limits``, before any
    table is read (a continued ``vMerge`` cell repeats the text above it, see the module docstring)."""
    for tbl in body.iter(_W + "tbl"):
        cells = chars = 0
        above: dict[int, int] = {}
        for tr in _wrapped(tbl, _W + "tr"):
            col = _count(tr.find(f"{_W}trPr/{_W}gridBefore"), 0)
            for tc in _wrapped(tr, _W + "tc"):
                merge = tc.find(f"{_W}tcPr/{_W}vMerge")
                if merge is not None and _val(merge) in ("", "continue"):
                    size = above.get(col, 0)
                else:
                    size = sum(len(t.text or "") for t in tc.iter(_W + "t"))
                above[col] = size
                chars += size
                col += _count(tc.find(f"{_W}tcPr/{_W}gridSpan"), 1)
            cells += col
        check_table(cells, chars, limits)


def _runs(el: Element) -> Iterator[Element]:
    """The ``w:r`` runs of a paragraph whose text is part of it (also in hyperlinks, fields, inline controls)."""
    for child in el:
        if child.tag == _W + "r":
            yield child
        elif child.tag not in _SKIPPED:
            yield from _runs(child)


def _emphasis(p: Element, style: _Style, styles: _Styles) -> tuple[int, bool] | None:
    """(Smallest font size in half-points, whether fully bold) of the runs with text; ``None`` without any."""
    sizes: list[int] = []
    bolds: list[bool] = []
    for run in _runs(p):
        if not "".join(t.text or "" for t in run.iter(_W + "t")).strip():
            continue
        bold, size = _run_format(run.find(_W + "rPr"))
        char_bold, char_size = styles.characters.get(_val(run.find(f"{_W}rPr/{_W}rStyle")), (None, None))
        bolds.append(next((b for b in (bold, char_bold) if b is not None), style.bold))
        sizes.append(size or char_size or style.size or styles.default_size)
    return (min(sizes), all(bolds)) if sizes else None


@dataclass(frozen=True)
class _Entry:
    """A paragraph or table row with text: its number, style (table rows: none) and formatting."""

    n: int
    text: str
    style: _Style = _Style()
    emphasis: tuple[int, bool] | None = None


def _format_levels(entries: list[_Entry]) -> dict[int, int]:
    """Heading level by entry index for short paragraphs set apart by formatting (see the module docstring)."""
    body = [e for e in entries if e.emphasis and not (e.style.level or e.style.title)]
    sizes: Counter[int] = Counter()
    for e in body:
        sizes[e.emphasis[0] if e.emphasis else 0] += len(e.text)
    if not sizes:
        return {}
    base = sizes.most_common(1)[0][0]
    base_bold = 2 * sum(len(e.text) for e in body if e.emphasis and e.emphasis[1]) > sum(len(e.text) for e in body)

    def key(e: _Entry) -> tuple[int, bool] | None:
        if e.emphasis is None or e.style.level or e.style.title or e.style.item:
            return None
        size, bold = e.emphasis
        larger = 10 * size >= 12 * base and size >= base + 2
        short = len(e.text) <= FORMAT_HEADING_MAX_CHARS and "。" not in e.text
        return e.emphasis if short and (larger or (bold and not base_bold)) else None

    keys = [key(e) for e in entries]
    found = {}
    for i, k in enumerate(keys[:-1]):
        after, following = keys[i + 1], entries[i + 1].style
        if k and ((after is None and not following.level and not following.title) or (after and after < k)):
            found[i] = k
    ranks = sorted(set(found.values()), reverse=True)
    return {i: min(ranks.index(k) + 1, MAX_HEADING_LEVEL) for i, k in found.items()}


def _blocks(body: Element, styles: _Styles) -> tuple[list[Block], str, dict[int, str]]:
    """The blocks of the body, numbered as the module docstring says, the first Title-style paragraph, and the quote
    of each table row by its number (see :func:`_row_quote`)."""
    entries: list[_Entry] = []
    quotes: dict[int, str] = {}
    title = ""
    n = 0
    for kind, el in _block_items(body):
        if kind == "tbl":
            rows, header = _table_rows(el)
            for row, text in zip(rows, table_texts(rows, header=header), strict=True):
                n += 1
                if text:
                    entries.append(_Entry(n, text))
                    quotes[n] = _row_quote(row)
            continue
        n += 1
        style = _paragraph_style(el, styles.paragraphs)
        text = _paragraph_text(el) if kind == "p" and not style.toc else ""
        if not text:
            continue
        if style.title and not style.level and not title:
            title = text
            continue
        entries.append(_Entry(n, text, style, _emphasis(el, style, styles)))
    levels = _format_levels(entries)
    blocks: list[Block] = []
    for i, e in enumerate(entries):
        level = min(e.style.level, MAX_HEADING_LEVEL) if e.style.level else int(e.style.title)
        blocks.append(Block(e.text, e.n, level=level or levels.get(i, 0), item=e.style.item))
    return blocks, title, quotes


def _cause(exc: Exception) -> str:
    """A short reason why python-docx could not open the file."""
    text = str(exc)
    content_type = re.search(r"content type is '([^']+)'", text)
    if content_type:
        return f"its main part is {content_type.group(1)}"
    if isinstance(exc, zipfile.BadZipFile):
        return "not a zip archive"
    if isinstance(exc, KeyError):
        return f"missing part: {text.strip(chr(34))}"
    return f"{type(exc).__name__}: {text[:100]}"


def _open(data: bytes, limits: ReadLimits) -> docx.document.Document:
    """Open the package with python-docx, turning any failure into a :class:`ReadError`; a package over the
    unzipped-size, zip-ratio or paragraph limit is refused before it is parsed."""
    if data.startswith(_OLE_MAGIC):
        raise ReadError(
            "is a password-protected .docx or an old Word 97–2003 .doc (an OLE compound file), which cannot be "
            "read; remove the password, or open it in Word and save it as .docx (Word 2007 or later)."
        )
    check_package(data, limits)
    import docx

    try:
        return docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises many types on damaged input (BadZipFile, KeyError, ValueError…)
        raise ReadError(f"is not a Word .docx file ({_cause(exc)}); save it as .docx (Word 2007 or later).") from exc


def _core_title(document: docx.document.Document) -> str:
    """The title in the core properties, or ``""`` (python-docx would invent ``Word Document`` when absent)."""
    rels = document.part.package.rels.values()
    if not any(rel.reltype == _CORE_PROPERTIES for rel in rels):
        return ""
    return clean_text(document.core_properties.title or "")


def read(data: bytes, path: Path, *, limits: ReadLimits = DEFAULTS.limits) -> Document:
    """Read a ``.docx`` file into a document whose lines are markdown-like blocks cited as ``¶n``.

    Args:
        data: The file's bytes.
        path: The file (for the name, the stem and the title fallback).
        limits: Unzipped size, zip ratio and paragraphs (checked before parsing), table cells and the characters
            merged cells repeat (checked before the tables are read).

    Returns:
        The document; the title is the core-properties title, else the first ``Title`` paragraph, else the first
        heading, else the stem.

    Raises:
        ReadError: Not a ``.docx`` (random bytes, ``.doc``, another zip), password-protected, without text, or
            over one of ``limits``.
    """
    document = _open(data, limits)
    _check_tables(document.element.body, limits)
    blocks, title, row_quotes = _blocks(document.element.body, _styles(document.styles.element))
    lines, origins, _ = render_blocks(blocks)
    doc = new_document(path, data, lines, title=_core_title(document) or title, origins=origins, line_unit="¶")
    quotes = tuple(row_quotes.get(n, "") if line else "" for n, line in zip(origins, lines, strict=True))
    return replace(doc, quotes=quotes) if any(quotes) else doc

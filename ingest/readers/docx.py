"""Word ``.docx`` reader (python-docx): body paragraphs and tables, in document order, as :class:`Block` values.

What is read and how it is numbered:

* The body only: headers, footers, comments, footnotes and text boxes are not findings. Paragraphs inside content
  controls are read; the paragraphs of a table-of-contents control or with a ``TOC``/``目次`` style are skipped.
* ``¶n`` (``Document.origins``) counts, from 1 in document order, every body paragraph (empty ones too, and those
  inside content controls) and every row of a body-level table. Paragraphs and nested tables inside a table cell
  belong to their row and are not counted separately. The number is therefore stable across rebuilds.
* Heading styles (``Heading 1``…, ``見出し 1``…, style id ``Heading1``, or an outline level on the style, its base
  styles or the paragraph) give heading blocks; the first ``Title``/``表題`` paragraph is the document title unless
  the core properties hold one. List styles (``List Paragraph``, ``List Bullet``, ``リスト段落``, ``箇条書き``…) and
  numbering (``w:numPr``) give list items.
* A line break inside a paragraph is joined like a browser joins lines: nothing between two full-width characters,
  one space otherwise (:func:`~kensaku.ingest.readers.base.join_breaks`). Ruby annotations (furigana) and deleted
  revisions are left out.
* Tables: one block per row, ``列名: 値／列名: 値`` when the first row is a header
  (:func:`~kensaku.ingest.readers.base.table_texts`).
  Horizontally merged cells appear once; a vertically merged cell's text is repeated in each row it spans.

"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kensaku.config import DEFAULTS, MB
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
_HEADING_NAME = re.compile(r"^(?:heading|見出し)\s*([1-9１-９])$", re.IGNORECASE)
_HEADING_ID = re.compile(r"^Heading([1-9])$")
_TITLE_NAMES = frozenset({"title", "表題", "タイトル"})
_TOC_NAME = re.compile(r"^(?:toc|目次|contents)\s*(?:[1-9１-９]|heading|の見出し)$", re.IGNORECASE)
_LIST_NAME = re.compile(r"^(?:list (?:paragraph|bullet|number|continue)|リスト段落|箇条書き|段落番号)", re.IGNORECASE)
_OUTLINE_BODY = 9


def _val(el: Element | None) -> str:
    """The ``w:val`` attribute of ``el`` (``""`` when ``el`` or the attribute is missing)."""
    return "" if el is None else str(el.get(_W + "val") or "")


def _count(el: Element | None, default: int) -> int:
    """The ``w:val`` of ``el`` as a positive count (``gridSpan``, ``gridBefore``), else ``default``."""
    val = _val(el)
    return min(int(val), 1000) if val.isdigit() and int(val) > 0 else default


@dataclass(frozen=True)
class _Style:
    level: int = 0
    title: bool = False
    item: bool = False
    toc: bool = False


def _styles(root: Element) -> dict[str, _Style]:
    """What each paragraph style means for reading, by style id; ``""`` maps to the default paragraph style."""
    raw: dict[str, tuple[str, str, str, bool]] = {}
    default = ""
    for style in root.iterfind(_W + "style"):
        if style.get(_W + "type", "paragraph") != "paragraph":
            continue
        sid = str(style.get(_W + "styleId") or "")
        numbered = _val(style.find(f"{_W}pPr/{_W}numPr/{_W}numId")) not in ("", "0")
        outline = _val(style.find(f"{_W}pPr/{_W}outlineLvl"))
        raw[sid] = (_val(style.find(_W + "name")).strip(), _val(style.find(_W + "basedOn")), outline, numbered)
        if style.get(_W + "default") in ("1", "true"):
            default = sid
    resolved = {sid: _resolve(sid, raw) for sid in raw}
    resolved[""] = resolved.get(default, _Style())
    return resolved


def _resolve(sid: str, raw: dict[str, tuple[str, str, str, bool]]) -> _Style:
    """Heading level (by name, id or outline level, inherited through ``basedOn``), title, list and TOC flags."""
    name = raw[sid][0]
    m = _HEADING_NAME.match(name) or _HEADING_ID.match(sid)
    level = int(m.group(1)) if m else 0
    item = bool(_LIST_NAME.match(name))
    current, seen = sid, set()
    while current in raw and current not in seen:
        seen.add(current)
        _, based_on, outline, numbered = raw[current]
        if not level and outline.isdigit() and int(outline) < _OUTLINE_BODY:
            level = int(outline) + 1
        item = item or numbered
        current = based_on
    title = name.lower() in _TITLE_NAMES or sid == "Title"
    return _Style(level=level, title=title, item=item and not level, toc=bool(_TOC_NAME.match(name)))


def _paragraph_style(p: Element, styles: dict[str, _Style]) -> _Style:
    """The paragraph's style, with its own outline level and numbering applied."""
    ppr = p.find(_W + "pPr")
    if ppr is None:
        return styles.get("", _Style())
    style = styles.get(_val(ppr.find(_W + "pStyle")), styles.get("", _Style()))
    outline = _val(ppr.find(_W + "outlineLvl"))
    if outline.isdigit():
        level = int(outline) + 1 if int(outline) < _OUTLINE_BODY else 0
        style = _Style(level=level, title=style.title, item=style.item and not level, toc=style.toc)
    numbered = _val(ppr.find(f"{_W}numPr/{_W}numId"))
    if numbered and not style.level:
        style = _Style(title=style.title, item=numbered != "0", toc=style.toc)
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


def _table_texts(tbl: Element) -> list[str]:
    """The text of every row of a ``w:tbl`` (see :func:`table_texts`)."""
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
    return table_texts(rows, header=True if header else None)


def _blocks(body: Element, styles: dict[str, _Style]) -> tuple[list[Block], str]:
    """The blocks of the body, numbered as the module docstring says, and the first Title-style paragraph."""
    blocks: list[Block] = []
    title = ""
    n = 0
    for kind, el in _block_items(body):
        if kind == "tbl":
            for text in _table_texts(el):
                n += 1
                if text:
                    blocks.append(Block(text, n))
            continue
        n += 1
        style = _paragraph_style(el, styles)
        text = _paragraph_text(el) if kind == "p" and not style.toc else ""
        if not text:
            continue
        if style.title and not style.level and not title:
            title = text
            continue
        level = min(style.level, MAX_HEADING_LEVEL) if style.level else int(style.title)
        blocks.append(Block(text, n, level=level, item=style.item))
    return blocks, title


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


def _open(data: bytes) -> docx.document.Document:
    """Open the package with python-docx, turning any failure into a :class:`ReadError`."""
    if data.startswith(_OLE_MAGIC):
        raise ReadError(
            "is a password-protected .docx or an old Word 97–2003 .doc (an OLE compound file), which cannot be "
            "read; remove the password, or open it in Word and save it as .docx (Word 2007 or later)."
        )
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


def read(data: bytes, path: Path) -> Document:
    """Read a ``.docx`` file into a document whose lines are markdown-like blocks cited as ``¶n``.

    Args:
        data: The file's bytes.
        path: The file (for the name, the stem and the title fallback).

    Returns:
        The document; the title is the core-properties title, else the first ``Title`` paragraph, else the first
        heading, else the stem.

    Raises:
        ReadError: Not a ``.docx`` (random bytes, ``.doc``, another zip), password-protected, or without text.
    """
    document = _open(data)
    blocks, title = _blocks(document.element.body, _styles(document.styles.element))
    lines, origins, _ = render_blocks(blocks)
    return new_document(path, data, lines, title=_core_title(document) or title, origins=origins, line_unit="¶")

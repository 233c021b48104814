"""HTML reader (lxml.html): the main content of a web page as :class:`Block` values cited by source line.

* Decoding, parsing and the source line of each text: :mod:`kensaku.ingest.readers.htmlsource`.
* Boilerplate is dropped: script/style/template/svg/iframe and similar, ``nav``, ``aside``, ``footer``, a site
  ``header`` (not one inside ``article``/``section``/``main``), search forms, hidden elements, ARIA roles
  navigation/banner/contentinfo/complementary/search, and elements whose class or id names a menu, breadcrumb
  (パンくず: ``topicpath``, ``pankuzu``), sidebar or footer. The content is ``<main>``, else ``[role=main]``, else
  the only ``<article>``, else the body.
* Structure: ``h1``–``h6`` are headings; ``p``, ``div`` text, ``blockquote``, ``pre`` and ``dd`` are paragraphs;
  ``li`` are list items; ``dt`` + ``dd`` read ``dt: dd``; data tables give one block per row (see
  :func:`kensaku.ingest.readers.base.table_texts`), layout tables are read as text. Source line breaks are joined
  like a browser does (nothing between full-width characters); ruby keeps its base text only.
* ``<br>`` in a paragraph or list item: each piece is its own line, and consecutive pieces stay one paragraph, so
  one finding, as lines of a text file do (a ``<br>`` inside a sentence, ``市民参画の<br>推進``, joins without a
  space); a blank piece (``<br><br>``) starts a new paragraph. In headings, table cells and ``dd`` a ``<br>`` is
  joined like a source line break.
* Citations: ``Document.origins`` is the source line where each line's text starts (``L88`` is line 88 of the
  file), so a ``<br>`` piece is cited at its own line and a finding spans exactly the lines its text came from
  (``L405–407``).
* Main content: trafilatura decides which blocks are main content (:mod:`kensaku.ingest.readers.mainpart`); when
  it keeps none, the hand-made rules above decide alone.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kensaku.config import DEFAULTS, MB, ReadLimits
from kensaku.ingest.models import Document
from kensaku.ingest.normalize import clean_text
from kensaku.ingest.readers.base import Block, Cell, ReadError, join_breaks, new_document, render_blocks, table_texts
from kensaku.ingest.readers.htmlsource import decode_html as _decode
from kensaku.ingest.readers.htmlsource import lead_breaks, parse_html, source_line, tail_line, text_line
from kensaku.ingest.readers.limits import check_table
from kensaku.ingest.readers.mainpart import Part, main_text, probe, select

SUFFIXES: tuple[str, ...] = (".html", ".htm")
MAX_BYTES: int = DEFAULTS.max_text_mb * MB

Element = Any  # lxml ships no type information

_SEP = "\x00"  # block boundary inside flattened text; NUL cannot occur in parsed text
_DROP_TAGS = frozenset(
    "head script style noscript template svg math iframe frame frameset object embed canvas video audio map nav aside "
    "footer button select textarea input dialog".split()
)
_DROP_ROLES = frozenset({"navigation", "banner", "contentinfo", "complementary", "search"})
_SECTIONING = frozenset({"article", "section", "main"})
_CONTENT_TAGS = "p h1 h2 h3 h4 h5 h6 table article main".split()
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
# A class or id token such as `l-footer`, `gnav`, `breadcrumb-list`, `topicpath`, `side-menu` (not `footer-note`).
_AREA = r"(?:[-_](?:area|wrap|wrapper|inner|container|block|box|list|links?|menu))?"
_NAV = r"breadcrumbs?|topic-?path|pankuzu|side-?(?:bar|menu|navi?)|(?:g|global|local|sub)?-?nav(?:i|bar|igation)?"
_NAV_TOKEN = re.compile(
    rf"(?:[a-z0-9]{{1,8}}[-_])?(?:{_NAV}|menu|footer|skip-?links?){_AREA}|(?:site|g|l)-?header{_AREA}"
)
_HEADINGS = frozenset(f"h{n}" for n in range(1, 7))
_LISTS = frozenset({"ul", "ol", "menu", "dir", "li"})
_BLOCKS = "p div section article main header blockquote pre address center figure figcaption details summary fieldset"
_TABLES = "legend hgroup search body html dl dt dd table caption thead tbody tfoot tr td th hr form noframes"
_BLOCK_TAGS = _HEADINGS | _LISTS | frozenset(f"{_BLOCKS} {_TABLES}".split())
_INLINE_TAGS = frozenset(
    "a abbr b bdi bdo big br cite code data del dfn em font i img ins kbd label mark nobr q rb rp rt rtc ruby s samp "
    "small span strike strong sub sup time tt u var wbr".split()
)
# A match that takes spaces before the bar starts only where they do (?<!\s): linear in a run of spaces.
_TITLE_SEPARATOR = re.compile(r"(?<!\s)\s+[|\-–—:]\s+|(?:(?<!\s)\s+)?[｜|]\s*")


def _tag(el: Element) -> str:
    return el.tag.lower() if isinstance(el.tag, str) else ""


def _is_boilerplate(el: Element) -> bool:
    """True for an element that is navigation, page chrome, a form control or hidden (see the module docstring)."""
    tag = _tag(el)
    if tag in _DROP_TAGS or (el.get("role") or "").strip().lower() in _DROP_ROLES:
        return True
    if el.get("hidden") is not None or _HIDDEN_STYLE.search(el.get("style") or ""):
        return True
    if tag == "header" and not any(_tag(a) in _SECTIONING for a in el.iterancestors()):
        return True
    if tag == "form" and next(el.iterdescendants(*_CONTENT_TAGS), None) is None:
        return True
    ident = (el.get("id") or "").lower()
    return ident == "header" or any(_NAV_TOKEN.fullmatch(t) for t in [*(el.get("class") or "").lower().split(), ident])


def _content(root: Element) -> list[Element]:
    """Drop boilerplate (never an ancestor of ``<main>``) and return the content candidates, best first."""
    mains = root.xpath("//main | //*[@role='main']")
    kept = {a for m in mains for a in (m, *m.iterancestors())}
    for el in [el for el in root.iter() if el not in kept and _is_boilerplate(el)]:
        el.drop_tree()
    articles = root.xpath("//article")
    body = root.find("body")
    candidates = [*mains[:1], *(articles if len(articles) == 1 else [])]
    return [*candidates, body if body is not None else root]


@dataclass
class _Run:
    """Inline text collected in document order and cut at ``<br>`` into pieces, each with the source line where its
    visible text starts (``None`` while it has none)."""

    pieces: list[list[str]] = field(default_factory=lambda: [[]])
    lines: list[int | None] = field(default_factory=lambda: [None])

    def text(self, el: Element, *, tail: bool = False) -> None:
        """Append the text (or the tail) of ``el``."""
        text = (el.tail if tail else el.text) or ""
        self.pieces[-1].append(text)
        if self.lines[-1] is None and text.strip():
            self.lines[-1] = tail_line(el) if tail else source_line(el) + lead_breaks(text)

    def cut(self) -> None:
        """Start a new piece (a ``<br>``)."""
        self.pieces.append([])
        self.lines.append(None)

    def texts(self) -> list[tuple[str, int | None]]:
        """Each piece's flattened text (see :func:`_finish`) and line; ``("", None)`` for a blank piece."""
        return [(_finish(piece), line) for piece, line in zip(self.pieces, self.lines, strict=True)]

    def joined(self) -> str:
        """All pieces as one flattened text (``<br>`` joined like a source line break)."""
        return _finish(["\n".join("".join(piece) for piece in self.pieces)])


def _text_into(el: Element, run: _Run) -> None:
    """Append the text of ``el`` and its descendants (not its tail) to ``run``: a cut at ``<br>``, no ruby readings."""
    tag = _tag(el)
    if tag == "br":
        run.cut()
        return
    if tag in ("rt", "rp"):
        return
    block = tag in _BLOCK_TAGS
    if block:
        run.pieces[-1].append(_SEP)
    run.text(el)
    for child in el:
        _text_into(child, run)
        run.text(child, tail=True)
    if block:
        run.pieces[-1].append(_SEP)


def _finish(parts: list[str]) -> str:
    """Flattened text: lines joined like a browser, block boundaries as spaces."""
    return clean_text(" ".join(join_breaks(seg) for seg in "".join(parts).split(_SEP)))


def _inline_text(el: Element) -> str:
    """The text of ``el`` on one line (``<br>`` joined like a source line break)."""
    run = _Run()
    _text_into(el, run)
    return run.joined()


def _paragraphs(run: _Run) -> list[list[tuple[str, int]]]:
    """The run's pieces grouped into paragraphs: a blank piece (``<br><br>``) ends one, as a blank line would."""
    paragraphs: list[list[tuple[str, int]]] = [[]]
    for text, line in run.texts():
        if text and line is not None:
            paragraphs[-1].append((text, line))
        elif paragraphs[-1]:
            paragraphs.append([])
    return [p for p in paragraphs if p]


def _is_block(el: Element, tag: str) -> bool:
    """Block-level: a known block tag, or an unknown (custom) element that holds block-level elements."""
    if tag in _BLOCK_TAGS:
        return True
    return tag not in _INLINE_TAGS and any(_tag(d) in _BLOCK_TAGS for d in el.iterdescendants())


def _span(cell: Element, name: str, limit: int) -> int:
    m = re.match(r"\s*(\d+)", cell.get(name) or "")
    return min(max(int(m.group(1)), 1), limit) if m else 1


MAX_COLSPAN = 1000  # the HTML standard clamps colspan to 1000 and rowspan to 65534
MAX_ROWSPAN = 65534
_ROWS = "./tr | ./thead/tr | ./tbody/tr | ./tfoot/tr"


def _clamped(cell: Element, name: str, limit: int) -> int:
    """The cell's span clamped to ``limit``; a number longer than ``limit`` is written back shorter (clamped, without
    leading zeros), for ``_span`` and trafilatura: ``int()`` refuses more than 4,300 digits."""
    raw = cell.get(name) or ""
    m = re.match(r"\s*0*(\d+)", raw)
    if m and len(m.group(0).strip()) > len(str(limit)):
        digits = m.group(1)
        value = limit if len(digits) > len(str(limit)) else min(int(digits), limit)
        cell.set(name, f"{value}{raw[m.end() :]}")
    return _span(cell, name, limit)


def _check_tables(root: Element, limits: ReadLimits) -> None:
    """Clamp every cell's spans and refuse a table whose grid (rows × widest row, spans included) or the text its
    row-spanning cells repeat is over ``limits``, before any grid is built (here or by trafilatura)."""
    for table in root.iter("table"):
        trs = table.xpath(_ROWS)
        width = chars = spanning = 0
        ending: Counter[int] = Counter()  # columns whose rowspan ends before row r
        for r, tr in enumerate(trs):
            spanning -= ending.pop(r, 0)
            row = spanning
            for td in tr.xpath("./td | ./th"):
                colspan = _clamped(td, "colspan", MAX_COLSPAN)
                rowspan = min(_clamped(td, "rowspan", MAX_ROWSPAN), len(trs) - r)
                row += colspan
                chars += len(td.text_content()) * rowspan
                if rowspan > 1:
                    spanning += colspan
                    ending[r + rowspan] += colspan
            width = max(width, row)
        check_table(len(trs) * width, chars, limits, line=source_line(table))


def _table_rows(table: Element) -> tuple[list[list[Cell]], list[Element], bool | None]:
    """The rows on the table grid (row/column spans resolved), their ``tr`` elements, and whether row 1 is a header."""
    trs = table.xpath(_ROWS)
    rows: list[list[Cell]] = []
    spanned: dict[int, dict[int, Cell]] = {}  # row → column → the cell spanning into it from above
    for r, tr in enumerate(trs):
        cells: list[Cell] = []
        above = spanned.pop(r, {})
        col = 0
        for td in tr.xpath("./td | ./th"):
            while col in above:
                cells.append(above.pop(col))
                col += cells[-1].span
            cell = Cell(_inline_text(td), col, _span(td, "colspan", MAX_COLSPAN), _tag(td) == "th")
            for k in range(1, _span(td, "rowspan", len(trs) - r)):
                spanned.setdefault(r + k, {})[col] = Cell(cell.text, col, cell.span, cell.header)
            cells.append(cell)
            col += cell.span
        cells += [above[c] for c in sorted(above)]
        rows.append(cells)
    header: bool | None = None
    if trs and (_tag(trs[0].getparent()) == "thead" or all(c.header for c in rows[0])):
        header = True
    elif table.xpath("boolean(.//th)"):
        header = False
    return rows, trs, header


@dataclass
class _Walker:
    """Turns the content element into paragraphs: blocks rendered on consecutive lines, one per ``<br>`` piece."""

    paragraphs: list[tuple[Block, ...]] = field(default_factory=list)
    parts: list[Part] = field(default_factory=list)  # what mainpart.select compares
    owner: list[int] = field(default_factory=list)  # the part of each paragraph

    def add(self, text: str, line: int, source: Element, *, level: int = 0, item: bool = False, raw: str = "") -> None:
        """A one-line paragraph (a heading, table row, definition) that is also its own part."""
        if text:
            self.parts.append(Part(probe(raw or text), source, level))
            self.paragraphs.append((Block(text, line, level=level, item=item),))
            self.owner.append(len(self.parts) - 1)

    def run(self, run: _Run, source: Element, *, item: bool) -> None:
        """A run of inline content: one part; each ``<br>`` piece is a line cited at its own source line, and a
        blank piece (``<br><br>``) starts a new paragraph (the first line of each reads as an item in a list)."""
        paragraphs = _paragraphs(run)
        if not paragraphs:
            return
        self.parts.append(Part(probe(run.joined()), source))
        for paragraph in paragraphs:
            self.paragraphs.append(tuple(Block(t, line, item=item and k == 0) for k, (t, line) in enumerate(paragraph)))
            self.owner.append(len(self.parts) - 1)

    def walk(self, el: Element, *, item: bool = False) -> None:
        """A container: each run of inline content is a paragraph (an item inside a list); block children recurse."""
        run = _Run()
        run.text(el)
        for child in el:
            tag = _tag(child)
            if _is_block(child, tag):
                self.run(run, el, item=item)
                self.block(child, tag, item=item)
                run = _Run()
            else:
                _text_into(child, run)
            run.text(child, tail=True)
        self.run(run, el, item=item)

    def block(self, el: Element, tag: str, *, item: bool) -> None:
        if tag in _HEADINGS:
            self.add(_inline_text(el), text_line(el), el, level=int(tag[1]))
        elif tag == "dl":
            self.definitions(el)
        elif tag == "table" and not self.is_layout(el):
            self.table(el)
        else:
            self.walk(el, item=item or tag in _LISTS)

    def definitions(self, dl: Element) -> None:
        """``dt`` + ``dd`` pairs as ``dt: dd``; a ``dt`` without ``dd`` alone (``div`` wrappers are looked into)."""
        term, term_line, pending = "", 0, False
        for child in dl.xpath("./* | ./div/*"):
            tag = _tag(child)
            if tag == "dt":
                if pending:
                    self.add(term, term_line, dl)
                term, term_line, pending = _inline_text(child), source_line(child), True
            elif tag == "dd":
                text = _inline_text(child)
                self.add(f"{term}: {text}" if term and text else text, term_line if term else source_line(child), child)
                pending = False
            elif tag != "div":
                self.block(child, tag, item=False)
        if pending:
            self.add(term, term_line, dl)

    @staticmethod
    def is_layout(table: Element) -> bool:
        """A table used for page layout: it holds tables or headings, or says so with its role."""
        layout = (table.get("role") or "").lower() in ("presentation", "none")
        return layout or bool(table.xpath("boolean(.//table | .//h1 | .//h2 | .//h3 | .//h4 | .//h5 | .//h6)"))

    def table(self, table: Element) -> None:
        for caption in table.xpath("./caption"):
            self.add(_inline_text(caption), source_line(caption), caption)
        rows, trs, header = _table_rows(table)
        for text, tr in zip(table_texts(rows, header=header), trs, strict=True):
            self.add(text, source_line(tr), tr, raw=_inline_text(tr))


def _title(page_title: str, blocks: list[Block]) -> str:
    """The page title, shortened to the h1 when the h1 is one of its parts (split at ``｜``, `` - ``, `` | ``).

    >>> _title("市民参画の進め方｜加賀市", [Block("市民参画の進め方", 9, level=1)])
    '市民参画の進め方'
    >>> _title("", [Block("概要", 3, level=2), Block("加賀市の取組", 5, level=1)])
    '加賀市の取組'
    """
    h1 = next((b.text for b in blocks if b.level == 1), "")
    parts = [clean_text(p) for p in _TITLE_SEPARATOR.split(page_title)]
    if page_title and h1 and page_title != h1 and h1 in parts:
        return h1
    return page_title or h1


def _read_paragraphs(root: Element, page_title: str, *, extractor: bool) -> list[tuple[Block, ...]]:
    """The main content's paragraphs: those of the best content candidate (see :func:`_content`) that trafilatura
    keeps (see :mod:`~kensaku.ingest.readers.mainpart`); when it keeps none, the first candidate that has any."""
    main = main_text(root) if extractor else ""  # before _content drops anything
    candidates = _content(root)
    if main:
        walker = _Walker()
        walker.walk(candidates[0])
        kept = select(walker.parts, main, page_title)
        if any(kept):
            return [p for p, owner in zip(walker.paragraphs, walker.owner, strict=True) if kept[owner]]
    for candidate in candidates:
        walker = _Walker()
        walker.walk(candidate)
        if walker.paragraphs:
            return walker.paragraphs
    return []


def _render(paragraphs: list[tuple[Block, ...]]) -> tuple[list[str], list[int]]:
    """Markdown-like lines and their origins (see :func:`render_blocks`): a paragraph's blocks on consecutive lines,
    a blank line after each paragraph.

    >>> _render([(Block("一文目。", 5), Block("二文目。", 6)), (Block("三文目。", 8, item=True),)])
    (['一文目。', '二文目。', '', '- 三文目。', ''], [5, 6, 6, 8, 8])
    """
    lines: list[str] = []
    origins: list[int] = []
    for paragraph in paragraphs:
        texts, where, _ = render_blocks(paragraph)  # text, blank, text, blank, …
        lines += [*texts[0::2], ""]
        origins += [*where[0::2], where[-1]]
    return lines, origins


def read(data: bytes, path: Path, *, extractor: bool = True, limits: ReadLimits = DEFAULTS.limits) -> Document:
    """Read an HTML page into a document of markdown-like blocks cited by source line (``L88``).

    Args:
        data: The file's bytes.
        path: The file (for the name and the title fallback).
        extractor: Let trafilatura pick the main content (``False``: the hand-made rules alone, for comparison).
        limits: Table grid cells and the characters spanned cells repeat, checked before any table is read.

    Returns:
        The document; its title is ``<title>`` (cut to the h1 when the h1 is one of its parts), else the first
        h1, else the stem.

    Raises:
        ReadError: Binary data, an unknown encoding, no text in the main content, or a table over ``limits``.
    """
    root, problems = parse_html(_decode(data))
    _check_tables(root, limits)
    titles = root.xpath("//title[not(ancestor::svg)]")
    page_title = clean_text(titles[0].text_content()) if titles else ""
    paragraphs = _read_paragraphs(root, page_title, extractor=extractor)
    if not paragraphs:
        raise ReadError(
            "has no text in its main content (after dropping menus, headers, footers and scripts); if the page is "
            "built by JavaScript, save the rendered page from the browser, or convert it to text."
        )
    lines, origins = _render(paragraphs)
    title = _title(page_title, [block for paragraph in paragraphs for block in paragraph]) or path.stem
    return new_document(path, data, lines, title=title, origins=origins, line_unit="L", problems=problems)

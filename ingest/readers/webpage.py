"""HTML reader (lxml.html): the main content of a web page as :class:`Block` values cited by source line.

* Decoding: a BOM wins, then valid UTF-8, then the ``<meta charset>`` / ``http-equiv`` content type (``Shift_JIS``
  read as CP932, as browsers do), then detection (charset-normalizer's guess, strict CP932 or strict EUC-JP,
  whichever yields the most kana: charset-normalizer alone takes short EUC-JP pages for Korean).
* Boilerplate is dropped: script/style/template/svg/iframe and similar, ``nav``, ``aside``, ``footer``, a site
  ``header`` (not one inside ``article``/``section``/``main``), search forms, hidden elements, ARIA roles
  navigation/banner/contentinfo/complementary/search, and elements whose class or id names a menu, breadcrumb
  (パンくず: ``topicpath``, ``pankuzu``), sidebar or footer. The content is ``<main>``, else ``[role=main]``, else
  the only ``<article>``, else the body.
* Structure: ``h1``–``h6`` are headings; ``p``, ``div`` text, ``blockquote``, ``pre`` and ``dd`` are paragraphs;
  ``li`` are list items; ``dt`` + ``dd`` read ``dt: dd``; data tables give one block per row (see
  :func:`kensaku.ingest.readers.base.table_texts`), layout tables are read as text. ``<br>`` and source line breaks are
  joined like a browser does (nothing between full-width characters); ruby keeps its base text only.
* ``Document.origins`` is the source line of each block's start tag (``L88`` is line 88 of the file).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kensaku.config import DEFAULTS, MB
from kensaku.ingest.models import Document
from kensaku.ingest.normalize import clean_text
from kensaku.ingest.readers.base import Block, Cell, ReadError, join_breaks, new_document, render_blocks, table_texts

SUFFIXES: tuple[str, ...] = (".html", ".htm")
MAX_BYTES: int = DEFAULTS.max_text_mb * MB

Element = Any  # lxml ships no type information

_MAX_SOURCELINE = 65535  # libxml2's HTML parser stops counting lines here
_LINE_ATTR = "data-kensaku-line"
_SEP = "\x00"  # block boundary inside flattened text; NUL cannot occur in parsed text
_META_CHARSET = re.compile(rb"""<meta\s[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_XML_DECLARATION = re.compile(r"\A\s*<\?xml[^>]*\?>")
_START_TAG = re.compile(r"<[A-Za-z][A-Za-z0-9:-]*")
_KANA = re.compile("[\u3041-\u30ff]")
_ODD = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f\ufffd\ue000-\uf8ff]")
_SAMPLE = 200_000
_ALIASES = {
    **dict.fromkeys(("shift_jis", "shift-jis", "sjis", "x-sjis", "ms_kanji", "csshiftjis", "windows-31j"), "cp932"),
    **dict.fromkeys(("euc-jp", "x-euc-jp", "cseucpkdfmtjapanese"), "euc_jp"),
    **dict.fromkeys(("iso-8859-1", "latin1", "us-ascii", "ascii"), "cp1252"),
}
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
_TITLE_SEPARATOR = re.compile(r"\s+[|\-–—:]\s+|\s*[｜|]\s*")


def _tag(el: Element) -> str:
    return el.tag.lower() if isinstance(el.tag, str) else ""


def _codec(label: str) -> str | None:
    """The Python codec for an HTML charset label (as browsers map them), or ``None`` if unknown."""
    label = label.strip().lower()
    try:
        name = codecs.lookup(_ALIASES.get(label, label)).name
    except LookupError:
        return None
    return "utf-8" if name.startswith(("utf-16", "utf-32")) else name  # an ASCII-readable meta cannot be UTF-16


def _detect(data: bytes) -> str | None:
    """Decode undeclared, non-UTF-8 bytes: charset-normalizer's guess or CP932/EUC-JP, whichever has more kana."""
    from charset_normalizer import from_bytes

    best = from_bytes(data[: 4 * _SAMPLE]).best()
    candidates = [] if best is None else [str(best.encoding)]
    texts: list[str] = []
    for codec in [*candidates, "cp932", "euc_jp"]:
        try:
            texts.append(data.decode(codec))
        except (UnicodeDecodeError, LookupError):
            continue
    return max(texts, key=lambda t: len(_KANA.findall(t[:_SAMPLE])), default=None)


def _strict(data: bytes, codec: str | None) -> str | None:
    """``data`` decoded strictly with ``codec``, or ``None``."""
    try:
        return data.decode(codec) if codec else None
    except UnicodeDecodeError:
        return None


def _decode(data: bytes) -> str:
    """The page's text (see the module docstring for the order); raises :class:`ReadError` for binary data."""
    for bom, codec in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return data.decode(codec, errors="replace").lstrip("\ufeff")
    if b"\x00" in data:
        raise ReadError("is binary data (it contains NUL bytes), not an HTML page; save the page as HTML text.")
    meta = _META_CHARSET.search(data[:4096])
    declared = _codec(meta.group(1).decode("ascii")) if meta else None
    # Valid UTF-8 wins over a declaration: a wrong strict UTF-8 decode is practically impossible, while pages moved
    # to UTF-8 often keep their old <meta charset="Shift_JIS">.
    text = _strict(data, "utf-8") or _strict(data, declared) or _detect(data)  # non-empty data: no "" results
    if text is None:
        if not declared:
            raise ReadError("has an unknown character encoding and is not an HTML page; re-save it as UTF-8.")
        text = data.decode(declared, errors="replace")
    sample = text[:_SAMPLE]
    if len(_ODD.findall(sample)) > max(3, len(sample) // 100):
        raise ReadError("looks like binary data, not an HTML page (too many control characters); save it as HTML.")
    return text


def _mark_lines(text: str) -> str:
    """Write each start tag's line into an attribute, for pages longer than libxml2 counts lines."""
    out: list[str] = []
    pos, line = 0, 1
    for m in _START_TAG.finditer(text):
        line += text.count("\n", pos, m.start())
        out += [text[pos : m.end()], f' {_LINE_ATTR}="{line}"']
        pos = m.end()
    return "".join([*out, text[pos:]])


def _parse(text: str) -> tuple[Element, list[str]]:
    """Parse with lxml.html (line numbers kept equal to the file's); also returns problems to report."""
    import lxml.etree
    import lxml.html

    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _XML_DECLARATION.sub(lambda m: "\n" * m.group().count("\n"), text)
    if text.count("\n") >= _MAX_SOURCELINE:
        text = _mark_lines(text)
    parser = lxml.html.HTMLParser(remove_comments=True, remove_pis=True)
    try:
        root = lxml.html.document_fromstring(text, parser=parser)
    except (lxml.etree.ParserError, ValueError) as exc:
        raise ReadError(f"cannot be parsed as HTML ({exc}); check that it is a web page saved as HTML.") from exc
    if any("Excessive depth" in str(e.message) for e in parser.error_log):
        return root, ["elements are nested more than 256 deep; the text after that point was not read"]
    return root, []


def _line(el: Element) -> int:
    marked = el.get(_LINE_ATTR)
    return int(marked) if marked else int(el.sourceline or 1)


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


def _text_into(el: Element, parts: list[str]) -> None:
    """Append the text of ``el`` and its descendants (not its tail): ``\\n`` for ``<br>``, no ruby readings."""
    tag = _tag(el)
    if tag == "br":
        parts.append("\n")
        return
    if tag in ("rt", "rp"):
        return
    block = tag in _BLOCK_TAGS
    parts += [_SEP if block else "", el.text or ""]
    for child in el:
        _text_into(child, parts)
        parts.append(child.tail or "")
    if block:
        parts.append(_SEP)


def _finish(parts: list[str]) -> str:
    """Flattened text: lines joined like a browser, block boundaries as spaces."""
    return clean_text(" ".join(join_breaks(seg) for seg in "".join(parts).split(_SEP)))


def _inline_text(el: Element) -> str:
    parts: list[str] = []
    _text_into(el, parts)
    return _finish(parts)


def _is_block(el: Element, tag: str) -> bool:
    """Block-level: a known block tag, or an unknown (custom) element that holds block-level elements."""
    if tag in _BLOCK_TAGS:
        return True
    return tag not in _INLINE_TAGS and any(_tag(d) in _BLOCK_TAGS for d in el.iterdescendants())


def _tail_line(el: Element) -> int | None:
    """Estimated line where the visible tail text of ``el`` starts, or ``None`` if the tail is blank."""
    tail = el.tail or ""
    rest = tail.lstrip()
    if not rest:
        return None
    nxt = el.getnext()
    if nxt is not None:
        return max(1, _line(nxt) - rest.count("\n"))
    return _line(list(el.iter())[-1]) + tail[: len(tail) - len(rest)].count("\n")


def _span(cell: Element, name: str, limit: int) -> int:
    m = re.match(r"\s*(\d+)", cell.get(name) or "")
    return min(max(int(m.group(1)), 1), limit) if m else 1


def _table_rows(table: Element) -> tuple[list[list[Cell]], list[int], bool | None]:
    """The rows on the table grid (row/column spans resolved), each row's line, and whether row 1 is a header."""
    trs = table.xpath("./tr | ./thead/tr | ./tbody/tr | ./tfoot/tr")
    rows: list[list[Cell]] = []
    spanned: dict[tuple[int, int], Cell] = {}
    for r, tr in enumerate(trs):
        cells: list[Cell] = []
        col = 0
        for td in tr.xpath("./td | ./th"):
            while (r, col) in spanned:
                cells.append(spanned.pop((r, col)))
                col += cells[-1].span
            cell = Cell(_inline_text(td), col, _span(td, "colspan", 1000), _tag(td) == "th")
            for k in range(1, _span(td, "rowspan", len(trs) - r)):
                spanned[(r + k, col)] = Cell(cell.text, col, cell.span, cell.header)
            cells.append(cell)
            col += cell.span
        cells += [spanned.pop(key) for key in sorted(k for k in spanned if k[0] == r)]
        rows.append(cells)
    header: bool | None = None
    if trs and (_tag(trs[0].getparent()) == "thead" or all(c.header for c in rows[0])):
        header = True
    elif table.xpath("boolean(.//th)"):
        header = False
    return rows, [_line(tr) for tr in trs], header


@dataclass
class _Walker:
    """Turns the content element into blocks."""

    blocks: list[Block] = field(default_factory=list)

    def add(self, text: str, line: int, *, level: int = 0, item: bool = False) -> None:
        if text:
            self.blocks.append(Block(text, line, level=level, item=item))

    def walk(self, el: Element, *, item: bool = False) -> None:
        """A container: each run of inline content is a paragraph (an item inside a list); block children recurse.

        The first run is cited at the container's start tag, a later one at its first inline element or text.
        """
        run: list[str] = [el.text or ""]
        line: int | None = _line(el)
        for child in el:
            tag = _tag(child)
            if _is_block(child, tag):
                self.add(_finish(run), line or _line(el), item=item)
                self.block(child, tag, item=item)
                run, line = [child.tail or ""], _tail_line(child)
            else:
                line = line or _line(child)
                _text_into(child, run)
                run.append(child.tail or "")
        self.add(_finish(run), line or _line(el), item=item)

    def block(self, el: Element, tag: str, *, item: bool) -> None:
        if tag in _HEADINGS:
            self.add(_inline_text(el), _line(el), level=int(tag[1]))
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
                    self.add(term, term_line)
                term, term_line, pending = _inline_text(child), _line(child), True
            elif tag == "dd":
                text = _inline_text(child)
                self.add(f"{term}: {text}" if term and text else text, term_line if term else _line(child))
                pending = False
            elif tag != "div":
                self.block(child, tag, item=False)
        if pending:
            self.add(term, term_line)

    @staticmethod
    def is_layout(table: Element) -> bool:
        """A table used for page layout: it holds tables or headings, or says so with its role."""
        layout = (table.get("role") or "").lower() in ("presentation", "none")
        return layout or bool(table.xpath("boolean(.//table | .//h1 | .//h2 | .//h3 | .//h4 | .//h5 | .//h6)"))

    def table(self, table: Element) -> None:
        for caption in table.xpath("./caption"):
            self.add(_inline_text(caption), _line(caption))
        rows, lines, header = _table_rows(table)
        for text, line in zip(table_texts(rows, header=header), lines, strict=True):
            self.add(text, line)


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


def _read_blocks(root: Element) -> list[Block]:
    """The blocks of the first content candidate that has any (see :func:`_content`)."""
    for candidate in _content(root):
        walker = _Walker()
        walker.walk(candidate)
        if walker.blocks:
            return walker.blocks
    return []


def read(data: bytes, path: Path) -> Document:
    """Read an HTML page into a document of markdown-like blocks cited by source line (``L88``).

    Args:
        data: The file's bytes.
        path: The file (for the name and the title fallback).

    Returns:
        The document; its title is ``<title>`` (cut to the h1 when the h1 is one of its parts), else the first
        h1, else the stem.

    Raises:
        ReadError: Binary data, an unknown encoding, or no text in the main content.
    """
    root, problems = _parse(_decode(data))
    titles = root.xpath("//title[not(ancestor::svg)]")
    page_title = clean_text(titles[0].text_content()) if titles else ""
    blocks = _read_blocks(root)
    if not blocks:
        raise ReadError(
            "has no text in its main content (after dropping menus, headers, footers and scripts); if the page is "
            "built by JavaScript, save the rendered page from the browser, or convert it to text."
        )
    lines, origins, _ = render_blocks(blocks)
    title = _title(page_title, blocks) or path.stem
    return new_document(path, data, lines, title=title, origins=origins, line_unit="L", problems=problems)

"""An HTML file's bytes as an lxml tree whose elements know their source line (for
:mod:`kensaku.ingest.readers.webpage`).

* Decoding (:func:`decode_html`): a BOM wins, then valid UTF-8, then the ``<meta charset>`` / ``http-equiv``
  content type (``Shift_JIS`` read as CP932, as browsers do), then detection (charset-normalizer's guess, strict
  CP932 or strict EUC-JP, whichever yields the most kana: charset-normalizer alone takes short EUC-JP pages for
  Korean). Binary data is refused with a :class:`~kensaku.ingest.readers.base.ReadError`.
* Parsing (:func:`parse_html`): lxml.html with line numbers equal to the file's (CR LF and an XML declaration
  do not shift them).
* Source lines: :func:`source_line` is the line where an element's start tag ends, which is where its text starts
  (past line 65535, where libxml2 stops counting, the line is written into an attribute first);
  :func:`text_line` and :func:`tail_line` are the lines where an element's visible text and tail text start.
"""

from __future__ import annotations

import codecs
import re
from typing import Any

from kensaku.ingest.readers.base import ReadError

Element = Any  # lxml ships no type information

MAX_SOURCELINE = 65535  # libxml2's HTML parser stops counting lines here

# `[^<>]`: each `<meta` scans only to the next tag, so a run of `<meta ` costs linear time, not quadratic.
_META_CHARSET = re.compile(rb"""<meta\s[^<>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_KANA = re.compile("[\u3041-\u30ff]")
_ODD = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f\ufffd\ue000-\uf8ff]")
_SAMPLE = 200_000
_ALIASES = {
    **dict.fromkeys(("shift_jis", "shift-jis", "sjis", "x-sjis", "ms_kanji", "csshiftjis", "windows-31j"), "cp932"),
    **dict.fromkeys(("euc-jp", "x-euc-jp", "cseucpkdfmtjapanese"), "euc_jp"),
    **dict.fromkeys(("iso-8859-1", "latin1", "us-ascii", "ascii"), "cp1252"),
}
_LINE_ATTR = "data-kensaku-line"
_C0_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_XML_DECLARATION = re.compile(r"\A\s*<\?xml[^>]*\?>")
_START_TAG = re.compile(r"<[A-Za-z][A-Za-z0-9:-]*")
# UTF-32 first: its little-endian BOM starts with the UTF-16 one.
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def html_codec(label: str) -> str | None:
    """The Python codec for an HTML charset label (as browsers map them), or ``None`` if unknown.

    >>> html_codec("Shift_JIS"), html_codec("EUC-JP"), html_codec("utf-16"), html_codec("klingon")
    ('cp932', 'euc_jp', 'utf-8', None)
    """
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


def decode_html(data: bytes) -> str:
    """The page's text (see the module docstring for the order).

    Args:
        data: The file's bytes.

    Returns:
        The decoded text, without a BOM.

    Raises:
        ReadError: Binary data (NUL bytes, too many control characters) or an unknown, undeclared encoding.
    """
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data.decode(codec, errors="replace").lstrip("\ufeff")
    if b"\x00" in data:
        raise ReadError("is binary data (it contains NUL bytes), not an HTML page; save the page as HTML text.")
    meta = _META_CHARSET.search(data[:4096])
    declared = html_codec(meta.group(1).decode("ascii")) if meta else None
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
    """Write each start tag's line (where it ends, as libxml2 counts) into an attribute, for pages longer than
    libxml2 counts lines."""
    out: list[str] = []
    pos, line = 0, 1
    for m in _START_TAG.finditer(text):
        line += text.count("\n", pos, m.end())
        end = max(text.find(">", m.end()), m.end())
        tag_line = line + text.count("\n", m.end(), end)
        out += [text[pos : m.end()], f' {_LINE_ATTR}="{tag_line}"']
        pos = m.end()
    return "".join([*out, text[pos:]])


def parse_html(text: str) -> tuple[Element, list[str]]:
    """Parse a page's text with lxml.html, keeping line numbers equal to the file's.

    Args:
        text: The decoded page (see :func:`decode_html`).

    Returns:
        The root element, and problems to report (nesting too deep to read the rest).

    Raises:
        ReadError: lxml cannot parse the text at all.
    """
    import lxml.etree
    import lxml.html

    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # C0 controls, lone surrogates and U+FFFE/U+FFFF are not HTML text, and lxml refuses them when a tree is edited
    # (drop_tree): removed here, which keeps every newline, so line numbers stay the file's.
    text = _C0_CONTROLS.sub("", text)
    text = _XML_DECLARATION.sub(lambda m: "\n" * m.group().count("\n"), text)
    if text.count("\n") >= MAX_SOURCELINE:
        text = _mark_lines(text)
    parser = lxml.html.HTMLParser(remove_comments=True, remove_pis=True)
    try:
        root = lxml.html.document_fromstring(text, parser=parser)
    except (lxml.etree.ParserError, ValueError) as exc:
        raise ReadError(f"cannot be parsed as HTML ({exc}); check that it is a web page saved as HTML.") from exc
    _clean_tree(root)
    if any("Excessive depth" in str(e.message) for e in parser.error_log):
        return root, ["elements are nested more than 256 deep; the text after that point was not read"]
    return root, []


def _clean_tree(root: Element) -> None:
    """Remove what XML cannot hold from the tree's text (character references such as ``&#1;`` or ``&#xFFFF;`` put
    it there after parsing), so that editing the tree (``drop_tree``) cannot fail on it."""
    for el in root.iter():
        if el.text and _C0_CONTROLS.search(el.text):
            el.text = _C0_CONTROLS.sub("", el.text)
        if el.tail and _C0_CONTROLS.search(el.tail):
            el.tail = _C0_CONTROLS.sub("", el.tail)


def source_line(el: Element) -> int:
    """The file line where the start tag of ``el`` ends (1 when unknown)."""
    marked = el.get(_LINE_ATTR)
    return int(marked) if marked else int(el.sourceline or 1)


def lead_breaks(text: str) -> int:
    """Line breaks before the first visible character of ``text``.

    >>> lead_breaks("\\n\\n    避難所を開設した。\\n"), lead_breaks(" 本文")
    (2, 0)
    """
    return text[: len(text) - len(text.lstrip())].count("\n")


def tail_line(el: Element) -> int | None:
    """The line where the visible tail text of ``el`` starts, or ``None`` if the tail is blank.

    Exact after an empty element (``<br>``, ``<img>``: its start tag ends where the tail starts) or before a next
    sibling (counted back from its start tag); else estimated from the last line inside ``el``.
    """
    tail = el.tail or ""
    rest = tail.lstrip()
    if not rest:
        return None
    if len(el) == 0 and not el.text:
        return source_line(el) + lead_breaks(tail)
    nxt = el.getnext()
    if nxt is not None:
        return max(1, source_line(nxt) - rest.count("\n"))
    return source_line(list(el.iter())[-1]) + lead_breaks(tail)


def text_line(el: Element) -> int:
    """The line where the visible text of ``el`` starts (its first text, not its start tag, when they differ)."""
    for node in el.iter():
        text = node.text or "" if node.tag not in ("rt", "rp") else ""
        if text.strip():
            return source_line(node) + lead_breaks(text)
    return source_line(el)

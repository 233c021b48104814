"""What a heading line looks like in any document: markdown ``#``, numbered (``第1章``, ``1.``, ``(1)``) and symbol
(``■``) headings with their nesting ranks; and the line shapes of ordinances (例規) and statutes.

These are layout rules about single lines, shared by the readers (the PDF reader keeps blank lines around
headings) and the segmenters (which nest headings by rank); neither imports the other.

Ordinance lines (:func:`ordinance_line`): ``第1章``/``第1節`` (and 編, 款, 目) and ``附則``/``別表``/``別記``
headings; a caption ``（使用料）`` alone on its line; an article ``第7条 …`` (``第三条の二``, with an inline
caption ``第1条（目的）`` too); the opening title ``○…``, date and number (``規程第9号``) lines; a paragraph (項)
``2 …`` (a number and a space, or a number alone); an item (号) ``(1)``/``（１）``, ``一``… followed by a space,
``①``, ``1.``/``1．``, ``1)``; a sub-item ``イ``/``ア`` followed by a space, ``(ア)``/``(a)``.
:func:`numbered_style` names the numbering of a line so that a run of lines numbered alike can be told from a
heading.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from kensaku.ingest.normalize import clean_text

NUMBERED_HEADING_MAX_CHARS = 40
SYMBOL_HEADING_MAX_CHARS = 60

# Every pattern here is linear in the line's length: no two quantified parts can match the same characters, or they
# are possessive (`*+`). A markdown heading is parsed by `md_heading` with string methods for that reason.
_MD_MARK = re.compile(r"#{1,6}(?=\s)")
_DIGITS = "0-9０-９"
_KANJI_NUMBERS = "一二三四五六七八九十百千"
_N = f"[{_DIGITS}{_KANJI_NUMBERS}]+"
_NUMBER = re.compile(_N)
_DIGIT_RUN = re.compile(f"[{_DIGITS}]+")
# (style regex, rank): a lower rank is a higher level. Markdown levels use rank = 10 × level.
_NUMBERED: tuple[tuple[re.Pattern[str], int], ...] = (
    (re.compile(rf"^第{_N}章"), 10),
    (re.compile(rf"^第{_N}節"), 20),
    (re.compile(r"^[0-9０-９]+[-－.．][0-9０-９]+[-－.．][0-9０-９]+\.?(?![0-9０-９])"), 45),
    (re.compile(r"^[0-9０-９]+[-－][0-9０-９]+[.．]?(?![0-9０-９])|^[0-9０-９]+[.．][0-9０-９]+\.?\s"), 40),
    (re.compile(r"^[0-9０-９]+[.．](?![0-9０-９])"), 30),
    (re.compile(r"^[（(][0-9０-９]+[）)]"), 50),
)
_SYMBOL_RANKS = {"■": 60, "□": 62, "◆": 64, "◇": 65, "●": 66}
_LIST_NUMBER = _NUMBERED[-2][0]

# Ordinances: 編 < 附則/別表 = 章 < 節 < 款 < 目 < article (条) and caption headings.
ARTICLE_RANK = 70
_PART = re.compile(rf"^第{_N}(編|章|節|款|目)(?:の{_N})*(?=$|\s)")
_PART_RANKS = {"編": 5, "章": 10, "節": 20, "款": 25, "目": 27}
_SUPPLEMENT = re.compile(rf"^(附\s?則|(?:別\s?表|別記|様式)(?:様式)?(?:第{_N}号?)?)(?=$|\s|[（(]|抄)")
_ARTICLE = re.compile(rf"^(第{_N}条(?:の{_N})*)(?:\s*[（(]([^（）()]{{1,40}})[）)]|(?=$|\s))\s*+(.*)$")
_CAPTION = re.compile(r"^[（(]([^（）()]{2,40})[）)]$")
_PARAGRAPH = re.compile(rf"^[{_DIGITS}]+(?:\s+(?=\S)|$)")
# 号 item numbering styles; `(1)` and `1.` are the same patterns as the numbered headings above.
_STYLES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("paren", _NUMBERED[-1][0]),
    ("circled", re.compile(r"^[①-⑳㉑-㉟㊱-㊿]")),
    ("dot", _LIST_NUMBER),
    ("half-paren", re.compile(r"^[0-9０-９]+[)）]")),
    ("kanji", re.compile(rf"^[{_KANJI_NUMBERS}]+(?:の[{_KANJI_NUMBERS}]+)*\s")),
)
_SUB_ITEM = re.compile(r"^(?:[ァ-ヶｦ-ﾝ]\s|[（(][ァ-ヶｦ-ﾝa-zａ-ｚ][）)])")
_MD_BULLET = re.compile(r"^[-*+]\s+")
# The title (`○かつらぎ町表彰規程`), date and number lines an ordinance opens with.
_HEADER = re.compile(
    r"^(?:[○◯]\S.*|(?:明治|大正|昭和|平成|令和)[^\s。]{1,4}年[^\s。]{1,3}月[^\s。]{1,3}日|[^\s。]{0,12}第\S{1,8}号)$"
)


@dataclass(frozen=True)
class Heading:
    """A heading line: its nesting rank (lower = higher level) and its cleaned text."""

    rank: int
    text: str


@dataclass(frozen=True)
class OrdinanceLine:
    """One cleaned line of an ordinance, classified.

    Attributes:
        kind: ``heading``, ``caption``, ``article``, ``paragraph`` (項), ``item`` (号), ``subitem``, ``header``
            (the opening title ``○…``, date or number line ``規程第9号``) or ``text``.
        text: The cleaned line (for a heading, its heading text; a markdown bullet marker ``- `` is dropped).
        rank: Nesting rank of a heading or article, else 0.
        label: ``第7条`` (with ``（caption）`` when written on the line) for an article, the caption in full-width
            brackets ``（使用料）`` for a caption, else ``""``.
        body: The text after the article label or the paragraph number (``""`` for other kinds).
    """

    kind: str
    text: str
    rank: int = 0
    label: str = ""
    body: str = ""


def md_heading(line: str) -> tuple[int, str] | None:
    """The level and raw text of a markdown ``#`` heading line, or ``None``.

    The text is what ``^(#{1,6})\\s+(.+?)\\s*#*\\s*$`` captures (closing ``#``s and spaces dropped), found with
    string methods in linear time: as a regex, its quantifiers after the marker can all match the same spaces,
    and ``# 見出し`` + 5,000 spaces + ``x`` took minutes.

    >>> md_heading("## 概要 ##"), md_heading("# C#"), md_heading("#見出し"), md_heading("####### 七")
    ((2, '概要'), (1, 'C'), None, None)
    """
    mark = _MD_MARK.match(line)
    if mark is None:
        return None
    rest = line[mark.end() :]
    body = rest.lstrip()
    if not body:  # Only spaces: the regex's text is the last one (not a line break) after the first.
        spaces = rest[1:].rstrip("\n")
        return (mark.end(), spaces[-1]) if spaces else None
    text = body.rstrip().rstrip("#").rstrip() or body[0]
    return None if "\n" in text else (mark.end(), text)


def markup_heading(line: str) -> Heading | None:
    """A markdown ``#`` or symbol (``■□◆◇●``) heading on ``line``, or ``None`` (numbered styles are not looked at)."""
    md = md_heading(line)
    if md is not None:
        return Heading(10 * md[0], clean_text(md[1]))
    text = clean_text(line)
    if not text or text.endswith("。") or text[0] not in _SYMBOL_RANKS:
        return None
    body = clean_text(text[1:])
    return Heading(_SYMBOL_RANKS[text[0]], body) if body and len(text) <= SYMBOL_HEADING_MAX_CHARS else None


def line_heading(line: str, prev: str, nxt: str) -> Heading | None:
    """The heading on ``line`` (``prev``/``nxt`` are the neighbouring lines), or ``None``."""
    marked = markup_heading(line)
    if marked is not None:
        return marked
    text = clean_text(line)
    if not text or text.endswith("。") or text[0] in _SYMBOL_RANKS:
        return None
    if len(text) > NUMBERED_HEADING_MAX_CHARS or "。" in text:
        return None
    for pattern, rank in _NUMBERED:
        if pattern.match(text):
            # `1. 項目` with another numbered line right next to it is an ordered list, not a heading.
            listed = rank == 30 and any(_LIST_NUMBER.match(clean_text(s)) for s in (prev, nxt))
            return None if listed else Heading(rank, text)
    return None


def numbered_style(line: str) -> str | None:
    """How ``line`` is numbered as a list item: ``paren`` ``(1)``, ``circled`` ``①``, ``dot`` ``1.``,
    ``half-paren`` ``1)``, ``kanji`` ``一 ``; ``None`` for other lines.

    >>> numbered_style("（２） 市長が特に必要と認めるもの"), numbered_style("1. はじめに"), numbered_style("第1章")
    ('paren', 'dot', None)
    """
    text = _MD_BULLET.sub("", clean_text(line), count=1)
    return next((name for name, pattern in _STYLES if pattern.match(text)), None)


def item_number(line: str) -> tuple[str, int] | None:
    """The numbering style of ``line`` (see :func:`numbered_style`) and its number (``0`` for kanji numerals).

    >>> item_number("（２） 市長が特に必要と認めるもの"), item_number("③ 評価する。"), item_number("本文")
    (('paren', 2), ('circled', 3), None)
    """
    style = numbered_style(line)
    if style is None:
        return None
    text = _MD_BULLET.sub("", clean_text(line), count=1)
    if style == "circled":
        return style, int(unicodedata.numeric(text[0]))
    digits = _DIGIT_RUN.search(text)
    return style, int(digits.group()) if digits and style != "kanji" else 0


def _article(text: str) -> OrdinanceLine | None:
    m = _ARTICLE.match(text)
    if m is None:
        return None
    label = m.group(1) + (f"（{m.group(2)}）" if m.group(2) else "")
    return OrdinanceLine("article", text, ARTICLE_RANK, label, m.group(3))


def _structure(text: str) -> OrdinanceLine | None:
    if m := _PART.match(text):
        return OrdinanceLine("heading", text, _PART_RANKS[m.group(1)])
    if m := _SUPPLEMENT.match(text):
        name = m.group(1).replace(" ", "")
        return OrdinanceLine("heading", name + text[m.end() :], _PART_RANKS["編"])
    return None


def ordinance_line(line: str) -> OrdinanceLine:
    """Classify one line of an ordinance or statute (see the module docstring); blank lines are ``text``.

    >>> ordinance_line("第7条　駐車場等の使用料は、無料とする。").label
    '第7条'
    >>> [ordinance_line(s).kind for s in ("(使用料)", "2　前項の規定は", "(1)　日曜日", "一　法令", "イ　命令")]
    ['caption', 'paragraph', 'item', 'item', 'subitem']
    """
    text = clean_text(line)
    if not text:
        return OrdinanceLine("text", "")
    found = _structure(text) or _article(text)
    if found is not None:
        return found
    if (m := _CAPTION.match(text)) and not _NUMBER.fullmatch(m.group(1)):
        return OrdinanceLine("caption", text, label=f"（{m.group(1)}）")
    bare = _MD_BULLET.sub("", text, count=1)
    if numbered_style(bare):
        return OrdinanceLine("item", bare)
    if _SUB_ITEM.match(bare):
        return OrdinanceLine("subitem", bare)
    if m := _PARAGRAPH.match(text):
        return OrdinanceLine("paragraph", text, body=text[m.end() :])
    return OrdinanceLine("header" if _HEADER.match(text) else "text", bare)


def is_article_line(line: str) -> bool:
    """True for an article line that carries text or a caption (``第1条 この条例は…``, ``第1条（目的）``).

    >>> is_article_line("第2条　表彰は、次の各号に該当する者について町長がこれを行う。"), is_article_line("- 第1条")
    (True, False)
    """
    found = _article(clean_text(line))
    return found is not None and (bool(found.body) or found.label.endswith("）"))

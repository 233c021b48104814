"""Repair characters that PDF text layers get wrong: radical look-alikes, compatibility ideographs, ligatures.

PDFs written by Word and PowerPoint often map a kanji glyph to the Unicode *radical* that looks the same, so the
text layer reads ``⾏政の⼈材`` (U+2F8F, U+2F08: Kangxi radicals) or ``⻑野県`` (U+2ED1, from the CJK Radicals
Supplement) instead of ``行政の人材`` / ``長野県``. Search for 行政 would then never match. :func:`fix_compat_chars`
maps back:

* Kangxi Radicals (U+2F00–U+2FD5) and CJK Compatibility Ideographs (U+F900–U+FAFF): by their NFKC mapping
  (ideographs without one, such as ``﨑`` U+FA11, are unified ideographs and stay);
* CJK Radicals Supplement (U+2E80–U+2EF3): a hand table of the radicals whose shape is a kanji in its own right
  (``⻑``→``長``, ``⻄``→``西``, ``⺠``→``民``, …); pure components (``⺅`` 亻, ``⺡`` 氵) are left alone;
* Latin ligatures ``ﬀ ﬁ ﬂ ﬃ ﬄ ﬅ ﬆ``.

Nothing else changes: no general NFKC, so full-width digits, ``①``, ``㈱``, full-width punctuation and half-width
katakana stay as written (width folding is done only for index keys, elsewhere).

Also here, for text layers that cannot be repaired: :data:`CID_RUN` and :func:`cid_share` for ``(cid:123)`` codes
(a font without a ToUnicode map, as pdfminer-style extractors write it), and :func:`garbled_share` for the same
fault as pypdf shows it: an ``Identity-H`` Japanese font without a ToUnicode map is decoded as if its CIDs were code
points, so ``パッケージ版のインストール`` comes out as ``ύοέʔδ൛ͷΠϯετʔϧ``: a mix of IPA, Greek, Thai, Lao, Tibetan…
"""

from __future__ import annotations

import re
import unicodedata

# Radicals Supplement → the kanji of the same shape. Japanese forms first; the C-simplified forms map to the
# simplified Chinese character they are drawn from.
_SUPPLEMENT: dict[str, str] = {
    "⺒": "巳",
    "⺓": "幺",
    "⺝": "月",
    "⺟": "母",
    "⺠": "民",
    "⺩": "王",
    "⺯": "糸",
    "⻁": "虎",
    "⻄": "西",
    "⻆": "角",
    "⻑": "長",
    "⻘": "青",
    "⻝": "食",
    "⻣": "骨",
    "⻤": "鬼",
    "⻨": "麦",
    "⻩": "黄",
    "⻫": "斉",
    "⻭": "歯",
    "⻯": "竜",
    "⻱": "龜",
    "⻲": "亀",
    # C-simplified forms.
    "⻅": "见",
    "⻉": "贝",
    "⻋": "车",
    "⻓": "长",
    "⻔": "门",
    "⻙": "韦",
    "⻚": "页",
    "⻛": "风",
    "⻜": "飞",
    "⻢": "马",
    "⻥": "鱼",
    "⻦": "鸟",
    "⻧": "卤",
    "⻪": "黾",
    "⻬": "齐",
    "⻮": "齿",
    "⻰": "龙",
    "⻳": "龟",
}
_LIGATURES: dict[str, str] = {"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"}
_NFKC_RANGES: tuple[tuple[int, int], ...] = ((0x2F00, 0x2FD5), (0xF900, 0xFAFF))

# CIDs of Adobe-Japan1 kana and kanji (about 630–8000) read as code points land here, in dozens of scripts.
_GARBLED_FIRST, _GARBLED_END = 0x250, 0x2000
_BLOCK_BITS = 7
GARBLED_MIN_BLOCKS = 4

#: A run of ``(cid:N)`` codes (with the whitespace between them), as text extraction writes unmapped glyphs.
CID_RUN = re.compile(r"(?:\(cid:\d+\)\s*)+")


def _build_table() -> dict[int, str]:
    """The :meth:`str.translate` table: NFKC for the two ranges, then the hand tables."""
    table: dict[int, str] = {}
    for first, last in _NFKC_RANGES:
        for code in range(first, last + 1):
            char = chr(code)
            mapped = unicodedata.normalize("NFKC", char)
            if mapped != char:
                table[code] = mapped
    for source in (_SUPPLEMENT, _LIGATURES):
        table.update({ord(k): v for k, v in source.items()})
    return table


_TABLE = _build_table()


def fix_compat_chars(text: str) -> str:
    """Map radical look-alikes, compatibility ideographs and Latin ligatures to the ordinary characters.

    Args:
        text: Extracted text.

    Returns:
        The text with only those characters replaced (see the module docstring); everything else is unchanged.

    >>> fix_compat_chars("⾏政の⼈材、⻑野県")
    '行政の人材、長野県'
    >>> fix_compat_chars("ﬁle ①㈱ １２３ ｶﾅ")
    'file ①㈱ １２３ ｶﾅ'
    """
    return text.translate(_TABLE)


def cid_share(text: str) -> float:
    """The share of the non-whitespace characters of ``text`` that belong to ``(cid:N)`` runs.

    Args:
        text: Extracted text of one page.

    Returns:
        A value from 0.0 (no codes, or no text) to 1.0 (nothing but codes).

    >>> cid_share("(cid:12)(cid:345)")
    1.0
    >>> cid_share("(cid:7) 行政の人材育成")
    0.5
    """
    total = sum(1 for ch in text if not ch.isspace())
    if not total:
        return 0.0
    cid = sum(1 for m in CID_RUN.finditer(text) for ch in m.group() if not ch.isspace())
    return cid / total


def garbled_share(text: str) -> float:
    """The share of the non-whitespace characters of ``text`` that look like CIDs misread as code points.

    Those are the characters in U+0250–U+1FFF (IPA to Greek Extended), counted only when they come from at least 4
    blocks of 128 code points: real text in that range is one or two scripts (Greek formulas, a Russian name), a
    misread Japanese font scatters over many.

    Args:
        text: Extracted text of one page.

    Returns:
        A value from 0.0 to 1.0; 0.0 when the characters come from fewer than 4 blocks.

    >>> garbled_share("ύοέʔδ൛ͷΠϯετʔϧ")
    1.0
    >>> garbled_share("αとβの比はΔで表す")
    0.0
    """
    odd = [ord(ch) for ch in text if _GARBLED_FIRST <= ord(ch) < _GARBLED_END]
    total = sum(1 for ch in text if not ch.isspace())
    if not total or len({code >> _BLOCK_BITS for code in odd}) < GARBLED_MIN_BLOCKS:
        return 0.0
    return len(odd) / total

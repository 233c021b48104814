"""Junk lines: mojibake and unmapped glyphs that must never be indexed, told apart from real text by script.

A Japanese text layer that went wrong does not look like Japanese: fonts without a usable Unicode map come out as
characters from scripts nobody writes in a Japanese report (``ABC ͍͋͏͓͑ 123``, ``ಘΒΕͨ୯ޠ``, a lone ``ɹ``),
private-use code points or U+FFFD. :func:`junk_line` flags a line when such characters are

* 3 or more, or
* 20 % or more of its non-space characters (a lone ``ɹ``),

except that Greek alone, as used for symbols (``μm``, ``α波``, ``Δ``), needs 3 or more letters *and* 30 % of the line,
or a line of nothing but 2 or more Greek letters.
Counted: C1 controls, IPA and modifier letters, combining marks, Greek and Coptic, Cyrillic, Armenian, Hebrew,
Arabic, Syriac, Thaana, N'Ko, the Indic scripts, Thai, Lao, Tibetan, Myanmar, Georgian, Ethiopic … (U+0E00–U+10FF,
U+1200–U+1DFF), Greek Extended, Yi, Vai, private use and the specials block. Hangul, Latin and CJK never count.
"""

from __future__ import annotations

from collections.abc import Iterable

_RANGES: tuple[tuple[int, int], ...] = (
    (0x0080, 0x009F),  # C1 controls
    (0x0250, 0x036F),  # IPA, spacing modifier letters, combining diacritical marks
    (0x0370, 0x03FF),  # Greek and Coptic (see GREEK)
    (0x0400, 0x08FF),  # Cyrillic … Arabic, Syriac, Thaana, N'Ko, Samaritan
    (0x0900, 0x10FF),  # Indic scripts, Thai, Lao, Tibetan, Myanmar, Georgian
    (0x1200, 0x1DFF),  # Ethiopic … Mongolian, Balinese, phonetic extensions, combining supplement
    (0x1F00, 0x1FFF),  # Greek Extended
    (0xA000, 0xA6FF),  # Yi, Lisu, Vai, Cyrillic Extended-B, Bamum
    (0xE000, 0xF8FF),  # private use
    (0xFFF0, 0xFFFF),  # specials: U+FFFD replacement character
    (0xF0000, 0x10FFFF),  # supplementary private use
)
GREEK = (0x0370, 0x03FF)
JUNK_MIN_CHARS = 3
JUNK_MIN_SHARE = 0.2
GREEK_MIN_SHARE = 0.3


def _odd(code: int) -> bool:
    return any(first <= code <= last for first, last in _RANGES)


def junk_line(line: str) -> bool:
    """True when ``line`` is mojibake or unmapped glyphs rather than text (see the module docstring).

    Args:
        line: One extracted line.

    Returns:
        Whether the line must be left out.

    >>> [junk_line(s) for s in ["ABC ͍͋͏͓͑ 123", "ಘΒΕͨ୯ޠ", "ɹ", "\ue000\ue001"]]
    [True, True, True, True]
    >>> [junk_line(s) for s in ["粒径は10μmとした。", "α波とβ波を測る。", "𠮟る", "Café と 한국어", "Δ"]]
    [False, False, False, False, False]
    """
    codes = [ord(ch) for ch in line if not ch.isspace()]
    odd = [code for code in codes if _odd(code)]
    if not odd:
        return False
    share = len(odd) / len(codes)
    if all(GREEK[0] <= code <= GREEK[1] for code in odd):
        # Symbols (``μm``, ``α波``) are kept; a line of Greek letters only (``ΒΕ``) is mojibake.
        return (len(odd) >= JUNK_MIN_CHARS and share >= GREEK_MIN_SHARE) or (share == 1.0 and len(odd) > 1)
    return len(odd) >= JUNK_MIN_CHARS or share >= JUNK_MIN_SHARE


def drop_junk(lines: Iterable[str]) -> tuple[list[str], int]:
    """``lines`` without the junk lines, and how many were dropped.

    >>> drop_junk(["行政の人材育成。", "ಘΒΕͨ୯ޠ", "外部人材。"])
    (['行政の人材育成。', '外部人材。'], 1)
    """
    kept: list[str] = []
    dropped = 0
    for line in lines:
        if junk_line(line):
            dropped += 1
        else:
            kept.append(line)
    return kept, dropped

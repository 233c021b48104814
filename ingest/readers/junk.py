"""Junk lines: mojibake and unmapped glyphs that must never be indexed, told apart from real text by script.

A Japanese text layer that went wrong does not look like Japanese: fonts without a usable Unicode map come out as
characters from scripts nobody writes in a Japanese report (``ABC ͍͋͏͓͑ 123``, ``ಘΒΕͨ୯ޠ``, a lone ``ɹ``),
private-use code points or U+FFFD. :func:`junk_line` counts two kinds of characters:

* never text in a Japanese document: C1 controls, IPA and modifier letters, combining marks, private use, U+FFFD;
* letters of other scripts (Greek, Cyrillic, Arabic, Hebrew, Thaana, the Indic scripts, Thai, Myanmar, Yi, …).

A line is junk when those are 3 or more, or 20 % or more of its non-space characters (a lone ``ɹ``), unless they are
all letters of *one* script: a Russian or Arabic line is real text; a misread font scatters over several scripts.
Greek alone, as used for symbols (``μm``, ``α波``, ``Δ``), is junk only with 3 or more letters making 30 % of the
line, or as a line of nothing but 2 or more Greek letters. Latin, Hangul, kana and kanji never count.
"""

from __future__ import annotations

import re

# Never real text in a Japanese document: C1 controls, IPA and modifier letters, combining marks without a base,
# private use, the specials block (U+FFFD).
_ALWAYS: tuple[tuple[int, int], ...] = (
    (0x0080, 0x009F),
    (0x0250, 0x036F),
    (0x1AB0, 0x1AFF),
    (0x1DC0, 0x1DFF),
    (0xE000, 0xF8FF),
    (0xFFF0, 0xFFFF),
    (0xF0000, 0x10FFFF),
)
# Scripts a misread font scatters into. One of them alone can be real text (an Arabic or Russian quotation); mixed,
# they are mojibake. Keyed by name so that Greek and Greek Extended, or the Arabic blocks, count as one script.
_SCRIPTS: tuple[tuple[int, int, str], ...] = (
    (0x0370, 0x03FF, "Greek"),
    (0x1F00, 0x1FFF, "Greek"),
    (0x0400, 0x052F, "Cyrillic"),
    (0x0530, 0x058F, "Armenian"),
    (0x0590, 0x05FF, "Hebrew"),
    (0x0600, 0x06FF, "Arabic"),
    (0x0750, 0x077F, "Arabic"),
    (0x08A0, 0x08FF, "Arabic"),
    (0x0700, 0x074F, "Syriac"),
    (0x0780, 0x07BF, "Thaana"),
    (0x07C0, 0x07FF, "NKo"),
    *((start, start + 0x7F, f"Indic-{start:04X}") for start in range(0x0900, 0x0E00, 0x80)),
    (0x0E00, 0x0E7F, "Thai"),
    (0x0E80, 0x0EFF, "Lao"),
    (0x0F00, 0x0FFF, "Tibetan"),
    (0x1000, 0x109F, "Myanmar"),
    (0x10A0, 0x10FF, "Georgian"),
    (0x1200, 0x139F, "Ethiopic"),
    (0x13A0, 0x13FF, "Cherokee"),
    (0x1400, 0x167F, "Canadian"),
    (0x1680, 0x1AAF, "Other"),
    (0x1B00, 0x1DBF, "Other"),
    (0xA000, 0xA4CF, "Yi"),
    (0xA4D0, 0xA6FF, "Other"),
)
JUNK_MIN_CHARS = 3
JUNK_MIN_SHARE = 0.2
GREEK_MIN_SHARE = 0.3


# Every range above lies in these: a line without them (most Japanese and English text) is checked by one search.
_MAYBE = re.compile("[\x80-\u1fff\ua000-\ua6ff\ue000-\uf8ff\ufff0-\uffff\U000f0000-\U0010ffff]")


def _always(code: int) -> bool:
    return any(first <= code <= last for first, last in _ALWAYS)


def _script(code: int) -> str:
    return next((name for first, last, name in _SCRIPTS if first <= code <= last), "")


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
    >>> [junk_line(s) for s in ["Привет, мир", "مرحبا بالعالم", "ΑΒΓ"]]
    [False, False, True]
    """
    if not _MAYBE.search(line):
        return False
    codes = [ord(ch) for ch in line if not ch.isspace()]
    always = sum(1 for code in codes if _always(code))
    scripts = [name for name in map(_script, codes) if name]
    odd = always + len(scripts)
    if not odd:
        return False
    share = odd / len(codes)
    if not always and len(set(scripts)) == 1:
        if scripts[0] != "Greek":
            return False  # one script alone is real text (an Arabic or Russian line), not a misread font
        # Symbols (``μm``, ``α波``) are kept; a line of Greek letters only (``ΒΕ``) is mojibake.
        return (odd >= JUNK_MIN_CHARS and share >= GREEK_MIN_SHARE) or (share == 1.0 and odd > 1)
    return odd >= JUNK_MIN_CHARS or share >= JUNK_MIN_SHARE

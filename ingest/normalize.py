"""Text cleaning shared by the readers and segmenters.

The stored text keeps the original wording: no NFKC, no kana/width folding (that is done only for index keys,
elsewhere). Cleaning only removes layout noise left over from the PDF→text conversion.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# `**` pairs are markdown emphasis; this corpus also has unbalanced strays (`観点**を持ち`), so every `**` goes.
_EMPHASIS = re.compile(r"\*\*+")
# Control characters other than whitespace: C0 (NUL…BS, SO…ESC), DEL and C1 (but NEL). Debris of PDF text layers and
# binary exports; dropping ESC also defuses terminal escapes (`\x1b[31m` keeps only `[31m`). The whitespace ones
# (tab, line breaks, VT, FF, CR, the separators U+001C–U+001F, NEL) are spaces to `\s`.
_CONTROL_CHARS = "\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f"
_CONTROL = re.compile(f"[{_CONTROL_CHARS}]")
_SPACE_CONTROL = re.compile("[\x0b\x0c\r\x1c-\x1f\x85]")
# Zero-width characters are invisible noise from copy/paste; they would also break exact-match search. Dropped with
# the control characters.
_INVISIBLE = re.compile(f"[\u200b\u200c\u200d\u2060\ufeff{_CONTROL_CHARS}]")
# `\s` on str patterns is Unicode-aware: it covers tabs, newlines, NBSP and the full-width space U+3000.
_WHITESPACE = re.compile(r"\s+")
_ASCII_WORD_END = re.compile(r"[A-Za-z0-9]$")
_ASCII_WORD_START = re.compile(r"^[A-Za-z0-9]")
_SENTENCE_ENDS = "。！？!?"
_OPEN_BRACKETS = "「『（(【〔“"
_CLOSE_BRACKETS = "」』）)】〕”"


def clean_text(s: str) -> str:
    """Remove markdown emphasis and normalize whitespace, keeping the original wording.

    ``**`` is removed wherever it occurs (paired or stray); zero-width and control characters are removed (see
    :func:`strip_controls`); runs of whitespace (tabs, newlines, U+3000) become one ASCII space; the result is
    stripped. Characters such as ``～``, ``〜``, ``①``, ``㈱`` and full-width digits are
    kept unchanged. Spaces between two Japanese characters are kept too: in this corpus they are mostly intentional
    separators (``太陽の会 発足の経緯``), so removing them would change the wording.

    Args:
        s: Raw text (one line or several).

    Returns:
        The cleaned text; empty if ``s`` held only whitespace and emphasis marks.
    """
    s = _EMPHASIS.sub("", s)
    s = _INVISIBLE.sub("", s)
    return _WHITESPACE.sub(" ", s).strip()


def strip_controls(s: str) -> str:
    """``s`` without control characters, except tab and newline: the ones that are whitespace (CR, VT, FF,
    U+001C–U+001F, NEL) become a space, the others (NUL, ESC, DEL, C1…) are removed.

    Every line a reader produces goes through this (:func:`kensaku.ingest.readers.base.new_document`), and every
    finding's text through :func:`clean_text`, so no control character reaches the index or a terminal.

    >>> strip_controls("第1条\\x00\\tX\\x1b[31m赤\\x1b[0m\\r\\x85")
    '第1条\\tX[31m赤[0m  '
    """
    return _SPACE_CONTROL.sub(" ", _CONTROL.sub("", s))


def join_lines(parts: Iterable[str]) -> str:
    """Join wrapped lines of one paragraph the way Japanese text is written.

    Lines are cleaned first; a space is inserted only between two ASCII words (``data`` + ``set``), never next to a
    Japanese character, because Japanese has no inter-word spaces and a PDF line break is not one.

    Args:
        parts: The lines of the paragraph, in order.

    Returns:
        One cleaned string.
    """
    out = ""
    for part in parts:
        text = clean_text(part)
        if not text:
            continue
        # Only the last character is looked at: searching all of `out` made a long paragraph quadratic.
        if out and _ASCII_WORD_END.search(out[-1:]) and _ASCII_WORD_START.search(text):
            out += " "
        out += text
    return out


def split_sentences(text: str) -> list[str]:
    """Split text after each sentence end (``。！？``) that is not inside brackets.

    ``前橋ビジョン「めぶく。」を発表した。`` is one sentence: the 。 inside 「」 ends a quoted name, not the sentence.

    Args:
        text: Cleaned text.

    Returns:
        The sentences, stripped, in order; a text without sentence ends is one sentence.
    """
    sentences: list[str] = []
    start = depth = 0
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in _OPEN_BRACKETS:
            depth += 1
        elif ch in _CLOSE_BRACKETS:
            depth = max(0, depth - 1)
        elif ch in _SENTENCE_ENDS and depth == 0:
            # Take repeated marks (！！) and stray closers (。」 after an unbalanced 「) with the sentence.
            while i + 1 < len(text) and text[i + 1] in _SENTENCE_ENDS + _CLOSE_BRACKETS:
                i += 1
            sentences.append(text[start : i + 1].strip())
            start = i + 1
        i += 1
    sentences.append(text[start:].strip())
    return [s for s in sentences if s]


HARD_LIMIT_FACTOR = 3
_CLAUSE_ENDS = "、，,；;：:）)」』 "


def _cut_run_on(sentence: str, hard: int) -> list[str]:
    """Cut a "sentence" longer than ``hard`` characters after its last clause mark (、，；：) before each limit.

    Real sentences are far shorter; text this long without 。 is a table, a list or extraction debris from a PDF.
    A piece without any clause mark is cut at the limit.
    """
    pieces: list[str] = []
    rest = sentence
    while len(rest) > hard:
        cut = max(rest.rfind(mark, 0, hard) for mark in _CLAUSE_ENDS) + 1
        cut = cut if cut > hard // 2 else hard
        pieces.append(rest[:cut].strip())
        rest = rest[cut:].strip()
    return [*pieces, rest] if rest else pieces


def split_long(text: str, max_chars: int) -> list[str]:
    """Split a long text into parts of at most ``max_chars`` characters, only at sentence ends.

    Sentences are packed greedily; a single sentence longer than ``max_chars`` is kept whole rather than cut
    mid-sentence, so a part can exceed the limit only when it is one sentence, and then by at most 3×: a run-on
    "sentence" of more than ``3 × max_chars`` characters (no 。 in over 1,200 characters at the default: a table or
    PDF debris) is cut after clause marks (、，；：) instead.

    Args:
        text: Cleaned text.
        max_chars: Maximum part length in characters.

    Returns:
        ``[text]`` when it fits, else the parts in order.
    """
    if len(text) <= max_chars:
        return [text]
    parts: list[str] = []
    current = ""
    sentences = [piece for s in split_sentences(text) for piece in _cut_run_on(s, HARD_LIMIT_FACTOR * max_chars)]
    for sentence in sentences:
        # Half-width !/? end English sentences, which need their space back once stripped.
        glue = " " if current[-1:] in ("!", "?") and _ASCII_WORD_START.search(sentence) else ""
        if current and len(current) + len(glue) + len(sentence) > max_chars:
            parts.append(current)
            current, glue = "", ""
        current += glue + sentence
    if current:
        parts.append(current)
    return parts


def has_text(s: str) -> bool:
    """True if ``s`` contains at least one letter, digit, kana or kanji (not only symbols like ``▶`` or ``…``)."""
    return any(ch.isalnum() for ch in s)

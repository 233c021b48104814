"""HTML for result cards, as pure functions: every piece of document text is escaped before it is shown."""

from __future__ import annotations

import html
from collections.abc import Callable
from difflib import SequenceMatcher

from kensaku.index.search import Hit
from kensaku.index.tokenizer import Tokenizer

KIND_LABELS = {"lesson": "知見・課題", "practice": "取組"}

CARD_CSS = """
<style>
.kensaku-card {border: 1px solid #d0d7de; border-radius: 8px; padding: 0.8rem 1rem; margin-bottom: 0.6rem;}
.kensaku-crumb {color: #57606a; font-size: 0.85rem; margin-bottom: 0.3rem;}
.kensaku-text {font-size: 1.02rem; line-height: 1.7;}
.kensaku-cite {color: #57606a; font-size: 0.8rem; margin-top: 0.4rem; font-family: monospace;}
</style>
"""


def breadcrumb(hit: Hit) -> str:
    """municipality › chapter › section › heading (unescaped)."""
    f = hit.finding
    topic = f.extra.get("topic", "")
    return " › ".join(x for x in (f.municipality, f.chapter, f.section, topic, f.heading) if x)


def card_html(hit: Hit, *, highlight: Callable[[str], str] | None = None) -> str:
    """One result card: rank, breadcrumb, kind, text and citation, all HTML-escaped.

    Args:
        hit: The search hit to render.
        highlight: Renders the finding text to safe HTML (e.g. :func:`query_highlighter`); ``html.escape`` if None.

    Returns:
        The card as an HTML fragment.

    >>> from kensaku.ingest.models import Finding
    >>> f = Finding("d:L1", "<script>alert(1)</script>", "d.txt", "", "", "", "", "practice", 1, 1, "d.txt｜L1")
    >>> "<script>" in card_html(Hit(1, 1.0, f, 0.0, 0.0, 0, 0))
    False
    """
    f = hit.finding
    kind = KIND_LABELS.get(f.kind, f.kind)
    text = highlight(f.text) if highlight is not None else html.escape(f.text)
    return (
        '<div class="kensaku-card">'
        f'<div class="kensaku-crumb">{hit.rank}. {html.escape(breadcrumb(hit))}｜{html.escape(kind)}</div>'
        f'<div class="kensaku-text">{text}</div>'
        f'<div class="kensaku-cite">{html.escape(f.citation)}</div>'
        "</div>"
    )


def _offset_map(text: str, tokenizer: Tokenizer) -> tuple[list[int], list[int]]:
    """Map each character of ``tokenizer.normalize(text)`` back to the original characters that produced it.

    Each original character is normalized on its own, recording which one produced each normalized character. When
    whole-string normalization differs (a combining or half-width voiced mark merges with the previous character,
    final sigma), the per-character string is aligned to the real one and every differing block maps to the whole
    original range it came from, so a span never splits a character.

    Args:
        text: The original text.
        tokenizer: The tokenizer whose normalization produced the offsets.

    Returns:
        ``(starts, ends)``: for normalized index ``j``, the original span ``[starts[j], ends[j])`` it comes from.
    """
    norm = tokenizer.normalize(text)
    owner: list[int] = []
    for i, ch in enumerate(text):
        owner.extend([i] * len(tokenizer.normalize(ch)))
    per_char = "".join(tokenizer.normalize(ch) for ch in text)
    if per_char == norm:
        return owner, [i + 1 for i in owner]
    starts = [len(text)] * len(norm)
    ends = [len(text)] * len(norm)
    matcher = SequenceMatcher(None, per_char, norm, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for k in range(j2 - j1):
                starts[j1 + k] = owner[i1 + k]
                ends[j1 + k] = owner[i1 + k] + 1
        elif tag in ("replace", "insert"):
            # Inserted characters have no source: they map to an empty span at the next original character.
            lo = owner[i1] if i1 < len(owner) else len(text)
            hi = owner[i2 - 1] + 1 if i2 > i1 else lo
            for j in range(j1, j2):
                starts[j], ends[j] = lo, hi
    return starts, ends


def highlight_spans(text: str, query_terms: set[str], tokenizer: Tokenizer) -> list[tuple[int, int]]:
    """Character spans of the original text whose token term is one of the query terms.

    Matching is on index terms, so width variants and okurigana meet (ＡＩ/ai, 取組/取り組み); spans that touch or
    overlap are merged.

    Args:
        text: The original (unnormalized) text.
        query_terms: Terms as produced by ``tokenizer.tokenize(query)``.
        tokenizer: The tokenizer used for the index.

    Returns:
        Sorted, disjoint ``(start, end)`` spans into ``text``.

    >>> highlight_spans("①㈱加賀市の取組", {"取り組み"}, Tokenizer())
    [(6, 8)]
    """
    if not query_terms or not text:
        return []
    starts, ends = _offset_map(text, tokenizer)
    raw: list[tuple[int, int]] = []
    for tok in tokenizer.tokens(text):
        if tok.term in query_terms and tok.start < tok.end <= len(starts):
            start, end = starts[tok.start], ends[tok.end - 1]
            if start < end:
                raw.append((start, end))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(raw):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def highlight_html(text: str, query_terms: set[str], tokenizer: Tokenizer) -> str:
    """Escape ``text`` for HTML and wrap the query-term spans in ``<mark>``.

    Every piece of the text is escaped, so document text can never inject markup.

    Args:
        text: The original document text.
        query_terms: Terms as produced by ``tokenizer.tokenize(query)``.
        tokenizer: The tokenizer used for the index.

    Returns:
        Safe HTML.

    >>> highlight_html("<b>契約</b>", {"契約"}, Tokenizer())
    '&lt;b&gt;<mark>契約</mark>&lt;/b&gt;'
    """
    parts: list[str] = []
    pos = 0
    for start, end in highlight_spans(text, query_terms, tokenizer):
        parts.append(html.escape(text[pos:start]))
        parts.append(f"<mark>{html.escape(text[start:end])}</mark>")
        pos = end
    parts.append(html.escape(text[pos:]))
    return "".join(parts)


def query_highlighter(query: str, tokenizer: Tokenizer) -> Callable[[str], str]:
    """A ``highlight`` callable for :func:`card_html` that marks the terms of ``query``.

    Args:
        query: The user's query.
        tokenizer: The tokenizer used for the index.

    Returns:
        A function from document text to safe HTML.
    """
    terms = set(tokenizer.tokenize(query))
    return lambda text: highlight_html(text, terms, tokenizer)

"""HTML for result cards, as pure functions: every piece of document text is escaped before it is shown.

A card holds one finding or several neighbouring findings of one block (:mod:`kensaku.app.grouping`), says in words
why it was found (「語句が一致」「意味が近い」「関連度 高」), and marks the content words it shares with the question:
nouns (not pronouns or numbers), verb, adjective and adjectival-noun stems of two characters or more, never する・
なる・ある・いる・できる・こと・もの or particles and auxiliaries (part of speech from the index's MeCab tokenizer).
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from difflib import SequenceMatcher

from kensaku.app.grouping import HitGroup
from kensaku.index.search import Hit
from kensaku.index.tokenizer import Token, Tokenizer
from kensaku.ingest.models import breadcrumb_parts

KIND_LABELS = {"lesson": "知見・課題", "practice": "取組"}
DENSE_TOP = 3  # a finding among the dense leg's top few is 「意味が近い」
RELEVANCE_LEVELS: tuple[tuple[float, str], ...] = ((0.7, "高"), (0.4, "中"), (0.0, "低"))
STEM_POS = frozenset({"動詞", "形容詞", "形状詞"})
# Lemmas never marked: light verbs, formal nouns (UniDic lemmas: する→為る, こと→事, もの→物, れる/られる).
STOP_LEMMAS = frozenset(
    {"為る", "成る", "有る", "在る", "居る", "出来る", "れる", "られる", "事", "物", "為", "様", "所"}
)
WORD_SYMBOL_POS = frozenset({"補助記号", "記号"})  # kept by the tokenizer only when they hold an ideograph or kana

CARD_CSS = """
<style>
.kensaku-card {border: 1px solid #d0d7de; border-radius: 8px; padding: 0.8rem 1rem; margin-bottom: 0.6rem;}
.kensaku-crumb {color: #57606a; font-size: 0.85rem; margin-bottom: 0.3rem;}
.kensaku-text {font-size: 1.02rem; line-height: 1.7;}
.kensaku-text p {margin: 0 0 0.3rem 0;}
.kensaku-cite {color: #57606a; font-size: 0.8rem; margin-top: 0.4rem; font-family: monospace;}
.kensaku-why {margin-top: 0.3rem;}
.kensaku-tag {display: inline-block; font-size: 0.78rem; border-radius: 4px; padding: 0 0.4rem; margin-right: 0.3rem;
  background: #eef2f6; color: #24292f;}
</style>
"""


def breadcrumb(hit: Hit) -> str:
    """municipality › chapter › section › topic › heading, repeats removed (unescaped)."""
    return " › ".join(breadcrumb_parts(hit.finding))


def relevance_word(relevance: float | None) -> str:
    """「関連度 高／中／低」 for a calibrated relevance; ``""`` when there is none.

    >>> relevance_word(0.82), relevance_word(0.5), relevance_word(0.1), relevance_word(None)
    ('関連度 高', '関連度 中', '関連度 低', '')
    """
    if relevance is None or math.isnan(relevance):
        return ""
    return "関連度 " + next(word for low, word in RELEVANCE_LEVELS if relevance >= low)


def why_found(hits: Sequence[Hit]) -> list[str]:
    """Why a card was found, in words: 「語句が一致」 (the BM25 leg matched its words), 「意味が近い」 (the dense
    leg ranked it among the top few, or its relevance is high), and its relevance level.

    >>> from kensaku.ingest.models import Finding
    >>> f = Finding("d:L1", "t", "d.txt", "", "", "", "", "practice", 1, 1, "d.txt｜L1")
    >>> why_found([Hit(1, 0.03, f, 2.5, 0.81, 1, 2, relevance=0.9)])
    ['語句が一致', '意味が近い', '関連度 高']
    >>> why_found([Hit(4, 0.01, f, 0.0, 0.70, 0, 40)])
    []
    """
    relevances = [h.relevance for h in hits if h.relevance is not None and not math.isnan(h.relevance)]
    best = max(relevances) if relevances else None
    words = []
    if any(h.bm25_rank > 0 and h.bm25 > 0 for h in hits):
        words.append("語句が一致")
    if any(0 < h.dense_rank <= DENSE_TOP for h in hits) or (best is not None and best >= RELEVANCE_LEVELS[0][0]):
        words.append("意味が近い")
    level = relevance_word(best)
    return [*words, level] if level else words


def score_details(hit: Hit) -> str:
    """The numbers behind a hit, for the 「スコアの内訳」 expander (plain text)."""
    relevance = "—" if hit.relevance is None else f"{hit.relevance:.2f}"
    return (
        f"関連度 {relevance}｜BM25 {hit.bm25:.3f}（順位 {hit.bm25_rank or '圏外'}）｜"
        f"コサイン類似度 {hit.dense:.4f}（順位 {hit.dense_rank or '圏外'}）｜"
        f"統合スコア {hit.score:.4f}｜"
        + ("" if hit.rerank is None else f"再ランキング {hit.rerank:.4f}｜")
        + f"ID {hit.finding.id}"
    )


def card_html(hit: Hit | HitGroup, *, highlight: Callable[[str], str] | None = None) -> str:
    """One result card: rank, breadcrumb, kind, text(s), why it was found and citation, all HTML-escaped.

    Args:
        hit: A search hit, or a group of neighbouring hits (their texts in document order, one citation spanning
            their lines).
        highlight: Renders finding text to safe HTML (e.g. :func:`query_highlighter`); ``html.escape`` if None.

    Returns:
        The card as an HTML fragment.

    >>> from kensaku.ingest.models import Finding
    >>> f = Finding("d:L1", "<script>alert(1)</script>", "d.txt", "", "", "", "", "practice", 1, 1, "d.txt｜L1")
    >>> "<script>" in card_html(Hit(1, 1.0, f, 0.0, 0.0, 0, 0))
    False
    """
    group = hit if isinstance(hit, HitGroup) else HitGroup((hit,), hit.rank)
    first = group.hits[0]
    render = highlight or html.escape
    kind = KIND_LABELS.get(first.finding.kind, first.finding.kind)
    texts = "".join(f"<p>{render(f.text)}</p>" for f in group.findings)
    tags = "".join(f'<span class="kensaku-tag">{html.escape(word)}</span>' for word in why_found(group.hits))
    why = f'<div class="kensaku-why">{tags}</div>' if tags else ""
    return (
        '<div class="kensaku-card">'
        f'<div class="kensaku-crumb">{group.rank}. {html.escape(breadcrumb(first))}｜{html.escape(kind)}</div>'
        f'<div class="kensaku-text">{texts}</div>{why}'
        f'<div class="kensaku-cite">{html.escape(group.citation)}</div>'
        "</div>"
    )


def content_word(token: Token) -> bool:
    """Whether a token is worth marking: a noun that is not a number, a verb/adjective stem of two characters or
    more, or a symbol that holds an ideograph; never a light verb (する, なる, ある, いる) or formal noun (こと, もの).
    """
    if token.lemma in STOP_LEMMAS or token.pos2 in ("非自立可能", "数詞"):
        return False
    if token.pos1 == "名詞" or token.pos1 in WORD_SYMBOL_POS:
        return True
    return token.pos1 in STEM_POS and len(token.surface) >= 2


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
    """Character spans of the original text whose token is a content word (:func:`content_word`) with one of the
    query terms.

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
        if tok.term in query_terms and content_word(tok) and tok.start < tok.end <= len(starts):
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
    """A ``highlight`` callable for :func:`card_html` that marks the content words of ``query``.

    Args:
        query: The user's query.
        tokenizer: The tokenizer used for the index.

    Returns:
        A function from document text to safe HTML.
    """
    terms = query_terms(query, tokenizer)
    return lambda text: highlight_html(text, terms, tokenizer)


def query_terms(query: str, tokenizer: Tokenizer) -> set[str]:
    """The terms of the content words of ``query`` (:func:`content_word`).

    >>> sorted(query_terms("課題が散見される", Tokenizer()))
    ['散見', '課題']
    """
    return {token.term for token in tokenizer.tokens(query) if content_word(token)}

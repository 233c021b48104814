"""Token-aware highlighting over real Japanese.

Expected marks depend on UniDic 2.1.2 as shipped in unidic-lite 1.0.8.
"""

from __future__ import annotations

import html
import itertools
import re

import pytest

from kensaku.app.render import card_html, highlight_html, highlight_spans, query_highlighter
from kensaku.index.search import Hit
from kensaku.index.tokenizer import Tokenizer
from kensaku.ingest.models import Finding

# (text, query, expected HTML)
HIGHLIGHT_TESTS = [
    (
        "フェローとの契約は要綱で定める",
        "フェローの契約形態は",
        "<mark>フェロー</mark>との<mark>契約</mark>は要綱で定める",
    ),
    ("ＡＩとＩｏＴの活用", "AI", "<mark>ＡＩ</mark>とＩｏＴの活用"),  # full-width text, half-width query
    ("AIとIoTの活用", "ＩｏＴ", "AIと<mark>IoT</mark>の活用"),  # and the other way round
    ("取組を進める", "取り組み", "<mark>取組</mark>を進める"),  # okurigana variant via the lemma
    ("スマートシティ課", "シティー", "スマート<mark>シティ</mark>課"),  # 表記ゆれ via the lemma
    ("①㈱加賀市の取組", "加賀市", "①㈱<mark>加賀市</mark>の取組"),  # NFKC lengthens ① ㈱ before the match
    ("①㈱加賀市の取組", "株の取組", "①<mark>㈱</mark>加賀市の<mark>取組</mark>"),  # ㈱ → (株): whole char marked
    ("㍻の契約", "契約", "㍻の<mark>契約</mark>"),  # ㍻ → 平成 (1 char → 2)
    ("ｶﾞｲﾄﾞﾌﾞｯｸの契約", "契約", "ｶﾞｲﾄﾞﾌﾞｯｸの<mark>契約</mark>"),  # ｶﾞ → ガ (2 chars → 1)
    ("ｶﾞｲﾄﾞﾌﾞｯｸの契約", "ガイドブック", "<mark>ｶﾞｲﾄﾞﾌﾞｯｸ</mark>の契約"),
    ("ﾊﾟｿｺﾝの契約", "パソコン", "<mark>ﾊﾟｿｺﾝ</mark>の契約"),
    ("か\u3099いと\u3099の契約", "契約", "か\u3099いと\u3099の<mark>契約</mark>"),  # combining dakuten merges
    ("<script>alert(1)</script>契約", "契約", "&lt;script&gt;alert(1)&lt;/script&gt;<mark>契約</mark>"),
    ("<b>契約</b>", "契約", "&lt;b&gt;<mark>契約</mark>&lt;/b&gt;"),
    ("A&B \"契約\" と'予算'", "予算と契約", "A&amp;B &quot;<mark>契約</mark>&quot; と&#x27;<mark>予算</mark>&#x27;"),
    ("契約契約", "契約", "<mark>契約契約</mark>"),  # adjacent spans merged
    ("加賀市の取組", "加賀市", "<mark>加賀市</mark>の取組"),  # 加賀 + 市: adjacent tokens merged
    ("ΣΟΦΟΣの契約", "契約", "ΣΟΦΟΣの<mark>契約</mark>"),  # final sigma: per-char lower() differs from whole
    ("住民の<予算>", "フェロー", "住民の&lt;予算&gt;"),  # query term absent: no mark
    ("住民の<予算>", "", "住民の&lt;予算&gt;"),  # no query terms: plain escaped text
    ("", "契約", ""),
    ("1行目の契約\n2行目の契約", "契約", "1行目の<mark>契約</mark>\n2行目の<mark>契約</mark>"),
]


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer()


@pytest.mark.parametrize(("text", "query", "expected"), HIGHLIGHT_TESTS)
def test_highlight_html(tokenizer: Tokenizer, text: str, query: str, expected: str) -> None:
    assert highlight_html(text, set(tokenizer.tokenize(query)), tokenizer) == expected


def test_marks_removed_give_escaped_text(tokenizer: Tokenizer) -> None:
    for text, query, _ in HIGHLIGHT_TESTS:
        for terms in (set(tokenizer.tokenize(query)), set(tokenizer.tokenize(text)), set()):
            out = highlight_html(text, terms, tokenizer)
            assert re.sub("</?mark>", "", out) == html.escape(text), (text, terms)


def test_spans_inside_text_sorted_disjoint(tokenizer: Tokenizer) -> None:
    for text, _, _ in HIGHLIGHT_TESTS:
        spans = highlight_spans(text, set(tokenizer.tokenize(text)), tokenizer)
        assert all(0 <= s < e <= len(text) for s, e in spans), text
        assert all(a[1] < b[0] for a, b in itertools.pairwise(spans)), text


def test_highlight_spans_offsets(tokenizer: Tokenizer) -> None:
    assert highlight_spans("①㈱加賀市の取組", {"取り組み"}, tokenizer) == [(6, 8)]
    assert highlight_spans("ｶﾞｲﾄﾞﾌﾞｯｸの契約", {"契約"}, tokenizer) == [(10, 12)]
    assert highlight_spans("か\u3099いと\u3099の契約", {"契約"}, tokenizer) == [(6, 8)]


def test_card_html_highlight(tokenizer: Tokenizer) -> None:
    f = Finding("d:L1", "<script>x</script>フェローとの契約", "d.txt", "", "", "", "", "practice", 1, 1, "d.txt｜L1")
    hit = Hit(1, 1.0, f, 0.0, 0.0, 0, 0)
    plain = card_html(hit)
    assert "&lt;script&gt;x&lt;/script&gt;フェローとの契約" in plain
    assert "<mark>" not in plain
    marked = card_html(hit, highlight=query_highlighter("契約", tokenizer))
    assert "&lt;script&gt;x&lt;/script&gt;フェローとの<mark>契約</mark>" in marked
    assert "<script>" not in marked

"""Token-aware highlighting over real Japanese.

Expected marks depend on UniDic 2.1.2 as shipped in unidic-lite 1.0.8.
"""

from __future__ import annotations

import html
import itertools
import re

import pytest

from kensaku.app.grouping import HitGroup
from kensaku.app.render import (
    breadcrumb,
    card_html,
    highlight_html,
    highlight_spans,
    query_highlighter,
    query_terms,
    score_details,
    why_found,
)
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


# Content words only: (text, query, expected HTML) with the query's content words marked in the text.
CONTENT_WORD_TESTS = [
    # The reported case: 散見 is marked, the さ of される (する) is not.
    ("課題が散見される", "課題が散見され", "<mark>課題</mark>が<mark>散見</mark>される"),
    # する/して/した never marked, even when the query has them; the nouns are.
    (
        "住民に費用を負担してもらう",
        "住民に費用を負担してもらう仕組み",
        "<mark>住民</mark>に<mark>費用</mark>を<mark>負担</mark>してもらう",
    ),
    ("大学と連携するメリット", "大学と連携する", "<mark>大学</mark>と<mark>連携</mark>するメリット"),
    ("データ分析をした", "分析をする", "データ<mark>分析</mark>をした"),
    # なる, ある, いる, できる, こと, もの: never.
    ("重要なことである", "重要なことがある", "<mark>重要</mark>なことである"),
    ("必要になる", "必要になる", "<mark>必要</mark>になる"),
    ("職員がいる", "職員がいる", "<mark>職員</mark>がいる"),
    ("連携できるもの", "連携できるもの", "<mark>連携</mark>できるもの"),
    # Verb and adjective stems of two characters or more are marked; the auxiliary after them is not.
    ("要綱で定めた", "要綱を定める", "<mark>要綱</mark>で<mark>定め</mark>た"),
    ("効果が高い", "高い効果", "<mark>効果</mark>が<mark>高い</mark>"),
    # A one-character verb stem (し of する aside, e.g. 見る → 見) is not marked; a one-character noun is.
    ("現場を見た", "現場を見る", "<mark>現場</mark>を見た"),
    ("市民の声", "声", "市民の<mark>声</mark>"),
    # Particles, numbers and pronouns are not marked.
    ("これは3件の事業", "これは3件", "これは3<mark>件</mark>の事業"),
    ("これは3件の事業", "これ", "これは3件の事業"),
]


@pytest.mark.parametrize(("text", "query", "expected"), CONTENT_WORD_TESTS)
def test_only_content_words_are_marked(tokenizer: Tokenizer, text: str, query: str, expected: str) -> None:
    assert query_highlighter(query, tokenizer)(text) == expected


def test_query_terms_are_content_words(tokenizer: Tokenizer) -> None:
    assert query_terms("住民に費用を負担してもらう仕組み", tokenizer) == {"住民", "費用", "負担", "仕組み"}
    assert query_terms("することがある", tokenizer) == set()
    # The index's terms are unchanged: する and もらう are still index terms of the query.
    assert tokenizer.tokenize("負担してもらう") == ["負担", "為る", "貰う", "負担", "し", "もらう"]


def finding(line: int, text: str, **fields: object) -> Finding:
    values: dict[str, object] = {
        "id": f"r:L{line}", "text": text, "document": "r.txt", "municipality": "会津若松市", "chapter": "市民参画",
        "section": "市民参画", "heading": "取組みを通じた知見・課題", "kind": "lesson", "line_start": line,
        "line_end": line, "citation": f"r.txt｜会津若松市｜市民参画 › 取組みを通じた知見・課題｜L{line}",
    }  # fmt: skip
    values.update(fields)
    return Finding(**values)  # type: ignore[arg-type]


def test_group_card_shows_texts_in_order_with_one_citation() -> None:
    a = Hit(2, 0.02, finding(683, "意義を<説明>した。"), 3.1, 0.80, 2, 5, relevance=0.55)
    b = Hit(1, 0.03, finding(684, "生活向上に役立つ"), 0.0, 0.84, 0, 1, relevance=0.81)
    card = card_html(HitGroup((a, b), 1))
    assert card.index("意義を&lt;説明&gt;した。") < card.index("生活向上に役立つ")
    assert "r.txt｜会津若松市｜市民参画 › 取組みを通じた知見・課題｜L683–684" in card
    assert "1. 会津若松市 › 市民参画 › 取組みを通じた知見・課題｜知見・課題" in card  # 市民参画 once
    assert ">語句が一致<" in card and ">意味が近い<" in card and ">関連度 高<" in card
    assert "0.81" not in card and "3.1" not in card  # numbers only in the expander


@pytest.mark.parametrize(
    ("hit", "words"),
    [
        (Hit(1, 0.03, finding(1, "t"), 2.0, 0.8, 1, 1, relevance=0.9), ["語句が一致", "意味が近い", "関連度 高"]),
        (Hit(1, 0.03, finding(1, "t"), 2.0, 0.7, 3, 40, relevance=0.5), ["語句が一致", "関連度 中"]),
        (Hit(1, 0.03, finding(1, "t"), 0.0, 0.8, 0, 2, relevance=0.1), ["意味が近い", "関連度 低"]),
        (Hit(1, 0.03, finding(1, "t"), 0.0, 0.7, 0, 30, relevance=0.75), ["意味が近い", "関連度 高"]),
        (Hit(1, 0.03, finding(1, "t"), 0.0, 0.7, 0, 30), []),  # no calibration: no level, no claim
    ],
)
def test_why_found_in_words(hit: Hit, words: list[str]) -> None:
    assert why_found([hit]) == words


def test_score_details_and_breadcrumb() -> None:
    hit = Hit(1, 0.0312, finding(5, "t", section="庁内体制"), 2.5, 0.8123, 2, 0, relevance=None)
    assert score_details(hit) == (
        "関連度 —｜BM25 2.500（順位 2）｜コサイン類似度 0.8123（順位 圏外）｜統合スコア 0.0312｜ID r:L5"
    )
    assert breadcrumb(hit) == "会津若松市 › 市民参画 › 庁内体制 › 取組みを通じた知見・課題"

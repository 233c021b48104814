"""Tokenizer tests over real Japanese. Expected terms depend on UniDic 2.1.2 as shipped in unidic-lite 1.0.8."""

from __future__ import annotations

import pytest

from kensaku.index.tokenizer import TOKENIZER_VERSION, Tokenizer, TokenizerConfig, has_word_char, normalize_key

# (input, expected terms with the lemma form; the default lemma+surface form adds the written forms: FORM_TESTS)
LEMMA_TESTS = [
    ("フェローの契約形態は", ["フェロー", "契約", "形態"]),  # particles dropped
    ("市長のリーダーシップ", ["市長", "リーダーシップ"]),  # loanword lemma "リーダーシップ-leadership" cut at "-"
    ("食べた", ["食べる"]),  # inflection → lemma
    ("スマートシティ課", ["スマート", "シティー", "課"]),  # one-character word 課 kept; シティ/シティー unified
    ("サーバーとサーバ", ["サーバー", "サーバー"]),  # 表記ゆれ unified by the lemma
    ("取組", ["取り組み"]),  # okurigana variant → the lemma spelling
    ("ＡＩとＩｏＴ", ["ai", "iot"]),  # full-width ASCII → NFKC → lower case
    ("ｶﾀｶﾅ", ["片仮名"]),  # half-width katakana → NFKC; lemma gives the kanji spelling
    ("都市ＯＳを介し", ["都市", "os", "介する"]),
    ("①と㈱", ["1", "株"]),  # compatibility characters folded by NFKC
    ("村", ["村"]),  # a single one-character word
    ("〜、。「」", []),  # symbols only
    ("", []),
    ("   \u3000\t", []),  # whitespace only, incl. ideographic space
]

# Proper nouns: the lemma is katakana, the orthographic base keeps the kanji.
FORM_TESTS = [
    ("lemma", "北海道更別村", ["ホッカイドウ", "サラベツ", "村"]),
    ("orth", "北海道更別村", ["北海道", "更別", "村"]),
    ("lemma_propn_orth", "北海道更別村", ["北海道", "更別", "村"]),
    ("surface", "取り組んだ", ["取り組ん"]),
    ("orth", "取り組んだ", ["取り組む"]),
    # the default: lemmas first (表記ゆれ unified), then the written forms (a noun written as its lemma counts twice)
    ("lemma+surface", "取り組んだ", ["取り組む", "取り組ん"]),
    ("lemma+surface", "北海道更別村", ["ホッカイドウ", "サラベツ", "村", "北海道", "更別", "村"]),
    ("lemma+surface", "サーバーとサーバ", ["サーバー", "サーバー", "サーバー", "サーバ"]),
    ("lemma+surface", "スマートシティ課", ["スマート", "シティー", "課", "スマート", "シティ", "課"]),
]


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer(TokenizerConfig(form="lemma"))


@pytest.mark.parametrize(("text", "expected"), LEMMA_TESTS)
def test_lemma_terms(tokenizer: Tokenizer, text: str, expected: list[str]) -> None:
    assert tokenizer.tokenize(text) == expected


@pytest.mark.parametrize(("form", "text", "expected"), FORM_TESTS)
def test_token_forms(form: str, text: str, expected: list[str]) -> None:
    assert Tokenizer(TokenizerConfig(form=form)).tokenize(text) == expected  # type: ignore[arg-type]


def test_query_and_document_variants_meet(tokenizer: Tokenizer) -> None:
    """Width and okurigana variants of the same words give the same terms."""
    assert tokenizer.tokenize("ＤＸ人材の取組") == tokenizer.tokenize("DX人材の取り組み")
    # with the default form the lemma halves meet; the written halves keep 取組 / 取り組み apart
    both = Tokenizer()
    assert both.tokenize("ＤＸ人材の取組") == ["dx", "人材", "取り組み", "dx", "人材", "取組"]
    assert both.tokenize("DX人材の取り組み")[:3] == both.tokenize("ＤＸ人材の取組")[:3]


def test_offsets_point_into_normalized_text(tokenizer: Tokenizer) -> None:
    text = "加賀市では　フェローを任命している。"
    norm = tokenizer.normalize(text)
    for token in tokenizer.tokens(text):
        assert norm[token.start : token.end] == token.surface


def test_long_text_is_chunked_without_losing_words(tokenizer: Tokenizer) -> None:
    text = "契約" * 8000  # 16,000 characters on one line: cut into pieces for MeCab
    assert tokenizer.tokenize(text).count("契約") >= 7999


def test_normalize_key() -> None:
    assert normalize_key("ＡＢＣ１２３ｶﾞ") == "abc123ガ"


def test_config_round_trip_and_unknown_form() -> None:
    config = TokenizerConfig(form="orth")
    assert TokenizerConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown token form"):
        TokenizerConfig.from_dict({"form": "stem"})


def test_dictionary_version_is_reported(tokenizer: Tokenizer) -> None:
    assert tokenizer.dictionary["package"] == "unidic-lite"
    assert tokenizer.dictionary["version"] == "1.0.8"


# Kanji outside the BMP (Extension B and later), which unidic-lite tags as symbols (補助記号): kept as words.
NON_BMP_TESTS = [
    ("𩸽の開き", ["𩸽", "開き"]),  # ほっけ, U+29E3D
    ("𠮷野家", ["𠮷", "ノエ"]),  # つちよし, U+20BB7 (野家 is cut and read as a name by UniDic)
    ("部下を𠮟る", ["部下", "𠮟"]),  # しかる, U+20B9F: the 常用漢字 form since 2010
    ("𠀋", ["𠀋"]),  # U+2000B, alone
    ("・・・※――", []),  # real symbols are still dropped
]


@pytest.mark.parametrize(("text", "expected"), NON_BMP_TESTS)
def test_non_bmp_kanji_are_words(tokenizer: Tokenizer, text: str, expected: list[str]) -> None:
    assert tokenizer.tokenize(text) == expected


def test_version_1_tokenizer_still_drops_them_for_indexes_built_by_it() -> None:
    """An index built before version 2 is queried as it was built (𩸽 is not in its vocabulary)."""
    old = TokenizerConfig.from_dict({"form": "lemma"})  # a manifest without a version
    assert old.version == 1 and TokenizerConfig().version == TOKENIZER_VERSION == 2
    assert Tokenizer(old).tokenize("𩸽の開き") == ["開き"]


@pytest.mark.parametrize(
    ("char", "expected"),
    [
        *[("𩸽", True), ("𠮷", True), ("﨑", True), ("\U0002f800", True), ("㐂", True), ("ほ", True), ("ヶ", True)],
        *[("・", False), ("ー", False), ("※", False), ("〜", False), ("a", False), ("1", False)],
    ],
)
def test_has_word_char(char: str, expected: bool) -> None:
    assert has_word_char(char) is expected


def test_bm25_finds_non_bmp_kanji_and_query_and_index_agree(tokenizer: Tokenizer) -> None:
    from kensaku import Index
    from tests.support import KeywordEmbedder

    texts = ["𩸽の開きを焼いて食べた。", "𠮷野家で牛丼を食べた。", "鯖の味噌煮を作った。", "上司に𠮟られた。"]
    index = Index.from_texts(texts, embedder=KeywordEmbedder())
    for query, expected in [("𩸽", texts[0]), ("𩸽の開き", texts[0]), ("𠮷", texts[1]), ("𠮟る", texts[3])]:
        hits = index.search(query, k=2, mode="bm25")
        assert hits[0].finding.text == expected, query
        assert set(tokenizer.tokenize(query)) <= set(tokenizer.tokenize(expected))

"""MeCab tokenization (fugashi + unidic-lite) for the lexical leg and for highlighting.

Text is NFKC-normalized and lower-cased before tagging, so full-width/half-width variants (ＡＢＣ/abc, ｶﾀｶﾅ/カタカナ)
meet in the index. Only content words are kept: particles (助詞), auxiliary verbs (助動詞), symbols and whitespace
are dropped by part of speech, never by an English stop-word list, and one-character words (市, 村, 課) are kept.
A "symbol" that holds a CJK ideograph or kana is a word all the same: unidic-lite tags kanji it does not know,
such as those outside the BMP (𩸽, 𠮷, 𠮟, 𠀋), as 補助記号, and they are kept (tokenizer version 2).

The token form is configurable because unidic-lite's lemma both helps and hurts: it unifies 表記ゆれ (シティ/シティー,
食べた/食べる) but spells proper nouns in katakana (北海道 → ホッカイドウ), so homophones may meet. The default was
chosen by measurement (see ``docs/tokenization.md``).
"""

from __future__ import annotations

import threading
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any

from kensaku.config import DEFAULTS, TOKEN_FORMS, TokenForm

DROP_POS: tuple[str, ...] = ("助詞", "助動詞", "補助記号", "記号", "空白")
SYMBOL_POS: frozenset[str] = frozenset({"補助記号", "記号"})

# Bump when the terms of some text change: an index records the version it was tokenized with, queries on it are
# tokenized the same way, and `kensaku build --if-needed` rebuilds an index of an older version.
# 1: words by part of speech only. 2: symbol tokens holding an ideograph or kana are kept (𩸽, 𠮷, 𠀋).
TOKENIZER_VERSION = 2

# CJK unified ideographs (URO, Extensions A–H), compatibility ideographs and their supplement, and kana (hiragana,
# katakana without ・ and ー, katakana extensions, kana supplement and extensions: hentaigana, small kana).
_WORD_RANGES: tuple[tuple[int, int], ...] = (
    (0x3041, 0x3096),
    (0x309F, 0x309F),
    (0x30A1, 0x30FA),
    (0x30FF, 0x30FF),
    (0x31F0, 0x31FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x1B000, 0x1B16F),
    (0x20000, 0x323AF),
    (0x2F800, 0x2FA1F),
)

# MeCab's tagger works on text of any length, but a single pathological run (e.g. megabytes without a line break)
# is slow; inputs are tagged line by line, and lines over this many characters are cut into pieces.
_MAX_CHUNK = 10_000


def has_word_char(text: str) -> bool:
    """Whether ``text`` holds a CJK ideograph (any extension, compatibility ones too) or a kana letter.

    >>> has_word_char("𩸽"), has_word_char("𠮷"), has_word_char("・・・"), has_word_char("※"), has_word_char("ー")
    (True, True, False, False, False)
    """
    return any(low <= ord(char) <= high for char in text for low, high in _WORD_RANGES)


def normalize_key(text: str) -> str:
    """Normalize text for matching: NFKC (width, compatibility characters) then lower case.

    >>> normalize_key("ＡＩとＩｏＴ　ｶﾀｶﾅ")
    'aiとiot カタカナ'
    """
    return unicodedata.normalize("NFKC", text).lower()


@dataclass(frozen=True)
class TokenizerConfig:
    """Settings of the lexical tokenizer; recorded in the index manifest and checked on load.

    Attributes:
        form: Which form of each word is indexed: ``lemma`` (dictionary lemma), ``orth`` (orthographic base form),
            ``surface`` (as written), ``lemma_propn_orth`` (lemma, but proper nouns keep their written form), or
            ``lemma+surface`` (the lemma and the written form of each word: :meth:`Tokenizer.tokenize`).
        drop_pos: Parts of speech (UniDic pos1) that are not indexed.
        drop_pos2: Sub-categories (UniDic pos2, e.g. 非自立可能 for する/いる/できる) that are not indexed either.
        normalization: Unicode normalization applied before tagging.
        lowercase: Whether text is lower-cased after normalization.
        version: Tokenizer version (see :data:`TOKENIZER_VERSION`); manifests written before it was recorded read
            as version 1, and their queries are tokenized as then.
    """

    form: TokenForm = DEFAULTS.token_form
    drop_pos: tuple[str, ...] = DROP_POS
    drop_pos2: tuple[str, ...] = ()
    normalization: str = "NFKC"
    lowercase: bool = True
    version: int = TOKENIZER_VERSION

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict for the manifest."""
        data = asdict(self)
        data["drop_pos"] = list(self.drop_pos)
        data["drop_pos2"] = list(self.drop_pos2)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TokenizerConfig:
        """Inverse of :meth:`to_dict`; raises ``ValueError`` on an unknown form."""
        form = data.get("form", "lemma")
        if form not in TOKEN_FORMS:
            raise ValueError(f"unknown token form {form!r}; expected one of {', '.join(TOKEN_FORMS)}")
        drop_pos, drop_pos2 = data.get("drop_pos", DROP_POS), data.get("drop_pos2", ())
        normalization, lowercase, version = (
            data.get("normalization", "NFKC"),
            data.get("lowercase", True),
            data.get("version", 1),
        )
        if not all(isinstance(v, list | tuple) and all(isinstance(p, str) for p in v) for v in (drop_pos, drop_pos2)):
            raise TypeError("the tokenizer's 'drop_pos' and 'drop_pos2' must be lists of strings")
        if normalization not in ("NFC", "NFKC", "NFD", "NFKD") or not isinstance(lowercase, bool):
            raise ValueError(f"tokenizer normalization {normalization!r} / lowercase {lowercase!r} are not valid")
        if not isinstance(version, int) or isinstance(version, bool):
            raise TypeError(f"tokenizer version {version!r} is not a whole number")
        return cls(form, tuple(drop_pos), tuple(drop_pos2), normalization, lowercase, version)


@dataclass(frozen=True)
class Token:
    """One kept word: its index term and where it stands in the normalized text.

    Attributes:
        term: The index term.
        surface: The word as written (normalized).
        start: Offset of its first character in the normalized text.
        end: Offset just past its last character.
        pos1: UniDic part of speech (``名詞``, ``動詞``, ``形容詞``…), for callers that pick content words (the app's
            highlighting); not part of the index.
        pos2: UniDic sub-category (``普通名詞``, ``数詞``, ``非自立可能``…).
        lemma: UniDic lemma (``為る`` for し/さ/する), or the surface when the dictionary has none.
    """

    term: str
    surface: str
    start: int
    end: int
    pos1: str = ""
    pos2: str = ""
    lemma: str = ""


@dataclass
class Tokenizer:
    """Content-word tokenizer over fugashi + unidic-lite; safe to share between threads (tagging is locked)."""

    config: TokenizerConfig = field(default_factory=TokenizerConfig)

    def __post_init__(self) -> None:
        """Create the MeCab tagger once; it is expensive and holds C state."""
        try:
            import fugashi
        except ImportError as exc:  # pragma: no cover - a broken install
            raise ImportError("fugashi is not installed; reinstall kensaku with `make setup`.") from exc
        try:
            self._tagger = fugashi.Tagger()
        except RuntimeError as exc:  # pragma: no cover - a broken install
            raise RuntimeError(
                "MeCab could not load the unidic-lite dictionary; reinstall it with `pip install unidic-lite==1.0.8`."
            ) from exc
        self._lock = threading.Lock()

    @property
    def dictionary(self) -> dict[str, str]:
        """The dictionary in use: package version and MeCab's own version field (for the manifest)."""
        from importlib.metadata import version

        info = self._tagger.dictionary_info[0]
        return {"package": "unidic-lite", "version": version("unidic-lite"), "mecab_version": str(info["version"])}

    def normalize(self, text: str) -> str:
        """Apply the configured normalization (NFKC + lower case by default)."""
        text = unicodedata.normalize(self.config.normalization, text)  # type: ignore[arg-type]
        return text.lower() if self.config.lowercase else text

    def tokens(self, text: str) -> list[Token]:
        """Content-word tokens with offsets into ``self.normalize(text)``."""
        norm = self.normalize(text)
        out: list[Token] = []
        offset = 0
        for chunk in _chunks(norm):
            with self._lock:
                nodes = [(n.surface, n.white_space, n.feature) for n in self._tagger(chunk)]
            pos = offset
            for surface, white, feature in nodes:
                pos += len(white)
                if self._kept(surface, feature):
                    lemma = feature.lemma if feature.lemma and feature.lemma != "*" else surface
                    term = self._term(surface, feature)
                    out.append(Token(term, surface, pos, pos + len(surface), feature.pos1, feature.pos2, lemma))
                pos += len(surface)
            offset += len(chunk)
        return out

    def tokenize(self, text: str) -> list[str]:
        """Index terms of ``text`` (content words, normalized).

        With the form ``lemma+surface`` the lemmas come first, then the written forms:

        >>> Tokenizer(TokenizerConfig(form="lemma")).tokenize("フェローの契約形態は")
        ['フェロー', '契約', '形態']
        >>> Tokenizer(TokenizerConfig(form="lemma+surface")).tokenize("フェローの契約形態は")
        ['フェロー', '契約', '形態', 'フェロー', '契約', '形態']
        >>> Tokenizer(TokenizerConfig(form="lemma+surface")).tokenize("使われている")
        ['使う', '居る', '使わ', 'いる']
        """
        tokens = self.tokens(text)
        terms = [t.term for t in tokens]
        if self.config.form == "lemma+surface":
            terms += [t.surface for t in tokens]
        return terms

    def reading(self, text: str) -> str:
        """The katakana reading of ``text`` as MeCab reads it (words without one stay as written), for sorting names
        in 50音順; not used by the index.

        >>> Tokenizer().reading("会津若松市")
        'アイヅワカマツシ'
        """
        norm = self.normalize(text)[:_MAX_CHUNK].replace("\n", " ")
        with self._lock:
            nodes = [(n.white_space, n.surface, n.feature.kana) for n in self._tagger(norm)]
        return "".join(white + (kana if kana and kana != "*" else surface) for white, surface, kana in nodes)

    def _kept(self, surface: str, feature: Any) -> bool:  # noqa: ANN401 - fugashi's feature is untyped
        """Whether a token is indexed: not of a dropped part of speech, or a "symbol" that is really a word."""
        if feature.pos1 not in self.config.drop_pos and feature.pos2 not in self.config.drop_pos2:
            return True
        return self.config.version >= 2 and feature.pos1 in SYMBOL_POS and has_word_char(surface)

    def _term(self, surface: str, feature: Any) -> str:  # noqa: ANN401 - fugashi's feature is an untyped namedtuple
        form = self.config.form
        if form == "surface":
            return surface
        if form == "orth" or (form == "lemma_propn_orth" and feature.pos2 == "固有名詞"):
            value = feature.orthBase
        else:
            value = feature.lemma
        if not value or value == "*":
            return surface
        # UniDic lemmas of loanwords carry their source word: フェロー-fellow, シティー-city.
        base = value.split("-", 1)[0]
        return self.normalize(base) if base else surface


def _chunks(text: str) -> list[str]:
    """Split text at line ends (kept) and cut very long lines, so each MeCab call stays small."""
    pieces: list[str] = []
    for line in text.splitlines(keepends=True):
        while len(line) > _MAX_CHUNK:
            pieces.append(line[:_MAX_CHUNK])
            line = line[_MAX_CHUNK:]
        pieces.append(line)
    return pieces

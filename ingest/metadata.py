"""Metadata of a user's own document: the municipality it is about, its prefecture and its fiscal year.

Where the municipality comes from, in order of trust: the document title, the file name, the folder names of its
path (nearest first), then the opening text (first 40 lines / 2,000 characters, address and contact lines
skipped). The first of these that names one real place decides. A name counts only when it is in the shipped list
of Japan's local governments (``data/municipalities.tsv``, 総務省 全国地方公共団体コード; see ``data/README.md``)
and stands as a word: names are matched leftmost-longest and must start and end on UniDic word edges, so
「市町村」「都市」「空港区域」 name nothing, while 「加賀市長」「府中市民」 still name 加賀市 and 府中市.

* 「石川県加賀市」: prefecture 石川県, municipality 加賀市 (a prefecture right before a municipality of it, a 郡
  name between allowed, pairs them). 「北海道札幌市中央区」: municipality 札幌市, ward 中央区.
* An ambiguous name (府中市 in 東京都 and 広島県, 伊達市 in 北海道 and 福島県) takes the prefecture named with it or
  anywhere in the other sources; without one the prefecture stays ``""``.
* A source naming two municipalities equally often decides nothing; the next source is tried.
* A source naming only a prefecture makes the prefecture the municipality (「長野県」).
* Romaji (``kaga_smartcity_2023.pdf``) names no municipality; its ``2023`` is still the year.

The list is read on first use, and MeCab is loaded only when a text holds a candidate name.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import PurePath
from typing import Any, Literal

from kensaku.ingest.models import Document

Source = Literal["title", "file", "folder", "text", ""]

OPENING_LINES = 40
OPENING_CHARS = 2000
FOLDER_DEPTH = 3
DATA_FILE = "municipalities.tsv"
MIN_NAME_CHARS = 2

# A municipality followed by one of these inside one word is still named: 加賀市長, 府中市民, 伊達市役所, 町内.
_WORD_TAILS = frozenset({"長", "民", "役所", "役場", "議会", "議", "政", "内", "立", "営", "外", "職員", "庁舎"})
# Between a prefecture and its municipality: nothing, spaces, or a 郡 (石川県能美郡川北町).
_PAIR_GAP = re.compile(r"\s*+(?:[^\s\d、。，,・「」()（）]{1,5}郡)?\s*+")  # possessive: linear in a run of spaces
# Address and contact lines (a publisher's colophon) name where a document was printed, not what it is about.
_ADDRESS_LINE = re.compile(r"〒|\d{3}-\d{4}|TEL|Tel|電話|FAX|Fax|住所|所在地")
_ERA = re.compile(r"(令和|平成|昭和)\s*(元|\d{1,2}|[一二三四五六七八九十]{1,3})\s*年(度)?")
_WESTERN = re.compile(r"(?<!\d)((?:19|20)\d{2})\s*年(度)?")
_BARE_YEAR = re.compile(r"(?<!\d)((?:19[5-9]|20\d)\d)(?!\d)")
_ERA_START = {"令和": 2018, "平成": 1988, "昭和": 1925}
_ERA_LAST = {"令和": 99, "平成": 31, "昭和": 64}
_KANJI_DIGITS = {c: i for i, c in enumerate("〇一二三四五六七八九")}
_tag_lock = threading.Lock()


@dataclass(frozen=True)
class Place:
    """One row of the list: a prefecture (``municipality`` empty), a municipality, or a ward of a designated city.

    Attributes:
        code: 団体コード, six digits with the check digit (``172065``).
        prefecture: 都道府県名 (``石川県``).
        municipality: 市区町村名 (``加賀市``); ``""`` for the prefecture itself.
        ward: 区名 of a designated city's ward (``中央区`` of 札幌市); ``""`` otherwise.
    """

    code: str
    prefecture: str
    municipality: str = ""
    ward: str = ""


@dataclass(frozen=True)
class DocumentMetadata:
    """What a document is about, as far as its title, path and opening text say.

    Attributes:
        title: The reader's title (the first heading or the file stem when the document has none).
        municipality: ``加賀市``; a prefecture's name when only a prefecture is named; ``""`` when nothing is.
        prefecture: ``石川県``; ``""`` when unknown (an ambiguous name such as 府中市 without a prefecture).
        year: Western year of the first 年度/年 named (令和5年度 → 2023), or ``None``.
        source: Where the municipality was found: ``title``, ``file``, ``folder``, ``text``, or ``""``.
        ward: Ward of a designated city (北海道札幌市中央区 → ``中央区``), else ``""``.
        code: 団体コード of the municipality (or prefecture) when the prefecture is known, else ``""``.
    """

    title: str
    municipality: str = ""
    prefecture: str = ""
    year: int | None = None
    source: Source = ""
    ward: str = ""
    code: str = ""


@dataclass(frozen=True)
class Gazetteer:
    """The names to match: each spelling (``加賀市``, ``札幌市中央区``, ``鎌ヶ谷市``) → the places it may be."""

    names: dict[str, tuple[Place, ...]]
    longest: int


@dataclass(frozen=True)
class Mention:
    """A place name found in a text: its span, the places it may be, and the prefecture named right before it."""

    start: int
    end: int
    places: tuple[Place, ...]
    prefecture: str = ""

    @property
    def municipality(self) -> str:
        """The municipality named (``""`` for a prefecture)."""
        return self.places[0].municipality

    @property
    def name(self) -> str:
        """The name as listed: ``東京都``, ``府中市``, ``札幌市中央区``."""
        place = self.places[0]
        return place.municipality + place.ward or place.prefecture


def _spellings(name: str) -> set[str]:
    """``name`` and its ヶ/ケ variant (鎌ケ谷市 is also written 鎌ヶ谷市)."""
    return {name, name.replace("ケ", "ヶ"), name.replace("ヶ", "ケ")}


@functools.cache
def gazetteer() -> Gazetteer:
    """The shipped list of prefectures, municipalities and designated-city wards, read once."""
    table = resources.files("kensaku.ingest").joinpath("data", DATA_FILE).read_text(encoding="utf-8")
    names: dict[str, list[Place]] = {}
    for row in table.splitlines()[1:]:
        if not row.strip():
            continue
        code, prefecture, municipality, ward = [*row.split("\t"), "", "", ""][:4]
        place = Place(code, prefecture, municipality, ward)
        for key in _spellings(municipality + ward if municipality else prefecture):
            names.setdefault(key, []).append(place)
    return Gazetteer({k: tuple(v) for k, v in names.items()}, max(map(len, names)))


def places_named(name: str) -> tuple[Place, ...]:
    """Every place spelled ``name``.

    >>> [(p.prefecture, p.code) for p in places_named("府中市")]
    [('東京都', '132063'), ('広島県', '342084')]
    >>> places_named("市町村")
    ()
    """
    return gazetteer().names.get(unicodedata.normalize("NFKC", name), ())


@functools.cache
def _tagger() -> Any:  # noqa: ANN401 - fugashi is untyped
    """MeCab with UniDic (the project's dictionary), created on first use."""
    import fugashi

    return fugashi.Tagger()


def _words(text: str) -> tuple[dict[int, str], set[int]]:
    """The UniDic words of ``text``: start offset → surface, and the set of end offsets."""
    with _tag_lock:
        nodes = [(n.surface, n.white_space) for n in _tagger()(text)]
    starts: dict[int, str] = {}
    ends: set[int] = set()
    pos = 0
    for surface, white in nodes:
        found = text.find(surface, pos + len(white)) if surface else -1
        if found < 0:
            continue
        starts[found] = surface
        pos = found + len(surface)
        ends.add(pos)
    return starts, ends


def _scan(text: str, accept: Callable[[int, int], bool]) -> Iterator[tuple[int, int, tuple[Place, ...]]]:
    """Leftmost-longest accepted names in ``text``."""
    names, longest = gazetteer().names, gazetteer().longest
    i = 0
    while i < len(text):
        for n in range(min(longest, len(text) - i), MIN_NAME_CHARS - 1, -1):
            places = names.get(text[i : i + n])
            if places and accept(i, i + n):
                yield i, i + n, places
                i += n
                break
        else:
            i += 1


def _stands_alone(words: tuple[dict[int, str], set[int]], start: int, end: int) -> bool:
    """Whether a name at ``start:end`` starts on a word edge and ends on one (or in 市長, 市民, … after its stem)."""
    starts, ends = words
    if start not in starts:
        return False
    if end in ends:
        return True
    tail = starts.get(end - 1, "")
    return len(tail) > 1 and tail[1:] in _WORD_TAILS


def find_mentions(text: str) -> list[Mention]:
    """The real place names in ``text`` (NFKC-normalized), paired with a prefecture named right before them.

    ``find_mentions("東京都府中市の市民参画")`` gives 東京都 and 府中市 (paired with 東京都). Text without a listed
    name is never tagged:

    >>> find_mentions("市町村と都市の区分")
    []
    """
    text = unicodedata.normalize("NFKC", text)
    if not any(True for _ in _scan(text, lambda s, e: True)):
        return []
    words = _words(text)
    found = [Mention(s, e, p) for s, e, p in _scan(text, lambda s, e: _stands_alone(words, s, e))]
    for i in range(1, len(found)):
        before, this = found[i - 1], found[i]
        if before.municipality or not this.municipality or not _PAIR_GAP.fullmatch(text[before.end : this.start]):
            continue
        prefecture = before.places[0].prefecture
        same = tuple(p for p in this.places if p.prefecture == prefecture)
        if same:
            found[i] = Mention(this.start, this.end, same, prefecture)
    return found


def _pick(counts: Counter[str]) -> str | None:
    """The most frequent name, or ``None`` when none is named or two are named equally often."""
    top = counts.most_common(2)
    if not top or (len(top) > 1 and top[0][1] == top[1][1]):
        return None
    return top[0][0]


def _code(prefecture: str, municipality: str) -> str:
    """団体コード of ``municipality`` (or of the prefecture when it is the prefecture's name) in ``prefecture``."""
    for place in places_named(municipality):
        if place.prefecture == prefecture and not place.ward:
            return place.code
    return ""


def _decide(mentions: Sequence[Mention], context: Sequence[str]) -> tuple[str, str, str] | None:
    """``(municipality, prefecture, ward)`` named by one source, or ``None`` when it names none or several.

    ``context`` lists the prefectures named anywhere, most trusted first, to settle ambiguous names.
    """
    named = [m for m in mentions if m.municipality]
    if not named:
        prefecture = _pick(Counter(m.places[0].prefecture for m in mentions))
        return None if prefecture is None else (prefecture, prefecture, "")
    municipality = _pick(Counter(m.municipality for m in named))
    if municipality is None:
        return None
    chosen = [m for m in named if m.municipality == municipality]
    paired = [m.prefecture for m in chosen if m.prefecture]
    candidates = list(dict.fromkeys(p.prefecture for m in chosen for p in m.places))
    if paired:
        prefecture = paired[0]
    elif len(candidates) == 1:
        prefecture = candidates[0]
    else:
        prefecture = next((p for p in context if p in candidates), "")
    ward = next((p.ward for m in chosen for p in m.places if p.ward and p.prefecture == prefecture), "")
    return municipality, prefecture, ward


def opening_text(doc: Document) -> list[str]:
    """The document's first 40 lines (at most 2,000 characters), without address and contact lines."""
    lines: list[str] = []
    size = 0
    for line in doc.lines[:OPENING_LINES]:
        if size >= OPENING_CHARS:
            break
        kept = line[: OPENING_CHARS - size]
        size += len(kept)
        if kept.strip() and not _ADDRESS_LINE.search(kept):
            lines.append(kept)
    return lines


def _sources(doc: Document) -> list[tuple[Source, list[str]]]:
    """The texts to read, most trusted first: title, file stem, folder names (nearest first), opening lines."""
    folders = [p for p in reversed(PurePath(doc.path).parent.parts) if p not in (".", "..", "/", "\\")]
    return [
        ("title", [doc.title]),
        ("file", [PurePath(doc.name).stem]),
        *(("folder", [name]) for name in folders[:FOLDER_DEPTH]),
        ("text", opening_text(doc)),
    ]


def _number(digits: str) -> int:
    """``5``, ``元`` (1), ``三十一`` (31) → int."""
    if digits == "元":
        return 1
    if digits.isdigit():
        return int(digits)
    tens, _, ones = digits.rpartition("十")
    if "十" not in digits:
        return _KANJI_DIGITS.get(digits, 0)
    return (_KANJI_DIGITS.get(tens, 0) if tens else 1) * 10 + _KANJI_DIGITS.get(ones, 0)


def find_year(text: str, *, bare: bool = False) -> int | None:
    """The Western year of the first 年度 named in ``text``, else of the first 年, else (``bare``) a bare year.

    >>> find_year("令和5年度 加賀市 報告"), find_year("平成31年度"), find_year("令和元年"), find_year("2022年度")
    (2023, 2019, 2019, 2022)
    >>> find_year("kaga_smartcity_2023"), find_year("kaga_smartcity_2023", bare=True)
    (None, 2023)
    """
    text = unicodedata.normalize("NFKC", text)
    found: list[tuple[bool, int, int]] = []  # (not 年度, position, year)
    for m in _ERA.finditer(text):
        number = _number(m.group(2))
        if 1 <= number <= _ERA_LAST[m.group(1)]:
            found.append((not m.group(3), m.start(), _ERA_START[m.group(1)] + number))
    found += [(not m.group(2), m.start(), int(m.group(1))) for m in _WESTERN.finditer(text)]
    if found:
        return min(found)[2]
    bare_year = _BARE_YEAR.search(text) if bare else None
    return int(bare_year.group(1)) if bare_year else None


def document_metadata(doc: Document) -> DocumentMetadata:
    """Municipality, prefecture and year of ``doc`` from its title, file name, folders and opening text.

    Args:
        doc: A document as a reader made it.

    Returns:
        The metadata; ``municipality`` is ``""`` (and ``source`` ``""``) when no source names a real place.
    """
    texts = _sources(doc)
    sources = [(source, [find_mentions(text) for text in lines]) for source, lines in texts]
    named = (m.places[0].prefecture for _, found in sources for ms in found for m in ms if not m.municipality)
    context = list(dict.fromkeys(named))
    years = (find_year(text, bare=source != "text") for source, lines in texts for text in lines)
    year = next((y for y in years if y is not None), None)
    title = doc.title or next((line.lstrip("# ").strip() for line in doc.lines if line.strip()), "")
    title = title or PurePath(doc.name).stem
    for source, found in sources:
        decided = _decide([m for ms in found for m in ms], context)
        if decided is not None:
            municipality, prefecture, ward = decided
            code = _code(prefecture, municipality) if prefecture else ""
            return DocumentMetadata(title, municipality, prefecture, year, source, ward, code)
    return DocumentMetadata(title, year=year)

"""Real 例規 and a statute (``tests/fixtures/real/ordinance``) read through the pipeline: no 号 item is dropped or
taken as a heading, every article's findings carry ``第N条（caption）``, and citations point at the source lines.

What is expected is read from the source files here, with patterns of this test, not with the segmenter's rules.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from kensaku.ingest import Finding
from kensaku.ingest.normalize import clean_text
from kensaku.ingest.pipeline import ingest_paths

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "real" / "ordinance"
ITEM = re.compile(r"^(?:[(（][0-9０-９]+[)）]|[一二三四五六七八九十]+\s)")
SUB_ITEM = re.compile(r"^[イロハニホヘトチリヌル]\s")
CAPTION = re.compile(r"^[(（]([^()（）]+)[)）]$")
ARTICLE = re.compile(
    r"^(?:[(（]([^()（）]+)[)）])?(第[0-9一二三四五六七八九十百]+条(?:の[0-9一二三四五六七八九十]+)?)\s"
)
PART = re.compile(r"^(?:附\s?則|第\S+[章節])")
# file: (号 items, sub-items) counted in the source
COUNTS = {
    "katsuragi_hyosho_kitei.html": (13, 0),
    "katsuragi_chushajo_jorei.txt": (11, 0),
    "katsuragi_kaihan_seibi_jorei.txt": (4, 0),
    "gyosei_tetsuzuki_ho_excerpt.txt": (46, 14),
}


@dataclass(frozen=True)
class Source:
    """The source lines (1-based: ``lines[n - 1]``) and the findings of one fixture."""

    name: str
    lines: list[str]
    findings: list[Finding]


def source_lines(path: Path) -> list[str]:
    """Each line of the file, cleaned; for HTML with tags removed (the page has one text line per source line)."""
    raw = path.read_text(encoding="utf-8").splitlines()
    if path.suffix == ".html":
        raw = [html.unescape(re.sub(r"<[^>]+>", "", line)) for line in raw]
    return [clean_text(line) for line in raw]


@pytest.fixture(scope="module", params=sorted(COUNTS))
def source(request: pytest.FixtureRequest) -> Source:
    path = FIXTURES / request.param
    result = ingest_paths([path])
    assert not result.errors
    return Source(path.name, source_lines(path), result.findings)


def crumbs(f: Finding) -> list[str]:
    """The heading path as cited: ``document｜[municipality｜]a › b｜L3``."""
    parts = f.citation.split("｜")[1:-1]
    if parts and parts[0] == f.municipality:
        parts = parts[1:]
    return parts[0].split(" › ") if parts else []


def article_labels(lines: list[str]) -> dict[int, str]:
    """``{line number: 第N条（caption）}`` for each article line; the caption is on the line before or in front."""
    labels: dict[int, str] = {}
    for n, line in enumerate(lines, start=1):
        m = ARTICLE.match(line)
        if m is None:
            continue
        caption = m.group(1)
        before = CAPTION.match(lines[n - 2]) if n > 1 else None
        caption = caption or (before.group(1) if before else None)
        labels[n] = m.group(2) + (f"（{caption}）" if caption else "")
    return labels


def governing_article(lines: list[str], labels: dict[int, str], n: int) -> str | None:
    """The article that line ``n`` belongs to: the nearest article line above, unless a 章/節/附則 comes between."""
    for k in range(n, 0, -1):
        if k in labels:
            return labels[k]
        if PART.match(lines[k - 1]):
            return None
    return None


def test_no_item_is_dropped(source: Source) -> None:
    items = [line for line in source.lines if ITEM.match(line)]
    sub_items = [line for line in source.lines if SUB_ITEM.match(line)]
    assert (len(items), len(sub_items)) == COUNTS[source.name]
    texts = [f.text for f in source.findings]
    missing = [line for line in items + sub_items if not any(line in text for text in texts)]
    assert missing == []
    # Each 号 item starts a finding of its own, cited at its line.
    starts = {f.line_start: f for f in source.findings}
    for n, line in enumerate(source.lines, start=1):
        if ITEM.match(line):
            assert n in starts and starts[n].text.startswith(line), (source.name, n)


def test_no_heading_is_an_item(source: Source) -> None:
    for f in source.findings:
        for element in [f.chapter, f.section, f.heading, *crumbs(f)]:
            assert not ITEM.match(element) and not SUB_ITEM.match(element), (f.id, element)


def test_articles_carry_their_caption(source: Source) -> None:
    labels = article_labels(source.lines)
    assert labels, source.name
    checked = 0
    for f in source.findings:
        label = governing_article(source.lines, labels, f.line_start)
        if label is None:
            continue
        assert label in crumbs(f), (f.id, label, f.citation)
        # The article is the heading, or (items, table rows) the element above the lead sentence that is.
        assert f.heading == label or crumbs(f)[-2:] == [label, f.heading], f.id
        checked += 1
    assert checked >= len(labels)


def test_items_are_cited_with_their_lead_sentence(source: Source) -> None:
    for f in source.findings:
        if ITEM.match(source.lines[f.line_start - 1]):
            lead = crumbs(f)[-1]
            assert lead == f.heading and lead.endswith("。") and ("次" in lead or "掲げる" in lead), (f.id, lead)


def test_citations_point_at_the_lines(source: Source) -> None:
    for f in source.findings:
        first = source.lines[f.line_start - 1]
        assert first and f.text.replace(" ", "")[:8] in first.replace(" ", ""), (f.id, first)
        location = f"L{f.line_start}" if f.line_start == f.line_end else f"L{f.line_start}–{f.line_end}"
        assert f.citation.endswith(f"｜{location}"), f.citation
        assert f.id.endswith(f":L{f.line_start}") or re.search(rf":L{f.line_start}\.\d+$", f.id), f.id


def test_article_seven_of_the_parking_ordinance() -> None:
    findings = ingest_paths([FIXTURES / "katsuragi_chushajo_jorei.txt"]).findings
    [f] = [f for f in findings if f.text.startswith("第7条")]
    assert (f.heading, f.line_start, f.text) == ("第7条（使用料）", 35, "第7条 駐車場等の使用料は、無料とする。")
    assert f.citation.startswith("katsuragi_chushajo_jorei.txt｜") and f.citation.endswith("｜第7条（使用料）｜L35")

"""How much of what kensaku indexes from a web page is its main content: HTML main-content extractors compared.

Run ``.venv/bin/python bench/html_extract.py``; it prints a markdown table and writes
``bench/results/html_extract.md``.

Pages: the real Japanese pages in ``tests/fixtures/real/html/`` (sources in ``PROVENANCE.md``), each with its gold
main text ``<name>.main.gold``.

Measure (character n-grams, order-free): both texts are NFKC-normalised and stripped of all whitespace and of the
markdown marks kensaku adds (``# `` headings, ``- `` items). A character of one text is *matched* when some
8-character window containing it also occurs in the other text.

* **main share** = matched output characters / output characters (how much of the indexed text is main content);
* **recall** = matched gold characters / gold characters (how much of the main text was kept).

Short isolated menu words (under 8 characters) therefore never count as main content, and a gold sentence counts
as kept only where 8 consecutive characters of it were output.
"""

from __future__ import annotations

import re
import sys
import types
import unicodedata
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = ROOT / "tests" / "fixtures" / "real" / "html"
RESULTS = ROOT / "bench" / "results" / "html_extract.md"
WINDOW = 8
_MARK = re.compile(r"^(?:#{1,6} |- )", re.MULTILINE)
_SPACE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """NFKC, without markdown marks and without any whitespace."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", _MARK.sub("", text)))


def matched(text: str, reference: str, window: int = WINDOW) -> int:
    """Characters of ``text`` inside some ``window``-character substring that also occurs in ``reference``."""
    grams = {reference[i : i + window] for i in range(len(reference) - window + 1)}
    covered = [False] * len(text)
    for i in range(len(text) - window + 1):
        if text[i : i + window] in grams:
            covered[i : i + window] = [True] * window
    return sum(covered)


def scores(output: str, gold: str) -> tuple[float, float, int]:
    """``(main share, recall, output characters)`` of normalized texts."""
    out, ref = normalize(output), normalize(gold)
    share = matched(out, ref) / len(out) if out else 0.0
    return share, matched(ref, out) / len(ref), len(out)


def _decode(data: bytes) -> str:
    from kensaku.ingest.readers.htmlsource import decode_html as decode

    return decode(data)


def kensaku_rules(data: bytes, path: Path) -> str:
    """kensaku's reader with its hand-made rules only (the reader before issue 10)."""
    from kensaku.ingest.readers.webpage import read

    return "\n".join(read(data, path, extractor=False).lines)


def kensaku_reader(data: bytes, path: Path) -> str:
    """kensaku's reader as shipped (trafilatura picks the blocks, see ``ingest/readers/mainpart.py``)."""
    from kensaku.ingest.readers.webpage import read

    return "\n".join(read(data, path).lines)


def trafilatura_text(data: bytes, path: Path, **options: bool) -> str:
    """trafilatura 2.x ``extract`` (text output, tables kept, comments dropped)."""
    import trafilatura

    return trafilatura.extract(_decode(data), include_tables=True, include_comments=False, **options) or ""


def justext_text(data: bytes, path: Path) -> str:
    """jusText has no Japanese stop list: its language-independent mode (empty stop list, no stop-word density)."""
    import justext

    paragraphs = justext.justext(data, frozenset(), stopwords_low=0, stopwords_high=0)
    return "\n".join(p.text for p in paragraphs if not p.is_boilerplate)


def readability_text(data: bytes, path: Path) -> str:
    """readability-lxml ``Document.summary()`` as text (the page is decoded first, so chardet is never needed)."""
    sys.modules.setdefault("chardet", types.ModuleType("chardet"))  # imported, but only used for bytes input
    import lxml.html
    from readability import Document as Readable

    summary = Readable(_decode(data)).summary(html_partial=True)
    return "\n".join(lxml.html.fromstring(summary).itertext())


EXTRACTORS: dict[str, Callable[[bytes, Path], str]] = {
    "kensaku rules (before)": kensaku_rules,
    "kensaku + trafilatura (after)": kensaku_reader,
    "trafilatura": trafilatura_text,
    "trafilatura precision": lambda data, path: trafilatura_text(data, path, favor_precision=True),
    "justext": justext_text,
    "readability-lxml": readability_text,
}


def measure() -> list[tuple[str, str, float, float, int]]:
    """``(page, extractor, main share, recall, output chars)`` for every page and available extractor."""
    rows: list[tuple[str, str, float, float, int]] = []
    for path in sorted(PAGES.glob("*.html")):
        gold = path.with_suffix(".main.gold").read_text(encoding="utf-8")
        data = path.read_bytes()
        for name, extract in EXTRACTORS.items():
            try:
                output = extract(data, path)
            except ImportError:
                continue  # readability-lxml is optional
            rows.append((path.stem, name, *scores(output, gold)))
    return rows


def table(rows: list[tuple[str, str, float, float, int]]) -> str:
    """Per page and extractor, then the mean per extractor, as markdown."""
    lines = ["| page | extractor | main share | recall | output chars |", "|---|---|---:|---:|---:|"]
    lines += [f"| {p} | {e} | {s:.2f} | {r:.2f} | {n} |" for p, e, s, r, n in rows]
    lines += [
        "",
        "| extractor | mean main share | min main share | mean recall | min recall |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in dict.fromkeys(e for _, e, *_ in rows):
        shares = [s for _, e, s, _, _ in rows if e == name]
        recalls = [r for _, e, _, r, _ in rows if e == name]
        lines.append(
            f"| {name} | {sum(shares) / len(shares):.2f} | {min(shares):.2f} | "
            f"{sum(recalls) / len(recalls):.2f} | {min(recalls):.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    """Measure, print and save the table."""
    import logging

    logging.disable(logging.WARNING)  # trafilatura and readability log every short page
    body = table(measure())
    doc = __doc__ or ""
    text = f"# HTML main-content extraction\n\n{doc.split('Pages:', 1)[1].strip()}\n\n{body}\n"
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")
    print(body)


if __name__ == "__main__":
    main()

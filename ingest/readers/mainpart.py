"""Which blocks of a web page are its main content: trafilatura decides, kensaku's own blocks keep their lines.

trafilatura (Apache-2.0) finds the main text of a page well, but it rebuilds the tree and loses source lines. So it
is only asked *which* text is main content; :mod:`kensaku.ingest.readers.webpage` still walks its own lxml tree
into blocks cited by source line, and :func:`select` keeps the blocks whose text trafilatura kept:

* Texts are compared as *probes*: NFKC, letters and digits only (no spaces, punctuation, ``|`` table rules or the
  ``列名: `` kensaku adds to table rows), so a table row is its cells' text in order.
* Blocks are matched in document order against trafilatura's text: a probe found at the cursor (or a long one
  found anywhere later) is kept and moves the cursor; a long probe mostly covered by 8-character windows of the
  main text is kept too. Short probes (menu words) are kept only right at the cursor.
* Headings are kept when the content right after them is, and an ``h1`` that is part of the page ``<title>`` (the
  headline, which trafilatura leaves to its metadata) always.
* Sibling sections: when the kept text sits in one element with a class, its siblings of the same tag and class
  (and the headings between them) are kept too: trafilatura stops after the first ``<div class="text">`` of a
  government page cut into several.
"""

from __future__ import annotations

import copy
import itertools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Element = Any  # lxml ships no type information

WINDOW = 8  # characters a probe shares with the main text to count as found
NEAR = 48  # how far past the cursor a short probe may be found
COVERED = 0.5  # share of a long probe's characters inside shared windows
HOLDS = 0.8  # share of the kept text inside the element whose blocks are all kept
_WORD = re.compile(r"\w+")


def probe(text: str) -> str:
    """``text`` as compared with the main text: NFKC, letters and digits only.

    >>> probe("項目: 体制／内容: CDO を置く。")
    '項目体制内容CDOを置く'
    """
    return "".join(_WORD.findall(unicodedata.normalize("NFKC", text)))


def main_text(root: Element) -> str:
    """trafilatura's main text of the page as a probe (ruby readings left out), ``""`` when it finds none."""
    import trafilatura

    tree = copy.deepcopy(root)  # trafilatura prunes the tree it is given
    for el in tree.xpath("//rt | //rp"):
        el.drop_tree()  # keeps the tail text
    text = trafilatura.extract(tree, include_tables=True, include_comments=False, favor_precision=True)
    return probe(text or "")


@dataclass(frozen=True)
class Part:
    """One block as :func:`select` sees it.

    Attributes:
        probe: Its text as a probe (see :func:`probe`).
        source: The element it was read from (a ``tr`` for a table row, the heading, the container of a run).
        heading: Its heading level, 0 for other blocks.
    """

    probe: str
    source: Element
    heading: int = 0


def _covered(text: str, grams: set[str]) -> int:
    """Characters of ``text`` inside a ``WINDOW``-character window that is in ``grams``."""
    hit = [False] * len(text)
    for i in range(len(text) - WINDOW + 1):
        if text[i : i + WINDOW] in grams:
            hit[i : i + WINDOW] = [True] * WINDOW
    return sum(hit)


def _match(parts: Sequence[Part], main: str) -> list[bool]:
    """Whether each part's text is in the main text (document order, see the module docstring)."""
    grams = {main[i : i + WINDOW] for i in range(len(main) - WINDOW + 1)}
    cursor, kept = 0, []
    for part in parts:
        text = part.probe
        # A short probe counts only near the cursor, so only that far is searched: linear, not parts × main text.
        end = None if len(text) >= WINDOW else cursor + NEAR + len(text)
        pos = main.find(text, cursor, end) if text else -1
        if pos != -1 and (pos - cursor <= NEAR or len(text) >= WINDOW):
            cursor = pos + len(text)
            kept.append(True)
        elif len(text) >= WINDOW and _covered(text, grams) >= COVERED * len(text):
            last = main.find(text[-WINDOW:], cursor)
            cursor = last + WINDOW if last != -1 else cursor
            kept.append(True)
        else:
            kept.append(False)
    return kept


def _holder(parts: Sequence[Part], kept: list[bool]) -> Element | None:
    """The deepest element holding ``HOLDS`` of the kept text (headings aside), or ``None`` if nothing is kept."""
    weight: dict[Element, int] = {}
    for part, keep in zip(parts, kept, strict=True):
        if keep and not part.heading:
            for el in (part.source, *part.source.iterancestors()):
                weight[el] = weight.get(el, 0) + len(part.probe)
    total = max(weight.values(), default=0)
    holders = [el for el, w in weight.items() if w >= HOLDS * total]
    return max(holders, key=lambda el: sum(1 for _ in el.iterancestors()), default=None)


def _siblings(holder: Element) -> set[Element]:
    """``holder`` and its later siblings of the same tag and class, with the heading elements among them."""
    if not (holder.get("class") or "").strip():
        return {holder}
    same = [s for s in holder.itersiblings() if s.tag == holder.tag and s.get("class") == holder.get("class")]
    if not same:
        return {holder}
    last = same[-1]
    between = list(itertools.takewhile(lambda s: s is not last, holder.itersiblings()))
    return {holder, *same, *(s for s in between if isinstance(s.tag, str) and s.tag.lower()[:1] == "h")}


def _is_headline(part: Part, title: str) -> bool:
    """An ``h1`` that mostly repeats the page title."""
    grams = {title[i : i + WINDOW] for i in range(len(title) - WINDOW + 1)}
    return (
        part.heading == 1
        and bool(part.probe)
        and (part.probe in title or _covered(part.probe, grams) * 2 >= len(part.probe))
    )


def select(parts: Sequence[Part], main: str, page_title: str) -> list[bool]:
    """Which parts are main content, given trafilatura's main text (all ``False`` when nothing matches).

    Args:
        parts: The page's blocks in document order.
        main: :func:`main_text` of the page.
        page_title: The page's ``<title>``, for the headline rule.

    Returns:
        One flag per part.
    """
    kept = _match(parts, main) if main else [False] * len(parts)
    holder = _holder(parts, kept)
    if holder is None:
        return kept
    areas = _siblings(holder)
    for i, part in enumerate(parts):
        kept[i] = kept[i] or any(el in areas for el in (part.source, *part.source.iterancestors()))
    title = probe(page_title)
    after = False  # whether the nearest non-heading part after part i is kept
    for i in reversed(range(len(parts))):
        part = parts[i]
        if not part.heading:
            after = kept[i]
        elif not kept[i]:
            kept[i] = after or _is_headline(part, title)
    return kept

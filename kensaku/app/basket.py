"""The excerpt basket (pure logic and its file, no Streamlit): what the user picked, for which question, with a note.

Each item keeps the finding id, the question it was picked for, the score it had then (NaN when unknown, e.g. an
item restored from a shared URL: never a made-up 0) and the user's note. The basket is kept across reloads in a
per-user JSON file named by a random token (the token rides in the URL as ``bk=``), and, when small, its ids ride in
the URL too (``b=``), so a shared address carries the excerpts.
"""

from __future__ import annotations

import json
import math
import os
import re
import secrets
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from kensaku.index.search import Hit
from kensaku.ingest.models import Finding

URL_MAX_ITEMS = 20  # more ids than this stay out of the URL (the file still keeps them)
URL_MAX_CHARS = 1500
MAX_ITEMS = 500
MAX_NOTE_CHARS = 2000
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")


@dataclass(frozen=True)
class BasketItem:
    """One picked excerpt.

    Attributes:
        finding_id: The finding's id.
        query: The question it was picked for (``""`` when unknown).
        score: Its score for that question when picked; NaN when unknown.
        note: The user's note.
    """

    finding_id: str
    query: str = ""
    score: float = math.nan
    note: str = ""

    def to_dict(self) -> dict[str, object]:
        """JSON-ready (an unknown score is ``null``)."""
        score = None if math.isnan(self.score) else self.score
        return {"id": self.finding_id, "query": self.query, "score": score, "note": self.note}

    @classmethod
    def from_dict(cls, data: object) -> BasketItem | None:
        """Inverse of :meth:`to_dict`; ``None`` for anything malformed."""
        if not isinstance(data, dict) or not isinstance(data.get("id"), str) or not data["id"]:
            return None
        query, note, score = data.get("query", ""), data.get("note", ""), data.get("score")
        number = float(score) if isinstance(score, int | float) and not isinstance(score, bool) else math.nan
        return cls(
            data["id"],
            query if isinstance(query, str) else "",
            number,
            note[:MAX_NOTE_CHARS] if isinstance(note, str) else "",
        )


@dataclass
class Basket:
    """Picked excerpts in the user's order (each finding at most once)."""

    items: list[BasketItem] = field(default_factory=list)

    def __contains__(self, finding_id: object) -> bool:
        """Whether the finding is in the basket."""
        return any(item.finding_id == finding_id for item in self.items)

    def __len__(self) -> int:
        """Number of excerpts."""
        return len(self.items)

    @property
    def ids(self) -> list[str]:
        """The finding ids, in basket order."""
        return [item.finding_id for item in self.items]

    def add(self, finding_id: str, query: str, score: float) -> None:
        """Add an excerpt at the end; one already there keeps its question, score, note and place."""
        if finding_id not in self and len(self.items) < MAX_ITEMS:
            self.items.append(BasketItem(finding_id, query, score))

    def remove(self, finding_id: str) -> None:
        """Take an excerpt out (no-op when absent)."""
        self.items = [item for item in self.items if item.finding_id != finding_id]

    def move(self, finding_id: str, step: int) -> None:
        """Move an excerpt ``step`` places (−1: up, +1: down), stopping at either end."""
        at = self.ids.index(finding_id)
        to = min(max(at + step, 0), len(self.items) - 1)
        self.items.insert(to, self.items.pop(at))

    def set_note(self, finding_id: str, note: str) -> None:
        """Set an excerpt's note."""
        self.items = [
            replace(item, note=note[:MAX_NOTE_CHARS]) if item.finding_id == finding_id else item for item in self.items
        ]

    def hits(self, finding: Callable[[str], Finding]) -> list[Hit]:
        """The excerpts as hits for export (rank = basket order; leg scores unknown, NaN); ids no longer in the
        index are left out."""
        hits: list[Hit] = []
        for item in self.items:
            try:
                found = finding(item.finding_id)
            except KeyError:
                continue
            hits.append(Hit(len(hits) + 1, item.score, found, math.nan, math.nan, 0, 0))
        return hits

    def present(self, known: Callable[[str], bool]) -> list[BasketItem]:
        """The items whose finding ``known`` accepts (still in the index), in basket order."""
        return [item for item in self.items if known(item.finding_id)]

    def to_json(self) -> str:
        """The basket as JSON."""
        return json.dumps({"items": [item.to_dict() for item in self.items]}, ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Basket:
        """Inverse of :meth:`to_json`; malformed input gives an empty basket, malformed items are dropped."""
        try:
            data = json.loads(text)
        except ValueError:
            return cls()
        raw = data.get("items") if isinstance(data, dict) else None
        basket = cls()
        for entry in raw if isinstance(raw, list) else []:
            item = BasketItem.from_dict(entry)
            if item is not None and item.finding_id not in basket and len(basket) < MAX_ITEMS:
                basket.items.append(item)
        return basket

    def url_ids(self) -> list[str]:
        """The ids for the URL's ``b=`` parameter, or ``[]`` when the basket is too big for a URL."""
        ids = self.ids
        if len(ids) > URL_MAX_ITEMS or sum(len(i) + 3 for i in ids) > URL_MAX_CHARS:
            return []
        return ids

    @classmethod
    def from_ids(cls, ids: Sequence[str]) -> Basket:
        """A basket of the given ids (from a shared URL): questions and scores unknown."""
        basket = cls()
        for finding_id in ids[:MAX_ITEMS]:
            basket.add(finding_id, "", math.nan)
        return basket


def new_token() -> str:
    """A random basket token (22 URL-safe characters)."""
    return secrets.token_urlsafe(16)


def valid_token(token: str) -> bool:
    """Whether ``token`` can name a basket file (no path characters; 16–64 URL-safe characters)."""
    return _TOKEN.fullmatch(token) is not None


@dataclass(frozen=True)
class BasketStore:
    """Basket files in one folder, one per token (``<folder>/<token>.json``)."""

    directory: Path

    def path(self, token: str) -> Path:
        """The file of ``token``; raises ``ValueError`` for a token that is not valid."""
        if not valid_token(token):
            raise ValueError(f"basket token {token!r} is not valid")
        return self.directory / f"{token}.json"

    def load(self, token: str) -> Basket | None:
        """The basket saved under ``token``, or ``None`` when there is none (or the token is not valid)."""
        if not valid_token(token):
            return None
        try:
            return Basket.from_json(self.path(token).read_text(encoding="utf-8"))
        except OSError:
            return None

    def save(self, token: str, basket: Basket) -> None:
        """Write the basket atomically (a reader never sees half a file); raises ``OSError`` when it cannot."""
        target = self.path(token)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".basket-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(basket.to_json())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

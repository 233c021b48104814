"""Pure helpers for the app's shareable state: URL query parameters ⇄ search settings, and the excerpt basket."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from kensaku.config import DEFAULTS
from kensaku.index.search import Filters, Hit
from kensaku.ingest.models import Finding

DEFAULT_K = DEFAULTS.k


def filter_values(findings: Sequence[Finding]) -> dict[str, list[str]]:
    """The values each filter can take in an index (sorted), keyed like the URL parameters."""
    return {
        "muni": sorted({f.municipality for f in findings if f.municipality}),
        "chapter": sorted({f.chapter for f in findings if f.chapter}),
        "section": sorted({f.section for f in findings if f.section}),
    }


@dataclass(frozen=True)
class SearchState:
    """Everything that defines one search, as kept in the URL (``?q=…&k=…&muni=…&chapter=…&lessons=1``)."""

    query: str = ""
    k: int = DEFAULT_K
    municipalities: tuple[str, ...] = ()
    chapters: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()
    lessons_only: bool = False

    def widget_values(self) -> dict[str, object]:
        """The app's widget keys and their values for this search (the inverse of :meth:`from_widgets`)."""
        return {
            "k": self.k,
            "municipality": list(self.municipalities),
            "chapter": list(self.chapters),
            "section": list(self.sections),
            "lessons_only": self.lessons_only,
        }

    @classmethod
    def from_widgets(cls, query: str, values: Mapping[str, object]) -> SearchState:
        """The search the app's widgets describe (``values`` is the session state)."""

        def strings(key: str) -> tuple[str, ...]:
            items = values[key]
            return tuple(str(v) for v in items) if isinstance(items, list | tuple) else ()

        k = values["k"]
        return cls(
            query=query,
            k=k if isinstance(k, int) else DEFAULT_K,
            municipalities=strings("municipality"),
            chapters=strings("chapter"),
            sections=strings("section"),
            lessons_only=bool(values["lessons_only"]),
        )

    @property
    def filters(self) -> Filters:
        """The search filters."""
        return Filters(
            municipalities=self.municipalities,
            chapters=self.chapters,
            sections=self.sections,
            kinds=("lesson",) if self.lessons_only else (),
        )

    def to_params(self) -> dict[str, str | list[str]]:
        """Query parameters (only the non-default ones)."""
        params: dict[str, str | list[str]] = {}
        if self.query:
            params["q"] = self.query
        if self.k != DEFAULT_K:
            params["k"] = str(self.k)
        for key, values in (("muni", self.municipalities), ("chapter", self.chapters), ("section", self.sections)):
            if values:
                params[key] = list(values)
        if self.lessons_only:
            params["lessons"] = "1"
        return params

    @classmethod
    def from_params(cls, get_all: Callable[[str], Sequence[str]], known: Mapping[str, set[str]]) -> SearchState:
        """Read query parameters; unknown filter values and a bad ``k`` are dropped, never an error.

        Args:
            get_all: Returns every value of a parameter (``st.query_params.get_all``).
            known: Allowed values per filter (``muni``, ``chapter``, ``section``) taken from the index.
        """

        def first(key: str) -> str:
            values = get_all(key)
            return values[0] if values else ""

        try:
            k = min(max(int(first("k") or DEFAULT_K), 1), DEFAULTS.max_k)
        except ValueError:
            k = DEFAULT_K
        picked = {key: tuple(v for v in get_all(key) if v in known.get(key, set())) for key in known}
        return cls(
            query=first("q")[:2000],
            k=k,
            municipalities=picked.get("muni", ()),
            chapters=picked.get("chapter", ()),
            sections=picked.get("section", ()),
            lessons_only=first("lessons") == "1",
        )


@dataclass
class Basket:
    """Excerpts the user picked, in the order picked (finding id → score when picked)."""

    items: dict[str, float] = field(default_factory=dict)

    def set(self, finding_id: str, score: float, picked: bool) -> None:
        """Add or remove one excerpt."""
        if picked:
            self.items.setdefault(finding_id, score)
        else:
            self.items.pop(finding_id, None)

    def hits(self, finding: Callable[[str], Finding]) -> list[Hit]:
        """The picked excerpts as hits (rank = order picked), for export; ``finding`` looks a finding up by id."""
        return [
            Hit(rank, score, finding(finding_id), 0.0, 0.0, 0, 0)
            for rank, (finding_id, score) in enumerate(self.items.items(), start=1)
        ]

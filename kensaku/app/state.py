"""Pure helpers for the app's shareable state: URL query parameters ⇄ search settings (no Streamlit)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from kensaku.config import DEFAULTS
from kensaku.index.search import Filters

DEFAULT_K = DEFAULTS.k
MAX_PAGE = 1000

# URL parameter → widget key of each multi-valued filter.
FILTER_WIDGETS: dict[str, str] = {
    "doc": "document",
    "muni": "municipality",
    "year": "year",
    "chapter": "chapter",
    "section": "section",
}


@dataclass(frozen=True)
class SearchState:
    """Everything that defines one search, as kept in the URL
    (``?q=…&k=…&doc=…&muni=…&year=…&chapter=…&section=…&lessons=1&p=2``)."""

    query: str = ""
    k: int = DEFAULT_K
    municipalities: tuple[str, ...] = ()
    chapters: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()
    lessons_only: bool = False
    documents: tuple[str, ...] = ()
    years: tuple[str, ...] = ()
    page: int = 1

    @property
    def chosen(self) -> dict[str, tuple[str, ...]]:
        """The chosen filter values keyed like the URL parameters (``doc``, ``muni``, ``year``, ``chapter``,
        ``section``)."""
        return {
            "doc": self.documents,
            "muni": self.municipalities,
            "year": self.years,
            "chapter": self.chapters,
            "section": self.sections,
        }

    @property
    def offset(self) -> int:
        """How many results come before this page."""
        return (self.page - 1) * self.k

    def widget_values(self) -> dict[str, object]:
        """The app's widget keys and their values for this search (the inverse of :meth:`from_widgets`)."""
        values: dict[str, object] = {FILTER_WIDGETS[key]: list(v) for key, v in self.chosen.items()}
        return {**values, "k": self.k, "lessons_only": self.lessons_only, "page": self.page}

    @classmethod
    def from_widgets(cls, query: str, values: Mapping[str, object]) -> SearchState:
        """The search the app's widgets describe (``values`` is the session state; missing keys are defaults)."""

        def strings(param: str) -> tuple[str, ...]:
            items = values.get(FILTER_WIDGETS[param])
            return tuple(str(v) for v in items) if isinstance(items, list | tuple) else ()

        k, page = values.get("k"), values.get("page")
        return cls(
            query=query,
            k=k if isinstance(k, int) else DEFAULT_K,
            municipalities=strings("muni"),
            chapters=strings("chapter"),
            sections=strings("section"),
            lessons_only=bool(values.get("lessons_only", False)),
            documents=strings("doc"),
            years=strings("year"),
            page=page if isinstance(page, int) and page >= 1 else 1,
        )

    @property
    def filters(self) -> Filters:
        """The search filters."""
        return Filters(
            municipalities=self.municipalities,
            chapters=self.chapters,
            sections=self.sections,
            kinds=("lesson",) if self.lessons_only else (),
            documents=self.documents,
            years=self.years,
        )

    def to_params(self) -> dict[str, str | list[str]]:
        """Query parameters (only the non-default ones)."""
        params: dict[str, str | list[str]] = {}
        if self.query:
            params["q"] = self.query
        if self.k != DEFAULT_K:
            params["k"] = str(self.k)
        for key, values in self.chosen.items():
            if values:
                params[key] = list(values)
        if self.lessons_only:
            params["lessons"] = "1"
        if self.page != 1:
            params["p"] = str(self.page)
        return params

    @classmethod
    def from_params(cls, get_all: Callable[[str], Sequence[str]], known: Mapping[str, set[str]]) -> SearchState:
        """Read query parameters; unknown filter values and a bad ``k`` or page are dropped, never an error.

        Args:
            get_all: Returns every value of a parameter (``st.query_params.get_all``).
            known: Allowed values per filter (``doc``, ``muni``, ``year``, ``chapter``, ``section``) from the index.
        """

        def first(key: str) -> str:
            values = get_all(key)
            return values[0] if values else ""

        def number(key: str, default: int, high: int) -> int:
            try:
                return min(max(int(first(key) or default), 1), high)
            except ValueError:
                return default

        picked = {key: tuple(v for v in get_all(key) if v in known.get(key, set())) for key in FILTER_WIDGETS}
        return cls(
            query=first("q")[:2000],
            k=number("k", DEFAULT_K, DEFAULTS.max_k),
            municipalities=picked["muni"],
            chapters=picked["chapter"],
            sections=picked["section"],
            lessons_only=first("lessons") == "1",
            documents=picked["doc"],
            years=picked["year"],
            page=number("p", 1, MAX_PAGE),
        )

"""kensaku: semantic search and retrieval for Japanese text (findings, MeCab BM25 + e5 embeddings, hybrid).

The public API, in three lines::

    from kensaku import Index, Filters
    index = Index.build(["reports/"], ".kensaku/index")          # or Index.open(".kensaku/index")
    hits = index.search("フェローの契約形態は", filters=Filters(municipalities=["加賀市"]))

Each :class:`Hit` has a ``.finding`` with ``.id``, ``.text`` and ``.citation``. Importing this package is cheap
and silent: the names below are imported on first use, and no model is loaded until a search needs it.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

try:
    __version__ = version("kensaku")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

if TYPE_CHECKING:
    from kensaku.api import Index
    from kensaku.config import DEFAULTS, FusionConfig, Settings
    from kensaku.errors import (
        DocumentError,
        EmbedderLoadError,
        FindingNotFoundError,
        IndexCorruptError,
        IndexMismatchError,
        IndexMissingError,
        IndexStoreError,
        InputError,
        KensakuError,
        NothingToIndexError,
        QueryError,
        SourceNotFoundError,
    )
    from kensaku.index.build import BuildReport
    from kensaku.index.embed import Embedder
    from kensaku.index.search import Filters, Hit
    from kensaku.ingest.models import Finding

# Public name → module that defines it.
_EXPORTS = {
    "Index": "kensaku.api",
    "Filters": "kensaku.index.search",
    "Hit": "kensaku.index.search",
    "Finding": "kensaku.ingest.models",
    "Embedder": "kensaku.index.embed",
    "BuildReport": "kensaku.index.build",
    "Settings": "kensaku.config",
    "DEFAULTS": "kensaku.config",
    "FusionConfig": "kensaku.config",
    **dict.fromkeys(
        (
            "KensakuError",
            "InputError",
            "QueryError",
            "SourceNotFoundError",
            "DocumentError",
            "NothingToIndexError",
            "IndexStoreError",
            "IndexMissingError",
            "IndexMismatchError",
            "IndexCorruptError",
            "EmbedderLoadError",
            "FindingNotFoundError",
        ),
        "kensaku.errors",
    ),
}

__all__ = [
    "DEFAULTS",
    "BuildReport",
    "DocumentError",
    "Embedder",
    "EmbedderLoadError",
    "Filters",
    "Finding",
    "FindingNotFoundError",
    "FusionConfig",
    "Hit",
    "Index",
    "IndexCorruptError",
    "IndexMismatchError",
    "IndexMissingError",
    "IndexStoreError",
    "InputError",
    "KensakuError",
    "NothingToIndexError",
    "QueryError",
    "Settings",
    "SourceNotFoundError",
    "__version__",
]


def __getattr__(name: str) -> object:
    """Import a public name on first use (``from kensaku import Index`` loads the search stack, ``import kensaku``
    does not)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'kensaku' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names (for completion)."""
    return sorted([*globals(), *__all__])

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

from kensaku import errors
from kensaku.config import DEFAULTS, FusionConfig, Settings
from kensaku.errors import *  # noqa: F403 - every error class is a public name of the package (errors.__all__)

if TYPE_CHECKING:
    from kensaku.api import Index
    from kensaku.index.build import BuildReport
    from kensaku.index.embed import Embedder
    from kensaku.index.rerank import Reranker, load_reranker
    from kensaku.index.search import Filters, Hit, Results
    from kensaku.ingest.models import Finding

# Public name → module that defines it, imported on first use (these pull in numpy and the search stack).
_LAZY = {
    "Index": "kensaku.api",
    "Filters": "kensaku.index.query",
    "Hit": "kensaku.index.results",
    "Results": "kensaku.index.results",
    "Finding": "kensaku.ingest.models",
    "Embedder": "kensaku.index.embed",
    "BuildReport": "kensaku.index.build",
    "Reranker": "kensaku.index.rerank",
    "load_reranker": "kensaku.index.rerank",
}

__all__ = [
    "DEFAULTS",
    "BuildReport",
    "Embedder",
    "Filters",
    "Finding",
    "FusionConfig",
    "Hit",
    "Index",
    "Reranker",
    "Results",
    "Settings",
    "__version__",
    "load_reranker",
]
__all__ += errors.__all__


def __getattr__(name: str) -> object:
    """Import a public name on first use (``from kensaku import Index`` loads the search stack, ``import kensaku``
    does not)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kensaku' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names (for completion)."""
    return sorted({*globals(), *__all__})

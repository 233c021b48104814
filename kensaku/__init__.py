"""kensaku: semantic search and retrieval for Japanese text (findings, MeCab BM25 + e5 embeddings, hybrid)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("kensaku")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

__all__ = ["__version__"]

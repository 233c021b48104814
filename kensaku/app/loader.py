"""The index the app shows, shared by every session and reloaded when the index on disk changes.

Each run asks :func:`kensaku.library.index_stamp` (one cheap look at the index directory) whether the index on disk is
still the one loaded; a change made elsewhere (``kensaku add`` in a terminal, another session's upload or rebuild)
is picked up on the next interaction, so results from a replaced index do not stay on screen. The model is loaded
once per process and handed to each reloaded index.
"""

from __future__ import annotations

import logging

import streamlit as st

from kensaku import Index, Settings
from kensaku.api import open_or_build
from kensaku.index.embed import Embedder, load_embedder
from kensaku.library import index_stamp


@st.cache_resource(show_spinner="モデルを読み込み中…")
def _embedder(name: str) -> Embedder:
    """The embedding model ``name``, loaded once per process."""
    return load_embedder(name, show_progress=False)


@st.cache_resource(show_spinner="索引を読み込み中…", max_entries=2)
def _index(directory: str, stamp: str | None) -> Index:
    """The index at ``directory`` as it is on disk now (``stamp`` is only the cache key: a new one reloads).

    Two entries are kept so that a session still running on the previous index finishes with it.
    """
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    settings = Settings.from_env()
    opened = open_or_build(directory, settings)
    index = Index(opened.bundle, embedder=_embedder(opened.manifest.model.name), settings=settings)
    index.searcher  # noqa: B018 - build the searcher now, not in the first user's search
    return index


def load_index(directory: str) -> Index:
    """The index at ``directory``, loaded once and loaded again whenever the index on disk has been replaced.

    Raises:
        KensakuError: The index cannot be opened (missing, damaged, out of date); the page shows why.
    """
    return _index(directory, index_stamp(directory))


def clear() -> None:
    """Forget the loaded indexes (after this process changed the index), so that the next run loads it again."""
    _index.clear()

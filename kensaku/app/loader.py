"""The index the app shows, loaded once per process and shared by every session."""

from __future__ import annotations

import logging

import streamlit as st

from kensaku import Index, Settings
from kensaku.api import open_or_build


@st.cache_resource(show_spinner="索引とモデルを読み込み中…")
def load_index(directory: str) -> Index:
    """Load the index and model once per process (shared by sessions; searching is read-only and locked)."""
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    index = open_or_build(directory, Settings.from_env())
    index.searcher  # noqa: B018 - load the model now, not in the first user's search
    return index

"""The index the app shows, shared by every session and reloaded when the index on disk changes.

Each run asks :func:`kensaku.library.index_stamp` (one cheap look at the index directory) whether the index on disk is
still the one loaded; a change made elsewhere (``kensaku add`` in a terminal, another session's upload or rebuild)
is picked up on the next interaction, so results from a replaced index do not stay on screen. The model is loaded
once per process, on the device of ``settings.device`` (``$KENSAKU_DEVICE``), and handed to each reloaded index.
So is the reranker of ``settings.reranker`` (``$KENSAKU_RERANKER``), which the search page hands to each search
while its toggle is on.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import replace

import streamlit as st

from kensaku import Index, RerankerLoadError, Settings
from kensaku.api import open_or_build
from kensaku.client import Client
from kensaku.index.embed import Embedder, load_embedder
from kensaku.index.rerank import Reranker, load_reranker
from kensaku.library import index_stamp
from kensaku.remote import RemoteIndex


def use_arguments(argv: Sequence[str]) -> None:
    """Take ``--server URL`` from the app's command line (``streamlit run search_app.py -- --server URL``) as
    ``$KENSAKU_SERVER``, which every page reads through :meth:`Settings.from_env` (a bad URL is shown there)."""
    for at, arg in enumerate(argv):
        if arg == "--server" and at + 1 < len(argv):
            os.environ["KENSAKU_SERVER"] = argv[at + 1]
        elif arg.startswith("--server="):
            os.environ["KENSAKU_SERVER"] = arg.removeprefix("--server=")


@st.cache_resource(show_spinner="モデルを読み込み中…")
def _embedder(name: str, device: str) -> Embedder:
    """The embedding model ``name`` on ``device`` (``settings.device``, ``$KENSAKU_DEVICE``), loaded once per
    process and device.

    Raises:
        EmbedderLoadError: It cannot be loaded on ``device`` (no GPU, or no GPU build of the runtime); the page
            shows why.
    """
    return load_embedder(name, show_progress=False, device=device)


@st.cache_resource(show_spinner="索引を読み込み中…", max_entries=2)
def _index(directory: str, stamp: str | None) -> Index:
    """The index at ``directory`` as it is on disk now (``stamp`` is only the cache key: a new one reloads).

    Two entries are kept so that a session still running on the previous index finishes with it.
    """
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    settings = Settings.from_env()
    opened = open_or_build(directory, settings)
    # No reranker of its own: the search page passes the one of load_reranker_for() while its toggle is on.
    index = Index(
        opened.bundle,
        embedder=_embedder(opened.manifest.model.name, settings.device),
        settings=replace(settings, reranker=None),
    )
    index.searcher  # noqa: B018 - build the searcher now, not in the first user's search
    return index


def load_index(settings: Settings) -> Index | RemoteIndex:
    """The index of ``settings.index_dir``, loaded once and loaded again whenever the index on disk has been
    replaced; with ``settings.server``, the index that server answers from (nothing is loaded here).

    Raises:
        KensakuError: The index cannot be opened (missing, damaged, out of date) or the server cannot be reached;
            the page shows why.
    """
    if settings.server:
        token = os.environ.get("KENSAKU_TOKEN") or None
        return _remote(settings.server, token, Client(settings.server, token=token).health()["fingerprint"])
    directory = str(settings.index_dir)
    return _index(directory, index_stamp(directory))


@st.cache_resource(show_spinner="検索サーバーに接続中…", max_entries=2)
def _remote(base: str, token: str | None, fingerprint: str) -> RemoteIndex:
    """The index served at ``base`` (``fingerprint`` is only the cache key: a new build served there reloads)."""
    return RemoteIndex(base, token=token)


@st.cache_resource(show_spinner="再ランキングのモデルを読み込み中…")
def _reranker(name: str) -> Reranker | RerankerLoadError:
    """The reranker ``name``, loaded once per process; a failure is kept too (a hub name offline takes long to
    fail: it is not tried again on every run)."""
    try:
        return load_reranker(name)
    except RerankerLoadError as exc:
        return exc


def load_reranker_for(settings: Settings) -> Reranker | None:
    """The reranker the settings name (``None`` when they name none), loaded once per process.

    Raises:
        RerankerLoadError: It cannot be loaded; the page shows why and searches without it.
    """
    if not settings.reranker:
        return None
    loaded = _reranker(settings.reranker)
    if isinstance(loaded, RerankerLoadError):
        raise RerankerLoadError(loaded.reason, loaded.fix)  # a new one each time: the kept one gathers no tracebacks
    return loaded


def clear() -> None:
    """Forget the loaded indexes (after this process changed the index), so that the next run loads it again."""
    _index.clear()
    _remote.clear()

"""Fixtures shared by all tiers (see tests/README.md): the seed index and the cached default model."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import ROOT, KeywordEmbedder


@pytest.fixture()
def keyword_embedder() -> KeywordEmbedder:
    return KeywordEmbedder()


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default corpus indexed once per test session with the real default model."""
    from kensaku import Index

    directory = tmp_path_factory.mktemp("seed") / "index"
    Index.build([ROOT / "corpus"], directory)  # the default model
    return directory


@pytest.fixture(scope="session")
def default_model() -> Path:
    """The real cached default model (built by `make setup`; built here if missing)."""
    from kensaku.defaultmodel.cache import ensure_default_model

    return ensure_default_model(show_progress=False)

"""Defaults in one place: where the corpus and index live, and the tuned search settings."""

from __future__ import annotations

import os
from pathlib import Path

from index.hybrid import FusionConfig

DEFAULT_CORPUS = Path("corpus")
DEFAULT_INDEX = Path(".kensaku") / "index"

# Tuned on the dev splits of JSQuAD and of corpus/eval (docs/evaluation.md): weighted fusion, w_dense = 0.5.
DEFAULT_FUSION = FusionConfig()


def index_dir(value: str | os.PathLike[str] | None = None) -> Path:
    """The index directory: the given value, else ``$KENSAKU_INDEX``, else ``.kensaku/index``."""
    if value:
        return Path(value)
    env = os.environ.get("KENSAKU_INDEX")
    return Path(env) if env else DEFAULT_INDEX


def model_name(value: str | None = None) -> str:
    """The embedding model: the given value, else ``$KENSAKU_MODEL``, else the default ``e5-small-int8``."""
    from index.embed import DEFAULT_MODEL

    return value or os.environ.get("KENSAKU_MODEL") or DEFAULT_MODEL

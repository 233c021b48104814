"""The docstring examples that need real MeCab or the default model, and the README's Python example."""

from __future__ import annotations

import doctest
import shutil
from pathlib import Path

import pytest

from tests.support import HEAVY_DOCTESTS, ROOT, run_doctests


@pytest.mark.parametrize("name", sorted(HEAVY_DOCTESTS))
def test_docstring_examples(name: str, default_model: Path) -> None:
    assert run_doctests(name) > 0


def test_readme_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, default_model: Path) -> None:
    shutil.copytree(ROOT / "corpus", tmp_path / "corpus")
    monkeypatch.chdir(tmp_path)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    failed, attempted = doctest.testfile(str(ROOT / "README.md"), module_relative=False, optionflags=flags)
    assert attempted >= 8 and failed == 0

"""The docstring examples of every module that needs no MeCab and no model (the others: tests/integration)."""

from __future__ import annotations

import pytest

from tests.support import HEAVY_DOCTESTS, package_modules, run_doctests

MODULES = [name for name in package_modules() if name not in HEAVY_DOCTESTS]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    run_doctests(name)


def test_examples_exist() -> None:
    assert sum(run_doctests(name) for name in MODULES) >= 30

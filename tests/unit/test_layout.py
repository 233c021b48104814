"""The package layout is the data flow: one import package, no standard-library names, imports only downstream.

Read from the source files (AST), so a violation is named by file and line without importing anything.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import ROOT

# Import package → folder, as pyproject.toml maps them.
FOLDERS = {"kensaku": ROOT / "kensaku", "kensaku.ingest": ROOT / "ingest", "kensaku.index": ROOT / "index"}
HEAVY = ("torch", "transformers", "sentence_transformers", "streamlit", "onnx", "onnxscript")

# Module (prefix) → modules it must never import: each stage imports only what comes before it in the flow
# config/errors/files → ingest (readers → segment → pipeline) → defaultmodel → index → export/evaluate/api → cli/app.
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "kensaku.errors": ("kensaku.",),
    "kensaku.config": ("kensaku.ingest", "kensaku.index", "kensaku.api", "kensaku.cli", "kensaku.app"),
    "kensaku.files": ("kensaku.ingest", "kensaku.index", "kensaku.api", "kensaku.cli", "kensaku.app"),
    "kensaku.ingest.readers": ("kensaku.ingest.segment", "kensaku.ingest.pipeline", "kensaku.ingest.memory"),
    "kensaku.ingest.segment": ("kensaku.ingest.readers", "kensaku.ingest.read", "kensaku.ingest.pipeline"),
    "kensaku.ingest.segment.generic": ("kensaku.ingest.segment.report",),
    "kensaku.ingest.segment.report": ("kensaku.ingest.segment.generic",),
    "kensaku.ingest": (
        "kensaku.index",
        "kensaku.defaultmodel",
        "kensaku.api",
        "kensaku.cli",
        "kensaku.app",
        "kensaku.export",
        "kensaku.evaluate",
    ),
    "kensaku.defaultmodel": ("kensaku.index", "kensaku.ingest", "kensaku.api", "kensaku.cli", "kensaku.app"),
    "kensaku.index": ("kensaku.api", "kensaku.cli", "kensaku.app", "kensaku.export", "kensaku.evaluate"),
    "kensaku.export": ("kensaku.api", "kensaku.cli", "kensaku.app"),
    "kensaku.evaluate": ("kensaku.api", "kensaku.cli", "kensaku.app"),
    "kensaku.app": ("kensaku.cli",),
}


def modules() -> Iterator[tuple[str, Path]]:
    """Every module of the installed package, with its file."""
    for package, folder in FOLDERS.items():
        for path in sorted(folder.rglob("*.py")):
            parts = path.relative_to(folder).with_suffix("").parts
            if package == "kensaku" and parts[0] in ("ingest", "index"):
                continue
            name = ".".join((package, *parts)).removesuffix(".__init__")
            yield name, path


def imports(path: Path, name: str) -> Iterator[tuple[str, int, bool]]:
    """``(imported module, line, at module level)`` for every import in a file (relative ones resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = set(map(id, tree.body))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno, id(node) in top
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            yield base, node.lineno, id(node) in top


MODULES = list(modules())


def test_the_package_has_the_stages_as_modules() -> None:
    names = {name for name, _ in MODULES}
    assert {"kensaku.ingest.read", "kensaku.ingest.segment.draft", "kensaku.index.search", "kensaku.api"} <= names
    assert len(names) >= 40


@pytest.mark.parametrize(("name", "path"), MODULES, ids=[name for name, _ in MODULES])
def test_no_module_is_named_after_a_standard_library_module(name: str, path: Path) -> None:
    assert path.stem == "__init__" or path.stem not in sys.stdlib_module_names, f"{path} shadows the stdlib"


@pytest.mark.parametrize(("name", "path"), MODULES, ids=[name for name, _ in MODULES])
def test_imports_follow_the_data_flow(name: str, path: Path) -> None:
    rules = [banned for prefix, banned in FORBIDDEN.items() if name == prefix or name.startswith(prefix + ".")]
    for module, line, at_top in imports(path, name):
        where = f"{path.relative_to(ROOT)}:{line} imports {module}"
        assert module.split(".")[0] not in ("ingest", "index"), f"{where}: use kensaku.ingest / kensaku.index"
        for banned in (b for group in rules for b in group):
            assert not (module == banned.rstrip(".") or module.startswith(banned.rstrip(".") + ".")), where
        ui = name.startswith("kensaku.app.") and module.split(".")[0] == "streamlit"
        if module.split(".")[0] in HEAVY and not ui:
            assert not at_top, f"{where} at module level: import it inside the function that needs it"
        if module.split(".")[0] == "streamlit":
            assert name.startswith("kensaku.app."), f"{where}: only the app (search_app.py, kensaku.app) uses Streamlit"


def test_importing_the_package_loads_no_streamlit() -> None:
    code = "import sys, kensaku, kensaku.api, kensaku.cli; print('streamlit' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_setuptools_installs_every_package_under_kensaku() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    packages = {name for name, path in MODULES if path.name == "__init__.py"}
    assert set(config["packages"]) == packages
    assert config["package-dir"] == {k: str(v.relative_to(ROOT)) for k, v in FOLDERS.items()}


def test_only_kensaku_is_importable_from_outside_the_checkout(tmp_path: Path) -> None:
    code = (
        "import importlib.util, kensaku.ingest, kensaku.index; "
        "print([m for m in ('ingest', 'index') if importlib.util.find_spec(m)], kensaku.ingest.__file__)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    found, where = done.stdout.split(" ", 1)
    assert found == "[]" and Path(where.strip()) == ROOT / "ingest" / "__init__.py"

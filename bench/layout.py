"""Measure the shape of a kensaku checkout and what one search costs it (issue 9's before/after table).

Static, from the source tree: import names a install puts on ``sys.path``, modules per package, module and function
sizes, ``dict[str, Any]`` uses. Dynamic, with the checkout's own virtual environment: the files a ``kensaku search``
and a ``kensaku build --if-needed`` open (``manifest.json`` reads, source documents read = hashed), counted with an
audit hook; and what importing and running the search path costs (time, peak RSS, heavy modules loaded).

Usage: ``.venv/bin/python bench/layout.py [--tree PATH] [--label NAME]``; writes ``bench/results/layout-NAME.json``.
Run it on an older checkout (with its own ``.venv``) to compare.
"""

from __future__ import annotations

import argparse
import ast
import json
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
QUERY = "フェローの契約形態は"

# Runs inside the measured checkout's venv: counts files opened by one CLI command (after building the index).
COUNT_OPENS = r"""
import json, sys
from pathlib import Path
command, index, source_dir = sys.argv[1], sys.argv[2], Path(sys.argv[3])
sources = {str(p.resolve()) for p in source_dir.rglob("*") if p.is_file()}
opened = []
def hook(event, args):
    if event == "open" and isinstance(args[0], str):
        opened.append(str(Path(args[0]).resolve()) if not args[0].startswith("/proc") else args[0])
from kensaku.cli import main
argv = {"search": ["search", "QUERY", "--index", index, "--format", "json", "--no-progress"],
        "build-if-needed": ["build", str(source_dir), "--index", index, "--if-needed", "--no-progress"]}[command]
import contextlib, io
sys.addaudithook(hook)
with contextlib.redirect_stdout(io.StringIO()):
    code = main(argv)
manifest = str(Path(index).resolve() / "manifest.json")
print(json.dumps({"exit": code, "index_manifest_reads": opened.count(manifest),
                  "other_manifest_reads": sum(p.endswith("/manifest.json") and p != manifest for p in opened),
                  "source_reads": sum(p in sources for p in opened)}))
""".replace("QUERY", QUERY)

# Runs inside the measured checkout's venv: import and search costs.
SEARCH_COST = r"""
import json, resource, sys, time
index = sys.argv[1]
t0 = time.perf_counter()
import kensaku
t1 = time.perf_counter()
rss_import = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    from kensaku import Index
    opener = lambda: Index.open(index)
    searcher_of = lambda i: i
except ImportError:
    from kensaku.engine import open_searcher
    opener = lambda: open_searcher(__import__("pathlib").Path(index))
    searcher_of = lambda s: s
t2 = time.perf_counter()
opened = opener()
opened.search("QUERY", 10)
t3 = time.perf_counter()
heavy = ("torch", "transformers", "sentence_transformers", "streamlit", "onnx", "openpyxl", "docx", "pypdf", "lxml")
print(json.dumps({
    "import_kensaku_ms": round((t1 - t0) * 1000, 1),
    "import_kensaku_rss_mb": round(rss_import / 1024, 1),
    "import_search_api_ms": round((t2 - t1) * 1000, 1),
    "open_and_first_search_s": round(t3 - t2, 3),
    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    "heavy_modules_loaded": sorted(m for m in heavy if m in sys.modules),
    "modules_loaded": len(sys.modules),
}))
""".replace("QUERY", QUERY)


def package_dirs(tree: Path) -> dict[str, Path]:
    """Import name → folder of every package under the tree's roots (pyproject.toml's package-dir mapping, else the
    folders named after the listed top-level packages)."""
    config = tomllib.loads((tree / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    roots = {name: tree / folder for name, folder in config.get("package-dir", {}).items()}
    roots = roots or {name: tree / name for name in config["packages"] if "." not in name}
    out = {}
    for root, folder in roots.items():
        for init in folder.rglob("__init__.py"):
            parts = init.parent.relative_to(folder).parts
            out[".".join((root, *parts))] = init.parent
    return dict(sorted(out.items()))


def static_shape(tree: Path) -> dict[str, Any]:
    """Sizes and counts from the source files."""
    packages = package_dirs(tree)
    modules = {}
    for name, folder in packages.items():
        for path in sorted(folder.glob("*.py")):
            modules[name if path.stem == "__init__" else f"{name}.{path.stem}"] = path
    functions, bodies = [], []
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                end = node.end_lineno or node.lineno
                functions.append((end - node.lineno + 1, f"{name}.{node.name}"))
                first = node.body[1:] if ast.get_docstring(node) and len(node.body) > 1 else node.body
                bodies.append((end - first[0].lineno + 1, f"{name}.{node.name}"))
    functions.sort(reverse=True)
    bodies.sort(reverse=True)
    lines = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in modules.items()}
    stdlib = sorted(n for n in modules if n.rsplit(".", 1)[-1] in sys.stdlib_module_names)
    return {
        "top_level_import_names": sorted({name.split(".")[0] for name in packages}),
        "packages_listed_for_setuptools": tomllib.loads((tree / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
            "setuptools"
        ]["packages"],
        "modules_per_package": {name: len(list(folder.glob("*.py"))) for name, folder in packages.items()},
        "modules": len(modules),
        "modules_over_400_lines": sorted(f"{n} ({c})" for n, c in lines.items() if c > 400),
        "modules_named_like_stdlib": stdlib,
        "functions_over_50_lines": sum(1 for length, _ in functions if length > 50),
        "longest_functions": [f"{qual} ({length})" for length, qual in functions[:5]],
        "longest_function_bodies_without_docstring": [f"{qual} ({length})" for length, qual in bodies[:5]],
        "function_bodies_over_50_lines": sum(1 for length, _ in bodies if length > 50),
        "dict_str_any": sum(p.read_text(encoding="utf-8").count("dict[str, Any]") for p in modules.values()),
    }


def run(python: Path, code: str, *args: str, cwd: Path) -> dict[str, Any]:
    done = subprocess.run([str(python), "-c", code, *args], capture_output=True, text=True, cwd=cwd, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def dynamic_costs(tree: Path, work: Path) -> dict[str, Any]:
    """Build the seed corpus with the tree's own CLI, then count and time a search."""
    python = tree / ".venv" / "bin" / "python"
    index = work / "index"
    build = [str(python), "-m", "kensaku.cli", "build", str(tree / "corpus"), "--index", str(index), "--no-progress"]
    subprocess.run(build, capture_output=True, check=True, cwd=tree)
    outside = work / "elsewhere"
    outside.mkdir()
    names = {}
    for name in ("kensaku", "ingest", "index"):
        probe = subprocess.run([str(python), "-c", f"import {name}"], capture_output=True, cwd=outside, check=False)
        names[name] = probe.returncode == 0
    return {
        "importable_from_outside_the_checkout": names,
        "search": run(python, COUNT_OPENS, "search", str(index), str(tree / "corpus"), cwd=outside),
        "build_if_needed": run(python, COUNT_OPENS, "build-if-needed", str(index), str(tree / "corpus"), cwd=outside),
        "search_path_cost": run(python, SEARCH_COST, str(index), cwd=outside),
    }


def main() -> int:
    """Measure one checkout and write ``bench/results/layout-<label>.json``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tree", type=Path, default=HERE.parent, help="checkout to measure (with its own .venv)")
    parser.add_argument("--label", default="after", help="name of the result file")
    args = parser.parse_args()
    tree = args.tree.resolve()
    with tempfile.TemporaryDirectory() as work:
        result = {"tree": str(tree), **static_shape(tree), **dynamic_costs(tree, Path(work))}
    out = HERE / "results" / f"layout-{args.label}.json"
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The built wheel holds one import package with every module, and it works from outside the checkout.

The wheel is built with pip from this checkout and unpacked into a folder that is put first on ``PYTHONPATH``, so the
subprocess imports the wheel's files, not the editable install. (Before the one-package layout, the wheel listed
``ingest`` but not ``ingest.readers``: an installed kensaku could not read a single document.)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support import ROOT

CHECK = """
import importlib, json, pkgutil, sys
from pathlib import Path
names = []
for root in ("kensaku", "kensaku.ingest", "kensaku.index"):
    package = importlib.import_module(root)
    names += [root, *(m.name for m in pkgutil.walk_packages(package.__path__, root + "."))]
files = {name: importlib.import_module(name).__file__ for name in names}
from kensaku.ingest import ingest_paths
doc = Path(sys.argv[1]) / "メモ.md"
doc.write_text("# 推進体制\\n\\n## 庁内体制\\n\\n- 庁内公募で人材を集めた。\\n", encoding="utf-8")
result = ingest_paths([doc])
print(json.dumps({"modules": sorted(names), "outside": all(f.startswith(sys.argv[2]) for f in files.values()),
                  "citations": [f.citation for f in result.findings], "errors": [e.reason for e in result.errors]},
                 ensure_ascii=False))
"""


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source")  # a copy, so that the build leaves nothing in the checkout
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for name in ("kensaku", "ingest", "index"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    wheels = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheels),
            str(source),
        ],
        check=True,
        capture_output=True,
        cwd=wheels,
    )
    [wheel] = wheels.glob("kensaku-*.whl")
    target = tmp_path_factory.mktemp("site")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    return target


def test_wheel_installs_only_kensaku(unpacked: Path) -> None:
    tops = {p.name for p in unpacked.iterdir() if not p.name.endswith(".dist-info")}
    assert tops == {"kensaku"}
    assert (unpacked / "kensaku" / "py.typed").is_file()


def test_every_module_is_in_the_wheel_and_reads_a_document(unpacked: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(unpacked)}
    done = subprocess.run(
        [sys.executable, "-c", CHECK, str(tmp_path), str(unpacked)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=True,
    )
    result = json.loads(done.stdout)
    assert result["outside"] is True, "modules were imported from the checkout, not from the wheel"
    assert {"kensaku.ingest.readers.pdf", "kensaku.ingest.segment.report", "kensaku.index.search"} <= set(
        result["modules"]
    )
    assert result["citations"] == ["メモ.md｜庁内体制｜L5"] and result["errors"] == []

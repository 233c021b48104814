"""Read ``manifest.json`` back into the typed :class:`~kensaku.index.manifest.Manifest`, every field type-checked.

A ``null`` or a value of the wrong type is refused, never coerced, and a manifest of format 3 or later must match its
own checksum. Each refusal names the command that rebuilds the index: from the manifest's recorded inputs while they
can be read, else from the ``inputs.json`` files beside it (:func:`~kensaku.index.manifest.inputs_of`). Reads the
text it is given (and those files, for a hint); writes nothing. :meth:`Manifest.from_json
<kensaku.index.manifest.Manifest.from_json>` calls it, importing it on first use (this module imports the records).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kensaku.errors import IndexCorruptError, IndexMismatchError
from kensaku.index.integrity import CHECKSUM_KEY, FileRecord, canonical_checksum
from kensaku.index.manifest import (
    READABLE_VERSIONS,
    BuildOptions,
    DocumentMeta,
    IngestInfo,
    Manifest,
    ModelInfo,
    SourceRecord,
    inputs_of,
    rebuild_hint,
)
from kensaku.index.tokenizer import TokenizerConfig


def parse_manifest(text: str, directory: Path) -> Manifest:
    """The manifest in ``text``, the ``manifest.json`` of the index at ``directory`` (:meth:`Manifest.from_json
    <kensaku.index.manifest.Manifest.from_json>`).

    Raises:
        IndexCorruptError: Not JSON, a field missing or of the wrong type, or the checksum differs.
        IndexMismatchError: Written by a format version this kensaku does not read.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise IndexCorruptError(
            f"the manifest of {directory} is not JSON ({exc})",
            rebuild_hint(directory, inputs_of(directory), full=True),
        ) from exc
    if not isinstance(data, dict):
        raise IndexCorruptError(
            f"the manifest of {directory} is {type(data).__name__}, not a JSON object",
            rebuild_hint(directory, inputs_of(directory), full=True),
        )
    hint = rebuild_hint(directory, _paths(data) or inputs_of(directory), full=True)
    found = data.get("format_version")
    if isinstance(found, bool) or found not in READABLE_VERSIONS:
        raise IndexMismatchError(
            f"index at {directory} has format version {found!r}, this kensaku reads versions "
            f"{', '.join(map(str, READABLE_VERSIONS))}",
            hint,
        )
    if found >= 3 and data.get(CHECKSUM_KEY) != canonical_checksum(data):
        raise IndexCorruptError(
            f"the manifest of {directory} does not match its checksum (it was edited or damaged)", hint
        )
    try:
        return _parse(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise IndexCorruptError(f"the manifest of {directory} is damaged ({_reason(exc)})", hint) from exc


def _reason(exc: Exception) -> str:
    return f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)


def _paths(data: Mapping[str, Any]) -> list[str]:
    """What to rebuild from, from raw manifest data whatever its shape (for hints of damaged manifests)."""
    inputs = data.get("inputs")
    if isinstance(inputs, list) and inputs and all(isinstance(p, str) for p in inputs):
        return list(inputs)
    sources = data.get("sources")
    if not isinstance(sources, list):
        return []
    return [s["path"] for s in sources if isinstance(s, dict) and isinstance(s.get("path"), str)]


def _object(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data[key]
    if not isinstance(value, dict):
        raise TypeError(f"{key!r} is {_kind(value)}, expected an object")
    return value


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _str(data: Mapping[str, Any], key: str, default: str | None = None) -> str:
    value = data.get(key, default) if default is not None else data[key]
    if not isinstance(value, str):
        raise TypeError(f"{key!r} is {_kind(value)}, expected a string")
    return value


def _int(data: Mapping[str, Any], key: str, *, optional: bool = False) -> int | None:
    value = data.get(key) if optional else data[key]
    if value is None and optional:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise TypeError(f"{key!r} is {value!r}, expected a whole number of 0 or more")
    return value


def _count(data: Mapping[str, Any], key: str) -> int:
    value = _int(data, key)
    assert value is not None
    return value


def _bool(data: Mapping[str, Any], key: str) -> bool:
    value = data[key]
    if not isinstance(value, bool):
        raise TypeError(f"{key!r} is {_kind(value)}, expected true or false")
    return value


def _strings(data: Mapping[str, Any], key: str) -> dict[str, str]:
    """An object of strings; whole numbers are read as their digits, because manifests of formats 1 and 2 wrote
    MeCab's dictionary version as a number (``"mecab_version": 102``)."""
    value = data.get(key) or {}
    if not isinstance(value, dict) or not all(
        isinstance(v, str) or (isinstance(v, int) and not isinstance(v, bool)) for v in value.values()
    ):
        raise TypeError(f"{key!r} must be an object of strings")
    return {k: str(v) for k, v in value.items()}


def _source(item: Any) -> SourceRecord:  # noqa: ANN401 - raw JSON, checked here
    if not isinstance(item, dict):
        raise TypeError(f"a source is {_kind(item)}, expected an object")
    prefix, rows = item.get("prefix"), item.get("rows")
    if not all(v is None or isinstance(v, str) for v in (prefix, rows)):
        raise TypeError(f"'prefix' is {_kind(prefix)} and 'rows' {_kind(rows)}, expected strings")
    warnings = item.get("warnings") or []
    if not isinstance(warnings, list) or not all(isinstance(w, str) for w in warnings):
        raise TypeError("'warnings' must be a list of strings")
    return SourceRecord(
        name=_str(item, "name"),
        path=_str(item, "path"),
        sha256=_str(item, "sha256"),
        findings=_count(item, "findings"),
        prefix=prefix,
        size=_int(item, "size", optional=True),
        mtime_ns=_int(item, "mtime_ns", optional=True),
        rows=rows,
        added=_str(item, "added", ""),
        warnings=tuple(warnings),
        meta=_meta(item.get("meta")),
    )


def _meta(value: Any) -> DocumentMeta | None:  # noqa: ANN401 - raw JSON, checked here
    """A source's ``meta`` object (format 4), or ``None``."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise TypeError(f"'meta' is {_kind(value)}, expected an object")
    tags = value.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise TypeError("'meta.tags' must be a list of strings")
    meta = DocumentMeta(
        _str(value, "municipality", ""), _int(value, "year", optional=True), _str(value, "title", ""), tuple(tags)
    )
    return meta or None


def _model(data: Mapping[str, Any]) -> ModelInfo:
    model = _object(data, "model")
    dim = _count(model, "dim")
    if dim == 0:
        raise ValueError("'dim' is 0")
    details = {k: str(v) for k, v in model.items() if k not in ("name", "dim") and v is not None}
    return ModelInfo(name=_str(model, "name"), dim=dim, details=details)


def _list(data: Mapping[str, Any], key: str, *, default: list[Any] | None = None) -> list[Any]:
    value = data.get(key, default) if default is not None else data[key]
    if not isinstance(value, list):
        raise TypeError(f"{key!r} is {_kind(value)}, expected a list")
    return value


def _parse(data: Mapping[str, Any]) -> Manifest:
    """The typed manifest from parsed JSON (version 1, 2 or 3); raises ``KeyError``/``TypeError``/``ValueError``."""
    tokenizer = _object(data, "tokenizer")
    options = data.get("build_options") or {"embed_context": data.get("embed_context", True), "bm25_context": True}
    if not isinstance(options, dict):
        raise TypeError(f"'build_options' is {_kind(options)}, expected an object")
    ingest = data.get("ingest")
    if ingest is not None and not isinstance(ingest, dict):
        raise TypeError(f"'ingest' is {_kind(ingest)}, expected an object")
    inputs = _list(data, "inputs", default=[])
    if not all(isinstance(p, str) for p in inputs):
        raise TypeError("'inputs' must be a list of strings")
    files = data.get("files") or {}
    if not isinstance(files, dict):
        raise TypeError(f"'files' is {_kind(files)}, expected an object")
    sources = tuple(_source(s) for s in _list(data, "sources"))
    findings = _count(_object(data, "counts"), "findings")
    removed = data.get("removed") or {"rows": 0}
    if not isinstance(removed, dict):
        raise TypeError(f"'removed' is {_kind(removed)}, expected an object")
    if sum(s.findings for s in sources) not in (findings, 0) and all(s.prefix is not None for s in sources):
        raise ValueError(f"the documents' findings add up to {sum(s.findings for s in sources)}, not {findings}")
    return Manifest(
        model=_model(data),
        tokenizer=TokenizerConfig.from_dict(tokenizer),
        dictionary=_strings(tokenizer, "dictionary"),
        build_options=BuildOptions(
            _bool(options, "embed_context"),
            _bool(options, "bm25_context"),
            _bool({"bm25_municipality": False, **options}, "bm25_municipality"),
        ),
        ingest=IngestInfo(_count(ingest, "version"), _count(ingest, "max_chars")) if ingest is not None else None,
        inputs=tuple(inputs),
        sources=sources,
        findings=findings,
        created=_str(data, "created", ""),
        versions=_strings(data, "versions"),
        fingerprint=_str(data, "fingerprint", ""),
        format_version=_count(data, "format_version"),
        files={str(name): FileRecord.from_dict(record) for name, record in files.items()},
        parts=tuple(_count({"part": n}, "part") for n in _list(data, "parts", default=[])),
        removed=_count(removed, "rows"),
        removed_file=_str(removed, "file", ""),
    )

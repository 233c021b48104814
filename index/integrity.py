"""Checksums of an index's files: recorded by every build, checked by every open, checked in full by ``verify``.

The manifest lists each data file of the index directory with its size, CRC-32 and SHA-256, and carries a
checksum of its own text. What is checked when:

* **every open** (search, the app, ``build --if-needed``): the manifest's own checksum, every file's size (one
  ``stat`` each), and the CRC-32 of every file up to 64 MiB (about 1 GB/s; measured in ``bench/reliability.py``);
  larger files (the memory-mapped findings and vectors of a big index) only by size, as reading them would cost
  seconds on every open;
* **kensaku verify**: SHA-256 of every file, then the loaded index itself (row counts, unique ids, unit vectors).

CRC-32 is a check against damage (flipped or zeroed bytes, truncation, a file from another index of the same size),
not against forgery: whoever can write the index can also write its manifest. A mismatch is an
:class:`~kensaku.errors.IndexCorruptError` naming the file and the command that rebuilds the index from its
documents; such an index is never a source of reused rows (``kensaku build`` then reads and embeds everything).
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kensaku.errors import IndexCorruptError

MANIFEST = "manifest.json"
CHECKSUM_KEY = "checksum"


@dataclass(frozen=True)
class FileRecord:
    """Size and checksums of one file of an index directory.

    Attributes:
        size: Bytes.
        crc32: CRC-32 of the bytes (checked on every open).
        sha256: SHA-256 of the bytes (checked by ``kensaku verify``).
    """

    size: int
    crc32: int
    sha256: str

    @classmethod
    def of(cls, data: bytes) -> FileRecord:
        """The record of ``data``."""
        return cls(len(data), zlib.crc32(data), hashlib.sha256(data).hexdigest())

    @classmethod
    def of_file(cls, path: Path) -> FileRecord:
        """The record of the file at ``path``, read in 1 MiB blocks (a build's vectors may be gigabytes)."""
        crc, digest, size = 0, hashlib.sha256(), 0
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                crc = zlib.crc32(block, crc)
                digest.update(block)
                size += len(block)
        return cls(size, crc, digest.hexdigest())

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dict."""
        return {"size": self.size, "crc32": self.crc32, "sha256": self.sha256}

    @classmethod
    def from_dict(cls, data: object) -> FileRecord:
        """Parse a record; raises ``TypeError`` when a field is missing or of the wrong type."""
        if not isinstance(data, dict):
            raise TypeError(f"a file record is {type(data).__name__}, expected an object")
        size, crc, sha = data.get("size"), data.get("crc32"), data.get("sha256")
        if not (_is_int(size) and _is_int(crc) and isinstance(sha, str) and len(sha) == 64):
            raise TypeError(f"file record {data!r} needs an integer size and crc32 and a 64-digit sha256")
        assert isinstance(size, int) and isinstance(crc, int)
        return cls(size, crc, sha)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def data_files(directory: Path) -> list[str]:
    """The index's data files (every file but the manifest), as sorted POSIX paths relative to ``directory``."""
    return sorted(
        p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file() and p.name != MANIFEST
    )


def record_files(directory: Path) -> dict[str, FileRecord]:
    """Size and checksums of every data file under ``directory`` (called by a build before it writes the
    manifest)."""
    return {name: FileRecord.of_file(directory / name) for name in data_files(directory)}


def check_sizes(directory: Path, files: Mapping[str, FileRecord], hint: str) -> None:
    """Refuse an index whose files are missing or of another size than recorded (one ``stat`` each; files the
    manifest does not list, such as a desktop's ``.DS_Store``, are not the index's and are left alone).

    Raises:
        IndexCorruptError: Naming the first file that differs and ``hint``.
    """
    for name, record in files.items():
        try:
            size = (directory / name).stat().st_size
        except FileNotFoundError:
            raise IndexCorruptError(f"index at {directory} is damaged: {name} is missing", hint) from None
        if size != record.size:
            raise IndexCorruptError(
                f"index at {directory} is damaged: {name} has {size:,} bytes, the manifest records {record.size:,}",
                hint,
            )


def check_bytes(directory: Path, name: str, data: bytes, files: Mapping[str, FileRecord], hint: str) -> None:
    """Refuse bytes read from file ``name`` whose CRC-32 differs from the manifest's record.

    Raises:
        IndexCorruptError: Naming the file and ``hint``.
    """
    record = files.get(name)
    if record is not None and (len(data), zlib.crc32(data)) != (record.size, record.crc32):
        raise IndexCorruptError(
            f"index at {directory} is damaged: {name} does not match its checksum (the file was changed after the "
            "build)",
            hint,
        )


def check_sha256(directory: Path, files: Mapping[str, FileRecord], hint: str) -> int:
    """SHA-256 of every recorded file against the manifest; returns the bytes hashed.

    Raises:
        IndexCorruptError: Naming the first file that differs and ``hint``.
    """
    check_sizes(directory, files, hint)
    total = 0
    for name, record in files.items():
        digest = hashlib.sha256()
        with (directory / name).open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
                total += len(block)
        if digest.hexdigest() != record.sha256:
            raise IndexCorruptError(
                f"index at {directory} is damaged: the SHA-256 of {name} differs from the manifest's", hint
            )
    return total


def block_digest(lines: list[bytes], vectors: bytes) -> str:
    """SHA-256 of one document's rows: its ``findings.jsonl`` lines (as written, with their newlines) and the bytes of
    its float32 vectors."""
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line)
    digest.update(vectors)
    return digest.hexdigest()


def canonical_checksum(data: Mapping[str, Any]) -> str:
    """SHA-256 of the manifest's fields other than the checksum itself, serialized canonically.

    >>> canonical_checksum({"a": 1, "checksum": "x"}) == canonical_checksum({"a": 1})
    True
    """
    body = {k: v for k, v in data.items() if k != CHECKSUM_KEY}
    text = json.dumps(body, ensure_ascii=True, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def json_text(data: object, *, indent: int | None = None) -> str:
    """JSON with Japanese kept readable; a string with undecodable file-name bytes (lone surrogates from
    ``os.fsdecode``) is written with ``\\u`` escapes instead, so the file stays valid UTF-8 and reads back equal.

    >>> json_text({"name": "報告書"})
    '{"name": "報告書"}'
    >>> json_text({"path": "/x/\\udc95.txt"})
    '{"path": "/x/\\\\udc95.txt"}'
    """
    text = json.dumps(data, ensure_ascii=False, indent=indent)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(data, ensure_ascii=True, indent=indent)
    return text

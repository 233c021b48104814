"""The embedding journal: a build's vectors written in chunks as they are computed, so that a killed build resumes.

Embedding is the long part of a build (hours for 10⁵–10⁶ findings on a CPU). While a build embeds, every
:func:`chunk_size` findings (``$KENSAKU_EMBED_CHUNK``, default 256) the new vectors are written to one chunk file of
the journal of the index directory ``…/NAME``: the folder ``…/.NAME.embed-journal`` beside it (hidden, so that
nothing takes it for an index; outside the directory, which a build replaces by rename). A build killed in any way
(``kill -9`` included) loses at most the chunk in progress; the next build of that index takes every vector whose
key is journaled and embeds only the rest. The journal is deleted once the new index has been saved.

Why this design:

- **Keyed by text, not by row or finding id.** A key is the sha256 of the model name and the exact text embedded
  (after heading context, before the model's own prefix), so a journaled vector is reused only for the very text it
  was computed from, whatever the rows, ids or documents of the next build (sources may change between the kill and
  the resume). Vectors are a function of their text alone (:mod:`kensaku.index.embed_onnx`), so a resumed build
  equals an uninterrupted one bit for bit.
- **One model per journal.** The journal records the embedder's :class:`~kensaku.index.manifest.ModelInfo` (name,
  dimension, backend facts); a journal written by another model, dimension or backend is deleted and started
  again, never mixed.
- **Chunks written whole or not at all.** A chunk is written to a temporary file, ``fsync``-ed and renamed into place
  (:func:`kensaku.files.atomic_file`), and carries the sha256 of its keys and vectors: a chunk that is truncated,
  damaged or of another model is removed, never trusted; leftover temporary files are removed.
- **One writer.** The journal is written only by a build, which holds the index's writer lock
  (:mod:`kensaku.writelock`) from reading the old index to the swap, so two builds never write one journal.

Chunk file layout: ``MAGIC``, a 4-byte little-endian header length, a JSON header (format, model digest, dim,
count, body sha256), then the body: ``count`` 32-byte keys followed by ``count × dim`` little-endian float32.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kensaku.errors import InputError
from kensaku.files import atomic_file
from kensaku.index.manifest import ModelInfo

CHUNK_ENV = "KENSAKU_EMBED_CHUNK"
DEFAULT_CHUNK = 256  # findings per chunk: about 3–5 s of embedding on a 2-core CPU
JOURNAL_FORMAT = 1
MAGIC = b"KSEJ1\n"
KEY_BYTES = 32
IDENTITY_FILE = "journal.json"
_FLOAT = np.dtype("<f4")


def journal_path(directory: Path) -> Path:
    """The journal of the index ``directory``: ``.NAME.embed-journal`` beside it."""
    target = Path(directory).resolve()
    return target.parent / f".{target.name}.embed-journal"


def chunk_size(environ: Mapping[str, str] = os.environ) -> int:
    """Findings embedded per journal chunk: ``$KENSAKU_EMBED_CHUNK`` or :data:`DEFAULT_CHUNK`.

    Raises:
        InputError: The variable is not a whole number ≥ 1.
    """
    raw = environ.get(CHUNK_ENV, "").strip()
    if not raw:
        return DEFAULT_CHUNK
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise InputError(
            f"{CHUNK_ENV}={raw!r} is not a whole number of findings ≥ 1",
            f"unset it (default {DEFAULT_CHUNK}) or set e.g. {CHUNK_ENV}=256",
        )
    return value


def text_key(model: str, text: str) -> bytes:
    """The journal key of ``text`` embedded by ``model``: sha256 of the model name, a NUL and the text (UTF-8)."""
    return hashlib.sha256(model.encode("utf-8") + b"\0" + text.encode("utf-8", "surrogatepass")).digest()


@dataclass(frozen=True)
class Chunk:
    """The keys and vectors of one chunk file.

    Attributes:
        keys: ``(count, 32)`` uint8, one :func:`text_key` per row.
        vectors: ``(count, dim)`` float32 (little-endian).
    """

    keys: np.ndarray
    vectors: np.ndarray


def encode_chunk(model_digest: str, keys: Sequence[bytes], vectors: np.ndarray) -> bytes:
    """The bytes of a chunk file holding ``keys`` and their ``vectors`` (rows in the same order)."""
    rows = np.ascontiguousarray(vectors, dtype=_FLOAT)
    if rows.ndim != 2 or rows.shape[0] != len(keys) or any(len(k) != KEY_BYTES for k in keys):
        raise ValueError(f"{len(keys)} keys of {KEY_BYTES} bytes need as many vector rows, got shape {rows.shape}")
    body = b"".join(keys) + rows.tobytes()
    header = {
        "format": JOURNAL_FORMAT,
        "model": model_digest,
        "dim": rows.shape[1],
        "count": len(keys),
        "sha256": hashlib.sha256(body).hexdigest(),
    }
    head = json.dumps(header, sort_keys=True).encode("ascii")
    return MAGIC + struct.pack("<I", len(head)) + head + body


def decode_chunk(data: bytes, model_digest: str, dim: int) -> Chunk | None:
    """The chunk in ``data``, or ``None`` when it is truncated, damaged, or of another model or dimension."""
    start = len(MAGIC) + 4
    if len(data) < start or not data.startswith(MAGIC):
        return None
    (size,) = struct.unpack("<I", data[len(MAGIC) : start])
    try:
        header = json.loads(data[start : start + size].decode("ascii"))
        count = int(header["count"])
        fits = (header["format"], header["model"], header["dim"]) == (JOURNAL_FORMAT, model_digest, dim)
        digest = str(header["sha256"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return None
    body = data[start + size :]
    if not fits or count < 0 or len(body) != count * (KEY_BYTES + 4 * dim):
        return None
    if hashlib.sha256(body).hexdigest() != digest:
        return None
    keys = np.frombuffer(body, dtype=np.uint8, count=count * KEY_BYTES).reshape(count, KEY_BYTES)
    vectors = np.frombuffer(body, dtype=_FLOAT, offset=count * KEY_BYTES).reshape(count, dim)
    return Chunk(keys, vectors)  # read-only views of ``data``


class EmbedJournal:
    """The embedding journal of one index directory, for one embedding model.

    Args:
        directory: The index directory (the journal lives beside it, see :func:`journal_path`).
        model: The embedder's facts; a journal of another model is deleted when read.
        size: Findings per chunk (default :func:`chunk_size`).

    Attributes:
        path: The journal folder.
        size: Findings per chunk.
        resumed: Vectors found in the journal by the last :meth:`resume`.
    """

    def __init__(self, directory: Path, model: ModelInfo, size: int | None = None) -> None:
        """Name the journal; nothing is read or written yet."""
        self.path = journal_path(directory)
        self.model = model
        self.size = size if size is not None else chunk_size()
        self.resumed = 0
        self._next = 0  # number of the next chunk file; 0: not known yet (the folder has not been looked at)
        identity = json.dumps(model.to_dict(), sort_keys=True, ensure_ascii=False)
        self._identity = identity
        self._digest = hashlib.sha256(identity.encode("utf-8")).hexdigest()

    def keys(self, texts: Sequence[str]) -> list[bytes]:
        """The journal key of each text."""
        return [text_key(self.model.name, text) for text in texts]

    def resume(self, keys: Sequence[bytes], out: np.ndarray, rows: Sequence[int] | None = None) -> list[int]:
        """Copy the journaled vector of each of ``keys`` into ``out`` (row ``rows[n]`` for the ``n``-th key, row ``n``
        by default); returns the positions ``n`` of the keys found, ascending. Sets :attr:`resumed`.

        Chunks are read one at a time (memory: one chunk, not the journal). Chunks that cannot be trusted and
        temporary files of a killed writer are removed; a journal of another model is deleted whole.
        """
        wanted: dict[bytes, list[int]] = {}
        for n, key in enumerate(keys):
            wanted.setdefault(key, []).append(n)
        found: set[int] = set()
        for chunk in self._read():
            for key, vector in zip(chunk.keys, chunk.vectors, strict=True):
                for n in wanted.get(key.tobytes(), ()):
                    out[n if rows is None else rows[n]] = vector
                    found.add(n)
        self.resumed = len(found)
        return sorted(found)

    def append(self, keys: Sequence[bytes], vectors: np.ndarray) -> Path:
        """Write one chunk (``keys`` and their freshly embedded ``vectors``) atomically; returns its file."""
        if not self._next or not self.path.is_dir():
            self._prepare()
            self._next = 1 + max((int(p.stem.removeprefix("chunk-")) for p in self._chunks()), default=0)
        target = self.path / f"chunk-{self._next:06d}.bin"
        self._next += 1
        return atomic_file(target, encode_chunk(self._digest, keys, vectors))

    def discard(self) -> None:
        """Delete the journal (once the index it was written for has been saved)."""
        shutil.rmtree(self.path, ignore_errors=True)
        self._next = 0

    def _chunks(self) -> list[Path]:
        """The chunk files, in the order written."""
        found = [p for p in self.path.glob("chunk-*.bin") if p.stem.removeprefix("chunk-").isdigit()]
        return sorted(found, key=lambda p: int(p.stem.removeprefix("chunk-")))

    def _prepare(self) -> None:
        """Make the folder with its identity file, replacing a journal of another model."""
        identity = self.path / IDENTITY_FILE
        try:
            if identity.read_text(encoding="utf-8") == self._identity:
                return
        except (OSError, UnicodeDecodeError):
            pass
        self.discard()
        self.path.mkdir(parents=True, exist_ok=True)
        atomic_file(identity, self._identity.encode("utf-8"))

    def _read(self) -> Iterator[Chunk]:
        """The trusted chunks of the journal, one at a time; removes what cannot be trusted."""
        if not self.path.is_dir():
            return
        self._prepare()
        for stray in self.path.glob(".*"):  # a chunk being written when the build was killed
            stray.unlink(missing_ok=True)
        for path in self._chunks():
            chunk = decode_chunk(path.read_bytes(), self._digest, self.model.dim)
            if chunk is None:
                path.unlink(missing_ok=True)
            else:
                yield chunk

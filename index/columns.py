"""The findings of an index as a table: rows read on demand, and the fields searches filter on as code columns.

A search never walks the findings in Python: a filter is a boolean mask made from integer codes (one column per
field: municipality, chapter, section, kind, document, year), the ■ block of each row is a column too, and a finding
is found by id through a sorted array of 64-bit id hashes. Only the findings a search returns are parsed from
``findings.jsonl`` (through the row offsets in ``rows.npy``, read with ``pread``), so opening an index of a
million findings reads a few arrays, not a million JSON objects.

Files (format 6)::

    rows.npy      int64, n + 1 byte offsets of the rows in findings.jsonl
    columns.json  the distinct values of each field, in first-seen order (code i = values[i])
    columns.npy   int32, (fields + 1, n): the code of each row per field, then its block number
    ids.npy       int64, (2, n): the sorted 64-bit hashes of the finding ids, and the row of each
"""

from __future__ import annotations

import hashlib
import json
import os
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import overload

import numpy as np

from kensaku.index.hybrid import block_ids
from kensaku.ingest.models import Finding

FIELDS: tuple[str, ...] = ("municipality", "chapter", "section", "kind", "document", "year")
ROWS, COLUMNS_JSON, COLUMNS, IDS = "rows.npy", "columns.json", "columns.npy", "ids.npy"


def field_value(finding: Finding, name: str) -> str:
    """The value of filter field ``name`` of a finding (``year`` is the document's year or 年度 set as metadata)."""
    return finding.extra.get("year", "") if name == "year" else str(getattr(finding, name))


def id_hash(finding_id: str) -> int:
    """A 64-bit hash of a finding id (signed, to fit an int64 array)."""
    digest = hashlib.blake2b(finding_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


@dataclass(frozen=True)
class Columns:
    """The code columns of an index's findings.

    Attributes:
        values: Per field, its distinct values in first-seen order.
        codes: ``(len(FIELDS), n)`` int32: row ``r``'s value of field ``f`` is ``values[f][codes[f, r]]``.
        blocks: Block number of each row (:func:`kensaku.index.hybrid.block_ids`).
        hashes: The id hashes, sorted; ``hash_rows[i]`` is the row whose id has ``hashes[i]``.
        hash_rows: See ``hashes``.
    """

    values: dict[str, tuple[str, ...]]
    codes: np.ndarray
    blocks: np.ndarray
    hashes: np.ndarray
    hash_rows: np.ndarray

    @classmethod
    def of(cls, findings: Sequence[Finding]) -> Columns:
        """The columns of ``findings`` (one pass)."""
        n = len(findings)
        lookup: list[dict[str, int]] = [{} for _ in FIELDS]
        codes = np.zeros((len(FIELDS), n), dtype=np.int32)
        hashes = np.zeros(n, dtype=np.int64)
        for row, f in enumerate(findings):
            for i, name in enumerate(FIELDS):
                codes[i, row] = lookup[i].setdefault(field_value(f, name), len(lookup[i]))
            hashes[row] = id_hash(f.id)
        blocks = block_ids(findings)
        order = np.argsort(hashes, kind="stable")
        values = {name: tuple(lookup[i]) for i, name in enumerate(FIELDS)}
        return cls(values, codes, blocks, hashes[order], order.astype(np.int64))

    @cached_property
    def _codes_of(self) -> dict[str, dict[str, int]]:
        """Per field, value → code (made once: a search masks by it on every query)."""
        return {name: {v: c for c, v in enumerate(values)} for name, values in self.values.items()}

    @property
    def n_rows(self) -> int:
        """Number of rows."""
        return int(self.blocks.shape[0])

    def mask(self, name: str, wanted: Sequence[str]) -> np.ndarray:
        """Boolean mask of the rows whose field ``name`` is one of ``wanted``."""
        known = self._codes_of[name]
        codes = [known[v] for v in wanted if v in known]
        column = self.codes[FIELDS.index(name)]
        if not codes:
            return np.zeros(self.n_rows, dtype=bool)
        if len(codes) == 1:
            return np.asarray(column == codes[0])
        return np.isin(column, np.array(codes, dtype=np.int32))

    def present(self, name: str) -> list[str]:
        """The distinct non-empty values of field ``name`` that some row has, in first-seen order."""
        used = np.zeros(len(self.values[name]), dtype=bool)
        used[np.unique(self.codes[FIELDS.index(name)])] = True
        return [v for v, u in zip(self.values[name], used, strict=True) if u and v]

    def candidate_rows(self, finding_id: str) -> np.ndarray:
        """Rows whose id hash equals that of ``finding_id`` (normally one; check the id)."""
        h = id_hash(finding_id)
        start, stop = np.searchsorted(self.hashes, h, "left"), np.searchsorted(self.hashes, h, "right")
        return self.hash_rows[int(start) : int(stop)]

    def save(self, directory: Path) -> None:
        """Write ``columns.json``, ``columns.npy`` and ``ids.npy`` into ``directory``."""
        text = json.dumps({"fields": list(FIELDS), "values": self.values}, ensure_ascii=False)
        (directory / COLUMNS_JSON).write_text(text, encoding="utf-8")
        np.save(directory / COLUMNS, np.vstack([self.codes, self.blocks[None, :].astype(np.int32)]).astype(np.int32))
        np.save(directory / IDS, np.vstack([self.hashes, self.hash_rows]))

    @classmethod
    def load(cls, directory: Path) -> Columns:
        """Read what :meth:`save` wrote.

        Raises:
            ValueError: The files disagree with each other (the caller reports the index as damaged).
        """
        data = json.loads((directory / COLUMNS_JSON).read_text(encoding="utf-8"))
        if tuple(data.get("fields", ())) != FIELDS:
            raise ValueError(f"{COLUMNS_JSON} has fields {data.get('fields')}, expected {list(FIELDS)}")
        values = {name: tuple(str(v) for v in data["values"][name]) for name in FIELDS}
        table = np.load(directory / COLUMNS)
        ids = np.load(directory / IDS)
        if table.shape[0] != len(FIELDS) + 1 or ids.shape != (2, table.shape[1]):
            raise ValueError(f"{COLUMNS} has shape {table.shape} and {IDS} {ids.shape}; they do not match")
        for i, name in enumerate(FIELDS):
            if table.shape[1] and int(table[i].max()) >= len(values[name]):
                raise ValueError(f"{COLUMNS} holds a {name} code with no value in {COLUMNS_JSON}")
        return cls(values, table[: len(FIELDS)], table[-1].astype(np.int64), ids[0].copy(), ids[1].copy())


class FileBytes:
    """A file's bytes by slice, read with ``pread`` (a search reads a few scattered rows: mapped, each would also map
    the pages around it into the process — the kernel's fault-around — and a long-running search process would come
    to hold much of a large ``findings.jsonl``)."""

    def __init__(self, path: Path) -> None:
        """Open ``path`` for reading (closed when this object goes)."""
        self._fd = os.open(path, os.O_RDONLY)
        self._finalizer = weakref.finalize(self, os.close, self._fd)

    def __getitem__(self, span: slice) -> bytes:
        """The bytes ``span.start`` to ``span.stop``."""
        start, stop = int(span.start), int(span.stop)
        data = os.pread(self._fd, stop - start, start)
        if len(data) != stop - start:
            raise ValueError(f"bytes {start}–{stop} are past the end of the file")
        return data


class FindingTable(Sequence[Finding]):
    """The findings of an index, row ``i`` = vector ``i`` = BM25 document ``i``: held in memory (a fresh build) or
    parsed from ``findings.jsonl`` (read with ``pread``) when asked for (an opened index).

    Use :meth:`of` or :meth:`open`. Equal to any sequence of the same findings in the same order.
    """

    def __init__(
        self,
        columns: Columns,
        rows: Sequence[Finding] | None = None,
        data: FileBytes | bytes | None = None,
        offsets: np.ndarray | None = None,
    ) -> None:
        """Wrap findings in memory (``rows``) or the bytes of ``findings.jsonl`` with the row ``offsets``."""
        self.columns = columns
        self._rows = tuple(rows) if rows is not None else None
        self._data, self._offsets = data, offsets
        self._by_id: dict[str, int] | None = None

    @classmethod
    def of(cls, findings: Sequence[Finding]) -> FindingTable:
        """A table of findings held in memory."""
        if isinstance(findings, FindingTable):
            return findings
        return cls(Columns.of(findings), rows=findings)

    @classmethod
    def open(cls, directory: Path, name: str, columns: Columns) -> FindingTable:
        """The table of the index at ``directory``: ``name`` (``findings.jsonl``) read by row offset.

        Raises:
            ValueError: The offsets do not fit the file or the columns.
        """
        offsets = np.load(directory / ROWS)
        path = directory / name
        size = path.stat().st_size
        if offsets.ndim != 1 or offsets.size != columns.n_rows + 1 or int(offsets[-1]) != size or offsets[0] != 0:
            raise ValueError(f"{ROWS} does not match {name} ({offsets.size - 1} rows, {size} bytes)")
        if size == 0:
            return cls(columns, rows=())
        return cls(columns, data=FileBytes(path), offsets=offsets)

    def __len__(self) -> int:
        """Number of rows."""
        return self.columns.n_rows

    @overload
    def __getitem__(self, row: int) -> Finding: ...

    @overload
    def __getitem__(self, row: slice) -> tuple[Finding, ...]: ...

    def __getitem__(self, row: int | slice) -> Finding | tuple[Finding, ...]:
        """Row ``row`` (parsed from the file when it is not in memory), or a tuple of rows for a slice."""
        if isinstance(row, slice):
            return tuple(self[i] for i in range(*row.indices(len(self))))
        n = len(self)
        index = row + n if row < 0 else row
        if not 0 <= index < n:
            raise IndexError(f"row {row} out of range for {n} findings")
        return self._at(index)

    def _at(self, index: int) -> Finding:
        """Row ``index`` (``0 <= index < len(self)``)."""
        if self._rows is not None:
            return self._rows[index]
        assert self._data is not None and self._offsets is not None
        line = self._data[int(self._offsets[index]) : int(self._offsets[index + 1])]
        return Finding.from_dict(json.loads(line))

    def __iter__(self) -> Iterator[Finding]:
        """The rows in order."""
        if self._rows is not None:
            return iter(self._rows)
        return (self[i] for i in range(len(self)))

    def __eq__(self, other: object) -> bool:
        """Equal to a sequence of the same findings in the same order."""
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # a table is compared by content, like a list

    def row_of(self, finding_id: str) -> int | None:
        """The row of the finding with ``finding_id``, or ``None``."""
        if self._rows is not None and len(self._rows) < 100_000:
            if self._by_id is None:
                self._by_id = {f.id: i for i, f in enumerate(self._rows)}
            return self._by_id.get(finding_id)
        for row in self.columns.candidate_rows(finding_id):
            if self[int(row)].id == finding_id:
                return int(row)
        return None

    def materialised(self) -> tuple[Finding, ...]:
        """Every row as a tuple (parses the whole file for an opened index: for rebuilds and checks, not searches)."""
        return self._rows if self._rows is not None else tuple(self)

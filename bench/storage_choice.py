"""How to store an index's findings: kensaku's format 6 (findings.jsonl + row offsets + npy code columns) against
SQLite and Parquet, measured on the questions issue 14 asks: open time and memory in a fresh process, random access
by row, and evaluating a municipality filter.

    .venv/bin/python bench/storage_choice.py --sizes 100000 1000000

Rows are the seed report's 280 findings repeated with ~1,700 municipality names and fresh ids (the JSON of a row is
as long as a real one). Each store is opened in a fresh process (``resource`` peak RSS and ``/proc`` RSS after
opening); random access parses 200 random rows into ``Finding`` objects; the filter returns the row ids of one
municipality (as a numpy array, what the searcher needs). Results: ``bench/results/storage_choice.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
STORES = ("kensaku", "sqlite", "parquet")


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def make_rows(n: int) -> list[Any]:
    """``n`` findings: the seed's, repeated under other municipalities with unique ids."""
    from kensaku.ingest.pipeline import ingest_paths

    seed = ingest_paths([ROOT / "corpus"], max_chars=400).findings
    names = [f"{stem}市" for stem in (chr(0x4E00 + i) + chr(0x4E00 + 7 * i % 2000) for i in range(1700))]
    return [
        replace(seed[i % len(seed)], id=f"doc{i // 1000}:L{i}", municipality=names[(i // 50) % len(names)])
        for i in range(n)
    ]


def write_stores(n: int, folder: Path) -> None:
    """Write ``n`` rows in each store under ``folder``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from kensaku.index.columns import ROWS, Columns
    from kensaku.index.dense import DenseIndex
    from kensaku.index.store import FINDINGS, write_findings

    rows = make_rows(n)
    ours = folder / "kensaku"
    ours.mkdir()
    _, offsets = write_findings(ours / FINDINGS, rows, (), DenseIndex(np.zeros((1, 1), dtype=np.float32)))
    np.save(ours / ROWS, offsets)
    Columns.of(rows).save(ours)
    texts = [json.dumps(f.to_dict(), ensure_ascii=False) for f in rows]
    db = sqlite3_connect(folder / "findings.sqlite")
    db.execute("CREATE TABLE f (row INTEGER PRIMARY KEY, municipality TEXT, kind TEXT, document TEXT, data TEXT)")
    db.executemany(
        "INSERT INTO f VALUES (?, ?, ?, ?, ?)",
        ((i, f.municipality, f.kind, f.document, texts[i]) for i, f in enumerate(rows)),
    )
    db.execute("CREATE INDEX f_muni ON f (municipality)")
    db.commit()
    db.close()
    table = pa.table(
        {
            "municipality": pa.array([f.municipality for f in rows]).dictionary_encode(),
            "kind": pa.array([f.kind for f in rows]).dictionary_encode(),
            "document": pa.array([f.document for f in rows]).dictionary_encode(),
            "data": pa.array(texts),
        }
    )
    pq.write_table(table, folder / "findings.parquet", row_group_size=65536)


def sqlite3_connect(path: Path) -> Any:  # noqa: ANN401 - sqlite3.Connection
    import sqlite3

    return sqlite3.connect(str(path))


def measure(store: str, folder: Path, n: int) -> dict[str, float]:
    """Open ``store`` (in this fresh process), then time random access and one filter."""
    from kensaku.ingest.models import Finding

    muni = make_rows(100)[60].municipality  # a municipality of the first rows (present at every size)
    rng = np.random.default_rng(3)
    picks = rng.integers(0, n, 200).tolist()
    before = _rss_mb()
    start = time.perf_counter()
    if store == "kensaku":
        from kensaku.index.columns import Columns, FindingTable
        from kensaku.index.store import FINDINGS

        table = FindingTable.open(folder / "kensaku", FINDINGS, Columns.load(folder / "kensaku"))
        opened = time.perf_counter()

        def get(row: int) -> Finding:
            return table[row]

        def filtered() -> np.ndarray:
            return np.flatnonzero(table.columns.mask("municipality", [muni]))
    elif store == "sqlite":
        db = sqlite3_connect(folder / "findings.sqlite")
        opened = time.perf_counter()

        def get(row: int) -> Finding:
            (data,) = db.execute("SELECT data FROM f WHERE row = ?", (row,)).fetchone()
            return Finding.from_dict(json.loads(data))

        def filtered() -> np.ndarray:
            found = db.execute("SELECT row FROM f WHERE municipality = ?", (muni,)).fetchall()
            return np.array([r for (r,) in found], dtype=np.int64)
    else:
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        parquet = pq.read_table(folder / "findings.parquet", memory_map=True)
        opened = time.perf_counter()
        data = parquet.column("data")

        def get(row: int) -> Finding:
            return Finding.from_dict(json.loads(data[row].as_py()))

        def filtered() -> np.ndarray:
            mask = pc.equal(parquet.column("municipality").cast("string"), muni)
            return np.flatnonzero(mask.to_numpy(zero_copy_only=False))

    rss_open = _rss_mb() - before
    t0 = time.perf_counter()
    for row in picks:
        get(row)
    per_row = (time.perf_counter() - t0) / len(picks)
    times = []
    for _ in range(20):
        t0 = time.perf_counter()
        hits = filtered()
        times.append(time.perf_counter() - t0)
    return {
        "open_s": opened - start,
        "rss_after_open_mb": rss_open,
        "random_row_ms": per_row * 1000,
        "filter_ms_p50": float(np.median(times)) * 1000,
        "filter_rows": float(hits.size),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--child", nargs=3, metavar=("STORE", "FOLDER", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        store, folder, n = args.child
        print(json.dumps(measure(store, Path(folder), int(n))))
        return 0
    results: dict[str, Any] = {"load_before": os.getloadavg()}
    for n in args.sizes:
        with tempfile.TemporaryDirectory(dir=ROOT / ".kensaku") as tmp:
            write_stores(n, Path(tmp))
            sizes = {
                "kensaku": sum(p.stat().st_size for p in (Path(tmp) / "kensaku").iterdir()),
                "sqlite": (Path(tmp) / "findings.sqlite").stat().st_size,
                "parquet": (Path(tmp) / "findings.parquet").stat().st_size,
            }
            for store in STORES:
                command = [sys.executable, __file__, "--child", store, tmp, str(n)]
                out = subprocess.run(command, capture_output=True, text=True, check=True)
                results[f"{store}@{n}"] = {**json.loads(out.stdout), "disk_mb": sizes[store] / 2**20}
    results["load_after"] = os.getloadavg()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "storage_choice.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    lines = [
        "# Storing findings: kensaku format 6 vs SQLite vs Parquet (bench/storage_choice.py)",
        "",
        f"Load average before {results['load_before']}, after {results['load_after']} (2 cores, shared).",
        "",
        "| store | rows | open s | RSS after open MB | random row ms | municipality filter ms p50 | disk MB |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for key, r in results.items():
        if "@" in key:
            store, n = key.split("@")
            lines.append(
                f"| {store} | {int(n):,} | {r['open_s']:.3f} | {r['rss_after_open_mb']:.0f} | "
                f"{r['random_row_ms']:.3f} | {r['filter_ms_p50']:.2f} | {r['disk_mb']:.0f} |"
            )
    (RESULTS / "storage_choice.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

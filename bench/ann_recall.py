"""ANN recall on real embeddings: FAISS HNSW and IVF against exact inner-product search.

Real Japanese texts (the seed report's findings, every JSQuAD passage split into sentences, JSTS sentences) are
embedded once with the default model and cached in chunks under ``.kensaku/bench-cache/ann/`` (a rerun continues
where the last stopped); the 200 real questions of the scale benchmark are the queries. For each index type:
recall@10 against ``IndexFlatIP``, build time, and p50 single-query time with 1 and 2 OpenMP threads, on the whole
set and on nested subsets (to show how recall moves with n).

Usage: ``.venv/bin/python bench/ann_recall.py [--max-texts 32000] [--minutes 10]``; writes
``bench/results/ann_recall.{json,md}``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from common import CACHE, JSTS, ROOT, write_json
from scale_corpus import jsquad_sentences, real_questions, seed_texts

from kensaku.config import DEFAULTS

ANN_CACHE = CACHE / "ann"
CHUNK = 500
K = 10
RESULTS = ROOT / "bench" / "results"
DERIVED_NOTE = "DERIVED vectors (mean of 2–3 random real vectors, normalized; indicative only)"


def real_texts(limit: int) -> list[str]:
    """Seed findings, JSQuAD sentences, then JSTS sentences; duplicates removed; at most ``limit``."""
    seen: dict[str, None] = {}
    for text in seed_texts() + jsquad_sentences():
        seen.setdefault(text, None)
    for line in JSTS.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            for key in ("sentence1", "sentence2"):
                seen.setdefault(str(record[key]).strip(), None)
    return [t for t in seen if t][:limit]


def _chunk_path(model: str, texts: list[str]) -> Path:
    key = hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:16]
    return ANN_CACHE / model / f"passages-{len(texts)}-{key}.npy"


def embed_cached(texts: list[str], deadline: float) -> tuple[np.ndarray, dict[str, Any]]:
    """Vectors of ``texts`` in chunks of ``CHUNK`` (each cached as it is done); stops at ``deadline`` (monotonic).

    Returns the vectors of the leading texts that are embedded, and the throughput of what this run embedded.
    """
    from kensaku.index.embed import load_embedder

    embedder = None
    parts: list[np.ndarray] = []
    embedded, seconds = 0, 0.0
    for start in range(0, len(texts), CHUNK):
        chunk = texts[start : start + CHUNK]
        path = _chunk_path(DEFAULTS.model, chunk)
        if path.exists():
            parts.append(np.load(path))
            continue
        if time.monotonic() > deadline:
            break
        embedder = embedder or load_embedder()
        started = time.perf_counter()
        vectors = embedder.encode_passages(chunk)
        seconds += time.perf_counter() - started
        embedded += len(chunk)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, vectors.astype(np.float32))
        parts.append(vectors)
        print(f"  embedded {start + len(chunk):,}/{len(texts):,} ({embedded / seconds:.1f}/s)", flush=True)
    rate = {"embedded_this_run": embedded, "passages_per_s": round(embedded / seconds, 1) if seconds else None}
    return np.concatenate(parts).astype(np.float32), rate


def query_vectors(questions: list[str]) -> np.ndarray:
    """The questions' query vectors (cached)."""
    path = _chunk_path(DEFAULTS.model, ["query:", *questions])
    if path.exists():
        return np.load(path)
    from kensaku.index.embed import load_embedder

    vectors = load_embedder().encode_queries(questions).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def derived(base: np.ndarray, n: int, seed: int = 14) -> np.ndarray:
    """``n`` DERIVED vectors: each the normalized mean of 2 or 3 random real vectors of ``base`` (a finding of a few
    sentences lies near the mean of its sentences' vectors). Not real embeddings: they show how latency and recall
    move with n beyond the real texts available here, as an indication only."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, base.shape[1]), dtype=np.float32)
    for start in range(0, n, 50_000):
        m = min(50_000, n - start)
        picks = rng.integers(0, len(base), (m, 3))
        third = (rng.random(m) < 0.5).astype(np.float32)[:, None]
        rows = base[picks[:, 0]] + base[picks[:, 1]] + third * base[picks[:, 2]]
        out[start : start + m] = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    return out


def _recall(found: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean([len(set(f[f >= 0]) & set(e)) / K for f, e in zip(found, exact, strict=True)]))


def _p50_ms(index: Any, queries: np.ndarray, threads: int) -> float:  # noqa: ANN401 - any faiss index
    import faiss

    faiss.omp_set_num_threads(threads)
    for q in queries[:5]:
        index.search(q[None, :], K)
    times = []
    for q in queries:
        started = time.perf_counter()
        index.search(q[None, :], K)
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 3)


def _factories(n: int, dim: int) -> list[tuple[str, Callable[[], Any], str, list[int]]]:
    """(name, constructor, search parameter, values) of each index type."""
    import faiss

    nlist = max(1, round(4 * math.sqrt(n)))

    def hnsw() -> Any:  # noqa: ANN401
        return faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)

    def hnsw_efc100() -> Any:  # noqa: ANN401
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 100
        return index

    def ivf_flat() -> Any:  # noqa: ANN401
        return faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)

    def ivf_sq8() -> Any:  # noqa: ANN401
        return faiss.IndexIVFScalarQuantizer(
            faiss.IndexFlatIP(dim), dim, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
        )

    return [
        ("HNSWFlat M32 efC40", hnsw, "efSearch", [32, 64, 128, 256, 512]),
        ("HNSWFlat M32 efC100", hnsw_efc100, "efSearch", [64, 128, 256, 512]),
        (f"IVFFlat nlist{nlist}", ivf_flat, "nprobe", [8, 16, 32, 64, 128]),
        (f"IVFSQ8 nlist{nlist}", ivf_sq8, "nprobe", [8, 16, 32, 64, 128]),
    ]


def compare(base: np.ndarray, queries: np.ndarray, kind: str = "real") -> dict[str, Any]:
    """Every index type against exact search on ``base``."""
    import faiss

    faiss.omp_set_num_threads(2)
    exact = faiss.IndexFlatIP(base.shape[1])
    exact.add(base)
    _, truth = exact.search(queries, K)
    rows = [
        {
            "index": "FlatIP (exact)",
            "param": "",
            "recall@10": 1.0,
            "build_s": 0.0,
            "p50_ms_1thread": _p50_ms(exact, queries, 1),
            "p50_ms_2threads": _p50_ms(exact, queries, 2),
        }
    ]
    for name, make, param, values in _factories(len(base), base.shape[1]):
        faiss.omp_set_num_threads(2)
        index = make()
        started = time.perf_counter()
        if not index.is_trained:
            index.train(base)
        index.add(base)
        build = round(time.perf_counter() - started, 2)
        for value in values:
            target = index.hnsw if param == "efSearch" else index
            setattr(target, param, value)
            _, found = index.search(queries, K)
            rows.append(
                {
                    "index": name,
                    "param": f"{param}={value}",
                    "recall@10": round(_recall(found, truth), 4),
                    "build_s": build,
                    "p50_ms_1thread": _p50_ms(index, queries, 1),
                    "p50_ms_2threads": _p50_ms(index, queries, 2),
                }
            )
    return {"n": len(base), "kind": kind, "rows": rows}


def _exact_rows_ms(base: np.ndarray, rows: np.ndarray, queries: np.ndarray, blas_threads: str) -> float | None:
    """p50 ms of an exact top-10 over ``rows`` in numpy (gather, one product), with ``blas_threads`` BLAS threads
    (``default``: as OpenBLAS starts; ``1`` needs threadpoolctl, else ``None``)."""
    from contextlib import AbstractContextManager, nullcontext

    limit: AbstractContextManager[object] = nullcontext()
    if blas_threads != "default":
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            return None
        limit = threadpool_limits(limits=int(blas_threads), user_api="blas")
    times = []
    with limit:
        for q in queries:
            started = time.perf_counter()
            np.argsort(-(base[rows] @ q))[:K]
            times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 3)


def filtered(base: np.ndarray, queries: np.ndarray, seed: int = 0) -> list[dict[str, Any]]:
    """HNSW (M32, efConstruction 40) with a filter (``IDSelectorBitmap``) against exact search over the rows the
    filter keeps, for filters keeping 1/1,700 (one municipality), 2 %, 11 % (one chapter of 9) and 50 % of the rows;
    one OpenMP thread. The exact search over the kept rows is timed as numpy (gather the rows, one matrix product)."""
    import faiss

    faiss.omp_set_num_threads(1)
    index = faiss.IndexHNSWFlat(base.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
    index.add(base)
    rng = np.random.default_rng(seed)
    out = []
    for fraction in (1 / 1700, 0.02, 0.11, 0.5):
        mask = rng.random(len(base)) < fraction
        rows = np.flatnonzero(mask)
        truth = rows[np.argsort(-(queries @ base[rows].T), axis=1)[:, :K]]
        bits = np.packbits(mask, bitorder="little")
        selector = faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(bits))
        exact_ms = {threads: _exact_rows_ms(base, rows, queries, threads) for threads in ("default", "1")}
        row: dict[str, Any] = {
            "kept_rows": len(rows),
            "fraction": round(fraction, 5),
            "exact_numpy_p50_ms": exact_ms["1"],
            "exact_numpy_p50_ms_default_blas": exact_ms["default"],
        }
        for ef in (128, 256, 512):
            params = faiss.SearchParametersHNSW(sel=selector, efSearch=ef)
            times, found = [], []
            for q in queries:
                started = time.perf_counter()
                found.append(index.search(q[None, :], K, params=params)[1][0])
                times.append((time.perf_counter() - started) * 1000)
            hits = [len(set(f[f >= 0]) & set(t)) / min(K, len(rows)) for f, t in zip(found, truth, strict=True)]
            row[f"hnsw_ef{ef}"] = {
                "recall@10": round(float(np.mean(hits)), 4),
                "p50_ms": round(statistics.median(times), 3),
            }
        out.append(row)
    return out


def cheapest(rows: list[dict[str, Any]], floor: float = 0.98) -> str:
    """Per index type, the first (cheapest) setting whose recall reaches ``floor``, with its p50."""
    out: dict[str, str] = {}
    for row in rows:
        if row["param"] and row["index"] not in out and row["recall@10"] >= floor:
            out[row["index"]] = f"{row['index']} {row['param']} ({row['recall@10']}, p50 {row['p50_ms_1thread']} ms)"
    return "; ".join(out.values()) or "none"


def _markdown(result: dict[str, Any]) -> str:
    lines = [
        "# ANN recall on real embeddings",
        "",
        f"{result['date']}; model {result['model']}; {result['texts_embedded']:,} real texts embedded "
        f"(of {result['texts_available']:,} available: {result['sources']}); {result['queries']} real questions as "
        f"queries; recall@{K} against exact IndexFlatIP; p50 = one query at a time. loadavg before "
        f"{result['loadavg_before']}, after {result['loadavg_after']}.",
        "",
    ]
    for block in result["sizes"]:
        title = "real embeddings" if block.get("kind", "real") == "real" else DERIVED_NOTE
        lines += [
            f"## n = {block['n']:,}: {title}",
            "",
            "| index | param | recall@10 | build s | p50 ms (1 thr) | p50 ms (2 thr) |",
            "|---|---|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {r['index']} | {r['param']} | {r['recall@10']:.4f} | {r['build_s']} | {r['p50_ms_1thread']} | "
            f"{r['p50_ms_2threads']} |"
            for r in block["rows"]
        ]
        lines += ["", f"Lowest setting with recall@10 ≥ 0.98: {cheapest(block['rows'])}.", ""]
    if result.get("filtered"):
        lines += [
            f"## Filtered search on the {result['texts_embedded']:,} real embeddings (HNSW M32 + IDSelectorBitmap vs "
            "exact over the kept rows; 1 thread)",
            "",
            "Exact = numpy over the kept rows (gather + one product), with one BLAS thread and with OpenBLAS's "
            "default threads.",
            "",
            "| rows kept | share | HNSW ef128 recall / p50 ms | ef256 | ef512 | exact p50 ms, 1 BLAS thread | "
            "default BLAS threads |",
            "|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in result["filtered"]:
            cells = [f"{r[f'hnsw_ef{ef}']['recall@10']:.4f} / {r[f'hnsw_ef{ef}']['p50_ms']}" for ef in (128, 256, 512)]
            lines.append(
                f"| {r['kept_rows']:,} | {r['fraction']:.2%} | {' | '.join(cells)} | {r['exact_numpy_p50_ms']} | "
                f"{r['exact_numpy_p50_ms_default_blas']} |"
            )
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    """Embed (cached), compare, write the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-texts", type=int, default=40_000, help="cap on the real texts (34,587 exist here)")
    parser.add_argument("--minutes", type=float, default=10.0, help="embedding time budget of this run")
    parser.add_argument("--derived", type=int, nargs="*", default=[100_000], help="sizes of derived-vector sets")
    parser.add_argument("--filtered-only", action="store_true", help="add the filtered runs to the last results")
    args = parser.parse_args()
    if args.filtered_only:
        result = json.loads((RESULTS / "ann_recall.json").read_text(encoding="utf-8"))
        texts = real_texts(args.max_texts)
        base, _ = embed_cached(texts, time.monotonic())
        result["filtered"] = filtered(base, query_vectors(real_questions(200)))
        return _write(result)
    before = os.getloadavg()
    texts = real_texts(args.max_texts)
    base, rate = embed_cached(texts, time.monotonic() + args.minutes * 60)
    questions = real_questions(200)
    queries = query_vectors(questions)
    sizes = sorted({len(base) // 4, len(base) // 2, len(base)})
    result: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "model": "default (load_embedder())",
        "sources": "seed findings, JSQuAD passages split into sentences, JSTS sentences",
        "texts_available": len(texts),
        "texts_embedded": len(base),
        "embedding": rate,
        "queries": len(questions),
        "loadavg_before": [round(x, 2) for x in before],
        "sizes": [compare(base[:n], queries) for n in sizes],
    }
    for n in args.derived:
        print(f"derived n={n:,}", flush=True)
        result["sizes"].append(compare(derived(base, n), queries, "derived"))
    result["filtered"] = filtered(base, queries)
    result["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    return _write(result)


def _write(result: dict[str, Any]) -> int:
    write_json(RESULTS / "ann_recall.json", result)
    (RESULTS / "ann_recall.md").write_text(_markdown(result) + "\n", encoding="utf-8")
    print(_markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

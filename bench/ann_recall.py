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
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from common import CACHE, JSQUAD, JSTS, ROOT, write_json
from scale_corpus import jsquad_sentences, real_questions, seed_texts, split_sentences

from kensaku.config import DEFAULTS
from kensaku.index import dense
from kensaku.index.dense import DenseIndex

ANN_CACHE = CACHE / "ann"
CHUNK = 500
K = 10
RESULTS = ROOT / "bench" / "results"
SOURCES = (
    "seed findings, JSQuAD passages split into sentences, JSTS sentences (34,587 distinct texts); then JSQuAD "
    "questions (not the 200 used as queries), whole JSQuAD passages, sentences of the repository's real documents, "
    "2- and 3-sentence windows of JSQuAD passages, overlapping character windows of JSQuAD passages (128/32, 80/20, "
    "48/12, 32/16 width/stride: NEAR-DUPLICATES of their neighbours, which makes the ANN problem harder)"
)


def real_texts(limit: int, extra: bool = False) -> list[str]:
    """Seed findings, JSQuAD sentences, then JSTS sentences (34,587 texts), then with ``extra`` the texts of
    :func:`extra_texts`; duplicates removed; at most ``limit``."""
    seen: dict[str, None] = {}
    for text in seed_texts() + jsquad_sentences():
        seen.setdefault(text, None)
    for line in JSTS.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            for key in ("sentence1", "sentence2"):
                seen.setdefault(str(record[key]).strip(), None)
    if extra:
        for text in extra_texts(set(real_questions(200))):
            seen.setdefault(text.strip(), None)
    return [t for t in seen if t][:limit]


def _jsquad_passages() -> list[str]:
    path = JSQUAD / "corpus.jsonl"
    return [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _fixture_sentences() -> list[str]:
    """Sentences of the real documents in the repository (seed report text, real HTML main texts, ordinances)."""
    paths = [ROOT / "corpus" / "smartcity_model_project_cases.txt"]
    paths += sorted((ROOT / "tests" / "fixtures" / "real" / "html").glob("*.main.gold"))
    paths += sorted((ROOT / "tests" / "fixtures" / "real" / "ordinance").glob("*.txt"))
    out: list[str] = []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            out += split_sentences(line.strip())
    return out


def _windows(passages: list[str], width: int, stride: int) -> list[str]:
    """Overlapping character windows of each passage (NEAR-DUPLICATES of one another by construction)."""
    return [p[i : i + width] for p in passages for i in range(0, max(len(p) - width, 0) + 1, stride)]


def extra_texts(exclude: set[str]) -> list[str]:
    """More real Japanese text, after :func:`real_texts`'s: JSQuAD questions (not the benchmark's queries), whole
    JSQuAD passages, sentences of the repository's real documents, windows of 2 and 3 consecutive JSQuAD sentences,
    then overlapping character windows of the JSQuAD passages (128/32, 80/20, 48/12, 32/16 characters width/stride).
    Windows overlap their neighbours by 50–75 %: near-duplicate vectors, a harder ANN problem than distinct texts."""
    questions = [
        json.loads(line)["text"] for line in (JSQUAD / "queries.jsonl").read_text("utf-8").splitlines() if line
    ]
    passages = _jsquad_passages()
    split = [split_sentences(p) for p in passages]
    runs = [[" ".join(s[i : i + n]) for i in range(len(s) - n + 1)] for n in (2, 3) for s in split]
    out = [q for q in questions if q not in exclude] + passages + _fixture_sentences()
    out += [t for run in runs for t in run]
    for width, stride in ((128, 32), (80, 20), (48, 12), (32, 16)):
        out += _windows(passages, width, stride)
    return out


def _chunk_path(model: str, texts: list[str]) -> Path:
    key = hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:16]
    return ANN_CACHE / model / f"passages-{len(texts)}-{key}.npy"


def _embedder(threads: int | None) -> Any:  # noqa: ANN401 - an Embedder
    """The default model (``load_embedder()``); with ``threads``, the same int8 graph on that many CPU threads."""
    from kensaku.index.embed import load_embedder

    if threads is None or DEFAULTS.model != "e5-small-int8":
        return load_embedder()
    from kensaku.defaultmodel.cache import ONNX_INT8, ensure_default_model
    from kensaku.index.embed_onnx import OnnxEmbedder

    folder = ensure_default_model()
    return OnnxEmbedder(folder / "onnx", name=DEFAULTS.model, onnx_file=ONNX_INT8, threads=threads)


def embed_cached(texts: list[str], deadline: float, threads: int | None = None) -> tuple[np.ndarray, dict[str, Any]]:
    """Vectors of ``texts`` in chunks of ``CHUNK`` (each cached as it is done); stops at ``deadline`` (monotonic).

    Returns the vectors of the leading texts that are embedded, and the throughput of what this run embedded.
    """
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
        embedder = embedder or _embedder(threads)
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


def _hnsw(base: np.ndarray, m: int = 32, efc: int = 40, codes: str = "sq8") -> DenseIndex:
    """A :class:`DenseIndex` over an HNSW graph like kensaku's, with another M, efConstruction or vector codes."""
    import faiss

    dim = base.shape[1]
    if codes == "flat":
        graph = faiss.IndexHNSWFlat(dim, m, faiss.METRIC_INNER_PRODUCT)
    else:
        graph = faiss.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_8bit, m, faiss.METRIC_INNER_PRODUCT)
    graph.hnsw.efConstruction = efc
    if not graph.is_trained:
        graph.train(base[np.random.default_rng(13).choice(len(base), min(len(base), 100_000), replace=False)])
    for start in range(0, len(base), 32_768):
        graph.add(np.ascontiguousarray(base[start : start + 32_768]))
    return DenseIndex(base, graph)


def _measure(index: DenseIndex, queries: np.ndarray, truth: np.ndarray, allowed: Any = None) -> tuple[float, float]:  # noqa: ANN401
    """recall@10 against ``truth`` and p50 ms of one ``search`` (re-scoring included); with ``allowed`` (row ids),
    the ANN path is forced (``search`` would search up to EXACT_ALLOWED_ROWS rows exactly)."""
    hits, times = [], []
    for q, expected in zip(queries, truth, strict=True):
        started = time.perf_counter()
        found = index.search(q, K)[0] if allowed is None else index._ann_search(q, K, allowed)[0]
        times.append((time.perf_counter() - started) * 1000)
        hits.append(len(set(found.tolist()) & set(expected.tolist())) / len(expected))
    return round(float(np.mean(hits)), 4), round(statistics.median(times), 3)


def _exact(base: np.ndarray, queries: np.ndarray, rows: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Exact top-10 rows per query (ties by row, as kensaku's exact search) and its p50 ms."""
    flat = DenseIndex(base)
    truth, times = [], []
    for q in queries:
        started = time.perf_counter()
        truth.append(flat.search(q, K, rows)[0])
        times.append((time.perf_counter() - started) * 1000)
    return np.array(truth), round(statistics.median(times), 3)


def _row(name: str, param: str, recall: float, p50: float, build: float, size: int) -> dict[str, Any]:
    return {"index": name, "param": param, "recall@10": recall, "p50_ms": p50, "build_s": build, "ann_mb": size}


def _built(make: Callable[[], DenseIndex]) -> tuple[DenseIndex, float, float]:
    """The index, its build seconds (FAISS on its default threads) and its ``ann.faiss`` size in MB."""
    import faiss

    started = time.perf_counter()
    index = make()
    seconds = round(time.perf_counter() - started, 1)
    return index, seconds, round(len(faiss.serialize_index(index._ann)) / 2**20, 1)


def compare(base: np.ndarray, queries: np.ndarray, sweep: bool) -> dict[str, Any]:
    """kensaku's HNSW (and, with ``sweep``, other M / efConstruction / codes, and format 6's IVF) against exact
    search, one query at a time through :meth:`DenseIndex.search` (candidates re-scored exactly), FAISS on one
    OpenMP thread for the queries."""
    truth, exact_ms = _exact(base, queries)
    rows = [_row("exact (numpy, flat)", "", 1.0, exact_ms, 0.0, 0)]
    variants: list[tuple[str, Callable[[], DenseIndex]]] = [
        ("HNSW-SQ8 M32 efC40 (kensaku)", lambda: DenseIndex.build(base, ann="hnsw"))
    ]
    if sweep:
        variants += [
            ("HNSW-Flat M32 efC40", lambda: _hnsw(base, codes="flat")),
            ("HNSW-SQ8 M32 efC100", lambda: _hnsw(base, efc=100)),
            ("HNSW-SQ8 M48 efC40", lambda: _hnsw(base, m=48)),
        ]
    for name, make in variants:
        index, build, size = _built(make)
        for ef in (64, 128, 256, 512):
            index.ef_search = ef
            rows.append(_row(name, f"efSearch={ef}", *_measure(index, queries, truth), build, size))
        if name.endswith("(kensaku)"):
            kensaku = index
    if sweep:
        ivf, build, size = _built(lambda: DenseIndex.build(base, ann="ivf"))
        for nprobe in (128, 256):
            ivf.nprobe = nprobe
            rows.append(
                _row(
                    f"IVF-SQ8 nlist{ivf._ann.nlist} (format 6)",
                    f"nprobe={nprobe}",
                    *_measure(ivf, queries, truth),
                    build,
                    size,
                )
            )
    kensaku.ef_search = dense.EF_SEARCH
    pool = [kensaku.search(q, 1000)[0] for q in queries[:1]]
    started = time.perf_counter()
    for q in queries:
        pool = [kensaku.search(q, 1000)[0]]
    return {
        "n": len(base),
        "rows": rows,
        "pool1000_mean_ms": round((time.perf_counter() - started) * 1000 / len(queries), 3),
        "pool_size": len(pool[0]),
        "filtered": filtered(kensaku, base, queries),
    }


def filtered(index: DenseIndex, base: np.ndarray, queries: np.ndarray) -> list[dict[str, Any]]:
    """The ANN path with a filter, forced even where kensaku searches the kept rows exactly (≤ EXACT_ALLOWED_ROWS),
    against exact search over the kept rows: filters keeping a random 10, 30 and 60 % of the rows (like a set of
    municipalities), a contiguous 10, 30 and 60 % (rows of neighbouring texts of one source, so of related content:
    the hard case for a graph walk that skips the rows filtered out), and all but a contiguous 1,500 rows. kensaku
    applies a filter removing ≤ POST_FILTER_ROWS rows to the candidates of an unfiltered walk (efSearch ≥ the
    candidates plus the rows removed) and scans the 8-bit codes of the kept rows for any other, whatever
    efSearch."""
    rng = np.random.default_rng(0)
    n = len(base)
    start = n // 3
    filters = {
        "random 10%": np.flatnonzero(rng.random(n) < 0.1),
        "random 30%": np.flatnonzero(rng.random(n) < 0.3),
        "contiguous 10%": np.arange(start, start + n // 10),
        "contiguous 30%": np.arange(start, start + 3 * n // 10),
        "random 60%": np.flatnonzero(rng.random(n) < 0.6),
        "contiguous 60%": np.arange(n // 5, n // 5 + 3 * n // 5),
        "all but a contiguous 1,500": np.setdiff1d(np.arange(n), np.arange(start, start + 1_500)),
    }
    out = []
    for name, rows in filters.items():
        truth, exact_ms = _exact(base, queries, rows)
        row: dict[str, Any] = {"filter": name, "kept_rows": len(rows), "exact_p50_ms": exact_ms}
        for ef in (64, 128, 256):
            index.ef_search = ef
            recall, p50 = _measure(index, queries, truth, rows)
            row[f"ef{ef}"] = {"recall@10": recall, "p50_ms": p50, "efSearch_used": _ef_used(index, n - len(rows))}
        out.append(row)
    index.ef_search = dense.EF_SEARCH
    return out


def _ef_used(index: DenseIndex, removed: int) -> int | str:
    return int(index._search_parameters(1.0, 20 + removed).efSearch) if removed <= dense.POST_FILTER_ROWS else "scan"


def _status_mb(field: str) -> float:
    """A memory figure of this process from /proc/self/status (Linux), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def build_probe(n: int) -> dict[str, Any]:
    """Build kensaku's HNSW over the first ``n`` cached real vectors read from a memory-mapped ``.npy`` (as a build
    does), in this fresh process: seconds, RSS before and peak RSS during the build, and the ``ann.faiss`` size."""
    import tempfile

    texts = real_texts(10**7, extra=True)[:n]
    base, _ = embed_cached(texts, time.monotonic())
    with tempfile.TemporaryDirectory() as folder:
        np.save(Path(folder) / "v.npy", base[:n])
        del base
        vectors = np.load(Path(folder) / "v.npy", mmap_mode="r")
        rss_before = _status_mb("VmRSS")
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM, the peak RSS, to the current RSS
        started = time.perf_counter()
        index = DenseIndex.build(vectors, ann="hnsw")
        seconds = time.perf_counter() - started
        rss_after = _status_mb("VmHWM")
        index.save(Path(folder))
        size = (Path(folder) / dense.ANN).stat().st_size
    return {
        "n": len(vectors),
        "build_s": round(seconds, 1),
        "build_s_per_100k": round(seconds * 100_000 / len(vectors), 1),
        "rss_mb_before_build": round(rss_before),
        "peak_rss_mb_during_build": round(rss_after),
        "ann_faiss_mb": round(size / 2**20, 1),
        "ann_bytes_per_row": round(size / len(vectors), 1),
        "faiss_threads": __import__("faiss").omp_get_max_threads(),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }


def cheapest(rows: list[dict[str, Any]], floor: float = 0.98) -> str:
    """Per index type, the first (cheapest) setting whose recall reaches ``floor``, with its p50."""
    out: dict[str, str] = {}
    for row in rows:
        if row["param"] and row["index"] not in out and row["recall@10"] >= floor:
            out[row["index"]] = f"{row['index']} {row['param']} ({row['recall@10']}, p50 {row['p50_ms']} ms)"
    return "; ".join(out.values()) or "none"


def _commands(result: dict[str, Any]) -> str:
    return ", ".join(f"`{command}`" for command in result.get("runs", [result["command"]]))


def _markdown(result: dict[str, Any]) -> str:
    lines = [
        "# ANN recall on real embeddings",
        "",
        f"{result['date']}; commands {_commands(result)}; model {result['model']}; {result['texts_embedded']:,} real "
        f"texts embedded (of {result['texts_available']:,}): {result['sources']}; {result['queries']} real questions "
        f"as queries; recall@{K} of `DenseIndex.search` (ANN candidates re-scored exactly) against kensaku's exact "
        f"search; p50 = one query at a time, FAISS on one OpenMP thread; build on FAISS's default threads "
        f"({result['faiss_threads']}). loadavg before {result['loadavg_before']}, after {result['loadavg_after']} "
        "(2 shared cores: read the times as ratios).",
        "",
        *([result["embedding_note"], ""] if result.get("embedding_note") else []),
    ]
    for block in result["sizes"]:
        lines += [
            f"## n = {block['n']:,}",
            "",
            "| index | param | recall@10 | p50 ms | build s | ann.faiss MB |",
            "|---|---|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {r['index']} | {r['param']} | {r['recall@10']:.4f} | {r['p50_ms']} | {r['build_s']} | {r['ann_mb']} |"
            for r in block["rows"]
        ]
        lines += [
            "",
            f"Lowest setting with recall@10 ≥ 0.98: {cheapest(block['rows'])}. kensaku's search asks the dense leg "
            f"for 1,000 rows (efSearch ≥ 1,100): {block['pool1000_mean_ms']} ms a query (mean).",
            "",
            "Filtered (ANN path forced, also where kensaku searches ≤ 50,000 kept rows exactly): a filter removing "
            f"≤ {dense.POST_FILTER_ROWS:,} rows is applied to the candidates of an unfiltered walk (efSearch shown), "
            "any other scans the 8-bit codes of the kept rows (`scan`, efSearch unused):",
            "",
            "| filter | rows kept | exact p50 ms | base 64: recall / p50 ms (ef) | base 128 | base 256 |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for r in block["filtered"]:
            cells = [
                f"{r[f'ef{ef}']['recall@10']:.4f} / {r[f'ef{ef}']['p50_ms']} ({r[f'ef{ef}']['efSearch_used']})"
                for ef in (64, 128, 256)
            ]
            lines.append(f"| {r['filter']} | {r['kept_rows']:,} | {r['exact_p50_ms']} | {' | '.join(cells)} |")
        lines.append("")
    for probe in result.get("build_probes", []):
        lines += [
            f"Build probe (`--build-probe {probe['n']}`, fresh process, vectors memory-mapped): {probe['n']:,} rows in "
            f"{probe['build_s']} s ({probe['build_s_per_100k']} s per 100k, {probe['faiss_threads']} threads, "
            f"loadavg {probe['loadavg']}); RSS {probe['rss_mb_before_build']} MB before the build, peak "
            f"{probe['peak_rss_mb_during_build']} MB during it (VmHWM reset first; the memory-mapped vectors' pages "
            f"count); ann.faiss {probe['ann_faiss_mb']} MB ({probe['ann_bytes_per_row']} bytes a row).",
            "",
        ]
    return "\n".join(lines)


def main() -> int:
    """Embed (cached), compare, write the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-texts", type=int, default=120_000, help="cap on the real texts")
    parser.add_argument("--extra", action="store_true", help="add extra_texts() (118,602 texts in all)")
    parser.add_argument("--minutes", type=float, default=10.0, help="embedding time budget of this run")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads of the embedder (default: all)")
    parser.add_argument("--sizes", type=int, nargs="*", default=[], help="subset sizes (default: ¼, ½, all)")
    parser.add_argument("--sweep", type=int, nargs="*", default=[], help="sizes also run with other M/efC/codes/IVF")
    parser.add_argument("--build-probe", type=int, default=0, help="only time an HNSW build of this many vectors")
    parser.add_argument("--append", action="store_true", help="add these sizes to the last results (same n replaced)")
    args = parser.parse_args()
    if args.build_probe:
        result = json.loads((RESULTS / "ann_recall.json").read_text(encoding="utf-8"))
        result["build_probes"] = [p for p in result.get("build_probes", []) if p["n"] != args.build_probe]
        result["build_probes"].append(build_probe(args.build_probe))
        return _write(result)
    import faiss

    before = os.getloadavg()
    texts = real_texts(args.max_texts, extra=args.extra)
    base, rate = embed_cached(texts, time.monotonic() + args.minutes * 60, args.threads)
    questions = real_questions(200)
    queries = query_vectors(questions)
    sizes = sorted({min(n, len(base)) for n in args.sizes} or {len(base) // 4, len(base) // 2, len(base)})
    result: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": "python " + " ".join(["bench/ann_recall.py", *sys.argv[1:]]),
        "model": "default (load_embedder())",
        "sources": SOURCES if args.extra else SOURCES.split(";")[0],
        "texts_available": len(texts),
        "texts_embedded": len(base),
        "embedding": rate,
        "queries": len(questions),
        "faiss_threads": faiss.omp_get_max_threads(),
        "loadavg_before": [round(x, 2) for x in before],
        "sizes": [],
    }
    if args.append:
        last = json.loads((RESULTS / "ann_recall.json").read_text(encoding="utf-8"))
        result["runs"] = [*last.get("runs", [last["command"]]), result["command"]]
        result["loadavg_before"] = last["loadavg_before"]
        result["sizes"] = [block for block in last["sizes"] if block["n"] not in sizes]
        result["build_probes"] = last.get("build_probes", [])
    for n in sizes:
        print(f"n={n:,}", flush=True)
        result["sizes"].append(compare(np.ascontiguousarray(base[:n]), queries, n in args.sweep))
        result["sizes"].sort(key=lambda block: block["n"])
        result["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
        _write(result)
    return 0


def _write(result: dict[str, Any]) -> int:
    write_json(RESULTS / "ann_recall.json", result)
    (RESULTS / "ann_recall.md").write_text(_markdown(result) + "\n", encoding="utf-8")
    print(_markdown(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

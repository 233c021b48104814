"""Scale benchmark (issue 14): build, open, query, add/remove at 10k–1M synthetic findings, and the real embedder's
throughput.

The index side runs with a STAND-IN embedder (``HashEmbedder``, ``stand-in-hash-384``: hashed character-bigram
vectors, no semantics) so that a 1M-finding build takes minutes; the real default model's throughput is measured
separately on 2,000 real JSQuAD passages and the 1M embedding time extrapolated from it. The findings are real
Japanese sentences (JSQuAD, the seed report) with real municipality names (bench/data/municipalities.txt) and
chapter/section values, written as BEIR ``corpus.jsonl`` documents of 1,000 findings (bench/scale_corpus.py).

Each phase (build; open + queries; add/remove; embedding throughput) runs in a fresh subprocess, so its peak RSS
(``VmHWM``) is its own. Queries: 200 real Japanese questions, one at a time, warm. Results merge into
``bench/results/scale.json`` (one entry per size) and ``bench/results/scale.md``.

Usage: ``.venv/bin/python bench/scale.py --sizes 10000 100000 [--embed-passages 2000] [--keep]``; ``--report``
rewrites scale.md from scale.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from common import JSQUAD, ROOT, write_json
from scale_corpus import (
    CHAPTERS,
    FINDINGS_PER_DOC,
    SCALE_CACHE,
    HashEmbedder,
    municipalities,
    real_questions,
    synthetic_corpus,
)
from scale_report import RESULTS, markdown

WARMUP = 5


def _vm(field: str) -> float:
    """A ``/proc/self/status`` memory field (``VmHWM``: peak RSS, ``VmRSS``: current) in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 2)


def disk_usage(directory: Path) -> dict[str, int]:
    """Bytes per file of an index directory (relative path → size)."""
    return {str(p.relative_to(directory)): p.stat().st_size for p in sorted(directory.rglob("*")) if p.is_file()}


# --- phases (each in its own process) ----------------------------------------------------------------------------


class StageClock:
    """Times the stages of a build from the (stage, done, total) progress callbacks: a stage runs from its first
    callback to its last; what comes before the first is reading, what comes after the last is the rest (BM25,
    FAISS, writing)."""

    def __init__(self) -> None:
        """Start the clock."""
        self.start = time.perf_counter()
        self.first: dict[str, float] = {}
        self.last: dict[str, float] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        """The progress callback."""
        now = time.perf_counter()
        self.first.setdefault(stage, now)
        self.last[stage] = now

    def stages(self, end: float) -> dict[str, float]:
        """Seconds per stage, in the order they ran."""
        order = sorted(self.first, key=self.first.__getitem__)
        out: dict[str, float] = {}
        mark = self.start
        for i, stage in enumerate(order):
            if i == 0:
                out["read (to first progress)"] = round(self.first[stage] - self.start, 2)
                mark = self.first[stage]
            out[stage] = round(self.last[stage] - mark, 2)
            mark = self.last[stage]
        out["after last progress (BM25, ANN, write)"] = round(end - mark, 2)
        return out


def phase_build(size: int, directory: Path) -> dict[str, Any]:
    """Build the index of the synthetic corpus with the stand-in embedder, timing its stages."""
    from kensaku import Index

    corpus = synthetic_corpus(size)
    if directory.exists():
        shutil.rmtree(directory)
    clock, embedder = StageClock(), HashEmbedder()
    index = Index.build(list(corpus.documents), directory, embedder=embedder, full=True, on_progress=clock)
    end = time.perf_counter()
    return {
        "stand_in_embedding_s": round(embedder.passage_seconds, 2),
        "findings": len(index),
        "documents": len(corpus.documents),
        "build_s": round(end - clock.start, 2),
        "build_cpu_s": round(time.process_time(), 1),
        "stages_s": clock.stages(end),
        "build_peak_rss_mb": _vm("VmHWM"),
        "disk_bytes": disk_usage(directory),
    }


def _time_each(run: Any, items: list[Any]) -> list[float]:  # noqa: ANN401 - any callable
    for item in items[:WARMUP]:
        run(item)
    times = []
    for item in items:
        started = time.perf_counter()
        run(item)
        times.append((time.perf_counter() - started) * 1000)
    return times


def _latency(times: list[float]) -> dict[str, float]:
    return {"p50_ms": _pct(times, 0.5), "p95_ms": _pct(times, 0.95), "mean_ms": round(statistics.fmean(times), 2)}


def phase_query(size: int, directory: Path, n_queries: int) -> dict[str, Any]:
    """Open in this fresh process, then time warm hybrid, filtered and similar queries one at a time."""
    from kensaku import Filters, Index

    started = time.perf_counter()
    cpu = time.process_time()
    index = Index.open(directory, embedder=HashEmbedder())
    open_s, open_cpu = time.perf_counter() - started, time.process_time() - cpu
    rss_open = _vm("VmRSS")
    questions = real_questions(n_queries)
    rng = random.Random(size)
    names = municipalities()
    filters = [Filters(municipalities=[rng.choice(names)]) for _ in questions]
    rows = [rng.randrange(size) for _ in questions]  # documents are filled in order, 1,000 findings each
    ids = [f"d{row // FINDINGS_PER_DOC:05d}-{row % FINDINGS_PER_DOC:04d}" for row in rows]
    index.finding(ids[0])  # the ids exist (raises otherwise)
    pairs = list(zip(questions, filters, strict=True))
    by_chapter = [(q, Filters(chapters=[rng.choice(list(CHAPTERS))])) for q in questions]
    hybrid = _time_each(lambda q: index.search(q, 10), questions)
    counted = _time_each(lambda q: index.query(q, 10), questions)  # also counts `total` (the CLI's JSON, the app)
    filtered_hits = [len(index.search(q, 10, filters=f)) for q, f in pairs[:20]]
    filtered = _time_each(lambda qf: index.search(qf[0], 10, filters=qf[1]), pairs)
    chapter = _time_each(lambda qf: index.search(qf[0], 10, filters=qf[1]), by_chapter)
    similar = _time_each(lambda i: index.similar(i, k=10, other_municipalities=True), ids)
    return {
        "open_s": round(open_s, 3),
        "open_cpu_s": round(open_cpu, 3),
        "rss_after_open_mb": rss_open,
        "queries": len(questions),
        "hybrid": _latency(hybrid),
        "hybrid_with_total": _latency(counted),
        "filtered": {**_latency(filtered), "mean_hits_first_20": round(statistics.fmean(filtered_hits), 1)},
        "filtered_chapter": _latency(chapter),
        "similar_other_municipalities": _latency(similar),
        "rss_after_queries_mb": _vm("VmRSS"),
        "search_peak_rss_mb": _vm("VmHWM"),
    }


def phase_update(size: int, directory: Path) -> dict[str, Any]:
    """Add one 100-finding document to the open index, change it and add it again (its rows replaced), then remove
    it; time each."""
    from kensaku import Index

    corpus = synthetic_corpus(size)
    index = Index.open(directory, embedder=HashEmbedder())
    before = len(index)
    work = directory.parent / f"{directory.name}-update"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    doc = work / corpus.extra.name  # a copy: the cached document stays as generated
    shutil.copy(corpus.extra, doc)
    started = time.perf_counter()
    added = index.add([doc])
    add_s = time.perf_counter() - started
    lines = doc.read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    first["text"] += "（改訂）"
    doc.write_text("\n".join([json.dumps(first, ensure_ascii=False), *lines[1:]]) + "\n", encoding="utf-8")
    started = time.perf_counter()
    replaced = added.add([doc])
    replace_s = time.perf_counter() - started
    stats = replaced.report.stats if replaced.report else None
    started = time.perf_counter()
    removed = replaced.remove([doc])
    remove_s = time.perf_counter() - started
    shutil.rmtree(work, ignore_errors=True)
    return {
        "findings_before": before,
        "findings_after_add": len(added),
        "findings_after_remove": len(removed),
        "add_one_document_s": round(add_s, 2),
        "replace_changed_document_s": round(replace_s, 2),
        "replaced_in_place": bool(stats and stats.changed == 1 and not stats.full_reason and replaced.manifest.parts),
        "remove_one_document_s": round(remove_s, 2),
        "removed_rows_after": removed.manifest.removed,
        "update_peak_rss_mb": _vm("VmHWM"),
    }


def phase_embed(n: int) -> dict[str, Any]:
    """The real default embedder's passages/s on the first ``n`` JSQuAD passages (real text)."""
    from kensaku.index.embed import load_embedder

    lines = (JSQUAD / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
    texts = [json.loads(line)["text"] for line in lines if line.strip()][:n]
    started = time.perf_counter()
    embedder = load_embedder()
    load_s = time.perf_counter() - started
    embedder.encode_passages(texts[:32])  # warm-up
    started, cpu = time.perf_counter(), time.process_time()
    embedder.encode_passages(texts)
    seconds, cpu_s = time.perf_counter() - started, time.process_time() - cpu
    rate = len(texts) / seconds
    return {
        "model": embedder.name,
        "passages": len(texts),
        "mean_chars": round(statistics.fmean(len(t) for t in texts), 1),
        "model_load_s": round(load_s, 2),
        "seconds": round(seconds, 1),
        "cpu_s": round(cpu_s, 1),
        "passages_per_s": round(rate, 1),
        "passages_per_cpu_s": round(len(texts) / cpu_s, 1),
        "extrapolated_1M_hours": round(1_000_000 / rate / 3600, 2),
        "peak_rss_mb": _vm("VmHWM"),
    }


# --- driver ------------------------------------------------------------------------------------------------------


def _child(args: argparse.Namespace) -> int:
    directory = Path(args.directory) if args.directory else Path()
    if args.phase == "build":
        result = phase_build(args.size, directory)
    elif args.phase == "query":
        result = phase_query(args.size, directory, args.queries)
    elif args.phase == "update":
        result = phase_update(args.size, directory)
    else:
        result = phase_embed(args.embed_passages)
    print("RESULT " + json.dumps(result, ensure_ascii=False))
    return 0


def run_phase(phase: str, *extra: str) -> dict[str, Any]:
    """Run one phase in a fresh interpreter; its result and the load average around it."""
    before = [round(x, 2) for x in os.getloadavg()]
    started = time.perf_counter()
    cmd = [sys.executable, __file__, "--phase", phase, *extra]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise SystemExit(f"phase {phase} failed:\n{done.stderr[-4000:]}")
    line = next(x for x in reversed(done.stdout.splitlines()) if x.startswith("RESULT "))
    result: dict[str, Any] = json.loads(line.removeprefix("RESULT "))
    result["wall_s"] = round(time.perf_counter() - started, 2)
    result["loadavg_before"], result["loadavg_after"] = before, [round(x, 2) for x in os.getloadavg()]
    return result


def run_size(size: int, queries: int, keep: bool) -> dict[str, Any]:
    """Generate (cached), build, open + query, add/remove at one size."""
    started = time.perf_counter()
    synthetic_corpus(size)
    generate_s = round(time.perf_counter() - started, 1)
    directory = SCALE_CACHE / f"index-{size}"
    common = ["--size", str(size), "--directory", str(directory), "--queries", str(queries)]
    try:
        build = run_phase("build", *common)
        print(f"  build: {build['build_s']} s, peak {build['build_peak_rss_mb']} MB", flush=True)
        query = run_phase("query", *common)
        print(f"  open {query['open_s']} s; hybrid {query['hybrid']}; filtered {query['filtered']}", flush=True)
        update = run_phase("update", *common)
        print(f"  add {update['add_one_document_s']} s, remove {update['remove_one_document_s']} s", flush=True)
    finally:
        if not keep:
            shutil.rmtree(directory, ignore_errors=True)
    return {"findings": size, "corpus_generate_s": generate_s, "build": build, "open_query": query, "update": update}


def main() -> int:
    """Run the sizes asked for and merge their results into bench/results/scale.{json,md}."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--embed-passages", type=int, default=2000, help="0: skip the real embedder's throughput")
    parser.add_argument("--keep", action="store_true", help="keep the built indexes under .kensaku/bench-cache")
    parser.add_argument("--report", action="store_true", help="only rewrite scale.md from scale.json")
    parser.add_argument("--phase", choices=("build", "query", "update", "embed"), help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--directory", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        return _child(args)
    path = RESULTS / "scale.json"
    results: dict[str, Any] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    if args.report:
        (RESULTS / "scale.md").write_text(markdown(results), encoding="utf-8")
        return 0
    results["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    results["embedder_stand_in"] = HashEmbedder().name
    sizes = results.setdefault("sizes", {})
    for size in args.sizes:
        print(f"{size:,} findings", flush=True)
        sizes[str(size)] = {
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            **run_size(size, args.queries, args.keep),
        }
        write_json(path, results)
    if args.embed_passages:
        results["real_embedder"] = run_phase("embed", "--embed-passages", str(args.embed_passages))
        print(f"real embedder: {results['real_embedder']}", flush=True)
    write_json(path, results)
    (RESULTS / "scale.md").write_text(markdown(results), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

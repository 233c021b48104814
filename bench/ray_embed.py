"""Bulk embedding on Ray vs the plain local build, in one run: passages/s, start-up costs and vector equality.

Usage: ``.venv/bin/python bench/ray_embed.py [--passages 2000] [--rounds 4]``; writes
``bench/results/ray_embed.{json,md}``.

Paths, each through the build's own embedding step (``kensaku.index.build._embed`` with a real embedding journal,
chunks of ``$KENSAKU_EMBED_CHUNK`` = 256 findings, as ``kensaku build`` runs it):

- ``local``: the default embedder in this process (``load_embedder()``: two windows at a time, one thread each).
- ``ray-1``: :class:`~kensaku.index.embed_ray.RayEmbedder` with 1 actor on a local Ray of 2 CPUs.
- ``ray-2``: the same with 2 actors (one per CPU), what ``--embed-with ray`` uses on this machine.

The passages are the build texts of the first N JSQuAD passages, split into ``rounds`` slices; each round embeds its
slice with every path in turn (the order rotating), so load changes on this shared machine hit every path alike.
The actors are started afresh in each round; their start (model load in the actors) is timed apart from the
embedding. Ray's own start (``ray.init``) is timed once. Every path's vectors are compared with ``local`` bit for bit.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from common import ROOT, jsquad_findings, write_json

from kensaku.config import DEFAULTS
from kensaku.index.build import _embed
from kensaku.index.embed import Embedder, load_embedder
from kensaku.index.embed_ray import OBJECT_STORE_BYTES, RAY_ENV, RayEmbedder
from kensaku.index.journal import EmbedJournal
from kensaku.index.manifest import BuildOptions, ModelInfo
from kensaku.ingest.models import Finding

PATHS = ("local", "ray-1", "ray-2")


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def embed_like_a_build(findings: list[Finding], embedder: Embedder, work: Path) -> tuple[np.ndarray, float]:
    """The vectors of ``findings`` through the build's embedding step with a journal; returns them and seconds."""
    journal = EmbedJournal(work / "index", ModelInfo.of(embedder))
    started = time.perf_counter()
    vectors = _embed(findings, embedder, BuildOptions.of(DEFAULTS), {}, False, None, journal)
    seconds = time.perf_counter() - started
    journal.discard()
    return vectors, seconds


def one_round(
    path: str, findings: list[Finding], local: Embedder, work: Path, log: Callable[[str], None]
) -> tuple[np.ndarray, dict[str, Any]]:
    """One path on one slice: vectors and timings (actor start apart)."""
    if path == "local":
        vectors, seconds = embed_like_a_build(findings, local, work)
        return vectors, {"texts": len(findings), "seconds": seconds, "actor_start_s": 0.0}
    actors = int(path.split("-")[1])
    with RayEmbedder(local, "ray", actors=actors) as remote:
        started = time.perf_counter()
        remote.encode_passages(["準備"] * actors)  # start the actors and load the model in each
        actor_start = time.perf_counter() - started
        vectors, seconds = embed_like_a_build(findings, remote, work)
    log(f"{path}: actors started in {actor_start:.1f} s")
    return vectors, {"texts": len(findings), "seconds": seconds, "actor_start_s": actor_start}


def run(n: int, rounds: int) -> dict[str, Any]:
    """Every path on every slice, interleaved."""
    import ray

    def log(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message} load {loadavg()}", file=sys.stderr, flush=True)

    findings = jsquad_findings()[:n]
    local = load_embedder()
    os.environ.update(RAY_ENV)
    loads = [loadavg()]
    started = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=OBJECT_STORE_BYTES, log_to_driver=False)
    init_s = time.perf_counter() - started
    bounds = np.linspace(0, len(findings), rounds + 1).astype(int)
    stats: dict[str, list[dict[str, Any]]] = {p: [] for p in PATHS}
    parts: dict[str, dict[int, np.ndarray]] = {p: {} for p in PATHS}
    try:
        for r in range(rounds):
            order = PATHS[r % len(PATHS) :] + PATHS[: r % len(PATHS)]
            for path in order:
                with tempfile.TemporaryDirectory() as work:
                    vectors, row = one_round(path, findings[bounds[r] : bounds[r + 1]], local, Path(work), log)
                parts[path][r] = vectors
                stats[path].append({"round": r, **row, "loadavg_after": loadavg()})
                log(f"round {r} {path}: {row['texts'] / row['seconds']:.1f} passages/s")
            loads.append(loadavg())
    finally:
        ray.shutdown()
    joined = {p: np.concatenate([parts[p][r] for r in range(rounds)]) for p in PATHS}
    return {"stats": stats, "loadavg": loads, "vectors": joined, "ray_init_s": init_s}


def summarise(measured: dict[str, Any], n: int) -> dict[str, Any]:
    """Passages per second per path, same-run ratios to ``local``, actor start times, equality."""
    paths: dict[str, Any] = {}
    local = measured["vectors"]["local"]
    for path, rows in measured["stats"].items():
        seconds = sum(r["seconds"] for r in rows)
        paths[path] = {
            "passages_per_s": round(n / seconds, 1),
            "per_round": [round(r["texts"] / r["seconds"], 1) for r in rows],
            "actor_start_s": [round(r["actor_start_s"], 2) for r in rows],
            "bit_identical_to_local": bool(np.array_equal(measured["vectors"][path], local)),
        }
    base = paths["local"]
    for row in paths.values():
        row["ratio_vs_local"] = round(row["passages_per_s"] / base["passages_per_s"], 2)
        pairs = zip(row["per_round"], base["per_round"], strict=True)
        row["ratio_vs_local_per_round"] = [round(a / b, 2) for a, b in pairs]
    return paths


def markdown(results: dict[str, Any]) -> str:
    """The results as a README-style table."""
    rows = [
        f"# Bulk embedding on Ray ({results['date']}, {results['passages']} JSQuAD passages, {results['rounds']} "
        f"interleaved rounds, {results['cpus']} CPUs, Ray {results['ray']})",
        "",
        f"Command: `{results['command']}`. Load average (1, 5, 15 min) before: {results['loadavg'][0]}, after: "
        f"{results['loadavg'][-1]} (per round: {results['loadavg'][1:-1]}). A shared machine: read the same-run "
        "ratios, not the absolute figures.",
        "",
        "Each path runs the build's embedding step (`_embed` with the journal, chunks of 256). `ray init` "
        f"(once, local Ray with 2 CPUs): {results['ray_init_s']:.1f} s; actor start (model load, per round) below.",
        "",
        "| path | passages/s | per round | × local | × local per round | actor start s | vectors == local |",
        "|---|---|---|---|---|---|---|",
    ]
    for path, row in results["paths"].items():
        rows.append(
            f"| {path} | {row['passages_per_s']} | {', '.join(map(str, row['per_round']))} | {row['ratio_vs_local']} | "
            f"{', '.join(map(str, row['ratio_vs_local_per_round']))} | "
            f"{', '.join(map(str, row['actor_start_s'])) if path != 'local' else '–'} | "
            f"{'yes (np.array_equal)' if row['bit_identical_to_local'] else 'NO'} |"
        )
    rows += ["", f"Peak RSS of the driver: {results['driver_peak_rss_mb']} MB."]
    return "\n".join(rows) + "\n"


def main() -> int:
    """Measure and write ``bench/results/ray_embed.{json,md}``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--passages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--out", default="ray_embed", help="results file name in bench/results/")
    args = parser.parse_args()
    import ray

    measured = run(args.passages, args.rounds)
    n = sum(r["texts"] for r in measured["stats"]["local"])
    results = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join([".venv/bin/python", "bench/ray_embed.py", *sys.argv[1:]]),
        "passages": n,
        "rounds": args.rounds,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "ray": ray.__version__,
        "ray_init_s": round(measured["ray_init_s"], 2),
        "loadavg": measured["loadavg"],
        "paths": summarise(measured, n),
        "driver_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    out = ROOT / "bench" / "results"
    write_json(out / f"{args.out}.json", results)
    (out / f"{args.out}.md").write_text(markdown(results), encoding="utf-8")
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())

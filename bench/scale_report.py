"""The markdown report of bench/scale.py: one table per size with the issue's 1M targets next to the figures."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from common import ROOT

RESULTS = ROOT / "bench" / "results"
MB = 1024 * 1024

# (label, how to read the figure from one size's results, target at 1M findings, unit, lower is better)
Getter = Callable[[dict[str, Any]], float | None]
TARGETS: list[tuple[str, Getter, float | None, str]] = [
    ("build wall time", lambda r: r["build"]["build_s"], None, "s"),
    ("build peak RSS", lambda r: r["build"]["build_peak_rss_mb"] / 1024, 6.0, "GB"),
    ("open (fresh process)", lambda r: r["open_query"]["open_s"], 3.0, "s"),
    ("RSS after open", lambda r: r["open_query"]["rss_after_open_mb"] / 1024, None, "GB"),
    ("search peak RSS", lambda r: r["open_query"]["search_peak_rss_mb"] / 1024, 3.0, "GB"),
    ("hybrid p50", lambda r: r["open_query"]["hybrid"]["p50_ms"], None, "ms"),
    ("hybrid p95", lambda r: r["open_query"]["hybrid"]["p95_ms"], 100.0, "ms"),
    (
        "hybrid with total (Index.query) p95",
        lambda r: r["open_query"].get("hybrid_with_total", {}).get("p95_ms"),
        None,
        "ms",
    ),
    ("hybrid + municipality filter p50", lambda r: r["open_query"]["filtered"]["p50_ms"], None, "ms"),
    ("hybrid + municipality filter p95", lambda r: r["open_query"]["filtered"]["p95_ms"], 100.0, "ms"),
    ("hybrid + chapter filter p95 (1 of 9)", lambda r: r["open_query"]["filtered_chapter"]["p95_ms"], None, "ms"),
    (
        "similar --other-municipalities p50",
        lambda r: r["open_query"]["similar_other_municipalities"]["p50_ms"],
        None,
        "ms",
    ),
    (
        "similar --other-municipalities p95",
        lambda r: r["open_query"]["similar_other_municipalities"]["p95_ms"],
        150.0,
        "ms",
    ),
    ("add one 100-finding document", lambda r: r["update"]["add_one_document_s"], 5.0, "s"),
    ("add it again, changed (its rows replaced)", lambda r: r["update"].get("replace_changed_document_s"), None, "s"),
    ("remove it", lambda r: r["update"]["remove_one_document_s"], None, "s"),
    ("index size on disk", lambda r: sum(r["build"]["disk_bytes"].values()) / MB, None, "MB"),
]


def _row(label: str, value: float | None, target: float | None, unit: str, at_1m: bool) -> str:
    shown = "—" if value is None else f"{value:,.3g}" if value < 100 else f"{value:,.0f}"
    if target is None:
        return f"| {label} | {shown} {unit} | | |"
    met = "—" if value is None else ("yes" if value <= target else "**no**")
    return f"| {label} | {shown} {unit} | ≤ {target:g} {unit} | {met if at_1m else f'({met})'} |"


def size_table(size: str, result: dict[str, Any]) -> list[str]:
    """The table of one size, with its stages, components and load averages."""
    at_1m = int(size) >= 1_000_000
    lines = [
        f"## {int(size):,} findings ({result['date']})",
        "",
        "| measure | measured | target at 1M | met |",
        "|---|---:|---:|:---:|",
    ]
    lines += [_row(label, get(result), target, unit, at_1m) for label, get, target, unit in TARGETS]
    build, query = result["build"], result["open_query"]
    stages = ", ".join(f"{k} {v} s" for k, v in build["stages_s"].items())
    disk = ", ".join(f"{k} {v / MB:,.1f} MB" for k, v in build["disk_bytes"].items())
    lines += [
        "",
        f"- Build stages: {stages}; CPU {build['build_cpu_s']} s; of which the stand-in embedder itself "
        f"{build['stand_in_embedding_s']} s.",
        f"- On disk: {disk}.",
        f"- Open CPU {query['open_cpu_s']} s; filtered queries returned {query['filtered']['mean_hits_first_20']} "
        "hits on average (first 20 queries; one municipality of ~1,700 per query).",
    ]
    load = [
        f"{phase} {result[key]['loadavg_before']} → {result[key]['loadavg_after']}"
        for phase, key in (("build", "build"), ("open+query", "open_query"), ("add/remove", "update"))
    ]
    lines += [f"- loadavg (1/5/15 min) before → after: {'; '.join(load)}."]
    if "open_query_date" in result:
        lines.append(
            f"- Open and queries re-run {result['open_query_date']} with the code of that day (common terms kept as "
            "full arrays, bench/results/common_terms.md) on an index its build phase wrote again; build and "
            "add/remove figures are from the date above (the code they time had not changed)."
        )
    lines.append("")
    if not at_1m:
        lines.insert(2, "Targets are the issue's for 1M findings; (yes)/(no) in brackets only compare this size.\n")
    return lines


def _ann_line() -> str:
    path = RESULTS / "ann_recall.json"
    if not path.exists():
        return "- ANN recall@10 vs exact: not measured yet (run bench/ann_recall.py)."
    data = json.loads(path.read_text(encoding="utf-8"))
    largest = [block for block in data["sizes"] if block.get("kind", "real") == "real"][-1]
    best = [r for r in largest["rows"] if r["recall@10"] >= 0.98 and r["param"]]
    summary = ", ".join(f"{r['index']} {r['param']} {r['recall@10']}" for r in best) or "none ≥ 0.98"
    return (
        f"- ANN recall@10 vs exact (target ≥ 0.98) on {largest['n']:,} real embeddings "
        f"(bench/results/ann_recall.md): settings that reach it: {summary}."
    )


def markdown(results: dict[str, Any]) -> str:
    """The whole report."""
    lines = [
        "# Scale benchmark (bench/scale.py)",
        "",
        f"Index side with the STAND-IN embedder `{results.get('embedder_stand_in')}` (hashed character-bigram "
        "vectors, no semantics: it times the index, not quality). Synthetic findings made of real Japanese sentences "
        "(JSQuAD, the seed report) with ~1,700 municipality names, 1,000 findings per document. Queries: 200 real "
        "Japanese questions (100 seed, 100 JSQuAD), one at a time, warm (5 warm-up queries), end to end through "
        "`Index.search` / `Index.similar`. Each phase ran in a fresh process. Machine: "
        f"{results['machine']['cpus']} CPUs, shared; read the ratios more than the absolute times.",
        "",
    ]
    for size, result in sorted(results.get("sizes", {}).items(), key=lambda item: int(item[0])):
        lines += size_table(size, result)
    lines += ["## Embedding and ANN", ""]
    real = results.get("real_embedder")
    if real:
        met = "yes" if real["passages_per_s"] >= 70 else "**no**"
        lines.append(
            f"- Real embedder `{real['model']}`: {real['passages_per_s']} passages/s on {real['passages']:,} real "
            f"JSQuAD passages (mean {real['mean_chars']} chars; {real['passages_per_cpu_s']} per CPU-second; "
            f"target ≥ 70/s: {met}); 1M findings would take "
            f"≈ {real['extrapolated_1M_hours']} h (extrapolated). loadavg {real['loadavg_before']} → "
            f"{real['loadavg_after']}."
        )
    lines += [_ann_line(), ""]
    return "\n".join(lines)

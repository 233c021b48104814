"""Incremental indexing: time to add one document to an index of the seed + 50 documents, against a full rebuild.

The 50 (+1 to add) documents are generated from JSQuAD passages: one markdown file per Wikipedia article, with the
article title as ``#`` heading, a ``##`` section every four passages and up to 12 passages each. Everything runs in
one process with one loaded embedder, so the ratio compares like with like; the end-to-end ``kensaku add`` command
(a new process that loads the model) is timed too. The added index is checked to equal a full build of all 52
documents (same ids, same vectors).

Usage: ``.venv/bin/python bench/incremental.py [--docs 50] [--repeat 3]``; writes ``bench/results/incremental.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from common import JSQUAD, ROOT, write_json

from kensaku import DEFAULTS, BuildReport, Index
from kensaku.index.embed import Embedder, load_embedder
from kensaku.index.store import load_index

DEFAULT_MODEL = DEFAULTS.model


def build(paths: list[Path], directory: Path, *, embedder: Embedder, full: bool = False) -> BuildReport:
    """A build with the public API; what it did."""
    report = Index.build(paths, directory, embedder=embedder, full=full).report
    assert report is not None
    return report


def add(paths: list[Path], directory: Path, *, embedder: Embedder) -> BuildReport:
    """``Index.open(directory).add(paths)``, as ``kensaku add`` does; what it did."""
    report = Index.open(directory, embedder=embedder, verify_sources=False).add(paths).report
    assert report is not None
    return report


PASSAGES_PER_DOC = 12
SECTION_EVERY = 4


def article_docs(count: int) -> tuple[list[tuple[str, list[str]]], tuple[str, list[str]]]:
    """``count`` (title, passages) pairs from the JSQuAD corpus in corpus order, and a full-size one to add."""
    articles: dict[str, list[str]] = defaultdict(list)
    for line in (JSQUAD / "corpus.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        articles[record["title"]].append(record["text"])
    items = list(articles.items())
    extra = next(item for item in items[count:] if len(item[1]) >= PASSAGES_PER_DOC)
    return items[:count], extra


def write_doc(folder: Path, number: int, title: str, passages: list[str]) -> Path:
    """One markdown document for an article."""
    lines = [f"# {title}", ""]
    for i, passage in enumerate(passages[:PASSAGES_PER_DOC]):
        if i % SECTION_EVERY == 0:
            lines += [f"## {title}（{i // SECTION_EVERY + 1}）", ""]
        lines += [passage, ""]
    path = folder / f"{number:02d}_{title.replace('/', '_')}.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def timed(action: Any) -> tuple[float, Any]:  # noqa: ANN401 - any callable
    started = time.perf_counter()
    value = action()
    return time.perf_counter() - started, value


def same_index(a: Path, b: Path) -> bool:
    first, second = load_index(a, verify_sources=False), load_index(b, verify_sources=False)
    ids_equal = [f.id for f in first.findings] == [f.id for f in second.findings]
    rows = np.arange(first.dense.n_docs)
    return ids_equal and bool(np.array_equal(first.dense.vectors(rows), second.dense.vectors(rows)))


def run(work: Path, n_docs: int, repeat: int, embedder: Embedder) -> dict[str, Any]:
    docs = work / "docs"
    docs.mkdir()
    shutil.copy(ROOT / "corpus" / "smartcity_model_project_cases.txt", docs)
    articles, to_add = article_docs(n_docs)
    for number, (title, passages) in enumerate(articles):
        write_doc(docs, number, title, passages)
    extra = write_doc(work, n_docs, *to_add)
    base = work / "base"
    full_times = []
    for _ in range(repeat):
        seconds, report = timed(lambda: build([docs], base, embedder=embedder, full=True))
        full_times.append(seconds)
    add_times, unchanged_times = [], []
    for attempt in range(repeat):
        target = work / f"added-{attempt}"
        shutil.copytree(base, target)
        seconds, added = timed(lambda: add([extra], target, embedder=embedder))  # noqa: B023
        add_times.append(seconds)
        seconds, _ = timed(lambda: build([docs, extra], target, embedder=embedder))  # noqa: B023
        unchanged_times.append(seconds)
    full_all = work / "full-all"
    build([docs, extra], full_all, embedder=embedder, full=True)
    cli_target = work / "added-cli"
    shutil.copytree(base, cli_target)
    command = [sys.executable, "-m", "kensaku.cli", "add", str(extra), "--index", str(cli_target), "--no-progress"]
    cli_seconds, finished = timed(lambda: subprocess.run(command, cwd=ROOT, capture_output=True, check=False))
    if finished.returncode != 0:
        raise SystemExit(finished.stderr.decode())
    full, one = statistics.median(full_times), statistics.median(add_times)
    return {
        "documents": report.documents,
        "findings": report.findings,
        "added_document_findings": added.findings - report.findings,
        "full_rebuild_s": [round(t, 2) for t in full_times],
        "add_one_s": [round(t, 3) for t in add_times],
        "rebuild_nothing_changed_s": [round(t, 3) for t in unchanged_times],
        "full_rebuild_median_s": round(full, 2),
        "add_one_median_s": round(one, 3),
        "ratio_full_over_add": round(full / one, 1),
        "cli_add_wall_s": round(cli_seconds, 2),
        "added_equals_full_build": same_index(work / "added-0", full_all),
        "reuse": added.stats.to_dict() if added.stats else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    load_seconds, embedder = timed(lambda: load_embedder(DEFAULT_MODEL))
    with tempfile.TemporaryDirectory(prefix="kensaku-incremental-") as work:
        result = run(Path(work), args.docs, args.repeat, embedder)
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "model": DEFAULT_MODEL,
        "model_load_s": round(load_seconds, 2),
        **result,
    }
    write_json(ROOT / "bench" / "results" / "incremental.json", result)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0 if result["added_equals_full_build"] else 1


if __name__ == "__main__":
    raise SystemExit(main())

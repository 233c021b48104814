"""Helpers shared by the test tiers: the repository root, a keyword fake embedder (only for unit tests of search
logic; real-model tests use the bundled model) and small hand-made findings."""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kensaku.ingest.models import Finding, format_citation, format_location

ROOT = Path(__file__).resolve().parent.parent


def expected_scores() -> dict[str, Any]:
    """tests/expected_scores.toml: the pinned scores and their tolerances."""
    return tomllib.loads((ROOT / "tests" / "expected_scores.toml").read_text(encoding="utf-8"))


def score_tolerance(leg: str, queries: int) -> float:
    """How far a score of ``leg`` may be from its pinned value on ``queries`` questions: the rounding of the 4th
    decimal for BM25; for the legs that use the int8 model, the larger of ``cross_cpu_questions`` questions' worth
    and ``cross_cpu_share`` (their vectors differ in the last bits from one CPU to another; see
    tests/expected_scores.toml)."""
    pinned = expected_scores()
    if leg == "bm25":
        return float(pinned["tolerance"])
    return max(float(pinned["cross_cpu_questions"]) / queries, float(pinned["cross_cpu_share"]))


def shared_dir() -> Path:
    """The project's shared material (bench/jsquad): ``$KENSAKU_SHARED``, else ``../shared`` beside the checkout,
    else ``/work/shared`` (where this workplace keeps it, also for clones made elsewhere, as CI's)."""
    import os

    candidates = [Path(os.environ["KENSAKU_SHARED"])] if os.environ.get("KENSAKU_SHARED") else []
    candidates += [ROOT.parent / "shared", Path("/work/shared")]
    return next((c for c in candidates if (c / "bench").is_dir()), candidates[0])


KEYWORDS = ("フェロー", "契約", "予算", "大学", "住民", "データ")


class KeywordEmbedder:
    """Deterministic embedder: one dimension per keyword present (plus a bias), L2-normalized."""

    name = "keyword-fake"
    dim = len(KEYWORDS) + 1

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        rows = np.array([[float(k in t) for k in KEYWORDS] + [0.1] for t in texts], dtype=np.float32)
        rows = rows.reshape(-1, self.dim)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)

    def encode_passages(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        if progress:
            progress(len(texts))
        return self._encode(texts)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "dim": self.dim, "backend": "test", "query_prefix": "", "passage_prefix": ""}


def make_finding(
    line: int,
    text: str,
    municipality: str = "加賀市",
    chapter: str = "推進体制",
    kind: str = "practice",
    heading: str = "見出し",
) -> Finding:
    return Finding(
        id=f"doc:L{line}",
        text=text,
        document="doc.txt",
        municipality=municipality,
        chapter=chapter,
        section="",
        heading=heading,
        kind=kind,  # type: ignore[arg-type]
        line_start=line,
        line_end=line,
        citation=format_citation(
            document="doc.txt", municipality=municipality, path=(chapter, heading), location=format_location(line, line)
        ),
    )


SMALL_FINDINGS = [
    make_finding(1, "フェローとの契約は要綱で定め、謝礼金で対応している。"),
    make_finding(2, "フェローが住民への説明を第三者的な立場から行う。", kind="lesson"),
    make_finding(3, "大学と連携してデータ分析の人材を育成する。", municipality="会津若松市"),
    make_finding(4, "スマートシティ関連の予算を優先的に確保する。", municipality="会津若松市", chapter="費用負担"),
    make_finding(5, "住民の会費を原資に生活サービスを提供する。", municipality="仙台市（泉区）", chapter="費用負担"),
    make_finding(6, "人流データを販売して投資を回収する。", municipality="松山市", chapter="費用負担", kind="lesson"),
]


def run_doctests(name: str) -> int:
    """Run the docstring examples of module ``name`` (as installed); fails with doctest's report. Returns how many
    examples ran."""
    import doctest
    import importlib

    module = importlib.import_module(name)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report: list[str] = []
    for test in doctest.DocTestFinder(exclude_empty=True).find(module, name):
        runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)
    return runner.tries


def package_modules() -> list[str]:
    """Every module of the installed ``kensaku`` package, by name."""
    import importlib
    import pkgutil

    names = []
    for root in ("kensaku", "kensaku.ingest", "kensaku.index"):  # the last two live in their own folders
        package = importlib.import_module(root)
        names += [root, *(m.name for m in pkgutil.walk_packages(package.__path__, f"{root}."))]
    return sorted(set(names))


# Modules whose examples need MeCab or the embedding model: their doctests run in the integration tier.
HEAVY_DOCTESTS = frozenset({"kensaku.api", "kensaku.index.tokenizer", "kensaku.app.render"})


def older_manifest(data: dict[str, Any]) -> dict[str, Any]:
    """Manifest data as format version 2 wrote it (no file checksums, no checksum of its own): tests that edit a
    manifest by hand to simulate an older index use this, as a format-3 manifest refuses any edit."""
    return {k: v for k, v in data.items() if k not in ("files", "checksum")} | {"format_version": 2}

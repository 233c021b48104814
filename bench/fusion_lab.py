"""Issue 13 re-tune: every BM25, fusion, depth, dense-leg and context choice scored from score matrices.

Each (benchmark, BM25 setting) gives one matrix of BM25 scores (queries x findings, kensaku's own ``SparseIndex``
and ``Tokenizer``) and each (benchmark, model) one matrix of cosines (the cached e5 vectors), computed once and
cached under ``.kensaku/bench-cache``. Fusion is then replayed in numpy exactly as ``Searcher.rank_vectors`` does
it (the same ``kensaku.index.hybrid`` functions: each leg's top ``depth``, the union scored by both legs, fused, ties
by row), so a configuration costs a second, not a rebuild. ``--check`` verifies the replay against the real
``Searcher`` on every query of a split.

Choose on dev, report on test: ``experiments`` only reads the dev splits; ``report`` scores the chosen candidates on
dev and test of the seed questions and JSQuAD.

Usage::

    .venv/bin/python bench/fusion_lab.py --check          # replay == Searcher with the defaults (both splits)
    .venv/bin/python bench/fusion_lab.py                  # dev experiments -> bench/results/fusion_lab-dev.json
    .venv/bin/python bench/fusion_lab.py --report         # dev + test report -> bench/results/fusion_lab.{md,json}

The first run builds and caches the score matrices (about 10 minutes here for JSQuAD); later runs take about one.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import CACHE, ROOT, benchmark, cached_vectors, jsquad_findings, seed_findings, write_json
from paired import paired_bootstrap

from kensaku.evaluate import METRICS, Benchmark
from kensaku.index.hybrid import block_ids, block_lift, minmax, order_by, rank_of, rrf_fusion, top_ids
from kensaku.index.manifest import BuildOptions
from kensaku.index.relevance import term_coverage
from kensaku.index.sparse import SparseIndex
from kensaku.index.tokenizer import Tokenizer, TokenizerConfig
from kensaku.ingest.models import Finding

SHOWN = ("nDCG@10", "MRR@10", "success@1", "success@5", "Recall@10")


@dataclass
class Bench:
    """One benchmark: findings, their block ids, and the queries of both splits."""

    name: str
    findings: list[Finding]
    splits: dict[str, Benchmark]
    qids: list[str]
    texts: list[str]

    @property
    def ids(self) -> list[str]:
        """Finding ids in row order."""
        return [f.id for f in self.findings]

    def rows(self, split: str) -> list[int]:
        """Query rows (into the matrices) of a split's judged queries."""
        position = {q: i for i, q in enumerate(self.qids)}
        qrels = self.splits[split].qrels
        return [position[q] for q in self.splits[split].queries if any(g > 0 for g in qrels.get(q, {}).values())]

    def blocks(self) -> np.ndarray:
        """Block id per finding, as the searcher computes it."""
        return block_ids(self.findings)


def load_bench(name: str) -> Bench:
    """Findings and both splits of ``seed`` or ``jsquad``."""
    findings = jsquad_findings() if name == "jsquad" else seed_findings()
    splits = {s: benchmark(name, s) for s in ("dev", "test")}
    # several ids may share a text (JSQuAD): the matrices have one row per id
    all_queries = {q: t for s in splits.values() for q, t in s.queries.items()}
    qids = sorted(all_queries)
    return Bench(name, findings, splits, qids, [all_queries[q] for q in qids])


def _cache(kind: str, *parts: str) -> Path:
    return CACHE / f"lab-{kind}-{hashlib.sha256(chr(0).join(parts).encode()).hexdigest()[:16]}.npy"


def document_text(f: Finding, doc: str) -> str:
    """``text``, ``context`` (heading: text) or ``context+muni`` (municipality in front)."""
    text = f.text if doc == "text" else f.context_text
    return f"{f.municipality} {text}" if doc.endswith("muni") and f.municipality else text


def bm25_matrix(bench: Bench, form: str, doc: str, k1: float, b: float) -> np.ndarray:
    """BM25 of every (query, finding); ``doc`` is ``text``, ``context`` (heading: text) or ``context+muni``."""
    path = _cache("bm25", bench.name, form, doc, str(k1), str(b), *bench.texts, *bench.ids)
    if path.exists():
        return np.load(path)
    forms = form.replace("|", "+").split("+")
    tokenizers = [Tokenizer(TokenizerConfig(form=f)) for f in forms]  # type: ignore[arg-type]

    def tokens(text: str) -> list[str]:
        if "|" in form:  # lemma, plus the written form where it differs
            words = tokenizers[0].tokens(text)
            return [w.term for w in words] + [w.surface for w in words if w.surface != w.term]
        return [t for tok in tokenizers for t in tok.tokenize(text)]

    sparse = SparseIndex.build([tokens(document_text(f, doc)) for f in bench.findings], k1=k1, b=b)
    queries = [tokens(t) for t in bench.texts]
    matrix = np.stack([sparse.scores(q) for q in queries]).astype(np.float32)
    norms = np.array([term_coverage(sparse, q)[1] for q in queries], dtype=np.float64)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, matrix)
    np.save(path.with_suffix(".norms.npy"), norms)
    return matrix


def idf_norms(bench: Bench, form: str, doc: str, k1: float, b: float) -> np.ndarray:
    """Per query, the idf sum of its distinct terms (as :func:`kensaku.index.relevance.term_coverage`)."""
    bm25_matrix(bench, form, doc, k1, b)
    return np.load(
        _cache("bm25", bench.name, form, doc, str(k1), str(b), *bench.texts, *bench.ids).with_suffix(".norms.npy")
    )


_DENSE: dict[tuple[str, str, str], np.ndarray] = {}


def dense_matrix(bench: Bench, model: str, doc: str = "context") -> np.ndarray:
    """Cosine of every (query, finding) with a model's cached vectors (passages ``heading: text`` by default); the
    model is loaded and the matrix computed once per process."""
    key = (bench.name, model, doc)
    if key not in _DENSE:
        _DENSE[key] = _cosines(bench, model, doc)
    return _DENSE[key]


def _cosines(bench: Bench, model: str, doc: str) -> np.ndarray:
    from kensaku.index.embed import load_embedder

    embedder = load_embedder(model)
    passages = [document_text(f, doc) for f in bench.findings]
    p = cached_vectors(embedder, passages, kind="passage").astype(np.float32)
    q = cached_vectors(embedder, sorted(set(bench.texts)), kind="query").astype(np.float32)
    row = {t: i for i, t in enumerate(sorted(set(bench.texts)))}
    q = q[[row[t] for t in bench.texts]]
    return np.asarray(q @ p.T, dtype=np.float32)


@dataclass(frozen=True)
class Config:
    """One fusion configuration (``method``: weighted, zscore, rrf, convex)."""

    method: str = "weighted"
    w: float = 0.5
    rrf_k: int = 60
    depth: int = 100
    block: float = 0.0  # weight of the block (■ section) score
    block_agg: str = "max"

    def label(self) -> str:
        """Short name."""
        extra = f" k={self.rrf_k}" if self.method == "rrf" else ""
        ctx = f" block={self.block}/{self.block_agg}" if self.block else ""
        return f"{self.method} w={self.w}{extra} depth={self.depth}{ctx}"


def zscore(x: np.ndarray) -> np.ndarray:
    """Standard score over the candidates (zeros for a constant vector)."""
    x = np.asarray(x, dtype=np.float64)
    sd = float(x.std())
    return np.zeros_like(x) if sd <= 1e-12 else (x - x.mean()) / sd


def fuse(bm25: np.ndarray, cos: np.ndarray, cfg: Config, blocks: np.ndarray, idf_sum: float) -> np.ndarray:
    """Rows of one query's ranking, best first, replaying ``Searcher.rank_vectors`` plus the tried variants."""
    matching = np.flatnonzero(bm25 > 0)
    bm25_top = top_ids(bm25, cfg.depth, matching)
    dense_top = top_ids(cos, cfg.depth)
    cand = np.unique(np.concatenate([bm25_top, dense_top]))
    b, d = bm25[cand].astype(np.float64), cos[cand].astype(np.float64)
    if cfg.method == "weighted":
        fused = cfg.w * minmax(d) + (1.0 - cfg.w) * minmax(b)
    elif cfg.method == "zscore":
        fused = cfg.w * zscore(d) + (1.0 - cfg.w) * zscore(b)
    elif cfg.method == "rrf":
        ranks = [rank_of(cand, bm25_top), rank_of(cand, dense_top)]
        fused = (1.0 - cfg.w) * rrf_fusion(ranks[:1], cfg.rrf_k) + cfg.w * rrf_fusion(ranks[1:], cfg.rrf_k)
    else:  # convex on absolute scales: cosine z over the whole index, BM25 over the query's idf sum
        z = (d - float(cos.mean())) / max(float(cos.std()), 1e-12)
        fused = cfg.w * z + (1.0 - cfg.w) * (np.clip(b / idf_sum, 0.0, 5.0) if idf_sum > 0 else 0.0)
    if cfg.block and cfg.block_agg == "max":  # the shipped block score
        fused = block_lift(fused, blocks[cand], cfg.block)
    elif cfg.block:
        fused = fused + cfg.block * block_means(fused, blocks[cand])
    return cand[order_by(fused, cand)]


def block_means(fused: np.ndarray, block: np.ndarray) -> np.ndarray:
    """Each candidate's block mean: the mean fused score of the candidates of its block (a variant not shipped)."""
    out = np.zeros_like(fused)
    for value in np.unique(block):
        members = block == value
        out[members] = fused[members].mean()
    return out


class Lab:
    """Score matrices of one benchmark and the scoring of configurations on its splits."""

    def __init__(self, bench: Bench, bm25: np.ndarray, cos: np.ndarray, idf: np.ndarray | None = None) -> None:
        """Keep the matrices, the queries' idf sums (for ``convex``) and the block ids."""
        self.bench, self.bm25, self.cos = bench, bm25, cos
        self.blocks = bench.blocks()
        self.ids = bench.ids
        self.idf = np.ones(len(bench.texts)) if idf is None else idf

    def per_query(self, cfg: Config, split: str) -> dict[str, dict[str, float]]:
        """metric -> qid -> score."""
        qrels = self.bench.splits[split].qrels
        out: dict[str, dict[str, float]] = {m: {} for m in SHOWN}
        for row in self.bench.rows(split):
            qid = self.bench.qids[row]
            ranked = fuse(self.bm25[row], self.cos[row], cfg, self.blocks, float(self.idf[row]))[:10]
            ids = [self.ids[i] for i in ranked]
            for m in SHOWN:
                out[m][qid] = METRICS[m](ids, qrels[qid])
        return out

    def score(self, cfg: Config, split: str) -> dict[str, float]:
        """Mean metrics."""
        return {m: round(float(np.mean(list(v.values()))), 4) for m, v in self.per_query(cfg, split).items()}


def check(name: str) -> int:
    """The replay gives the same top 10 as the real Searcher on every query of both splits."""
    from common import make_searcher
    from tune import PrecomputedQueries

    from kensaku.evaluate import run_queries
    from kensaku.index.embed import load_embedder

    bench = load_bench(name)
    emb = PrecomputedQueries(load_embedder("e5-small-int8"), sorted(set(bench.texts)))
    searcher = make_searcher(bench.findings, emb, form=str(NEW["form"]), options=BuildOptions())  # the defaults
    lab = lab_for(bench, str(NEW["form"]), str(NEW["doc"]), float(NEW["k1"]), float(NEW["b"]))
    bad = 0
    position = {q: i for i, q in enumerate(bench.qids)}
    for split in ("dev", "test"):
        queries = bench.splits[split].queries
        real = run_queries(searcher, queries, modes=("hybrid",), show_progress=False)["hybrid"]
        for qid in queries:
            row = position[qid]
            mine = [lab.ids[i] for i in fuse(lab.bm25[row], lab.cos[row], NEW_FUSION, lab.blocks, 1.0)[:10]]
            if mine != real[qid][:10]:
                bad += 1
        print(split, "queries", len(queries), "mismatches so far", bad, "scores", lab.score(NEW_FUSION, split))
    return 1 if bad else 0


# --- the experiments (dev) and the report (dev and test) ------------------------------------------------------------

PREVIOUS = {"form": "lemma", "doc": "context", "k1": 0.7, "b": 0.6, "model": "e5-small-int8"}
FORMS = ("lemma", "surface", "orth", "lemma+surface", "lemma|surface")
DOCS = ("text", "context", "context+muni")
K1S, BS = (0.5, 0.7, 0.9, 1.2), (0.4, 0.6, 0.75)
WEIGHTS = (0.3, 0.4, 0.5, 0.6, 0.7)


def lab_for(bench: Bench, form: str, doc: str, k1: float = 0.7, b: float = 0.6, model: str = "e5-small-int8") -> Lab:
    """A lab over one BM25 setting and one dense model (JSQuAD has no municipality: ``+muni`` changes nothing)."""
    return Lab(
        bench, bm25_matrix(bench, form, doc, k1, b), dense_matrix(bench, model), idf_norms(bench, form, doc, k1, b)
    )


def experiments(bench: Bench, chosen: dict[str, object]) -> dict[str, object]:
    """Every choice on the dev split, one factor at a time around the chosen setting."""
    out: dict[str, object] = {}
    form, doc = str(chosen["form"]), str(chosen["doc"])
    out["bm25 tokens x document (hybrid default fusion | bm25 alone)"] = {
        f"{f} / {d}": {
            "hybrid": (lab := lab_for(bench, f, d)).score(Config(), "dev")["nDCG@10"],
            "bm25": lab.score(Config(w=0.0), "dev")["nDCG@10"],
        }
        for f in FORMS
        for d in DOCS
    }
    out["bm25 k1 x b (hybrid nDCG@10)"] = {
        f"k1={k1} b={b}": lab_for(bench, form, doc, k1, b).score(Config(), "dev")["nDCG@10"] for k1 in K1S for b in BS
    }
    lab = lab_for(bench, form, doc)
    fusions = [Config(method=m, w=w) for m in ("weighted", "zscore", "convex") for w in WEIGHTS]
    fusions += [Config(method="rrf", w=w, rrf_k=k) for k in (5, 10, 20, 60) for w in (0.4, 0.5, 0.6)]
    out["fusion method x weight (dense weight w)"] = sweep(lab, fusions)
    out["candidate depth"] = sweep(lab, [Config(depth=d) for d in (10, 20, 50, 100, 200)])
    out["dense leg"] = {
        model: lab_for(bench, form, doc, model=model).score(Config(), "dev")
        for model in ("e5-small-int8", "e5-small-fp32")
    }
    blocks = [Config(block=x, block_agg=a) for a in ("max", "mean") for x in (0.0, 0.25, 0.5, 0.75, 1.0, 2.0)]
    out["block (section) score weight"] = sweep(lab, blocks)
    return out


def sweep(lab: Lab, configs: Sequence[Config], split: str = "dev") -> dict[str, dict[str, float]]:
    """Scores of configurations on one split."""
    return {c.label(): lab.score(c, split) for c in configs}


NEW = {"form": "lemma+surface", "doc": "context+muni", "k1": 0.5, "b": 0.4}
NEW_FUSION = Config(block=0.75)
SUBSETS = {"seed": {"test": ("test", None), "test q21-q64": ("test", (21, 64)), "test q65-q191": ("test", (65, 191))}}


def subset(scores: dict[str, dict[str, float]], span: tuple[int, int] | None) -> dict[str, dict[str, float]]:
    """Only the queries numbered within ``span`` (``q21`` … ``q64``)."""
    if span is None:
        return scores
    keep = lambda q: span[0] <= int(q.lstrip("q")) <= span[1]  # noqa: E731
    return {m: {q: v for q, v in values.items() if keep(q)} for m, values in scores.items()}


def plain_scores(bench: Bench, split: str) -> dict[str, dict[str, float]]:
    """Per-query metrics of the plain stack (bench/plain_stack.py) on kensaku's passages (``heading: text``)."""
    from plain_stack import PlainStack

    plain = PlainStack(bench.ids, [f.context_text for f in bench.findings])
    queries = bench.splits[split].queries
    run = plain.run(queries)["plain"]
    qrels = bench.splits[split].qrels
    judged = [q for q in queries if any(g > 0 for g in qrels.get(q, {}).values())]
    return {m: {q: METRICS[m](run.get(q, [])[:10], qrels[q]) for q in judged} for m in SHOWN}


def systems(bench: Bench) -> dict[str, tuple[Lab, Config]]:
    """The compared systems (the legs and RRF use the new BM25 leg)."""
    new = lab_for(bench, str(NEW["form"]), str(NEW["doc"]), float(NEW["k1"]), float(NEW["b"]))
    old = lab_for(bench, "lemma", "context", 0.7, 0.6)
    return {
        "bm25 (new leg)": (new, Config(w=0.0)),
        "dense (e5-small-int8)": (new, Config(w=1.0)),
        "hybrid, previous default": (old, Config()),
        "hybrid, new default": (new, NEW_FUSION),
        "new default without the block score": (new, Config()),
        "new default, fp32 dense leg": (
            lab_for(bench, str(NEW["form"]), str(NEW["doc"]), float(NEW["k1"]), float(NEW["b"]), model="e5-small-fp32"),
            NEW_FUSION,
        ),
        "rrf k=60 (new legs)": (new, Config(method="rrf")),
    }


def report(names: Sequence[str]) -> dict[str, object]:
    """Every system on dev and test, and the paired differences of the new default (test and dev)."""
    out: dict[str, object] = {}
    for name in names:
        bench = load_bench(name)
        labs = systems(bench)
        for split in ("dev", "test"):
            scores = {label: lab.per_query(cfg, split) for label, (lab, cfg) in labs.items()}
            scores["plain stack"] = plain_scores(bench, split)
            groups = SUBSETS.get(name, {}).items() if split == "test" and name in SUBSETS else [(split, (split, None))]
            for group, (_, span) in groups:
                part = {label: subset(values, span) for label, values in scores.items()}
                new = part["hybrid, new default"]
                out[f"{name} {group}"] = {
                    "queries": len(new["nDCG@10"]),
                    "metrics": {
                        label: {m: round(float(np.mean(list(v[m].values()))), 4) for m in SHOWN}
                        for label, v in part.items()
                    },
                    "paired": {
                        f"new default - {other}": {
                            m: paired_bootstrap(new[m], part[other][m]).to_dict()
                            for m in ("nDCG@10", "MRR@10", "success@1")
                        }
                        for other in ("plain stack", "hybrid, previous default", "new default without the block score")
                    },
                }
            print(name, split, flush=True)
    return out


def markdown(data: dict[str, object]) -> str:
    """The report as markdown tables."""
    lines = [f"# Fusion re-tune: report ({data['when']}, load {data['load']})", ""]
    for group, result in data["report"].items():  # type: ignore[union-attr]
        lines += [f"## {group} ({result['queries']} queries)", "", "| system | " + " | ".join(SHOWN[:4]) + " |"]
        lines.append("|---|" + "---:|" * 4)
        for label, values in result["metrics"].items():
            lines.append(f"| {label} | " + " | ".join(f"{values[m]:.3f}" for m in SHOWN[:4]) + " |")
        lines += ["", "| paired difference (mean [95 % CI], wins/losses/ties) | nDCG@10 | MRR@10 | success@1 |"]
        lines.append("|---|---:|---:|---:|")
        for label, metrics in result["paired"].items():
            cells = [
                f"{p['mean']:+.3f} [{p['low']:+.3f}, {p['high']:+.3f}] {p['wins']}/{p['losses']}/{p['ties']}"
                for p in metrics.values()
            ]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the check or the experiments."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--bench", nargs="+", default=["seed", "jsquad"])
    parser.add_argument("--form", default="lemma+surface")
    parser.add_argument("--doc", default="context+muni")
    parser.add_argument("--report", action="store_true", help="score the chosen systems on dev and test")
    args = parser.parse_args(argv)
    if args.check:
        return max(check(name) for name in args.bench)
    if args.report:
        import datetime as dt
        import os

        started = time.perf_counter()
        data: dict[str, object] = {
            "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        }
        data["report"] = report(args.bench)
        data["seconds"] = round(time.perf_counter() - started)
        write_json(ROOT / "bench" / "results" / "fusion_lab.json", data)
        (ROOT / "bench" / "results" / "fusion_lab.md").write_text(markdown(data) + "\n", encoding="utf-8")
        return 0
    started = time.perf_counter()
    chosen = {"form": args.form, "doc": args.doc}
    out: dict[str, object] = {"chosen around": chosen}
    for name in args.bench:
        out[name] = experiments(load_bench(name), chosen)
        print(name, f"{time.perf_counter() - started:.0f} s", flush=True)
    out["seconds"] = round(time.perf_counter() - started)
    write_json(ROOT / "bench" / "results" / "fusion_lab-dev.json", out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Abstention bench: fit the relevance model (index/relevance.py) on dev questions, evaluate it on held-out ones.

Data. Answerable: the seed questions (``corpus/eval``, against an index of ``corpus/``) and JSQuAD (against an index
of its ``corpus.jsonl``), dev splits for fitting and test splits for the evaluation. Unanswerable: the off-topic
questions written for this project (``bench/abstention/offtopic.jsonl``, their own dev/test split), each asked of
both indexes. Also reported, never fitted on: each benchmark's test questions asked of the *other* index
(JSQuAD's Wikipedia questions of the smart-city report, and the other way round), unanswerable there.

Fit. Per-finding rows are the top ``--rows`` hits of each dev question (label 1 when the qrels judge the finding
relevant, 0 otherwise and for every hit of an unanswerable question); each question group (seed, JSQuAD,
off-topic on seed, off-topic on JSQuAD) gets the same total weight, each question the same weight within it. The
query threshold is then chosen on dev, on the side of answering (a wrong "nothing found" hides an answer; a weak
hit shown is visible as such): the lowest threshold under which ``--target`` (90 %) of the dev off-topic questions
stay, and never above ``--margin`` times the lowest score of a seed dev question answered in the top 5 (so seed
success@5 does not drop on dev). The per-finding cut-off maximises F1 of finding relevance on dev, capped at the
query threshold.

The held-out evaluation runs through ``Searcher.query_vectors`` (the code the CLI and the app call).

Usage: ``.venv/bin/python bench/abstention.py [--model e5-small-int8] [--write]``; writes
``bench/results/abstention.md`` (``abstention-<model>.md`` for a model other than the default) and
``bench/results/abstention-<model>.json``; with ``--write`` also the fitted calibration of the model into
``index/data/relevance.json``. Query vectors are cached under ``.kensaku/bench-cache`` (the first run embeds the
8,862 JSQuAD questions: about 5 minutes here).
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
from common import ROOT, benchmark, cached_vectors, jsquad_findings, make_searcher, seed_findings, write_json

from kensaku.config import DEFAULTS
from kensaku.index.embed import Embedder, load_embedder
from kensaku.index.relevance import DATA_FILE, FEATURES, FORMAT_VERSION, Calibration, fit_logistic
from kensaku.index.search import Searcher

OFFTOPIC = ROOT / "bench" / "abstention" / "offtopic.jsonl"
CALIBRATION = ROOT / "index" / "data" / DATA_FILE
RESULTS = ROOT / "bench" / "results"


@dataclass
class Question:
    """One question asked of one index, with what the ranking gave."""

    group: str  # seed, jsquad, offtopic@seed, offtopic@jsquad, jsquad@seed, seed@jsquad
    text: str
    vector: np.ndarray
    terms: list[str]
    relevant: frozenset[str]  # empty: not answerable in this index
    features: np.ndarray  # (rows, len(FEATURES)) of the top hits, best first
    labels: np.ndarray  # 1 where the hit is judged relevant
    ids: list[str]
    success5: bool

    @property
    def answerable(self) -> bool:
        """Whether this index holds an answer."""
        return bool(self.relevant)


def offtopic(split: str) -> dict[str, str]:
    """The written off-topic questions of a split."""
    rows = [json.loads(line) for line in OFFTOPIC.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {row["_id"]: row["text"] for row in rows if row["split"] == split}


def ask(
    searcher: Searcher,
    embedder: Embedder,
    group: str,
    queries: dict[str, str],
    qrels: dict[str, dict[str, int]],
    rows: int,
) -> list[Question]:
    """Rank every query (vectors cached by bench/common.py) and keep the features of its top ``rows`` hits."""
    assert searcher.tokenizer is not None
    qids = list(queries)
    vectors = cached_vectors(embedder, [queries[q] for q in qids], kind="query")
    out = []
    for qid, vector in zip(qids, vectors, strict=True):
        terms = searcher.tokenizer.tokenize(queries[qid])
        ranking = searcher.rank_vectors(terms, vector, 10)
        assert ranking is not None
        relevant = frozenset(d for d, grade in qrels.get(qid, {}).items() if grade > 0)
        ids = [searcher.findings[int(i)].id for i in ranking.candidates[:rows]]
        labels = np.array([doc in relevant for doc in ids], dtype=np.float64)
        success5 = any(doc in relevant for doc in ids[:5])
        out.append(
            Question(group, queries[qid], vector, terms, relevant, ranking.features()[:rows], labels, ids, success5)
        )
    return out


def questions(searchers: dict[str, Searcher], embedder: Embedder, split: str, rows: int) -> list[Question]:
    """Every group of a split; the cross-benchmark groups only for the test split."""
    seed, jsquad = benchmark("seed", split), benchmark("jsquad", split)
    off = offtopic(split)
    out = [
        *ask(searchers["seed"], embedder, "seed", seed.queries, seed.qrels, rows),
        *ask(searchers["jsquad"], embedder, "jsquad", jsquad.queries, jsquad.qrels, rows),
        *ask(searchers["seed"], embedder, "offtopic@seed", off, {}, rows),
        *ask(searchers["jsquad"], embedder, "offtopic@jsquad", off, {}, rows),
    ]
    if split == "test":
        out += ask(searchers["seed"], embedder, "jsquad@seed", jsquad.queries, {}, rows)
        out += ask(searchers["jsquad"], embedder, "seed@jsquad", seed.queries, {}, rows)
    return out


TRAIN_GROUPS = ("seed", "jsquad", "offtopic@seed", "offtopic@jsquad")


def fit(
    dev: list[Question], model: str, *, l2: float, margin: float, target: float, top: int
) -> tuple[Calibration, dict[str, Any]]:
    """Fit the logistic model on the dev rows, then choose the two thresholds on dev."""
    train = [q for q in dev if q.group in TRAIN_GROUPS]
    sizes = {g: sum(q.group == g for q in train) for g in TRAIN_GROUPS}
    x = np.concatenate([q.features for q in train])
    y = np.concatenate([q.labels for q in train])
    w = np.concatenate([np.full(len(q.labels), 1.0 / sizes[q.group] / len(q.labels)) for q in train])
    mean, scale, coef, intercept = fit_logistic(x, y, w / w.mean(), l2=l2)
    base = Calibration(model, FEATURES, tuple(mean), tuple(scale), tuple(coef), intercept, 1.0, 1.0, top)
    scores = np.array([verdict_score(base, q) for q in train])
    kept = [s for s, q in zip(scores, train, strict=True) if q.group == "seed" and q.success5]
    ceiling = min(kept) * margin
    off = np.sort([s for s, q in zip(scores, train, strict=True) if not q.answerable])
    # The lowest threshold under which `target` of the dev off-topic questions stay (they abstain).
    lowest = float(off[min(int(np.ceil(target * len(off))), len(off) - 1)])
    threshold = min(ceiling, lowest)
    finding = min(f1_cut(base.probability(x), y, w), threshold)
    notes = {
        "dev_questions": sizes,
        "dev_rows": len(y),
        "ceiling_from_seed_dev": round(ceiling, 6),
        "offtopic_target": target,
        "offtopic_threshold": round(lowest, 6),
        "dev_balanced_accuracy": round(balanced_accuracy(train, scores, threshold), 4),
    }
    return replace(base, answerable=threshold, finding=finding), notes


def verdict_score(calibration: Calibration, q: Question) -> float:
    """The best relevance among a question's top hits (what the query verdict compares with the threshold)."""
    return float(calibration.probability(q.features[: calibration.top]).max())


def sweep(test: list[Question], calibration: Calibration, thresholds: Sequence[float]) -> list[dict[str, Any]]:
    """Held-out trade-off at other query thresholds (from the same features): seed success@5 with the cut-off and
    the share of each group judged answerable."""
    scores = [verdict_score(calibration, q) for q in test]
    rows = []
    for threshold in thresholds:
        row: dict[str, Any] = {"threshold": threshold}
        for group in LABELS:
            picked = [s >= threshold for s, q in zip(scores, test, strict=True) if q.group == group]
            row[group] = float(np.mean(picked)) if picked else None
        seed = [(s >= threshold) and q.success5 for s, q in zip(scores, test, strict=True) if q.group == "seed"]
        row["seed_success5_cut"] = float(np.mean(seed))
        rows.append(row)
    return rows


def balanced_accuracy(train: list[Question], scores: np.ndarray, threshold: float) -> float:
    """Mean over the groups of the share of questions judged right (answerable when the score reaches it)."""
    right: dict[str, list[bool]] = {}
    for score, q in zip(scores, train, strict=True):
        right.setdefault(q.group, []).append((score >= threshold) == q.answerable)
    return float(np.mean([np.mean(v) for v in right.values()]))


def f1_cut(probabilities: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> float:
    """The relevance cut-off with the best weighted F1 of finding relevance."""
    best, best_f1 = 0.5, -1.0
    for cut in np.unique(np.round(probabilities, 4)):
        chosen = probabilities >= cut
        tp = float(weights[chosen & (labels == 1)].sum())
        precision = tp / max(float(weights[chosen].sum()), 1e-12)
        recall = tp / max(float(weights[labels == 1].sum()), 1e-12)
        f1 = 2 * precision * recall / max(precision + recall, 1e-12)
        if f1 > best_f1:
            best, best_f1 = float(cut), f1
    return best


def evaluate(test: list[Question], searchers: dict[str, Searcher], calibration: Calibration) -> dict[str, Any]:
    """Verdict, success@5 and total of every held-out question through ``Searcher.query_vectors``."""
    groups: dict[str, dict[str, Any]] = {}
    for q in test:
        searcher = searchers["seed" if q.group.endswith("seed") or q.group == "seed" else "jsquad"]
        searcher.calibration = calibration
        results = searcher.query_vectors(q.text, q.terms, q.vector, 10)
        top5 = [h.finding.id for h in results.hits[:5]]
        hit5 = any(doc in q.relevant for doc in top5)
        row = groups.setdefault(q.group, {"n": 0, "answerable": 0, "success5": 0, "success5_cut": 0, "totals": []})
        row["n"] += 1
        row["answerable"] += results.answerable
        row["success5"] += hit5
        row["success5_cut"] += hit5 and results.answerable
        row["totals"].append(results.total)
    for row in groups.values():
        totals = row.pop("totals")
        row["total_median"] = float(np.median(totals))
        row["total_p90"] = float(np.percentile(totals, 90))
        row["total_zero"] = int(sum(t == 0 for t in totals))
    return groups


def pooled(groups: dict[str, Any], names: Sequence[str]) -> dict[str, float]:
    """Precision and recall of abstention (positive class: unanswerable) and of answering, over the groups."""
    unanswerable = [g for g in names if "@" in g]
    answerable = [g for g in names if "@" not in g]
    abstain_right = sum(groups[g]["n"] - groups[g]["answerable"] for g in unanswerable)
    abstain_all = sum(groups[g]["n"] - groups[g]["answerable"] for g in names)
    answer_right = sum(groups[g]["answerable"] for g in answerable)
    answer_all = sum(groups[g]["answerable"] for g in names)
    return {
        "abstain_precision": abstain_right / abstain_all if abstain_all else 1.0,
        "abstain_recall": abstain_right / max(sum(groups[g]["n"] for g in unanswerable), 1),
        "answer_precision": answer_right / answer_all if answer_all else 1.0,
        "answer_recall": answer_right / max(sum(groups[g]["n"] for g in answerable), 1),
    }


def write_calibration(calibration: Calibration, notes: dict[str, Any]) -> None:
    """Store the calibration under its model name (other models' records are kept)."""
    data = json.loads(CALIBRATION.read_text(encoding="utf-8")) if CALIBRATION.is_file() else {}
    if data.get("version") != FORMAT_VERSION:
        data = {"version": FORMAT_VERSION, "models": {}}
    data["models"][calibration.model] = {**calibration.to_dict(), "fitted": notes}
    CALIBRATION.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


LABELS = {
    "seed": "seed questions → seed index (answerable)",
    "jsquad": "JSQuAD questions → JSQuAD index (answerable)",
    "offtopic@seed": "off-topic questions → seed index",
    "offtopic@jsquad": "off-topic questions → JSQuAD index",
    "jsquad@seed": "JSQuAD questions → seed index (cross, not fitted on)",
    "seed@jsquad": "seed questions → JSQuAD index (cross, not fitted on)",
}


def markdown(result: dict[str, Any]) -> str:
    """The results as bench/results/abstention.md."""
    cal, fit_notes = result["calibration"], result["fit"]
    lines = [
        f"# Abstention — calibrated relevance cut-off, model {result['model']}",
        "",
        f"Command: `.venv/bin/python {result['command']}` ({fit_notes['fitted_at']}, {result['seconds']} s).",
        f"Machine load (`uptime`) before: `{result['load'][0]}`; after: `{result['load'][1]}`.",
        "",
        "Fitted on the dev splits (questions per group: "
        + ", ".join(f"{g} {n}" for g, n in fit_notes["dev_questions"].items())
        + f"; {fit_notes['dev_rows']} finding rows). Query threshold {cal['answerable']:.4f} (ceiling from the seed "
        f"dev questions answered in the top 5: {fit_notes['ceiling_from_seed_dev']:.4f}; dev balanced accuracy "
        f"{fit_notes['dev_balanced_accuracy']:.4f}); per-finding cut-off {cal['finding']:.4f}; verdict over the top "
        f"{cal['top']} hits. Everything below is held-out (test splits; off-topic test half).",
        "",
        "## Abstention (positive class: unanswerable) and answering",
        "",
        "| pool | abstention precision | abstention recall | answer precision | answer recall |",
        "|---|---|---|---|---|",
    ]
    for name, row in result["pooled"].items():
        lines.append(
            f"| {name} | {row['abstain_precision']:.4f} | {row['abstain_recall']:.4f} | "
            f"{row['answer_precision']:.4f} | {row['answer_recall']:.4f} |"
        )
    lines += [
        "",
        "## Per group",
        "",
        "| group | questions | judged answerable | success@5 | success@5 with cut-off | total: median / p90 / 0 |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in result["groups"].items():
        n = row["n"]
        lines.append(
            f"| {LABELS.get(name, name)} | {n} | {row['answerable']} ({row['answerable'] / n:.1%}) | "
            f"{row['success5'] / n:.4f} | {row['success5_cut'] / n:.4f} | "
            f"{row['total_median']:g} / {row['total_p90']:g} / {row['total_zero']} |"
        )
    lines += [
        "",
        "success@5 with the cut-off counts a question whose answer is in the top 5 but that is judged unanswerable as"
        " a miss (the hidden cost of abstaining). `total` is the number of findings whose relevance reaches the"
        " per-finding cut-off.",
        "",
        "Reading: the pools mix very different group sizes, so the precision of abstaining on the JSQuAD index is"
        " dominated by its 4,492 answerable questions (a 1.3 % miss rate there outnumbers the 90 off-topic ones)."
        " The threshold leans towards answering, as chosen on dev: a wrong 「見つかりませんでした」 hides an answer,"
        " a weak hit shown is marked by its relevance. The cross rows are real questions of the other domain that"
        " were never fitted on: they are unanswerable there, and their share judged answerable is the leak on"
        " questions the off-topic set does not resemble.",
        "",
        "## Trade-off at other query thresholds (held-out; share judged answerable; not used to choose)",
        "",
        "| threshold | seed success@5 with cut-off | " + " | ".join(LABELS) + " |",
        "|---" * (len(LABELS) + 2) + "|",
    ]
    for row in result["sweep"]:
        shares = " | ".join("" if row[g] is None else f"{row[g]:.3f}" for g in LABELS)
        lines.append(f"| {row['threshold']:.4f} | {row['seed_success5_cut']:.4f} | {shares} |")
    lines.append("")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Fit on dev, evaluate on test, write the results (and the calibration with ``--write``)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="e5-small-int8")
    parser.add_argument("--rows", type=int, default=20, help="top hits per dev question used as fitting rows")
    parser.add_argument("--l2", type=float, default=1.0)
    parser.add_argument(
        "--margin",
        type=float,
        default=0.9,
        help="query threshold: at most this times the lowest dev score of a seed question answered in the top 5",
    )
    parser.add_argument(
        "--target", type=float, default=0.9, help="share of the dev off-topic questions the threshold abstains on"
    )
    parser.add_argument("--write", action="store_true", help="store the fitted calibration in index/data")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    load_before = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    embedder = load_embedder(args.model)
    searchers = {"seed": make_searcher(seed_findings(), embedder), "jsquad": make_searcher(jsquad_findings(), embedder)}
    dev = questions(searchers, embedder, "dev", args.rows)
    calibration, notes = fit(dev, embedder.name, l2=args.l2, margin=args.margin, target=args.target, top=10)
    test = questions(searchers, embedder, "test", args.rows)
    groups = evaluate(test, searchers, calibration)
    trade_off = sweep(test, calibration, sorted({0.05, 0.1, 0.15, 0.2, 0.25, 0.3, round(calibration.answerable, 4)}))
    load_after = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    notes["fitted_at"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    result = {
        "model": embedder.name,
        "command": "bench/abstention.py " + shlex.join(sys.argv[1:] if argv is None else list(argv)),
        "calibration": calibration.to_dict(),
        "fit": notes,
        "groups": groups,
        "pooled": {
            "seed index": pooled(groups, ["seed", "offtopic@seed"]),
            "jsquad index": pooled(groups, ["jsquad", "offtopic@jsquad"]),
            "all held-out": pooled(groups, ["seed", "jsquad", "offtopic@seed", "offtopic@jsquad"]),
        },
        "sweep": trade_off,
        "load": [load_before, load_after],
        "seconds": round(time.perf_counter() - started, 1),
    }
    write_json(RESULTS / f"abstention-{embedder.name.replace('/', '_')}.json", result)
    name = "abstention.md" if embedder.name == DEFAULTS.model else f"abstention-{embedder.name.replace('/', '_')}.md"
    (RESULTS / name).write_text(markdown(result), encoding="utf-8")
    if args.write:
        write_calibration(calibration, notes)
    print(json.dumps({"pooled": result["pooled"], "groups": groups}, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

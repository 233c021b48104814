"""The calibrated relevance cut-off with the real model on the seed index: off-topic questions are not answerable,
known ones are, pages are slices of search(), and the held-out abstention figures of tests/expected_scores.toml."""

from __future__ import annotations

import csv
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from kensaku import Filters, Index
from kensaku.evaluate import load_benchmark
from tests.support import ROOT

EXPECTED: dict[str, Any] = tomllib.loads((ROOT / "tests" / "expected_scores.toml").read_text(encoding="utf-8"))
ABSTENTION = EXPECTED["abstention"]


@pytest.fixture(scope="module")
def seed(seed_index: Path) -> Index:
    return Index.open(seed_index)


def relevant(split: str, qid: str) -> set[str]:
    with (ROOT / "corpus" / "eval" / "qrels" / f"{split}.tsv").open(encoding="utf-8", newline="") as handle:
        return {r["corpus-id"] for r in csv.DictReader(handle, delimiter="\t") if r["query-id"] == qid}


@pytest.mark.parametrize("question", ["美味しいラーメン屋", "明日の天気は"])
def test_off_topic_questions_are_not_answerable(seed: Index, question: str) -> None:
    results = seed.query(question)
    assert not results.answerable
    assert results.total <= 3
    assert len(results.hits) == 10  # the page is not cut: the hits are there, marked weak
    assert all(h.relevance is not None and h.relevance < 0.1 for h in results.hits)


def test_known_question_is_answerable_with_its_finding(seed: Index) -> None:
    results = seed.query("フェローの契約形態は", 5)
    assert results.answerable and results.total >= 1
    assert results.hits[0].finding.id in relevant("dev", "q01")  # L200/L201: 「フェローとの契約関係」
    assert results.hits[0].relevance is not None and results.hits[0].relevance >= 0.5
    assert results.hits[0].relevance >= max(h.relevance or 0.0 for h in results.hits[1:])


@pytest.mark.parametrize("question", ["フェローの契約形態は", "美味しいラーメン屋"])
def test_second_page_equals_search_slice(seed: Index, question: str) -> None:
    page = seed.query(question, 5, offset=5)
    assert page.hits == seed.search(question, 10)[5:10]
    assert [h.rank for h in page.hits] == [6, 7, 8, 9, 10]
    assert page.total == seed.query(question, 5).total


def test_relevance_in_json_and_document_filter(seed: Index) -> None:
    results = seed.query("住民に費用を負担してもらう仕組み", 3)
    data = json.loads(json.dumps(results.to_dict(), ensure_ascii=False))
    assert data["answerable"] is True and data["total"] == results.total
    assert all(0.0 <= hit["relevance"] <= 1.0 for hit in data["hits"])
    document = results.hits[0].finding.document
    same = seed.query("住民に費用を負担してもらう仕組み", 3, filters=Filters(documents=[document]))
    assert same.hits == results.hits and same.total == results.total
    none = seed.query("住民に費用を負担してもらう仕組み", 3, filters=Filters(documents=["ない.pdf"]))
    assert (none.hits, none.total, none.answerable) == ([], 0, False)


def test_held_out_abstention_figures(seed: Index) -> None:
    """Seed test questions and the off-topic test half through Index.query (about 10 s)."""
    bench = load_benchmark(ROOT / "corpus" / "eval", "test")
    lines = (ROOT / "bench" / "abstention" / "offtopic.jsonl").read_text(encoding="utf-8").splitlines()
    offtopic = [row["text"] for row in map(json.loads, lines) if row["split"] == "test"]
    answerable = success5 = success5_cut = 0
    for qid, text in bench.queries.items():
        results = seed.query(text, 5)
        hit5 = any(bench.qrels[qid].get(h.finding.id, 0) > 0 for h in results.hits)
        answerable += results.answerable
        success5 += hit5
        success5_cut += hit5 and results.answerable
    abstained = sum(not seed.query(text, 1).answerable for text in offtopic)
    measured = {
        "seed_questions": len(bench.queries),
        "seed_answerable": answerable,
        "seed_success5": success5,
        "seed_success5_with_cutoff": success5_cut,
        "offtopic_questions": len(offtopic),
        "offtopic_abstained": abstained,
    }
    off = {k: (v, ABSTENTION[k]) for k, v in measured.items() if abs(v - ABSTENTION[k]) > ABSTENTION["tolerance"]}
    assert not off, f"measured vs expected beyond ±{ABSTENTION['tolerance']} questions: {off}"
    assert success5_cut == success5  # the cut-off hides no answer of the seed test questions

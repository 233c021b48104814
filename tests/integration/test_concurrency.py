"""One shared Index (as the app shares it between sessions) gives correct results to concurrent searches."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from kensaku import Index

QUERIES = [
    "フェローの契約形態は",
    "住民に費用を負担してもらう仕組み",
    "大学と連携するメリット",
    "データの販売",
    "庁内公募",
    "市長のリーダーシップ",
    "スーパーマーケットと連携",
    "都市OS",
]


def test_concurrent_searches_match_sequential(seed_index: Path) -> None:
    searcher = Index.open(seed_index)
    expected = {q: [h.finding.id for h in searcher.search(q, 10)] for q in QUERIES}
    work = QUERIES * 6  # two "tabs" (threads) hammering the same tagger, model and indexes
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda q: (q, [h.finding.id for h in searcher.search(q, 10)]), work))
    assert len(results) == len(work)
    for query, ids in results:
        assert ids == expected[query], query

"""Filters as code masks and the IVF dense leg on the real seed index: the masks select exactly the findings
``Filters.accepts`` does, similar cases exclude the source's municipality, and a searcher over an IVF index that
probes every list ranks exactly as the flat one (only ``total`` becomes a lower bound)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from kensaku import Filters, Index
from kensaku.index.columns import Columns
from kensaku.index.dense import DenseIndex
from kensaku.index.search import Searcher

QUERIES = ["フェローの契約形態は", "データ連携基盤の運用費用", "住民の合意形成", "人材育成"]


@pytest.fixture(scope="module")
def index(seed_index: Path) -> Index:
    return Index.open(seed_index)


def filter_cases(index: Index) -> list[Filters]:
    findings = index.findings
    munis = index.bundle.columns.present("municipality")
    return [
        Filters(municipalities=[munis[0]]),
        Filters(municipalities=munis[:3], kinds=["lesson"]),
        Filters(chapters=[findings[0].chapter]),
        Filters(sections=[findings[50].section], exclude_municipalities=[munis[1]]),
        Filters(exclude_municipalities=munis[:5], exclude_ids=[findings[3].id, findings[7].id]),
        Filters(documents=[findings[0].document], kinds=["practice"]),
        Filters(municipalities=["存在しない市"]),
    ]


def test_masks_select_what_accepts_selects(index: Index) -> None:
    searcher = index.searcher
    for filters in filter_cases(index):
        mask = searcher._allowed(filters)
        assert mask is not None
        expected = [i for i, f in enumerate(index.findings) if filters.accepts(f)]
        assert np.flatnonzero(mask).tolist() == expected, filters


def test_stored_columns_equal_those_of_the_findings(index: Index) -> None:
    stored, fresh = index.bundle.columns, Columns.of(list(index.findings))
    assert stored.values == fresh.values
    assert np.array_equal(stored.codes, fresh.codes) and np.array_equal(stored.blocks, fresh.blocks)
    for f in list(index.findings)[::37]:
        assert index.findings.row_of(f.id) is not None and index.findings[index.findings.row_of(f.id)] == f
    assert index.findings.row_of("no such id") is None


def test_similar_elsewhere_never_returns_the_source_municipality(index: Index) -> None:
    source = index.findings[120]
    hits = index.similar(source.id, k=10, other_municipalities=True)
    assert len(hits) == 10
    assert all(h.finding.municipality != source.municipality and h.finding.id != source.id for h in hits)


def test_ivf_probing_every_list_ranks_as_the_flat_index(index: Index) -> None:
    bundle = index.bundle
    vectors = bundle.dense.vectors(np.arange(len(index)))
    ivf = replace(bundle, dense=DenseIndex.build(vectors, ann="ivf"))
    assert ivf.dense.kind == "ivf" and ivf.dense.nprobe >= ivf.dense._ann.nlist  # small: every list is probed
    flat_searcher, ivf_searcher = index.searcher, Searcher(ivf, index.embedder)
    munis = bundle.columns.present("municipality")
    for query in QUERIES:
        for filters in (None, Filters(municipalities=munis[:2]), Filters(exclude_municipalities=munis[:1])):
            a = flat_searcher.query(query, 10, filters=filters)
            b = ivf_searcher.query(query, 10, filters=filters)
            assert [h.finding.id for h in b.hits] == [h.finding.id for h in a.hits], (query, filters)
            for x, y in zip(a.hits, b.hits, strict=True):
                assert y.score == pytest.approx(x.score, abs=1e-5)
                assert y.relevance == pytest.approx(x.relevance, abs=1e-4)
            assert a.total_exact and not b.total_exact and b.total <= a.total
            assert b.answerable == a.answerable

"""Users' own documents get their municipality (from folder, file name, title or text) on every finding, so that
municipality filters and 「類似事例（他自治体）」 (similar findings of other municipalities) work on them."""

from __future__ import annotations

from pathlib import Path

import pytest

from kensaku import Filters, Index
from kensaku.ingest.pipeline import ingest_paths
from tests.support import KeywordEmbedder

KAGA = """\
# 取組報告

## 推進体制

- フェローとの契約は要綱で定め、謝礼金で対応している。
- データ連携基盤を整備し、住民サービスに活用している。

## 取組を通じた知見・課題

- 大学と連携してデータ分析の人材を育成することが重要である。
"""

AIZU = """\
# 取組報告

## 推進体制

- 外部人材との契約は業務委託とし、フェローの役割を明確にした。
- 住民のデータ活用に同意を得る仕組みを整えた。
"""

NAGANO = """\
# 長野県DX戦略

- 県内の市町村と共同で、データ連携基盤の予算を確保した。
"""

TAKAMATSU = """\
取組の概要

高松市では、スマートシティの推進体制として庁内横断の会議を設けた。
フェローとの契約は年度ごとに見直している。
"""


@pytest.fixture()
def docs(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    for folder, name, text in [
        ("加賀市", "取組報告.md", KAGA),  # municipality from the folder
        ("会津若松市", "取組報告.md", AIZU),  # same file name: ids get the folder
        ("県", "dx_strategy.md", NAGANO),  # a prefecture only, from the title
        ("その他", "kaga_smartcity_2023.txt", TAKAMATSU),  # romaji file name; the opening text names 高松市
    ]:
        (root / folder).mkdir(parents=True)
        (root / folder / name).write_text(text, encoding="utf-8")
    return root


def test_every_finding_has_its_document_municipality(docs: Path) -> None:
    result = ingest_paths([docs])
    assert not result.errors
    by_document: dict[str, set[str]] = {}
    for f in result.findings:
        by_document.setdefault(f.id.split(":")[0], set()).add(f.municipality)
        assert f.municipality and f"｜{f.municipality}｜" in f.citation
    assert by_document == {
        "加賀市/取組報告": {"加賀市"},
        "会津若松市/取組報告": {"会津若松市"},
        "dx_strategy": {"長野県"},
        "kaga_smartcity_2023": {"高松市"},
    }


def test_filters_and_similar_in_other_municipalities(docs: Path, tmp_path: Path) -> None:
    index = Index.build([docs], tmp_path / "index", embedder=KeywordEmbedder())
    kaga = [f for f in index.findings if f.municipality == "加賀市"]
    assert len(kaga) == 3

    hits = index.search("フェローの契約", k=10, filters=Filters(municipalities=["加賀市"]))
    assert hits and {h.finding.municipality for h in hits} == {"加賀市"}

    source = next(f for f in kaga if "フェロー" in f.text)
    similar = index.similar(source.id, k=10, other_municipalities=True)
    assert similar, "findings of other municipalities are similar"
    assert all(h.finding.municipality not in ("加賀市", "") for h in similar)
    assert {"会津若松市", "高松市"} <= {h.finding.municipality for h in similar}

    everyone = index.similar(source.id, k=10)
    assert "加賀市" in {h.finding.municipality for h in everyone}  # without the option, 加賀市 is found too

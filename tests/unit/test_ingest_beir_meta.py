"""BEIR corpus lines with optional municipality/chapter/section become the findings' fields (issue 14)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kensaku.errors import DocumentError
from kensaku.ingest.beir import load_beir_corpus

# (record, expected (municipality, chapter, section, heading, citation))
CASES: list[tuple[dict[str, object], tuple[str, str, str, str, str]]] = [
    (
        {
            "_id": "m1",
            "title": "フェロー制度",
            "text": "フェローとの契約は要綱で定めた。",
            "municipality": "加賀市",
            "chapter": "推進体制",
            "section": "人材育成・人材活用",
        },
        (
            "加賀市",
            "推進体制",
            "人材育成・人材活用",
            "フェロー制度",
            "corpus.jsonl｜加賀市｜推進体制 › 人材育成・人材活用 › フェロー制度｜L1",
        ),
    ),
    (
        {
            "_id": "m2",
            "title": "",
            "text": "住民説明会を地区ごとに開いた。",
            "metadata": {"municipality": "北海道更別村", "chapter": "市民参画"},
        },
        ("北海道更別村", "市民参画", "", "", "corpus.jsonl｜北海道更別村｜市民参画｜L2"),
    ),
    (
        # the top level wins over metadata; whitespace is normalized
        {
            "_id": "m3",
            "title": "費用負担",
            "text": "国の交付金を活用する。",
            "municipality": " 会津若松市 ",
            "metadata": {"municipality": "浜松市", "section": "財源確保"},
        },
        ("会津若松市", "", "財源確保", "費用負担", "corpus.jsonl｜会津若松市｜財源確保 › 費用負担｜L3"),
    ),
    (
        # no metadata at all: as before the fields existed
        {"_id": "m4", "title": "庁内体制", "text": "全庁的な推進体制を構築した。"},
        ("", "", "", "庁内体制", "corpus.jsonl｜庁内体制｜L4"),
    ),
    (
        # null values and a non-object metadata are "absent"
        {"_id": "m5", "title": "", "text": "データ連携基盤を共同で調達した。", "municipality": None, "metadata": "x"},
        ("", "", "", "", "corpus.jsonl｜L5"),
    ),
    (
        # a top-level null falls back to the nested value
        {
            "_id": "m6",
            "title": "避難所",
            "text": "避難所の運営を地域の自主防災組織に委ねた。",
            "municipality": None,
            "metadata": {"municipality": "北海道森町", "chapter": "防災・減災", "section": None},
        },
        ("北海道森町", "防災・減災", "", "避難所", "corpus.jsonl｜北海道森町｜防災・減災 › 避難所｜L6"),
    ),
]


def _write(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8")
    return path


def test_optional_metadata_becomes_the_findings_fields(tmp_path: Path) -> None:
    path = _write(tmp_path / "corpus.jsonl", [record for record, _ in CASES])
    findings, _ = load_beir_corpus(path)
    got = [(f.municipality, f.chapter, f.section, f.heading, f.citation) for f in findings]
    assert got == [expected for _, expected in CASES]
    assert [f.id for f in findings] == ["m1", "m2", "m3", "m4", "m5", "m6"]


def test_a_file_without_metadata_reads_as_before(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "corpus.jsonl", [{"_id": "d1", "title": "庁内体制", "text": "全庁的な推進体制を構築した。"}]
    )
    [finding], _ = load_beir_corpus(path)
    assert (finding.municipality, finding.chapter, finding.section) == ("", "", "")
    assert finding.citation == "corpus.jsonl｜庁内体制｜L1"


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"_id": "x", "text": "本文。", "municipality": 202}, "municipality"),
        ({"_id": "x", "text": "本文。", "metadata": {"chapter": ["推進体制"]}}, "chapter"),
    ],
)
def test_a_non_string_field_is_refused_with_its_name(tmp_path: Path, record: dict[str, object], field: str) -> None:
    path = _write(tmp_path / "corpus.jsonl", [record])
    with pytest.raises(DocumentError, match=f"line 1: '{field}' must be a string"):
        load_beir_corpus(path)

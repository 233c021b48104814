"""Document metadata (municipality, prefecture, year) from titles, file names, folders and opening text."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kensaku.ingest import Document, segment
from kensaku.ingest.memory import texts_to_findings
from kensaku.ingest.metadata import (
    DocumentMetadata,
    document_metadata,
    find_mentions,
    find_year,
    gazetteer,
    opening_text,
    places_named,
)
from kensaku.ingest.segment import with_municipality
from tests.support import ROOT

DATA = ROOT / "ingest" / "data"


def doc(title: str = "", *lines: str, path: str = "報告.md") -> Document:
    return Document(path=path, name=Path(path).name, title=title, lines=tuple(lines), sha256="0")


# (title, lines, path) → (municipality, prefecture, source)
CASES = [
    (("加賀市スマートシティ推進計画", (), "plan.md"), ("加賀市", "石川県", "title")),
    (("石川県加賀市の取組", (), "plan.md"), ("加賀市", "石川県", "title")),
    (("府中市の地域DX", (), "plan.md"), ("府中市", "", "title")),
    (("府中市の地域DX", ("東京都のモデル事業として実施した。",), "plan.md"), ("府中市", "東京都", "title")),
    (("府中市の地域DX", ("広島県の補助事業として実施した。",), "plan.md"), ("府中市", "広島県", "title")),
    (("東京都府中市の地域DX", (), "plan.md"), ("府中市", "東京都", "title")),
    (("広島県府中市の地域DX", (), "plan.md"), ("府中市", "広島県", "title")),
    (("伊達市の取組", (), "plan.md"), ("伊達市", "", "title")),
    (("伊達市の取組", ("福島県伊達市では",), "plan.md"), ("伊達市", "福島県", "title")),
    (("北海道札幌市中央区のまちづくり", (), "plan.md"), ("札幌市", "北海道", "title")),
    (("長野県のDX戦略", (), "plan.md"), ("長野県", "長野県", "title")),
    (("石川県能美郡川北町の事例", (), "plan.md"), ("川北町", "石川県", "title")),
    (("市町村の取組", ("都市計画の区分と市民の参画。", "空港区域の整備。"), "plan.md"), ("", "", "")),
    (("大和証券との連携", (), "plan.md"), ("", "", "")),
    (("報告", (), "資料/加賀市/報告.pdf"), ("加賀市", "石川県", "folder")),
    (("報告", (), "石川県/加賀市/2023/報告.pdf"), ("加賀市", "石川県", "folder")),
    (("報告", (), "会津若松市_報告.pdf"), ("会津若松市", "福島県", "file")),
    (("報告", (), "kaga_smartcity_2023.pdf"), ("", "", "")),  # romaji names no municipality
    (("概要", ("# 概要", "加賀市長は加賀市民とともに", "小松市と連携した。"), "plan.md"), ("加賀市", "石川県", "text")),
    (("概要", ("加賀市と小松市の連携",), "plan.md"), ("", "", "")),  # two equally: none
    (("連絡先", ("〒100-8926 東京都千代田区霞が関2-1-2", "電話 03-5253-5111"), "plan.md"), ("", "", "")),
    (("鎌ヶ谷市の取組", (), "plan.md"), ("鎌ケ谷市", "千葉県", "title")),
    (("高松市の取組", (), "資料/加賀市/報告.pdf"), ("高松市", "香川県", "title")),  # the title outranks folders
]


@pytest.mark.parametrize(("given", "expected"), CASES, ids=[c[0][0] + "|" + c[0][2] for c in CASES])
def test_municipality_prefecture_and_source(given: tuple[str, tuple[str, ...], str], expected: tuple[str, ...]) -> None:
    title, lines, path = given
    meta = document_metadata(doc(title, *lines, path=path))
    assert (meta.municipality, meta.prefecture, meta.source) == expected


@pytest.mark.parametrize(
    ("text", "bare", "year"),
    [
        ("令和5年度 スマートシティ実証", False, 2023),
        ("令和５年度", False, 2023),
        ("令和元年度", False, 2019),
        ("令和五年度", False, 2023),
        ("平成31年度 報告書", False, 2019),
        ("平成三十一年", False, 2019),
        ("2022年度 実績", False, 2022),
        ("2021年3月策定、令和4年度改定", False, 2022),  # 年度 over 年
        ("2021年3月策定", False, 2021),
        ("kaga_smartcity_2023", False, None),
        ("kaga_smartcity_2023", True, 2023),
        ("report_20230401", True, None),
        ("第3期計画", True, None),
        ("平成45年度", False, None),
    ],
)
def test_year(text: str, bare: bool, year: int | None) -> None:
    assert find_year(text, bare=bare) == year


def test_year_comes_from_the_most_trusted_source() -> None:
    assert document_metadata(doc("令和5年度 加賀市報告", "2020年度の実績", path="x/2019/a.md")).year == 2023
    assert document_metadata(doc("加賀市報告", "2020年度の実績", path="x/2019/a.md")).year == 2019
    assert document_metadata(doc("加賀市報告", "2020年度の実績", path="a.md")).year == 2020


def test_full_metadata_of_a_ward() -> None:
    meta = document_metadata(doc("北海道札幌市中央区のまちづくり"))
    assert meta == DocumentMetadata(
        title="北海道札幌市中央区のまちづくり",
        municipality="札幌市",
        prefecture="北海道",
        year=None,
        source="title",
        ward="中央区",
        code="011002",
    )


def test_title_is_kept_and_only_filled_when_empty() -> None:
    assert document_metadata(doc("読み手のタイトル", "# 見出し")).title == "読み手のタイトル"
    assert document_metadata(doc("", "", "# 見出し", "本文")).title == "見出し"
    assert document_metadata(doc("", path="資料/加賀市報告.md")).title == "加賀市報告"


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("東京都府中市", [("東京都", ""), ("府中市", "東京都")]),
        ("京都府京都市左京区", [("京都府", ""), ("京都市左京区", "京都府")]),
        ("北海道札幌市中央区", [("北海道", ""), ("札幌市中央区", "北海道")]),
        ("山形県東村山郡山辺町", [("山形県", ""), ("山辺町", "山形県")]),
        ("四日市市と廿日市市", [("四日市市", ""), ("廿日市市", "")]),
        ("南アルプス市、つくばみらい市、ニセコ町", [("南アルプス市", ""), ("つくばみらい市", ""), ("ニセコ町", "")]),
        ("加賀市長と府中市民", [("加賀市", ""), ("府中市", "")]),
        ("東京都港区", [("東京都", ""), ("港区", "東京都")]),
        ("港区分と中央区域", []),
        ("各市町村や県内の市町、本市、都市", []),
        ("東京と大阪", []),
    ],
)
def test_mentions(text: str, names: list[tuple[str, str]]) -> None:
    assert [(m.name, m.prefecture) for m in find_mentions(text)] == names


def test_the_list_is_complete_and_well_formed() -> None:
    rows = [line.split("\t") for line in (DATA / "municipalities.tsv").read_text(encoding="utf-8").splitlines()]
    assert rows[0] == ["団体コード", "都道府県名", "市区町村名", "区名"]
    body = rows[1:]
    assert all(len(r) == 4 and len(r[0]) == 6 for r in body)
    prefectures = [r for r in body if not r[2]]
    wards = [r for r in body if r[3]]
    assert len(prefectures) == 47
    assert len(body) - 47 - len(wards) == 1747  # 1,741 municipalities and the six villages of the Northern Territories
    for code, *_ in body:  # JIS X 0402 check digit
        total = sum(int(d) * w for d, w in zip(code[:5], (6, 5, 4, 3, 2), strict=True))
        assert int(code[5]) == (11 - total % 11) % 10, code
    assert [p.prefecture for p in places_named("府中市")] == ["東京都", "広島県"]
    assert "総務省" in (DATA / "README.md").read_text(encoding="utf-8")


def test_opening_text_is_limited_and_skips_addresses() -> None:
    lines = ["〒920-8203 石川県金沢市鞍月", *[f"{n}行目" for n in range(100)]]
    opening = opening_text(doc("t", *lines))
    assert opening[0] == "0行目" and len(opening) == 39


def test_generic_findings_get_the_document_municipality_and_citation() -> None:
    findings = segment(doc("", "# 加賀市の取組", "", "## 推進体制", "", "- フェローと契約した。", path="a/b.md"))
    assert [f.municipality for f in findings] == ["加賀市"]
    assert findings[0].citation == "b.md｜加賀市｜推進体制｜L5"
    assert type(findings[0]).from_dict(findings[0].to_dict()) == findings[0]
    assert [f.municipality for f in segment(doc("", "# 取組", "", "- 契約した。"))] == [""]


def test_with_municipality_keeps_a_municipality_already_set() -> None:
    findings = texts_to_findings([{"text": "本文。", "municipality": "小松市"}, "別の本文。"])
    done = with_municipality(findings, "加賀市")
    assert [f.municipality for f in done] == ["小松市", "加賀市"]
    assert done[1].citation == "texts｜加賀市｜#2"
    assert with_municipality(findings, "") == findings


def test_importing_kensaku_loads_neither_the_list_nor_mecab() -> None:
    code = (
        "import sys, kensaku, kensaku.ingest.metadata as m; "
        "print(m.gazetteer.cache_info().currsize, 'fugashi' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["0", "False"]
    assert gazetteer().longest >= 7

"""The report segmenter on the real seed corpus (corpus/smartcity_model_project_cases.txt)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace

import pytest

from kensaku.ingest import (
    Document,
    Finding,
    clean_text,
    looks_like_case_report,
    read_document,
    segment,
    split_sentences,
)
from kensaku.ingest.segment.report import report_pages
from tests.support import ROOT

SEED = ROOT / "corpus" / "smartcity_model_project_cases.txt"
FIRST_BANNER_LINE = 47  # `1. 推進体制 ～①庁内体制～`; everything above is the table of contents
MAX_CHARS = 400
MARKER = re.compile(r"^(?:[-*+]\s+|[・○]\s*)")


@pytest.fixture(scope="module")
def doc() -> Document:
    return read_document(SEED)


@pytest.fixture(scope="module")
def findings(doc: Document) -> list[Finding]:
    return segment(doc)


@pytest.fixture(scope="module")
def by_line(findings: list[Finding]) -> dict[int, Finding]:
    return {f.line_start: f for f in findings if "." not in f.id.rsplit(":L", 1)[1]}


def line(doc: Document, n: int) -> str:
    return clean_text(doc.lines[n - 1])


def test_seed_is_detected_as_case_report(doc: Document) -> None:
    assert looks_like_case_report(doc)
    assert doc.title == "スマートシティモデルプロジェクト における取組事例"
    # 1,004 newlines (what `wc -l` counts) plus a last line without one, as an editor shows it.
    assert len(doc.lines) == 1005
    assert doc.lines[-1] == "(日本電気(株)資料)"


def test_finding_count_is_sane(findings: list[Finding]) -> None:
    assert 250 <= len(findings) <= 320, len(findings)


def test_counts_per_kind_and_chapter(findings: list[Finding]) -> None:
    kinds = Counter(f.kind for f in findings)
    chapters = Counter(f.chapter for f in findings)
    assert kinds["lesson"] >= 100 and kinds["practice"] >= 100, kinds
    assert set(chapters) == {"推進体制", "費用負担", "市民参画", "その他"}, chapters


def test_no_finding_from_table_of_contents(findings: list[Finding]) -> None:
    assert min(f.line_start for f in findings) > FIRST_BANNER_LINE


def test_text_nonempty_and_within_max_unless_one_sentence(findings: list[Finding]) -> None:
    for f in findings:
        assert f.text.strip() == f.text and f.text, f.id
        assert len(f.text) <= MAX_CHARS or len(split_sentences(f.text)) == 1, f.id
        assert f.line_start <= f.line_end


def test_ids_unique_and_stable(doc: Document, findings: list[Finding]) -> None:
    ids = [f.id for f in findings]
    assert len(ids) == len(set(ids))
    assert all(i.startswith("smartcity_model_project_cases:L") for i in ids)
    again = segment(read_document(SEED))
    assert [f.to_dict() for f in again] == [f.to_dict() for f in findings]


def test_no_markdown_emphasis_anywhere(findings: list[Finding]) -> None:
    for f in findings:
        for value in (f.text, f.heading, f.citation, f.source_note, *f.extra.values()):
            assert "**" not in value, f.id


def test_citation_faithfulness(doc: Document, findings: list[Finding]) -> None:
    """The first characters of a finding are on its first cited line; one-line findings equal that line."""
    for f in findings:
        if f.extra.get("source") == "table":
            continue
        first = MARKER.sub("", line(doc, f.line_start))
        head = f.text[:10]
        if "." in f.id.rsplit(":L", 1)[1]:
            assert f.text in first, f.id  # a split part of a one-line bullet
            continue
        assert head in first or first in head, (f.id, head, first)
        if f.line_start == f.line_end:
            assert f.text == first, f.id


# (line_start, kind, municipality, chapter, section, heading, topic, text start)
EXPECTED = [
    (205, "lesson", "加賀市", "推進体制", "人材育成・人材活用",
     "取組みを通じた知見・課題", "フェローとの契約関係",
     "加賀市では謝礼金で対応しているものの、"),
    (200, "practice", "加賀市", "推進体制", "人材育成・人材活用",
     "フェローとの契約関係", None,
     "加賀市においては、"),
    (54, "practice", "加賀市", "推進体制", "庁内体制",
     "推進組織の大規模化と全庁での取組化", None,
     "市長の強いリーダーシップ"),
    (56, "practice", "加賀市", "推進体制", "庁内体制",
     "推進組織の大規模化と全庁での取組化", None,
     "次世代人材の育成の観点を持ち、"),
    (184, "practice", "加賀市", "推進体制", "人材育成・人材活用",
     "フェローの位置づけ", None,
     "加賀市では市長から"),
    (243, "practice", "北海道更別村", "推進体制", "人材育成・人材活用",
     "地域と外部の企業を結ぶハブとなる人物の活用", None,
     "地元出身で農業の研究経験があり"),
    (252, "lesson", "北海道更別村", "推進体制", "人材育成・人材活用",
     "取組を通じた知見・課題", "地域と外部の企業を結ぶハブとなる人物の活用",
     "行政が人的ネットワークを有していない場合には"),
    (351, "practice", "加賀市", "推進体制", "官民連携",
     "問題整理や課題設定からの支援の着手", None,
     "フェローや市職員が自ら"),
    (423, "practice", "会津若松市", "推進体制", "官民連携",
     "行政の役割", None,
     "企業の提案を積極的に受入れ"),
    (444, "practice", "会津若松市", "推進体制", "官民連携",
     "地元企業のメリット", None,
     "地元企業においても"),
    (476, "lesson", "つくば市", "推進体制", "大学連携",
     "取組みを通じた知見・課題", "大学連携におけるポイント",
     "大学と行政の継続的な連携には組織間連携が重要である。"),
    (535, "practice", "加賀市", "費用負担", "行政による予算確保",
     "自治体内の施策の位置づけ", None,
     "自治体内の最重要施策"),
    # 松山市 starts mid-page, without a new banner.
    (548, "practice", "松山市", "費用負担", "行政による予算確保",
     "部門をまたいだスマートシティ予算の活用", None,
     "松山市はスマートシティの取組により"),
    (554, "lesson", "松山市", "費用負担", "行政による予算確保",
     "取組みを通じた知見・課題", "部門をまたいだスマートシティ予算の活用",
     "まちづくりという特定分野での"),
    (564, "practice", "三重県多気町ほか", "費用負担", "行政による予算確保",
     "複数自治体連携による資金負担の低減・取組の拡大", None,
     "既存の周辺自治体との連携体制"),
    (603, "practice", "仙台市（泉区）", "費用負担", "住民による費用負担",
     "住民負担による新たな取組構想(泉パークタウンLID※)", None,
     "泉パークタウンでは、"),
    (610, "lesson", "仙台市（泉区）", "費用負担", "住民による費用負担",
     "取組を通じた知見・課題", "住民負担による新たな取組構想(泉パークタウンLID※)",
     "住民の費用負担のスキームは"),
    (627, "practice", "前橋市", "費用負担", "民間資金を活用したまちづくり",
     "官民連携のビジョン策定～ファイナンススキーム構築", None,
     "前橋市では、地元出身の実業家"),
    (666, "practice", "松山市", "費用負担", "データ戦略",
     "ビジネスモデル", None,
     "都市マネジメント組織（公民学連携"),
    (676, "practice", "会津若松市", "市民参画", "",
     "意見聴取、情報発信・取得に伴う留意点", None,
     "市民のサービス利用状況"),
    # つくば市 also starts mid-page in chapter 3.
    (725, "practice", "つくば市", "市民参画", "",
     "住民との綿密なコミュニケーションと関係構築", None,
     "つくば市では、"),
    (762, "practice", "大阪府河内長野市", "市民参画", "",
     "地元自治会が主体となった取組推進", None,
     "河内長野市では"),
    (808, "practice", "会津若松市", "その他", "初動段階",
     "東日本大震災による影響や都市経営上の課題認識", None,
     "東日本大震災の"),
    (853, "practice", "加賀市", "その他", "初動段階",
     "製造業の生産性の低さ", "基幹産業の衰退など、都市経営上の課題認識",
     "主要産業である製造業は"),
    (876, "lesson", "加賀市", "その他", "初動段階",
     "取組を通じた知見、課題", "スマートシティ推進を重視する政治的姿勢の明確化",
     "加賀市長自らエストニアを訪問し"),
    (957, "lesson", "会津若松市", "その他", "実装段階",
     "取組みを通じた知見・課題", "トライアンドエラーによる実装への事業磨き上げ",
     "ある程度実装できないことも"),
    (1001, "practice", "高松市", "その他", "実装段階",
     "共通プラットフォーム（FIWARE）", "都市OSの活用について",
     "グローバルスタンダードなオープンAPI"),
]  # fmt: skip


@pytest.mark.parametrize(("start", "kind", "municipality", "chapter", "section", "heading", "topic", "text"), EXPECTED)
def test_specific_findings(
    by_line: dict[int, Finding],
    start: int,
    kind: str,
    municipality: str,
    chapter: str,
    section: str,
    heading: str,
    topic: str | None,
    text: str,
) -> None:
    f = by_line[start]
    assert (f.kind, f.municipality, f.chapter, f.section, f.heading) == (kind, municipality, chapter, section, heading)
    assert f.extra.get("topic") == topic
    assert f.text.startswith(text)
    assert f.document == "smartcity_model_project_cases.txt"
    assert f.title == "スマートシティモデルプロジェクト における取組事例"


def test_fellow_contract_lesson_citation(by_line: dict[int, Finding]) -> None:
    f = by_line[205]
    assert f.id == "smartcity_model_project_cases:L205"
    assert f.line_end == 205
    assert f.citation == (
        "smartcity_model_project_cases.txt｜加賀市｜推進体制 › 人材育成・人材活用 › フェローとの契約関係"
        " › 取組みを通じた知見・課題｜報告書 p.7｜L205"
    )
    assert f.text == (
        "加賀市では謝礼金で対応しているものの、アーキテクトやフェローが職業化されておらず、"
        "ある種ボランティア的な要素となっている部分もある。将来的には明確なルール化が必要である。"
    )


def test_business_model_paragraph(doc: Document, by_line: dict[int, Finding]) -> None:
    f = by_line[666]
    assert f.text == line(doc, 666)
    assert f.text.endswith("投資回収時期は、システム実装後7年目を見込んでいる。")


def test_takamatsu_box_paragraphs(by_line: dict[int, Finding]) -> None:
    for start in (274, 276):
        f = by_line[start]
        assert f.kind == "practice"
        assert f.heading == "スマートシティたかまつ推進協議会"
        assert f.extra["topic"] == "産官学の大規模な連携体制の構築"
        assert set(f.extra) <= {"topic", "report_page", "year"}
    assert by_line[274].text.startswith("2017年10月に、産学民官の多様な主体の連携を通じて")


def test_takino_table_is_one_readable_finding(findings: list[Finding]) -> None:
    [f] = [f for f in findings if "14,450" in f.text]
    assert (f.line_start, f.line_end, f.kind, f.municipality) == (568, 576, "practice", "三重県多気町ほか")
    assert f.text == (
        "取組における連携自治体: 多気町（総人口14,450人、人口増加率-3.6%）、明和町（総人口22,621人、人口増加率-1.1%）、"
        "大台町（総人口9,087人、人口増加率-8.2%）、度会町（総人口8,022人、人口増加率-4.4%）、"
        "大紀町（総人口8,212人、人口増加率-9.2%）、紀北町（総人口15,217人、人口増加率-12.2%）"
    )
    assert f.source_note == "※スーパーシティ構想（三重県多気町・2020年度）より引用。"


def test_six_town_overview_one_finding_per_cell(findings: list[Finding]) -> None:
    cells = [f for f in findings if f.heading == "6町が連携する取組の概要"]
    assert [f.text.split(":")[0] for f in cells] == [
        "医療ヘルスケア", "モビリティ・サービス", "地域産業活性化", "地域情報発信基盤",
        "ゼロカーボンシティ", "デジタルインフラ・防災", "デジタル地域経済圏", "多目的ツーリズム",
    ]  # fmt: skip
    assert (
        cells[0].text == "医療ヘルスケア: 7万人のドクターネットワークとPHR連動型の医療サービスが支える、未来の地域医療"
    )
    assert [(f.line_start, f.line_end) for f in cells] == [(590, 591)] * 4 + [(592, 593)] * 4
    assert [f.id.rsplit(":", 1)[1] for f in cells[:4]] == ["L590", "L590.2", "L590.3", "L590.4"]
    assert all(40 <= len(f.text) <= 300 for f in cells)


SOURCE_NOTES = [
    # (finding lines, note)
    ((103, 104, 105, 106, 110, 111, 112), "出典：高松市「スーパーシティ構想」の概要（高松市、2021年）"),
    ((264, 269, 270, 274, 276), "出典：スマートシティたかまつ推進プラン【2019年度～2021年度】（高松市、2019年）"),
    ((470, 476, 478), "出典:つくば市「つくばスーパーサイエンスシティ構想」提案書(つくば市、2021年)"),
    ((124, 145), "ほかの出典：会津若松市スーパーシティ提案書"),
    ((54, 64), "※ヒアリング結果より作成。"),
]


@pytest.mark.parametrize(("starts", "note"), SOURCE_NOTES)
def test_source_notes_attach_to_their_page(by_line: dict[int, Finding], starts: tuple[int, ...], note: str) -> None:
    for start in starts:
        assert by_line[start].source_note == note, start


def test_source_and_caption_lines_are_never_findings(doc: Document, findings: list[Finding]) -> None:
    notes = [n for n, raw in enumerate(doc.lines, 1) if re.match(r"^(ほかの)?出典|^※|^\(日本電気", raw.strip())]
    assert len(notes) == 20
    captions = [66, 70, 133, 135, 137, 194, 196, 254, 280, 300, 403, 750, 767, 997]
    starts = {f.line_start for f in findings}
    assert not starts & set(notes + captions)
    texts = {f.text for f in findings}
    for caption in (
        "行政内の推進体制イメージ",
        "※ヒアリング結果より作成。",
        "ICTに精通した人材を各部に配置",
        "<2019年3月現在>",
    ):
        assert caption not in texts
    assert not any(f.text.startswith(("出典", "ほかの出典", "※")) for f in findings)


def test_figure_lists_are_merged_with_their_caption(by_line: dict[int, Finding]) -> None:
    f = by_line[890]
    assert f.text == (
        "運営の5原則（世界経済フォーラムの指針と整合）: "
        "1 透明性／2 公平性と多様性／3 相互運用性／4 継続性／5 安心・安全"
    )
    assert (f.line_end, f.heading, f.kind) == (896, "スマートシティ加賀構想（2020年3月）", "practice")
    assert by_line[331].text == (
        "加賀市スマートシティ推進官民連携協議会 (2019年8月): "
        "市民との合意形成を図るため設立／産業団体や市民団体等 25 団体で組織"
    )


def test_municipality_page_counters_are_stripped(findings: list[Finding]) -> None:
    municipalities = {f.municipality for f in findings}
    assert municipalities == {
        "加賀市", "会津若松市", "高松市", "北海道更別村", "松山市", "つくば市", "三重県多気町ほか",
        "仙台市（泉区）", "前橋市", "大阪府河内長野市",
    }  # fmt: skip


def test_lessons_carry_their_topic(findings: list[Finding]) -> None:
    lessons = [f for f in findings if f.kind == "lesson"]
    assert lessons
    for f in lessons:
        assert "知見" in f.heading and "課題" in f.heading
        assert f.extra["topic"] and f.extra["topic"] in f.citation, f.id


def test_long_findings_split_at_sentence_ends(doc: Document, findings: list[Finding]) -> None:
    small = segment(doc, max_chars=100)
    assert len({f.id for f in small}) == len(small)
    parts: dict[str, list[Finding]] = {}
    for f in small:
        parts.setdefault(f.id.split(".")[0], []).append(f)
    whole: dict[str, list[Finding]] = {}
    for f in findings:
        whole.setdefault(f.id.split(".")[0], []).append(f)
    assert parts.keys() == whole.keys()
    assert any(len(parts[base]) > len(whole[base]) for base in parts)
    for base, group in parts.items():
        assert "".join(f.text for f in group) == "".join(f.text for f in whole[base]), base
        assert {(f.line_start, f.line_end) for f in group} == {(f.line_start, f.line_end) for f in whole[base]}
        for f in group:
            assert len(f.text) <= 100 or len(split_sentences(f.text)) == 1, f.id
    l214 = parts["smartcity_model_project_cases:L214"]
    assert [(f.id.rsplit(":", 1)[1], f.line_start, f.line_end) for f in l214] == [
        ("L214", 214, 214),
        ("L214.2", 214, 214),
    ]
    assert l214[0].text == (
        "加賀市では現在、フェローがスマートシティ事業全体を牽引し、様々な情報や指針等の提供を行っている。"
        "庁内の内部調整を行う際には、スマートシティ課を通して行っている。"
    )
    assert l214[1].text == "庁内に様々な分科会を作り、議論や取組を分業している。"


def test_every_labelled_finding_id_exists(findings: list[Finding]) -> None:
    """The eval qrels (corpus/eval/qrels/*.tsv) cite findings by id; each must be produced by the segmenter."""
    ids = {f.id for f in findings}
    qrels = sorted((SEED.parent / "eval" / "qrels").glob("*.tsv"))
    assert qrels
    for path in qrels:
        rows = [row.split("\t") for row in path.read_text(encoding="utf-8").splitlines()[1:] if row.strip()]
        assert rows, path
        assert {corpus_id for _, corpus_id, _ in rows} <= ids, path.name


# Pages of the published report, from its table of contents (1. 推進体制 p.2, 2. 費用負担 p.20, 3. 市民参画 p.26):
# one banner per slide. Chapter 4 (その他) is not in the contents; its pages follow from the same rule.
CHAPTER_PAGES = {"推進体制": (2, 19), "費用負担": (20, 25), "市民参画": (26, 30), "その他": (31, 37)}


def test_report_pages_fit_the_table_of_contents(doc: Document, findings: list[Finding]) -> None:
    pages = report_pages(doc.lines)
    assert len(pages) == 36 and sorted(pages.values()) == list(range(2, 38))  # 36 banners, one page each
    assert [doc.lines[i].split()[0] for i in sorted(pages)].count("1.") == 18  # chapter 1: 18 banners, p.2–19
    spans = {
        chapter: (min(p), max(p))
        for chapter in CHAPTER_PAGES
        if (p := [f.report_page or 0 for f in findings if f.chapter == chapter])
    }
    assert spans == CHAPTER_PAGES
    assert all(f.report_page is not None for f in findings)
    ordered = [f.report_page or 0 for f in sorted(findings, key=lambda f: f.line_start)]
    assert ordered == sorted(ordered)


def test_page_counters_sit_on_consecutive_report_pages(doc: Document, by_line: dict[int, Finding]) -> None:
    """加賀市(1/3)…(3/3) under 人材育成・人材活用: three slides, so three consecutive pages."""
    counters = [n for n, line in enumerate(doc.lines, 1) if line.startswith("加賀市(") and "/3)" in line][:3]
    pages = [next(f.report_page for n, f in sorted(by_line.items()) if n > c) for c in counters]
    assert pages == [6, 7, 8]


def test_citation_shows_report_page_apart_from_the_line(by_line: dict[int, Finding]) -> None:
    f = by_line[214]
    assert f.citation == (
        "smartcity_model_project_cases.txt｜加賀市｜推進体制 › 人材育成・人材活用 › フェローの役割等｜報告書 p.8｜L214"
    )
    assert f.location == "L214" and f.report_page == 8 and f.extra["report_page"] == "8"
    assert f.id == "smartcity_model_project_cases:L214"


def test_no_report_pages_when_the_contents_do_not_fit(doc: Document) -> None:
    """One banner of chapter 1 fewer: 費用負担 would start on p.19, not p.20 as listed, so no page is given."""
    second = [i for i, line in enumerate(doc.lines) if line.startswith("1. 推進体制 ～")][1]
    shortened = replace(doc, lines=doc.lines[:second] + doc.lines[second + 1 :])
    assert report_pages(shortened.lines) == {}
    assert all(f.report_page is None and "報告書 p." not in f.citation for f in segment(shortened))
    untitled = replace(doc, lines=tuple(line for line in doc.lines if "\tp." not in line))  # no contents
    assert report_pages(untitled.lines) == {}

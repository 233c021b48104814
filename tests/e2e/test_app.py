"""The Streamlit app in-process (AppTest) on real indexes built with the bundled model."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kensaku import Index
from kensaku.app.plaintext import markdown_literal
from tests.support import ROOT

APP = str(ROOT / "search_app.py")
HEADER = re.compile(r"^(\d+) 件中 (\d+)–(\d+) 件$")


def html_bodies(at: AppTest) -> list[str]:
    return [element.proto.body for element in at.get("html")]


def cards(at: AppTest) -> list[str]:
    return [body for body in html_bodies(at) if body.startswith('<div class="kensaku-card"')]


def start(monkeypatch: pytest.MonkeyPatch, index: Path, tmp_path: Path | None = None) -> AppTest:
    monkeypatch.setenv("KENSAKU_INDEX", str(index))
    if tmp_path is not None:
        monkeypatch.setenv("KENSAKU_DOCUMENTS", str(tmp_path / "data" / "documents"))
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception
    return at


def search(at: AppTest, query: str) -> None:
    at.text_input(key="query").input(query)
    next(b for b in at.button if b.label == "検索").click()
    at.run()
    assert not at.exception


def header(at: AppTest) -> tuple[int, int, int]:
    shown = [m.group(1, 2, 3) for s in at.subheader if (m := HEADER.match(s.value))]
    assert len(shown) == 1, [s.value for s in at.subheader]
    total, first, last = shown[0]
    return int(total), int(first), int(last)


def param(at: AppTest, key: str) -> list[str]:
    values = at.query_params.get(key, [])
    return values if isinstance(values, list) else [values]


def test_search_shows_total_and_cited_cards(monkeypatch: pytest.MonkeyPatch, seed_index: Path) -> None:
    at = start(monkeypatch, seed_index)
    assert at.title[0].value == "kensaku 事例検索"
    search(at, "フェローの契約形態は")
    total, first, last = header(at)
    expected = Index.open(seed_index).query("フェローの契約形態は", 10).total
    assert (total, first, last) == (expected, 1, min(expected, 10))  # the real count of findings, not the page size
    shown = cards(at)
    assert 1 <= len(shown) <= 10  # neighbouring findings of one block share a card
    assert any("要綱で定めている" in card and "L200" in card for card in shown)
    assert all("kensaku-cite" in card and "smartcity_model_project_cases.txt" in card for card in shown)
    assert any(">語句が一致<" in card for card in shown)
    assert any(e.label == "スコアの内訳" for e in at.expander)


def test_paging_moves_through_the_results(monkeypatch: pytest.MonkeyPatch, seed_index: Path) -> None:
    at = start(monkeypatch, seed_index)
    search(at, "スマートシティの推進体制")
    total, _, _ = header(at)
    assert total > 20
    first_page = cards(at)
    assert at.button(key="prev").disabled
    at.button(key="next").click().run()
    assert not at.exception
    assert header(at) == (total, 11, min(20, total)) and param(at, "p") == ["2"]
    assert cards(at) != first_page
    at.button(key="prev").click().run()
    assert header(at) == (total, 1, 10) and param(at, "p") == []
    search(at, "住民の費用負担")  # a new question starts on page 1
    assert header(at)[1] == 1


def test_url_opens_a_later_page(monkeypatch: pytest.MonkeyPatch, seed_index: Path) -> None:
    monkeypatch.setenv("KENSAKU_INDEX", str(seed_index))
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["q"] = "スマートシティの推進体制"
    at.query_params["k"] = "5"
    at.query_params["p"] = "2"
    at.run()
    assert not at.exception
    assert header(at)[1:] == (6, 10)


def test_an_off_topic_question_says_nothing_was_found(monkeypatch: pytest.MonkeyPatch, seed_index: Path) -> None:
    at = start(monkeypatch, seed_index)
    search(at, "美味しいラーメン屋")
    assert "該当する事例は見つかりませんでした" in [s.value for s in at.subheader]
    assert not [s.value for s in at.subheader if HEADER.match(s.value)]
    assert "言い換える" in at.info[0].value and "絞り込み" in at.info[0].value
    weak = [e for e in at.expander if e.label == "関連の薄い結果（参考）"]
    assert len(weak) == 1  # the weak results only behind the expander


def test_neighbouring_findings_of_one_block_are_one_card(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    doc = tmp_path / "docs" / "keiyaku.md"
    doc.parent.mkdir()
    doc.write_text(
        "# 契約の進め方\n\n## 知見\n\n- フェローとの契約は要綱で定めている。\n- 契約の更新は毎年度行う。\n"
        "- 契約書のひな形を共有した。\n\n## 別の話\n\n- 予算の確保が課題である。\n",
        encoding="utf-8",
    )
    Index.build([doc.parent], tmp_path / "index")
    at = start(monkeypatch, tmp_path / "index", tmp_path)
    search(at, "契約の更新と契約書")
    block = [c for c in (re.sub("</?mark>", "", card) for card in cards(at)) if "契約の更新は毎年度行う" in c]
    assert len(block) == 1
    card = block[0]
    assert card.index("フェローとの契約") < card.index("契約の更新") < card.index("契約書のひな形")
    assert "keiyaku.md｜知見｜L5–7" in card
    # The card's context: the finding after the block, and the original file to download.
    downloads = {b.key: b for b in at.get("download_button")}
    assert any(key.startswith("orig-") for key in downloads)
    assert any(b.proto.label == "原文をダウンロード" for b in downloads.values())


def test_filters_have_counts_and_cascade(monkeypatch: pytest.MonkeyPatch, seed_index: Path) -> None:
    at = start(monkeypatch, seed_index)
    muni = at.multiselect(key="municipality")
    assert muni.placeholder == "すべて"
    labels = muni.options  # as shown: 「加賀市（12）」, in 50音順 (あいづわかまつ before かが)
    assert labels and all(re.fullmatch(r".+（\d+）", label) for label in labels), labels
    names = [label.rsplit("（", 1)[0] for label in labels]
    assert names.index("会津若松市") < names.index("加賀市") < names.index("松山市")
    sections_before = len(at.multiselect(key="section").options)
    chapter = at.multiselect(key="chapter")
    chapter.select(chapter.options[0]).run()
    assert not at.exception
    assert len(at.multiselect(key="section").options) < sections_before  # 節 narrowed by 章


def test_a_combination_without_findings_says_so_and_resets(monkeypatch: pytest.MonkeyPatch, seed_index: Path) -> None:
    findings = Index.open(seed_index).findings
    sections = {f.section for f in findings if f.section}
    muni = "加賀市"
    missing = sorted(sections - {f.section for f in findings if f.municipality == muni})[0]
    monkeypatch.setenv("KENSAKU_INDEX", str(seed_index))
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["q"] = "データの活用"
    at.query_params["muni"] = muni
    at.query_params["section"] = missing
    at.run()
    assert not at.exception
    assert "当てはまる事例はありません" in at.warning[0].value
    set_filters = "\n".join(m.value for m in at.markdown)
    assert markdown_literal(f"自治体: {muni}") in set_filters and markdown_literal(f"節: {missing}") in set_filters
    at.button(key="reset-empty").click().run()
    assert not at.exception
    assert at.multiselect(key="municipality").value == [] and at.multiselect(key="section").value == []
    assert header(at)[1] == 1 and param(at, "muni") == [] and param(at, "section") == []


def test_url_opens_the_same_search_and_is_updated(monkeypatch: pytest.MonkeyPatch, seed_index: Path) -> None:
    monkeypatch.setenv("KENSAKU_INDEX", str(seed_index))
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["q"] = "フェローの契約形態は"
    at.query_params["k"] = "3"
    at.query_params["muni"] = "加賀市"
    at.query_params["chapter"] = "存在しない章"  # unknown values are dropped, not an error
    at.run()
    assert not at.exception
    assert at.text_input(key="query").value == "フェローの契約形態は"
    assert at.multiselect(key="municipality").value == ["加賀市"] and at.multiselect(key="chapter").value == []
    shown = cards(at)
    assert 1 <= len(shown) <= 3 and all("加賀市" in c for c in shown)
    search(at, "住民の費用負担")
    flat = {key: param(at, key) for key in ("q", "k", "muni")}
    assert flat == {"q": ["住民の費用負担"], "k": ["3"], "muni": ["加賀市"]}


def test_similar_cases_from_other_municipalities(monkeypatch: pytest.MonkeyPatch, seed_index: Path) -> None:
    at = start(monkeypatch, seed_index)
    search(at, "フェローの契約形態は")
    before = len(cards(at))
    key = next(t for t in at.toggle if t.key and t.key.startswith("similar-")).key
    at.toggle(key=key).set_value(True).run()
    assert not at.exception
    shown = cards(at)
    assert len(shown) == before + 3
    similar = shown[1:4]
    assert all("加賀市" not in c.split("kensaku-crumb")[1].split("</div>")[0] for c in similar)


def test_basket_keeps_questions_notes_and_order(
    monkeypatch: pytest.MonkeyPatch, seed_index: Path, tmp_path: Path
) -> None:
    at = start(monkeypatch, seed_index, tmp_path)
    search(at, "フェローの契約形態は")
    next(b for b in at.button if b.key and b.key.startswith("pick-")).click().run()
    search(at, "住民に費用を負担してもらう仕組み")
    next(b for b in at.button if b.key and b.key.startswith("pick-")).click().run()
    assert not at.exception
    basket = at.session_state["basket"]
    assert [i.query for i in basket.items][:1] == ["フェローの契約形態は"]
    assert basket.items[-1].query == "住民に費用を負担してもらう仕組み"
    assert all(not math.isnan(i.score) and i.score != 0 for i in basket.items)  # the score it had when picked
    assert any(e.label == f"抜粋かご（{len(basket)} 件）" for e in at.expander)
    first, last = basket.ids[0], basket.ids[-1]
    at.text_area(key=f"bk-note-{last}").input("議会答弁の資料に使う").run()
    at.button(key=f"bk-up-{last}").click().run()
    assert not at.exception
    basket = at.session_state["basket"]
    assert basket.ids[-2] == last and basket.items[-2].note == "議会答弁の資料に使う"
    assert param(at, "bk") and first in param(at, "b")
    # The file keeps it for a reload: a fresh session with the same URL gets the same basket back.
    token = param(at, "bk")[0]
    saved = list((tmp_path / "data" / "baskets").glob("*.json"))
    assert [p.stem for p in saved] == [token]
    again = AppTest.from_file(APP, default_timeout=120)
    again.query_params["bk"] = token
    again.run()
    assert not again.exception
    assert again.session_state["basket"].items == basket.items
    at.button(key=f"bk-rm-{first}").click().run()
    assert first not in at.session_state["basket"]


def test_basket_export_names_each_question(monkeypatch: pytest.MonkeyPatch, seed_index: Path, tmp_path: Path) -> None:
    at = start(monkeypatch, seed_index, tmp_path)
    for query in ("フェローの契約形態は", "住民に費用を負担してもらう仕組み"):
        search(at, query)
        next(b for b in at.button if b.key and b.key.startswith("pick-")).click().run()
    basket = at.session_state["basket"]
    index = Index.open(seed_index)
    data = index.export(
        basket.hits(index.finding),
        "md",
        query="",
        queries=[i.query for i in basket.items],
        notes=[i.note for i in basket.items],
    ).decode("utf-8")
    assert "フェローの契約形態は" in data and "住民に費用を負担してもらう仕組み" in data
    assert {b.key for b in at.get("download_button")} >= {"dl_basket", "dl_all"}


def test_empty_query_warns_in_japanese(monkeypatch: pytest.MonkeyPatch, seed_index: Path) -> None:
    at = start(monkeypatch, seed_index)
    search(at, "   ")
    assert "質問を入力してください" in at.error[0].value
    assert cards(at) == []


def test_document_html_is_rendered_inert(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    doc = tmp_path / "injection.md"
    doc.write_text(
        "# 悪意のある文書\n\n"
        "スクリプト<script>alert('x')</script>を含む段落で、契約の話をしている。\n\n"
        '画像<img src=x onerror="alert(1)">を含む段落で、契約の話をしている。\n',
        encoding="utf-8",
    )
    index = tmp_path / "index"
    Index.build([doc], index)
    at = start(monkeypatch, index, tmp_path)
    search(at, "契約")
    joined = "".join(cards(at))
    assert "スクリプト" in joined and "<script>" not in joined and "<img" not in joined
    assert "&lt;script&gt;" in joined and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in joined


def test_unopenable_index_shows_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    at = start(monkeypatch, tmp_path / "missing")
    assert "索引を開けませんでした" in at.error[0].value


def test_example_question_buttons_search(monkeypatch: pytest.MonkeyPatch, seed_index: Path) -> None:
    at = start(monkeypatch, seed_index)
    at.button(key="example-フェローの契約形態は").click().run()
    assert not at.exception
    assert at.text_input(key="query").value == "フェローの契約形態は"
    assert header(at)[1] == 1


def test_query_words_are_marked_in_cards(monkeypatch: pytest.MonkeyPatch, seed_index: Path) -> None:
    at = start(monkeypatch, seed_index)
    search(at, "住民に費用を負担してもらう仕組み")
    shown = "".join(cards(at))
    assert "<mark>費用</mark>" in shown and "<mark>負担</mark>" in shown and "<mark>住民</mark>" in shown
    assert "<mark>し</mark>" not in shown and "<mark>する</mark>" not in shown and "<mark>さ</mark>" not in shown


def test_status_caption_in_jst_and_enter_note(monkeypatch: pytest.MonkeyPatch, seed_index: Path) -> None:
    at = start(monkeypatch, seed_index)
    captions = [c.value for c in at.caption]
    assert any(re.search(r"作成: \d{4}-\d\d-\d\d \d\d:\d\d JST", c) for c in captions), captions
    assert any("Enter は日本語入力の確定に使われるため" in c for c in captions)

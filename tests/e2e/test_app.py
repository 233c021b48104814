"""The Streamlit app in-process (AppTest) on real indexes built with the bundled model."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kensaku import Index
from tests.support import ROOT

APP = str(ROOT / "search_app.py")


def html_bodies(at: AppTest) -> list[str]:
    return [element.proto.body for element in at.get("html")]


def start(monkeypatch: pytest.MonkeyPatch, index: Path) -> AppTest:
    monkeypatch.setenv("KENSAKU_INDEX", str(index))
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception
    return at


def search(at: AppTest, query: str) -> None:
    at.text_input(key="query").input(query)
    next(b for b in at.button if b.label == "検索").click()
    at.run()
    assert not at.exception


def test_search_shows_cited_cards(monkeypatch: pytest.MonkeyPatch, seed_index: Path) -> None:
    at = start(monkeypatch, seed_index)
    assert at.title[0].value == "kensaku 事例検索"
    search(at, "フェローの契約形態は")
    cards = html_bodies(at)
    assert len(cards) == 10
    assert any("要綱で定めている" in card and "L200" in card for card in cards)
    assert all("kensaku-cite" in card and "smartcity_model_project_cases.txt" in card for card in cards)


def test_filters_and_k(monkeypatch: pytest.MonkeyPatch, seed_index: Path) -> None:
    at = start(monkeypatch, seed_index)
    at.multiselect(key="municipality").select("松山市")
    at.slider(key="k").set_value(3)
    at.toggle(key="lessons_only").set_value(True)
    search(at, "データの活用")
    cards = html_bodies(at)
    assert 1 <= len(cards) <= 3
    assert all("松山市" in card and "知見・課題" in card for card in cards)


def test_empty_query_warns(monkeypatch: pytest.MonkeyPatch, seed_index: Path) -> None:
    at = start(monkeypatch, seed_index)
    search(at, "   ")
    assert "empty" in at.warning[0].value
    assert html_bodies(at) == []


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
    at = start(monkeypatch, index)
    search(at, "契約")
    cards = html_bodies(at)
    assert len(cards) == 2
    joined = "".join(cards)
    assert "<script>" not in joined and "<img" not in joined
    assert "&lt;script&gt;" in joined and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in joined


def test_unopenable_index_shows_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    at = start(monkeypatch, tmp_path / "missing")
    assert "索引を開けませんでした" in at.error[0].value


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
    cards = html_bodies(at)
    assert len(cards) == 3 and all("加賀市" in c for c in cards)
    search(at, "住民の費用負担")
    params = {key: at.query_params.get_all(key) if hasattr(at.query_params, "get_all") else at.query_params[key]
              for key in ("q", "k", "muni")}  # fmt: skip
    flat = {key: value if isinstance(value, list) else [value] for key, value in params.items()}
    assert flat == {"q": ["住民の費用負担"], "k": ["3"], "muni": ["加賀市"]}


def test_similar_cases_from_other_municipalities(monkeypatch: pytest.MonkeyPatch, seed_index: Path) -> None:
    at = start(monkeypatch, seed_index)
    search(at, "フェローの契約形態は")
    first_id = next(t for t in at.toggle if t.key and t.key.startswith("similar-")).key.removeprefix("similar-")
    at.toggle(key=f"similar-{first_id}").set_value(True).run()
    assert not at.exception
    cards = html_bodies(at)
    assert len(cards) == 13  # 10 results + 3 similar cases
    similar = [c for c in cards[1:4]]
    assert all("加賀市" not in c.split("kensaku-crumb")[1].split("</div>")[0] for c in similar)


def test_basket_and_exports(monkeypatch: pytest.MonkeyPatch, seed_index: Path) -> None:
    import csv

    at = start(monkeypatch, seed_index)
    search(at, "フェローの契約形態は")
    picks = [c for c in at.checkbox if c.key and c.key.startswith("pick-r-")]
    picks[0].check().run()
    picks = [c for c in at.checkbox if c.key and c.key.startswith("pick-r-")]
    picks[2].check().run()
    assert not at.exception
    basket = at.session_state["basket"]
    assert list(basket.items) == [picks[0].key.removeprefix("pick-r-"), picks[2].key.removeprefix("pick-r-")]
    assert "抜粋かご: 2 件" in [c.value for c in at.caption]
    at.selectbox(key="export_format").set_value("csv").run()
    buttons = {b.key: b for b in at.get("download_button")}
    assert set(buttons) == {"dl_basket", "dl_all"}
    # The bytes behind the button come from the library: the same call on the basket gives both excerpts, cited.
    from datetime import UTC, datetime

    from kensaku.export import ExportMeta, to_csv

    hits = basket.hits(Index.open(seed_index).finding)
    data = to_csv(hits, ExportMeta(query="フェローの契約形態は", created=datetime.now(UTC)))
    rows = list(csv.DictReader(data.decode("utf-8-sig").splitlines()))
    assert [r["ID"] for r in rows] == list(basket.items)
    assert all(r["引用"].startswith("smartcity_model_project_cases.txt｜") for r in rows)


def test_rebuild_button_rebuilds_the_index(monkeypatch: pytest.MonkeyPatch, seed_index: Path, tmp_path: Path) -> None:
    import json
    import shutil

    index = tmp_path / "index"
    shutil.copytree(seed_index, index)
    before = json.loads((index / "manifest.json").read_text(encoding="utf-8"))["fingerprint"]
    at = start(monkeypatch, index)
    at.button(key="rebuild").click().run()
    assert not at.exception
    assert "索引を再作成しました（280 件、文書 1 件：新規 0・変更 0・変更なし 1・削除 0）" in [
        s.value for s in at.success
    ]
    after = json.loads((index / "manifest.json").read_text(encoding="utf-8"))["fingerprint"]
    assert after != before


def test_example_question_buttons_search(monkeypatch: pytest.MonkeyPatch, seed_index: Path) -> None:
    at = start(monkeypatch, seed_index)
    at.button(key="example-フェローの契約形態は").click().run()
    assert not at.exception
    assert at.text_input(key="query").value == "フェローの契約形態は"
    assert len(html_bodies(at)) == 10


def test_query_words_are_marked_in_cards(monkeypatch: pytest.MonkeyPatch, seed_index: Path) -> None:
    at = start(monkeypatch, seed_index)
    search(at, "フェローの契約形態は")
    cards = html_bodies(at)
    assert sum("<mark>フェロー</mark>" in c for c in cards) >= 5  # the query word, marked in the escaped text

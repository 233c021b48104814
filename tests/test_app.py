"""The Streamlit app in-process (AppTest) on real indexes built with the bundled model."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kensaku.engine import build

from .conftest import ROOT

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
    build([doc], index, show_progress=False)
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

"""End to end in a real headless Chromium (Debian's `chromium`, driven by Playwright; never `playwright install`).

Skipped with a reason when Chromium or Playwright is missing; `.ci/run` installs `chromium` and `fonts-noto-cjk`.
Screenshots are kept in tests/artifacts/ (results.png, basket.png, no_match.png).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.e2e.browser_support import CHROMIUM, app_server, chromium, screenshot

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (apt-get install chromium)")

# 2 or more: a card may hold neighbouring findings, and picking it takes them all.
BASKET_FULL = re.compile(r"^抜粋かご（[2-9] 件）")
CARDS = "document.querySelectorAll('.kensaku-card').length"
# English texts Streamlit draws itself on widgets these pages use; none may be visible.
STREAMLIT_ENGLISH = ("Select all", "Choose an option", "Choose options", "No results", "Press Enter", "Deploy")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="module")
def app_url(seed_index: Path, data_dir: Path) -> Iterator[str]:
    env = {"KENSAKU_INDEX": str(seed_index), "KENSAKU_DOCUMENTS": str(data_dir / "documents")}
    with app_server(env) as url:
        yield url


def ask(page: Any, question: str, *, keyboard: bool = False) -> None:
    """Type a question and search: with the 検索 button, or with Ctrl+Enter from the box (Enter alone is left to
    the IME)."""
    box = page.get_by_label("質問")
    box.fill(question)
    if keyboard:
        box.press("Control+Enter")
    else:
        page.get_by_test_id("stBaseButton-primaryFormSubmit").click()


def wait_for_header(page: Any) -> str:
    header = page.get_by_text(re.compile(r"^\d+ 件中 \d+–\d+ 件$"))
    header.wait_for(timeout=60_000)
    return str(header.inner_text())


def settle(page: Any) -> None:
    """Wait until the run has finished drawing: the sidebar's last widget is there and no placeholder is left."""
    page.get_by_role("button", name="この検索結果を書き出す").wait_for(timeout=60_000)
    page.wait_for_function("document.querySelectorAll('[data-testid=\"stSkeleton\"]').length === 0", timeout=60_000)
    page.wait_for_timeout(1000)


def visible_english(page: Any) -> list[str]:
    text = page.locator("body").inner_text()
    return [word for word in STREAMLIT_ENGLISH if word in text]


def test_results_with_total_cards_and_csv_download(app_url: str, tmp_path: Path) -> None:
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1300}, accept_downloads=True)
        page.goto(app_url)
        ask(page, "スマートシティの推進体制")
        header = wait_for_header(page)
        page.wait_for_function("document.documentElement.lang === 'ja'", timeout=30_000)
        total = int(header.split(" ")[0])
        assert header.endswith("1–10 件") and total > 10
        cards = page.locator(".kensaku-card")
        cards.first.wait_for(timeout=60_000)  # the cards stream in after the header
        page.wait_for_url(re.compile(r"[?&]q="), timeout=30_000)  # the URL is updated after the page is drawn
        settle(page)
        assert 1 <= cards.count() <= 10 and "スマートシティ" in page.locator("main").inner_text()
        assert "語句が一致" in cards.first.inner_text()
        screenshot(page, "results.png")
        # No English from Streamlit on the page, nor in an open filter dropdown.
        page.locator("[data-testid='stSidebar'] [data-testid='stMultiSelect']").nth(1).click()
        page.wait_for_timeout(500)
        assert visible_english(page) == []
        page.keyboard.press("Escape")
        with page.expect_download(timeout=60_000) as download:
            page.get_by_role("button", name="この検索結果を書き出す").click()
        target = tmp_path / download.value.suggested_filename
        download.value.save_as(target)
        assert target.name.startswith("kensaku_excerpts_")
        assert "smartcity_model_project_cases.txt" in target.read_text(encoding="utf-8-sig")
        page.get_by_role("button", name="次へ").click()
        page.get_by_text(re.compile(rf"^{total} 件中 11–")).wait_for(timeout=60_000)
        page.wait_for_url(re.compile(r"[?&]p=2(&|$)"), timeout=30_000)  # the URL is updated after the page is drawn


def test_off_topic_question_finds_nothing(app_url: str) -> None:
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{app_url}/?q={quote('美味しいラーメン屋')}")
        page.get_by_text("該当する事例は見つかりませんでした").wait_for(timeout=60_000)
        page.get_by_text("関連の薄い結果（参考）").wait_for(timeout=30_000)  # the weak results, folded away
        assert page.locator(".kensaku-card").count() == 0 or not page.locator(".kensaku-card").first.is_visible()
        settle(page)
        assert visible_english(page) == []
        screenshot(page, "no_match.png")


def pick_first(page: Any) -> None:
    before = page.get_by_role("button", name="抜粋かごから外す").count()
    page.get_by_role("button", name="抜粋かごに入れる").first.click()
    page.wait_for_function(
        f"document.querySelectorAll('button').length && [...document.querySelectorAll('button')]"
        f".filter(b => b.innerText.includes('抜粋かごから外す')).length > {before}",
        timeout=60_000,
    )


def test_basket_survives_a_reload_and_exports_each_question(app_url: str, tmp_path: Path) -> None:
    questions = ("フェローの契約形態は", "住民に費用を負担してもらう仕組み")
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1300}, accept_downloads=True)
        page.goto(app_url)
        for question, keyboard in zip(questions, (False, True), strict=True):
            ask(page, question, keyboard=keyboard)
            page.get_by_text(re.compile(r"^\d+ 件中 1–")).wait_for(timeout=60_000)
            page.wait_for_timeout(1000)
            pick_first(page)
        page.get_by_text(BASKET_FULL).wait_for(timeout=30_000)
        note = page.get_by_label("メモ").first
        note.fill("議会答弁の資料に使う")
        note.press("Tab")  # a text area commits its value when it loses focus
        page.wait_for_function("location.search.includes('bk=')", timeout=30_000)
        page.wait_for_timeout(1500)
        page.reload()
        page.get_by_text(BASKET_FULL).wait_for(timeout=60_000)
        body = page.locator("body").inner_text()
        assert all(f"質問: {q}" in body for q in questions), body
        page.wait_for_function(
            "[...document.querySelectorAll('textarea')].some(t => t.value === '議会答弁の資料に使う')", timeout=30_000
        )
        settle(page)
        screenshot(page, "basket.png")
        with page.expect_download(timeout=60_000) as download:
            page.get_by_role("button", name="抜粋かごを書き出す").click()
        target = tmp_path / download.value.suggested_filename
        download.value.save_as(target)
        exported = target.read_text(encoding="utf-8-sig")
        assert all(q in exported for q in questions) and "議会答弁の資料に使う" in exported


def test_two_tabs_searching_at_once_get_their_own_results(app_url: str, seed_index: Path) -> None:
    from kensaku import Index

    searcher = Index.open(seed_index)
    queries = ["フェローの契約形態は", "住民に費用を負担してもらう仕組み"]
    expected = [searcher.search(q, 10)[0].finding.text[:20] for q in queries]
    with chromium() as browser:
        pages = [browser.new_page() for _ in queries]
        for page, query in zip(pages, queries, strict=True):
            page.goto(f"{app_url}/?q={quote(query)}", wait_until="commit")  # both sessions start before either ends
        for page, text in zip(pages, expected, strict=True):
            wait_for_header(page)
            page.wait_for_function(f"{CARDS} >= 1", timeout=60_000)
            shown = page.locator(".kensaku-card").first.inner_text()
            assert text in shown, f"expected {text!r} first; the page shows {shown}"

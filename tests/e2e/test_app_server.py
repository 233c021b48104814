"""The app searching through a running ``kensaku serve`` (issue 16, ``$KENSAKU_SERVER``), in a real headless Chromium
against real Streamlit and uvicorn processes, the bundled model and MeCab.

The app started with ``-- --server URL`` (as ``make run SERVER=URL``; ``$KENSAKU_SERVER`` works the same way) and
a ``KENSAKU_INDEX`` that does not exist shows the same cards, in the same order, as the app on the local index:
unfiltered and filtered, the similar cases under a card, a card's context and original file, and the same export
file (but the time it was made). Its 文書 page lists the served documents and says that changes are made on the
server. The app process never loads the embedding runtime (no ``onnxruntime`` in its memory map) and never creates
the local index. When the server stops, the page says so in Japanese. Screenshot: tests/artifacts/server_results.png.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from kensaku import Index
from kensaku.app.grouping import group_hits
from kensaku.app.render import card_html
from kensaku.app.source import rows_of
from kensaku.index.search import Filters
from tests.e2e.browser_support import app_server, chromium, needs_chromium, screenshot
from tests.e2e.test_app_backend import cards_in, search, shown_as, wait_for_cards
from tests.e2e.test_serve import serve
from tests.support import ROOT

pytestmark = needs_chromium

QUESTION = "フェローの契約形態は"
FILTERED = "大学と連携するメリット"  # answered among 加賀市's lessons
MUNICIPALITY = "加賀市"
STAMP = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+09:00")


def expected_cards(index: Index, question: str, filters: Filters | None = None) -> tuple[list[Any], str, Any]:
    """The cards the search page draws from the local index (relevant hits, then weak ones), its header and the
    relevant hits (what 「この検索結果を書き出す」 writes)."""
    found = index.query(question, 10, filters=filters)
    strong = [hit for hit in found.hits if found.answerable and found.relevant(hit)]
    weak = [hit for hit in found.hits if hit not in strong]
    rows = rows_of(index, [])
    cards = [shown_as(card_html(group)) for group in group_hits(strong, rows) + group_hits(weak, rows)]
    return cards, f"{found.total} 件中 1–{len(strong)} 件", strong


def maps_of_app(url: str) -> str:
    """The memory map of the Streamlit process serving ``url`` (found by its ``--server.port`` argument)."""
    wanted = ["--server.port", str(urlsplit(url).port)]
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
            if "streamlit" in " ".join(argv) and any(argv[i : i + 2] == wanted for i in range(len(argv))):
                return (proc / "maps").read_text()
        except OSError:  # a process that ended meanwhile
            continue
    raise AssertionError(f"no streamlit process serves {url}")


def test_the_app_searches_through_a_server(seed_index: Path, tmp_path: Path) -> None:
    local = Index.open(seed_index)
    expected, header, strong = expected_cards(local, QUESTION)
    assert len(expected) >= 5 and strong
    lessons = Filters(municipalities=[MUNICIPALITY], kinds=["lesson"])
    filtered, filtered_header, _ = expected_cards(local, FILTERED, lessons)
    first = group_hits(strong, rows_of(local, []))[0]
    similar = [shown_as(card_html(hit)) for hit in local.similar(first.best.finding.id, k=3, other_municipalities=True)]
    before = local.findings[rows_of(local, [])[first.ids[0]] - 1]

    absent = tmp_path / "no-index"
    api_context = serve(seed_index, "--rate-limit", "0")
    api = api_context.__enter__()
    try:
        env = {"KENSAKU_INDEX": str(absent), "KENSAKU_DOCUMENTS": str(tmp_path / "docs")}
        with app_server(env, args=["--server", api]) as url, chromium() as browser:  # as `make run SERVER=…`
            page = browser.new_page(viewport={"width": 1400, "height": 1300}, accept_downloads=True)
            search(page, url, QUESTION)
            assert page.get_by_text(re.compile(r"^\d+ 件中 1–\d+ 件$")).inner_text() == header
            assert cards_in(page) == expected  # the same cards, ranks and citations, in the same order
            assert "サーバー: " + api in page.inner_text("[data-testid='stSidebar']")

            page.get_by_text(re.compile(r"^類似事例（")).first.click()
            page.wait_for_function(f"document.querySelectorAll('.kensaku-card').length === {len(expected) + 3}")
            page.wait_for_timeout(500)
            assert cards_in(page) == [expected[0], *similar, *expected[1:]]
            page.get_by_text("前後の文脈").first.click()
            page.get_by_text("前の事例").first.wait_for(timeout=30_000)
            assert before.text in page.inner_text("body")  # the finding before the first card, from the server
            with page.expect_download(timeout=60_000) as original:  # the original file, through the server
                page.get_by_role("button", name=re.compile(r"^原文をダウンロード")).first.click()
            corpus_file = ROOT / "corpus" / first.findings[0].document
            assert Path(original.value.path()).read_bytes() == corpus_file.read_bytes()
            screenshot(page, "server_results.png")

            with page.expect_download(timeout=60_000) as download:
                page.get_by_role("button", name="この検索結果を書き出す").click()
            shown = Path(download.value.path()).read_bytes()
            mine = local.export(strong, "md", query=QUESTION, filters={})
            assert STAMP.sub(b"T", shown) == STAMP.sub(b"T", mine) and len(mine) > 500

            page.goto(f"{url}/?q={quote(FILTERED)}&muni={quote(MUNICIPALITY)}&lessons=1")
            wait_for_cards(page)
            assert page.get_by_text(re.compile(r"^\d+ 件中 1–\d+ 件$")).inner_text() == filtered_header
            assert cards_in(page) == filtered and all(MUNICIPALITY in crumb for crumb, _ in filtered)

            page.goto(f"{url}/documents")
            page.get_by_text("登録済みの文書（1 件）").wait_for(timeout=60_000)
            assert "検索サーバーにつないでいるため" in page.inner_text("body")

            mapped = maps_of_app(url)
            assert "libstdc++" in mapped and "onnxruntime" not in mapped, "the app loaded the embedding runtime"
            assert not absent.exists()

            api_context.__exit__(None, None, None)  # the server stops; the app says so in Japanese
            api_context = None
            page.goto(f"{url}/?q={quote(QUESTION)}")
            page.get_by_text("検索サーバーに接続できないか").first.wait_for(timeout=60_000)
            assert page.locator(".kensaku-card").count() == 0
    finally:
        if api_context is not None:
            api_context.__exit__(None, None, None)

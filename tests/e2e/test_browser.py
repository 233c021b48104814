"""End to end in a real headless Chromium (Debian's `chromium`, driven by Playwright; never `playwright install`).

Skipped with a reason when Chromium or Playwright is missing; `.ci/run` installs `chromium` and `fonts-noto-cjk`.
The screenshot is kept as tests/artifacts/app.png.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import ROOT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = ROOT / "tests" / "artifacts"
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (apt-get install chromium)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def app_url(seed_index: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "KENSAKU_INDEX": str(seed_index)}
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(ROOT / "search_app.py"),
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--browser.gatherUsageStats",
        "false",
    ]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("streamlit did not become healthy within 90 s")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_search_similar_and_csv_download_in_chromium(app_url: str, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    args = [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
    ]
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=args)
        page = browser.new_page(viewport={"width": 1400, "height": 1200}, accept_downloads=True)
        page.goto(app_url)
        page.get_by_label("質問").fill("フェローの契約形態は")
        page.get_by_role("button", name="検索").click()
        # Streamlit streams the cards in: wait for the last one before counting (the first alone raced).
        page.wait_for_function("document.querySelectorAll('.kensaku-card').length >= 10", timeout=60_000)
        cards = page.locator(".kensaku-card")
        assert cards.count() == 10
        assert "フェロー" in cards.first.inner_text()
        assert "q=" in page.url  # the search is in the URL
        page.get_by_text("類似事例（他自治体）").first.click()
        page.wait_for_function("document.querySelectorAll('.kensaku-card').length >= 13", timeout=60_000)
        page.get_by_role("combobox").last.click()  # 書き出し › 形式
        page.get_by_role("option", name="csv").click()
        page.wait_for_timeout(1000)
        with page.expect_download(timeout=60_000) as download:
            page.get_by_role("button", name="全結果を書き出す").click()
        target = tmp_path / download.value.suggested_filename
        download.value.save_as(target)
        data = target.read_bytes()
        assert target.name.startswith("kensaku_excerpts_") and target.suffix == ".csv"
        assert data.startswith(b"\xef\xbb\xbf")
        assert "smartcity_model_project_cases.txt｜加賀市" in data.decode("utf-8-sig")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "app.png"))
        browser.close()


def test_two_tabs_searching_at_once_get_their_own_results(app_url: str, seed_index: Path) -> None:
    from urllib.parse import quote

    from kensaku import Index

    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    searcher = Index.open(seed_index)
    queries = ["フェローの契約形態は", "住民に費用を負担してもらう仕組み"]
    expected = [searcher.search(q, 10)[0].finding.citation for q in queries]
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
        )
        pages = [browser.new_page() for _ in queries]
        for page, query in zip(pages, queries, strict=True):
            page.goto(f"{app_url}/?q={quote(query)}", wait_until="commit")  # both sessions start before either ends
        for page, citation in zip(pages, expected, strict=True):
            # The whole list, not the first card to arrive: the run is complete when all ten are on the page.
            page.wait_for_function("document.querySelectorAll('.kensaku-card').length >= 10", timeout=60_000)
            shown = page.locator(".kensaku-cite").all_inner_texts()
            assert citation in shown[0], f"expected {citation!r} first; the page shows {shown}"
        browser.close()

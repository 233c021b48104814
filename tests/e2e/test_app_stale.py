"""An index whose documents changed after the build, in a real headless Chromium (Debian's ``chromium``, driven by
Playwright) against a real Streamlit server: the search page warns in Japanese, naming the changed file and the
command that updates the index, and still searches the index as it was built (real published ordinances, the
bundled model, MeCab and FAISS). Screenshot: tests/artifacts/stale_warning.png."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from kensaku import Index
from tests.e2e.browser_support import CHROMIUM, app_server, chromium, screenshot

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (apt-get install chromium)")

ORDINANCES = Path(__file__).resolve().parents[1] / "fixtures" / "real" / "ordinance"
CHANGED = "かつらぎ町_駐車場等設置条例.txt"  # a Japanese name with a Markdown character, shown as written
WARNING = "索引の作成後に文書が変わりました"
QUESTION = "駐車場の使用料はどのように定めるか"


def test_changed_document_is_named_and_the_index_still_searches(tmp_path: Path, default_model: Path) -> None:
    docs = tmp_path / "例規"
    docs.mkdir()
    shutil.copy(ORDINANCES / "katsuragi_chushajo_jorei.txt", docs / CHANGED)
    shutil.copy(ORDINANCES / "katsuragi_kaihan_seibi_jorei.txt", docs / "katsuragi_kaihan_seibi_jorei.txt")
    index_dir = tmp_path / "index"
    built = Index.build([docs], index_dir)
    top = built.search(QUESTION, k=10)[0].finding
    assert top.document == CHANGED and Index.open(index_dir).stale == []

    env = {"KENSAKU_INDEX": str(index_dir), "KENSAKU_DOCUMENTS": str(tmp_path / "documents")}
    with app_server(env) as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1300})
        page.goto(url)
        page.get_by_label("質問").wait_for(timeout=90_000)
        page.wait_for_timeout(1000)
        assert WARNING not in page.locator("main").inner_text()  # up to date: no warning

        changed = docs / CHANGED
        changed.write_text(changed.read_text(encoding="utf-8") + "\n附則\nこの条例は、公布の日から施行する。\n")
        assert Index.open(index_dir).stale == [f"{changed.resolve()} (changed)"]
        page.reload()
        alert = page.locator("[data-testid='stAlert']").filter(has_text=WARNING)
        alert.wait_for(timeout=60_000)
        text = alert.inner_text()
        assert CHANGED in text and "katsuragi_kaihan_seibi_jorei.txt" not in text  # only the changed file
        assert "検索は作成時の内容で行います" in text
        assert f"kensaku build --index {index_dir.resolve()}" in text

        page.get_by_label("質問").fill(QUESTION)
        page.get_by_test_id("stBaseButton-primaryFormSubmit").click()
        header = page.get_by_text(re.compile(r"^\d+ 件中 1–\d+ 件$"))
        header.wait_for(timeout=60_000)
        cards = page.locator(".kensaku-card")
        cards.first.wait_for(timeout=60_000)
        page.wait_for_function("document.querySelectorAll('[data-testid=\"stSkeleton\"]').length === 0", timeout=60_000)
        page.wait_for_timeout(1000)
        assert int(header.inner_text().split(" ")[0]) >= 1
        shown = cards.all_inner_texts()
        assert CHANGED in shown[0] and top.text[:20] in shown[0]  # the best finding as built, first
        assert alert.is_visible()  # the warning stays above the results
        screenshot(page, "stale_warning.png")

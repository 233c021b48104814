"""The app on the Milvus backend (issue 15, ``$KENSAKU_BACKEND``), in a real headless Chromium (Debian's
``chromium``, driven by Playwright) against a real Streamlit server, the bundled model, MeCab and Milvus Lite.

An index of the corpus is built and mirrored into a Milvus Lite file (``kensaku build --backend``); the app started
with ``KENSAKU_BACKEND`` shows the same cards, in the same order, as the local index, and the same similar cases; a
document uploaded on the 文書 page is written into the collection too (the collection, opened afterwards, finds
it). That the app really searches the collection: after ``kensaku add`` without ``--backend`` (the collection no
longer mirrors the index) a new app start refuses to search, in Japanese, with the original message naming the
collection; the 文書 page's 「索引を作り直す」 writes the collection again and the new document is found.
Screenshots: tests/artifacts/backend_results.png, backend_mismatch.png.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

from kensaku import Index
from kensaku.app.grouping import group_hits
from kensaku.app.render import card_html
from kensaku.app.source import rows_of
from tests.e2e.browser_support import app_server, chromium, needs_chromium, screenshot
from tests.support import ROOT

pytestmark = needs_chromium

QUESTION = "フェローの契約形態は"
UPLOADED = "ため池防災報告.md"
UPLOADED_TEXT = "# ため池防災\n\n本市はため池の一斉点検を毎年六月に行い、堤体の漏水を確認している。\n"
UPLOADED_QUESTION = "ため池の一斉点検で漏水を確認している"
LATER = "松本市 防災.md"
LATER_TEXT = "# 避難所\n\n松本市は避難所の混雑状況を地図で公開し、分散避難を呼びかけた。\n"
LATER_QUESTION = "避難所の混雑状況を公開した"
MISMATCH = "検索用の外部データベースの内容が索引と一致しません。"
CARD_PARTS = re.compile(r'kensaku-crumb">(.*?)</div>.*kensaku-cite">(.*?)</div>', re.DOTALL)
READ_CARDS = """() => [...document.querySelectorAll('.kensaku-card')].map(c => [
    c.querySelector('.kensaku-crumb').textContent, c.querySelector('.kensaku-cite').textContent])"""


def kensaku(*args: str) -> None:
    """Run the ``kensaku`` command (without ``$KENSAKU_BACKEND``: only what ``args`` say)."""
    env = {k: v for k, v in os.environ.items() if k != "KENSAKU_BACKEND"}
    command = [str(Path(sys.executable).with_name("kensaku")), *args, "--no-progress"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr


MILVUS_SEARCH = """
import json, sys
from dataclasses import replace
from kensaku import Index
from kensaku.backend import engine
from kensaku.config import DEFAULTS
from kensaku.index.milvus_search import MilvusSearcher
index = Index.open(sys.argv[1], settings=replace(DEFAULTS, backend=sys.argv[2]))
assert isinstance(engine(index), MilvusSearcher), engine(index)
print(json.dumps([(h.finding.id, h.finding.document, h.rank) for h in index.search(sys.argv[3], 5)]))
"""


def milvus_search(index_dir: Path, uri: str, question: str) -> list[tuple[str, str, int]]:
    """The top 5 (id, document, rank) of ``question`` searched in the collection, from a process of its own (a
    Milvus Lite file stays held by the process that opened it until that process ends)."""
    command = [sys.executable, "-c", MILVUS_SEARCH, str(index_dir), uri, question]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return [(str(i), str(d), int(r)) for i, d, r in json.loads(done.stdout)]


def shown_as(card: str) -> tuple[str, str]:
    """A card's breadcrumb (with its rank) and citation, as the browser's text shows them."""
    match = CARD_PARTS.search(card)
    assert match is not None, card
    return html.unescape(match.group(1)), html.unescape(match.group(2))


def local_cards(index: Index, question: str) -> tuple[list[tuple[str, str]], str, str]:
    """The cards the search page draws for ``question`` from the local index (as ``search_page.results`` groups
    them: the relevant hits, then the weak ones), the id of the first card's best finding and the header."""
    found = index.query(question, 10)
    strong = [hit for hit in found.hits if found.answerable and found.relevant(hit)]
    weak = [hit for hit in found.hits if hit not in strong]
    rows = rows_of(index, [])
    groups = group_hits(strong, rows) + group_hits(weak, rows)
    assert strong, "the question must have relevant results"
    header = f"{found.total} 件中 1–{len(strong)} 件"
    return [shown_as(card_html(group)) for group in groups], group_hits(strong, rows)[0].best.finding.id, header


def cards_in(page: Any) -> list[tuple[str, str]]:
    return [(str(crumb), str(cite)) for crumb, cite in page.evaluate(READ_CARDS)]


def search(page: Any, url: str, question: str) -> None:
    page.goto(f"{url}/?q={quote(question)}")
    wait_for_cards(page)


def wait_for_cards(page: Any) -> None:
    """Wait until the result header and every card are drawn."""
    page.get_by_text(re.compile(r"^\d+ 件中 1–\d+ 件$")).wait_for(timeout=90_000)
    page.locator(".kensaku-card").first.wait_for(timeout=60_000)
    page.wait_for_function("document.querySelectorAll('[data-testid=\"stSkeleton\"]').length === 0", timeout=60_000)
    page.wait_for_timeout(1000)  # the cards stream in


def upload(page: Any, url: str, document: Path) -> str:
    page.goto(f"{url}/documents")
    page.get_by_text("登録済みの文書").first.wait_for(timeout=90_000)
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files([str(document)])
    page.wait_for_function("document.querySelectorAll('[data-testid=stFileChip]').length === 1")
    page.get_by_role("button", name="索引に追加").click()
    done = page.get_by_text("索引に追加しました").first
    done.wait_for(timeout=120_000)
    return str(done.inner_text())


def test_the_app_searches_the_milvus_collection(tmp_path: Path, default_model: Path) -> None:
    docs, index_dir, documents = tmp_path / "docs", tmp_path / "index", tmp_path / "documents"
    docs.mkdir()
    shutil.copy(ROOT / "corpus" / "smartcity_model_project_cases.txt", docs)
    uri = f"milvus://{tmp_path / 'milvus.db'}"
    kensaku("build", str(docs), "--index", str(index_dir), "--backend", uri)
    local = Index.open(index_dir)
    expected, first_id, header = local_cards(local, QUESTION)
    assert len(expected) >= 5  # weak results (behind 「関連の薄い結果（参考）」) are compared too
    similar = [shown_as(card_html(hit)) for hit in local.similar(first_id, k=3, other_municipalities=True)]
    assert similar, "the first card must have similar cases to compare"

    env = {"KENSAKU_INDEX": str(index_dir), "KENSAKU_DOCUMENTS": str(documents), "KENSAKU_BACKEND": uri}
    with app_server(env) as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1300})
        search(page, url, QUESTION)
        assert page.get_by_text(re.compile(r"^\d+ 件中 1–\d+ 件$")).inner_text() == header
        assert cards_in(page) == expected  # the same cards, ranks and citations, in the same order
        page.get_by_text(re.compile(r"^類似事例（")).first.click()
        page.wait_for_function(f"document.querySelectorAll('.kensaku-card').length === {len(expected) + len(similar)}")
        page.wait_for_timeout(500)
        assert cards_in(page) == [expected[0], *similar, *expected[1:]]  # drawn under the first card
        screenshot(page, "backend_results.png")
        new = tmp_path / UPLOADED
        new.write_text(UPLOADED_TEXT, encoding="utf-8")
        summary = upload(page, url, new)
        assert "新規 1" in summary, summary
        assert "索引を開けませんでした" not in page.inner_text("body")

    # The app is stopped: its Milvus Lite file is free. The collection holds the upload and answers as the index.
    got = milvus_search(index_dir, uri, UPLOADED_QUESTION)
    want = [(h.finding.id, h.finding.document, h.rank) for h in Index.open(index_dir).search(UPLOADED_QUESTION, 5)]
    assert got == want and got[0][1] == UPLOADED, got

    # Added locally only: the collection is behind the index, and the app (searching it) says so.
    later = tmp_path / LATER
    later.write_text(LATER_TEXT, encoding="utf-8")
    kensaku("add", str(later), "--index", str(index_dir))
    with app_server(env) as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(f"{url}/?q={quote(QUESTION)}")
        alert = page.locator("[data-testid='stAlert']").filter(has_text=MISMATCH)
        alert.wait_for(timeout=90_000)
        page.get_by_text("詳細（原文）").first.click()
        detail = page.get_by_text(re.compile("CollectionMismatchError")).first
        detail.wait_for(timeout=30_000)
        text = detail.inner_text()
        assert "does not hold this index as it is now" in text and f"--backend {uri}" in text, text
        assert page.locator(".kensaku-card").count() == 0
        screenshot(page, "backend_mismatch.png")

        # The page's remedy: 「索引を作り直す」 writes the collection again, and the search page finds the new document.
        page.goto(f"{url}/documents")
        page.get_by_text("登録済みの文書").first.wait_for(timeout=90_000)
        page.get_by_role("button", name="索引を作り直す").click()
        page.get_by_text("索引を作り直しました").first.wait_for(timeout=120_000)
        search(page, url, LATER_QUESTION)
        expected, _, _ = local_cards(Index.open(index_dir), LATER_QUESTION)
        shown = cards_in(page)
        assert shown == expected and shown[0][1].startswith(LATER), shown

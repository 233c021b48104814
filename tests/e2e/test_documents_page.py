"""The 文書 page in a real Chromium against the real app server, model and files.

A real Japanese PDF (tests/fixtures/real/pdf) and a Japanese DOCX made with python-docx are uploaded through the
page; a question on the 検索 page then finds each with its citation (file name and page / ¶); one is removed and is
gone from the table and the results; the server is stopped and started again as ``make run`` does (``kensaku
build --if-needed`` without paths, then streamlit) and the upload is still there. Along the way: ``<html
lang="ja">``, no developer menu, and no English words on the main screens. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

from kensaku import Index
from tests.e2e.browser_support import app_server, chromium, needs_chromium, screenshot
from tests.support import ROOT

pytestmark = needs_chromium

PDF = ROOT / "tests" / "fixtures" / "real" / "pdf" / "jsvine-issue-463-example.pdf"
PDF_QUESTION = "アリは冬の餌を集めています"  # the fable's Japanese page (p.1)
DOCX_QUESTION = "ため池の一斉点検で漏水を確認している"
DOCX_PARAGRAPHS = [
    ("ため池防災の取組報告", "Title"),
    ("第1章 ため池の点検", "Heading 1"),
    ("本市では、農業用ため池の一斉点検を毎年六月に実施し、堤体の漏水と洪水吐の詰まりを確認している。", None),
    ("点検の結果はため池ハザードマップに反映し、下流の住民説明会で周知した。", None),
    ("第2章 課題", "Heading 1"),
    ("管理者の高齢化により、草刈りと水位の記録が続かないことが課題である。", None),
]
# ASCII words the screens may show: formats, units, programs, the product name (compared in upper case).
ALLOWED = {"PDF", "DOCX", "HTML", "HTM", "CSV", "XLSX", "JSON", "JST", "URL", "KENSAKU", "TXT", "WORD", "MARKDOWN"}
ALLOWED |= {"ENTER", "CTRL", "OCR", "UTF", "MB"}
FILE_OR_PATH = re.compile(r"\S*/\S*|[\w\-.]+\.(?:pdf|docx|txt|md|html?)\b", re.IGNORECASE)


def make_docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    for text, style in DOCX_PARAGRAPHS:
        document.add_paragraph(text, style=style) if style else document.add_paragraph(text)
    document.save(str(path))
    return path


def english_words(page: Any, *also_allowed: str) -> list[str]:
    """ASCII words of 3+ letters on the page outside the allow-list; document text (the result cards), file
    names, paths and the model's name are not the app's words and are left out."""
    page.wait_for_function("window.__kensakuJapanese === true")  # the page's script has run (kensaku/app/shell.py)
    page.wait_for_timeout(300)
    text = page.inner_text("body")
    shown = page.locator(".kensaku-card, [data-testid='stIconMaterial']").all_inner_texts()
    for part in [*shown, *also_allowed]:  # document text, icons drawn from their names ("upload"), titles
        if part.strip():
            text = text.replace(part, " ")
    text = FILE_OR_PATH.sub(" ", text)
    return [w for w in re.findall(r"[A-Za-z]{3,}", text) if w.upper() not in ALLOWED]


def wait_for_text(page: Any, text: str, timeout: float = 240_000) -> None:
    page.get_by_text(text, exact=False).first.wait_for(timeout=timeout)


def upload(page: Any, url: str, files: list[Path]) -> None:
    page.goto(f"{url}/documents")
    wait_for_text(page, "登録済みの文書")
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files([str(f) for f in files])
    page.wait_for_function(f"document.querySelectorAll('[data-testid=stFileChip]').length === {len(files)}")
    screenshot(page, "documents_upload.png")
    page.get_by_role("button", name="索引に追加").click()
    wait_for_text(page, "索引に追加しました")


def cited(page: Any, url: str, question: str) -> list[str]:
    """The citations of the results of ``question`` (empty when the page says nothing matches)."""
    page.goto(f"{url}/?q={quote(question)}")
    done = "document.querySelectorAll('.kensaku-cite').length > 0"
    done += " || document.body.innerText.includes('見つかりませんでした')"
    try:
        page.wait_for_function(done, timeout=120_000)
    except Exception:
        screenshot(page, "documents_search_failed.png")
        raise
    page.wait_for_timeout(1500)  # the cards stream in
    return list(page.locator(".kensaku-cite").all_inner_texts())


def remove(page: Any, url: str, name: str) -> None:
    page.goto(f"{url}/documents")
    wait_for_text(page, "文書を削除")
    page.wait_for_timeout(1000)  # the page has finished drawing
    page.get_by_role("combobox", name="削除する文書").click()
    page.keyboard.type(Path(name).stem)
    try:
        page.get_by_role("option").filter(has_text=name).first.click()
    except Exception:
        screenshot(page, "documents_remove_failed.png")
        raise
    page.keyboard.press("Escape")
    page.get_by_role("button", name="選んだ文書を削除…").click()
    page.get_by_role("button", name="削除する").click()
    wait_for_text(page, "削除しました")


def check_shell(page: Any) -> None:
    """Japanese page, no developer menu."""
    assert page.evaluate("document.documentElement.lang") == "ja"
    assert page.locator("[data-testid='stMainMenu']").count() == 0
    assert page.locator("[data-testid='stAppDeployButton']").count() == 0
    assert "Deploy" not in page.inner_text("body")


def make_run_build(env: dict[str, str], index: Path) -> None:
    """``make run``'s first step: ``kensaku build --if-needed`` without paths, from the repository root."""
    kensaku = Path(sys.executable).with_name("kensaku")
    cmd = [str(kensaku), "build", "--if-needed", "--index", str(index)]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr


def test_upload_search_remove_and_restart_in_chromium(seed_index: Path, tmp_path: Path) -> None:
    index, documents = tmp_path / "index", tmp_path / "documents"
    shutil.copytree(seed_index, index)
    docx_file = make_docx(tmp_path / "ため池防災報告.docx")
    env = {"KENSAKU_INDEX": str(index), "KENSAKU_DOCUMENTS": str(documents)}
    with app_server(env) as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(f"{url}/documents")
        wait_for_text(page, "登録済みの文書")
        check_shell(page)
        assert english_words(page) == []
        broken = tmp_path / "壊れた資料.pdf"  # not a PDF inside: skipped with its reason, its copy taken out again
        broken.write_bytes(b"%PDF-1.4\nthis file was cut short")
        upload(page, url, [PDF, docx_file, broken])
        summary = page.get_by_text("索引に追加しました").first.inner_text()
        assert "新規 2" in summary, summary
        assert sorted(p.name for p in documents.iterdir()) == sorted([PDF.name, docx_file.name])
        body = page.inner_text("body")
        assert "文書フォルダーから取り除きました" in body and broken.name in body, body
        table = page.locator("[data-testid='stTable']").inner_text()
        assert PDF.name in table and docx_file.name in table
        opened = Index.open(index)
        model = opened.manifest.model.name  # shown in the sidebar: a name, not a word
        titles = [d.title for d in opened.documents()]  # the documents' own titles are theirs
        assert english_words(page, *titles) == [], page.inner_text("body")
        screenshot(page, "documents_table.png")

        pdf_cites = cited(page, url, PDF_QUESTION)
        assert any(c.startswith(PDF.name) and "p.1" in c for c in pdf_cites[:3]), pdf_cites
        docx_cites = cited(page, url, DOCX_QUESTION)
        assert docx_cites and docx_cites[0].startswith(docx_file.name) and "¶" in docx_cites[0], docx_cites
        check_shell(page)
        screenshot(page, "search_uploaded.png")
        assert english_words(page, model) == [], page.inner_text("body")

        page.goto(url)
        wait_for_text(page, "質問の例")
        assert english_words(page, model) == [], page.inner_text("body")
        page.get_by_label("質問").fill("あ" * 2001)  # over the length limit: an error, in Japanese
        page.locator("[data-testid='stFormSubmitButton'] button").click()
        wait_for_text(page, "質問が長すぎます", 60_000)
        assert english_words(page, model) == [], page.inner_text("body")

        remove(page, url, docx_file.name)
        assert docx_file.name not in page.locator("[data-testid='stTable']").inner_text()
        assert not (documents / docx_file.name).exists()
        assert not any(c.startswith(docx_file.name) for c in cited(page, url, DOCX_QUESTION))

    make_run_build({**os.environ, **env}, index)
    with app_server(env) as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(f"{url}/documents")
        wait_for_text(page, "登録済みの文書")
        assert PDF.name in page.locator("[data-testid='stTable']").inner_text()
        pdf_cites = cited(page, url, PDF_QUESTION)
        assert any(c.startswith(PDF.name) for c in pdf_cites[:3]), pdf_cites

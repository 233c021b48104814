"""What every page of the app shares: ``<html lang="ja">`` and Streamlit's own widget texts in Japanese.

Streamlit serves its page as ``<html lang="en">`` and writes a few texts of its own in English (the file uploader's
"Drag and drop files here", "Upload", "100MB per file"; the multiselect's "Select all", "No results";
the status "Running..."), with no setting to change them. :func:`japanese_page` puts one small script on the page
(``st.html`` runs it in the page itself, not in an iframe) that sets the language and replaces exactly those texts,
also when Streamlit draws them again later. Document text is never touched: result cards, tables, Markdown (file
names, basket excerpts, messages) and text blocks are skipped, and only whole texts that equal one of Streamlit's are
replaced.
"""

from __future__ import annotations

import streamlit as st

# The English texts Streamlit 1.67 draws itself, by their exact wording (front-end bundle), and the Japanese.
STREAMLIT_TEXTS = {
    "Drag and drop files here": "ここにファイルをドラッグ＆ドロップ",
    "Drag and drop file here": "ここにファイルをドラッグ＆ドロップ",
    "Browse files": "ファイルを選ぶ",
    "Upload": "ファイルを選ぶ",
    "Skip to main content": "本文へ移動",
    "Choose an option": "選んでください",
    "Choose options": "選んでください",
    "Select all": "すべて選択",
    "No results": "該当なし",
    "No options to select": "選べる項目がありません",
    "Running...": "実行中…",
    "Stop": "停止",
    "Press Enter to apply": "Enter キーで確定",
    "Press Enter to submit form": "Enter キーで送信",
    "Close": "閉じる",
    "add icon": "追加",
}

_SCRIPT = """
<div class="kensaku-shell" hidden></div>
<script>
(() => {
  document.documentElement.lang = "ja";
  if (window.__kensakuJapanese) return;
  window.__kensakuJapanese = true;
  const exact = new Map(Object.entries(%(texts)s));
  const SKIP = ".kensaku-card, script, style, [data-testid='stTable'], [data-testid='stMarkdownContainer'], " +
    "[data-testid='stDataFrame'], [data-testid='stText'], [data-testid='stCode']";
  const WIDGET = "[data-testid='stFileUploaderDropzone']";  // Streamlit's own texts, drawn as Markdown
  const limit = /^(?:Limit )?(\\S+) per file(?: \\u2022 (.*))?$/;
  const showing = /^Showing page (\\d+) of (\\d+)$/;
  const translate = (text) => {
    const key = text.trim();
    if (exact.has(key)) return exact.get(key);
    let m = key.match(limit);
    if (m) return "1 ファイル " + m[1] + " まで" + (m[2] ? "\\u30fb" + m[2] : "");
    m = key.match(showing);
    if (m) return m[2] + " ページ中 " + m[1] + " ページ目";
    return null;
  };
  const fix = (node) => {
    if (node.nodeType !== Node.TEXT_NODE || !node.nodeValue || !node.nodeValue.trim()) return;
    const parent = node.parentElement;
    // Document text (cards, tables, Markdown such as file names and basket excerpts) is never touched.
    if (!parent || (parent.closest(SKIP) && !parent.closest(WIDGET))) return;
    const japanese = translate(node.nodeValue);
    if (japanese !== null && japanese !== node.nodeValue) node.nodeValue = japanese;
  };
  const walk = (root) => {
    if (root.nodeType === Node.TEXT_NODE) return fix(root);
    if (root.nodeType !== Node.ELEMENT_NODE) return;
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) fix(node);
    root.querySelectorAll("input[placeholder]").forEach((input) => {
      const japanese = translate(input.placeholder);
      if (japanese !== null) input.placeholder = japanese;
    });
  };
  new MutationObserver((mutations) => {
    for (const mutation of mutations) {
      if (mutation.type === "characterData") fix(mutation.target);
      mutation.addedNodes.forEach(walk);
    }
  }).observe(document.body, { subtree: true, childList: true, characterData: true });
  walk(document.body);
})();
</script>
<style>
  div[data-testid="stElementContainer"]:has(.kensaku-shell) { display: none; }
</style>
"""


def japanese_page() -> None:
    """Mark the page as Japanese and translate Streamlit's own English texts (call once per run, on every page)."""
    import json

    st.html(_SCRIPT % {"texts": json.dumps(STREAMLIT_TEXTS, ensure_ascii=False)}, unsafe_allow_javascript=True)

"""kensaku search app (Streamlit): lays out widgets and calls the library; no search logic of its own.

Run with ``make run`` (or ``streamlit run search_app.py``). The index directory comes from ``$KENSAKU_INDEX``
(default ``.kensaku/index``, built from ``corpus/`` on first start).
"""

from __future__ import annotations

import streamlit as st

from index.search import Filters, QueryError, Searcher
from kensaku.config import DEFAULT_INDEX, index_dir
from kensaku.engine import default_sources, open_searcher
from kensaku.render import CARD_CSS, card_html

EXAMPLES = ("フェローの契約形態は", "住民に費用を負担してもらう仕組み", "大学と連携するメリット")


@st.cache_resource(show_spinner="索引とモデルを読み込み中…")
def load_searcher(directory: str) -> Searcher:
    """Load the index and model once per process (shared by sessions; searching is read-only and locked)."""
    build_from = default_sources() if directory == str(DEFAULT_INDEX) else None
    return open_searcher(index_dir(directory), build_from=build_from, show_progress=False)


def sidebar(searcher: Searcher) -> tuple[Filters, int]:
    """Filters and result count."""
    with st.sidebar:
        st.header("絞り込み")
        municipalities = sorted({f.municipality for f in searcher.findings if f.municipality})
        chapters = sorted({f.chapter for f in searcher.findings if f.chapter})
        chosen_muni = st.multiselect("自治体", municipalities, key="municipality", placeholder="すべて")
        chosen_chapter = st.multiselect("章", chapters, key="chapter", placeholder="すべて")
        lessons_only = st.toggle("知見・課題のみ", key="lessons_only")
        k = st.slider("表示件数", 1, 50, 10, key="k")
        manifest = searcher.bundle.manifest
        st.caption(
            f"索引: {manifest['counts']['findings']} 件 / 文書 {manifest['counts']['documents']} 件｜"
            f"モデル: {manifest['model']['name']}｜作成: {manifest['created'].replace('T', ' ')[:16]} UTC"
        )
    filters = Filters(
        municipalities=tuple(chosen_muni), chapters=tuple(chosen_chapter), kinds=("lesson",) if lessons_only else ()
    )
    return filters, k


def main() -> None:
    """Page layout."""
    st.set_page_config(page_title="kensaku — 事例検索", layout="wide")
    st.title("kensaku 事例検索")
    st.caption("自治体の取組事例から、知見・課題を探します。")
    try:
        searcher = load_searcher(str(index_dir()))
    except Exception as exc:
        st.error(f"索引を開けませんでした: {exc}")
        st.stop()
    filters, k = sidebar(searcher)
    with st.form("search", enter_to_submit=False):
        query = st.text_input("質問", key="query", placeholder="例: " + EXAMPLES[0])
        submitted = st.form_submit_button("検索", type="primary")
    if not submitted and not query:
        st.info("例: " + " / ".join(f"「{q}」" for q in EXAMPLES))
        return
    try:
        hits = searcher.search(query, k, filters=filters)
    except QueryError as exc:
        st.warning(str(exc))
        return
    st.markdown(CARD_CSS, unsafe_allow_html=True)
    st.subheader(f"{len(hits)} 件")
    for hit in hits:
        st.html(card_html(hit))


main()

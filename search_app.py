"""kensaku search app (Streamlit): lays out the pages and calls the library; no search logic of its own.

Run with ``make run`` (or ``streamlit run search_app.py``). Two pages: 「検索」 (the default, at ``/``, so that a
copied ``/?q=…`` address reopens the same search) and 「文書」 (upload, list, remove and describe the documents,
rebuild the index). The index directory comes from ``$KENSAKU_INDEX`` (or ``kensaku.toml``); uploads go to
``$KENSAKU_DOCUMENTS``. With ``-- --server URL`` (or ``$KENSAKU_SERVER``) the app searches through a running
``kensaku serve`` and loads no model. Streamlit's own settings are in ``.streamlit/config.toml``.
"""

from __future__ import annotations

import sys

import streamlit as st

from kensaku.app import documents_page, search_page
from kensaku.app.loader import use_arguments
from kensaku.app.shell import japanese_page

use_arguments(sys.argv[1:])
st.set_page_config(page_title="kensaku — 事例検索", layout="wide")
japanese_page()
pages = [
    st.Page(search_page.main, title="検索", url_path="search", default=True),
    st.Page(documents_page.main, title="文書", url_path="documents"),
]
st.navigation(pages, position="top").run()

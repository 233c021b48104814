"""kensaku search app (Streamlit): lays out the pages and calls the library; no search logic of its own.

Run with ``make run`` (or ``streamlit run search_app.py``). The index directory comes from ``$KENSAKU_INDEX``
(default ``.kensaku/index``, built from ``corpus/`` on first start). The search lives in the URL, so a copied
address reopens the same search.
"""

from __future__ import annotations

import streamlit as st

from kensaku.app import search_page

st.set_page_config(page_title="kensaku — 事例検索", layout="wide")
search_page.main()

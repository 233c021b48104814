"""Helpers of the Streamlit app (``search_app.py``) that hold no Streamlit code, so they are unit-tested: URL state
and the excerpt basket (``state``), result cards with escaped, highlighted text (``render``)."""

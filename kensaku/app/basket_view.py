"""The 「抜粋かご」 on the page: kept in the session, in a per-user file and (when small) in the URL; listed with its
questions, reorderable, with a note per excerpt, and exported with each excerpt's own question.
"""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from kensaku import Settings
from kensaku.api import JST
from kensaku.app.basket import Basket, BasketStore, new_token, valid_token
from kensaku.app.messages import show_error
from kensaku.app.source import AppIndex
from kensaku.export import FORMATS, MIME, file_name

PREVIEW_CHARS = 90


def store() -> BasketStore:
    """Where basket files are kept: ``baskets/`` next to the documents folder."""
    return BasketStore(Settings.from_env().documents_dir.parent / "baskets")


def init_basket() -> None:
    """First run of a session: the basket of the URL's token (``bk=``), else the ids in the URL (``b=``)."""
    token = st.query_params.get("bk", "")
    basket = store().load(token) if valid_token(token) else None
    if basket is None:
        basket = Basket.from_ids(st.query_params.get_all("b"))
    st.session_state.basket = basket
    st.session_state.basket_token = token if valid_token(token) else ""


def basket() -> Basket:
    """This session's basket."""
    current: Basket = st.session_state.basket
    return current


def save() -> None:
    """Write the basket to its file (a token is made the first time); a failure is shown, the session keeps it."""
    token = st.session_state.basket_token or new_token()
    st.session_state.basket_token = token
    try:
        store().save(token, basket())
    except OSError as exc:
        st.session_state.basket_error = exc


def params() -> dict[str, str | list[str]]:
    """The basket's URL parameters: its token, and its ids when few."""
    if not len(basket()) or not st.session_state.basket_token:
        return {}
    ids = basket().url_ids()
    return {"bk": st.session_state.basket_token, **({"b": ids} if ids else {})}


def add(finding_id: str, query: str, score: float) -> None:
    """Button callback: put an excerpt in the basket with the question it was found for."""
    basket().add(finding_id, query, score)
    save()


def remove(finding_id: str) -> None:
    """Button callback: take an excerpt out."""
    basket().remove(finding_id)
    save()


def move(finding_id: str, step: int) -> None:
    """Button callback: move an excerpt up (−1) or down (+1)."""
    basket().move(finding_id, step)
    save()


def note(finding_id: str, key: str) -> None:
    """Text-area callback: keep the note typed for an excerpt."""
    basket().set_note(finding_id, str(st.session_state[key]))
    save()


def _known(index: AppIndex, finding_id: str) -> bool:
    try:
        index.finding(finding_id)
    except KeyError:
        return False
    return True


def section(index: AppIndex) -> None:
    """The 「抜粋かご」 expander: each excerpt with its question, ↑/↓, 削除 and a note."""
    error = st.session_state.pop("basket_error", None)
    if error is not None:
        show_error(error, "抜粋かごを保存できませんでした（この画面を閉じると失われます）。")
    items = basket().items
    with st.expander(f"抜粋かご（{len(items)} 件）", expanded=bool(items)):
        if not items:
            st.caption("結果の「抜粋かごに入れる」で、引用したい事例をここに集めます。再読み込みしても残ります。")
            return
        for at, item in enumerate(items):
            if not _known(index, item.finding_id):
                st.caption(f"{at + 1}. この事例は索引にありません（文書が削除されました）")
                continue
            finding = index.finding(item.finding_id)
            text = finding.text if len(finding.text) <= PREVIEW_CHARS else finding.text[:PREVIEW_CHARS] + "…"
            with st.container(border=True):
                st.text(f"{at + 1}. {text}")
                st.text(f"質問: {item.query or '（不明）'}｜{finding.citation}")
                up, down, out, _ = st.columns([1, 1, 1, 5])
                fid = item.finding_id
                up.button("↑", key=f"bk-up-{fid}", on_click=move, args=(fid, -1), disabled=at == 0, help="上へ")
                down.button(
                    "↓", key=f"bk-down-{fid}", on_click=move, args=(fid, 1), disabled=at == len(items) - 1, help="下へ"
                )
                out.button("削除", key=f"bk-rm-{fid}", on_click=remove, args=(fid,))
                key = f"bk-note-{fid}"
                if key not in st.session_state:
                    st.session_state[key] = item.note
                st.text_area("メモ", key=key, on_change=note, args=(fid, key), height=68)
        export(index)


def export(index: AppIndex) -> None:
    """The basket's download: each excerpt with its own question and note."""
    fmt = st.selectbox("形式", FORMATS, key="basket_format")
    items = [item for item in basket().items if _known(index, item.finding_id)]
    hits = basket().hits(index.finding)
    created = datetime.now(JST)
    queries = [item.query for item in items]
    shown = "、".join(dict.fromkeys(q for q in queries if q))
    st.download_button(
        "抜粋かごを書き出す",
        data=index.export(
            hits, fmt, query=shown, queries=queries, notes=[item.note for item in items], created=created
        ),
        file_name=file_name(fmt, created),
        mime=MIME[fmt],
        key="dl_basket",
        disabled=not hits,
        on_click="ignore",
    )

"""The search page: a question, cascading filters, honest result counts with paging, grouped result cards with
their context, the excerpt basket, and exports (widgets only; the logic lives in the pure modules beside it).
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path

import streamlit as st

from kensaku import KensakuError, Settings
from kensaku.api import JST
from kensaku.app import basket_view
from kensaku.app.cards import show_card
from kensaku.app.filters import LABELS, Option, describe
from kensaku.app.grouping import group_hits
from kensaku.app.loader import load_index, load_reranker_for
from kensaku.app.messages import show_error
from kensaku.app.plaintext import markdown_literal
from kensaku.app.render import CARD_CSS, query_highlighter
from kensaku.app.source import AppIndex, filter_options, matching_count, rows_of
from kensaku.app.state import FILTER_WIDGETS, SearchState
from kensaku.export import FORMATS, MIME, file_name
from kensaku.index.rerank import Reranker
from kensaku.index.search import Hit
from kensaku.remote import RemoteIndex

EXAMPLES = ("フェローの契約形態は", "住民に費用を負担してもらう仕組み", "大学と連携するメリット")
ENTER_NOTE = "Enter は日本語入力の確定に使われるため、「検索」ボタン（または Ctrl+Enter）で検索します。"
NO_MATCH = "該当する事例は見つかりませんでした"
NO_MATCH_HINT = "言い換える（例: 「費用」→「費用負担」）か、絞り込みを解除してもう一度お試しください。"
HIDE_INPUT_HINTS = "<style>[data-testid='InputInstructions'] {display: none;}</style>"


def init_state(index: AppIndex) -> None:
    """First run of a session: take the search and the basket from the URL into the widgets."""
    if "initialized" in st.session_state:
        return
    found = cached_options(index.fingerprint, (), False, index)
    known = {key: {option.value for option in values} for key, values in found.items()}
    state = SearchState.from_params(st.query_params.get_all, known)
    st.session_state.update(initialized=True, query=state.query, active_query=state.query, **state.widget_values())
    basket_view.init_basket()


@st.cache_data(max_entries=64, show_spinner=False)
def cached_options(
    fingerprint: str, chosen: tuple[tuple[str, tuple[str, ...]], ...], lessons_only: bool, _index: AppIndex
) -> dict[str, list[Option]]:
    """The filter options for one index build (``fingerprint``) and one set of choices."""
    return filter_options(_index, dict(chosen), lessons_only)


def reset_filters() -> None:
    """Button callback: clear every filter and go back to the first page."""
    for widget in FILTER_WIDGETS.values():
        st.session_state[widget] = []
    st.session_state.lessons_only = False
    st.session_state.page = 1


def first_page() -> None:
    """Widget callback: a changed search starts on its first page."""
    st.session_state.page = 1


def turn(step: int) -> None:
    """Button callback: the previous (−1) or next (+1) page."""
    st.session_state.page = max(1, int(st.session_state.page) + step)


def sidebar(index: AppIndex, state: SearchState, settings: Settings) -> None:
    """Filters with counts (each narrowed by the others), the reset button, result size and index status."""
    chosen = tuple(state.chosen.items())
    found = cached_options(index.fingerprint, chosen, state.lessons_only, index)
    with st.sidebar:
        st.header("絞り込み")
        for param, widget in FILTER_WIDGETS.items():
            labels = {option.value: option.label for option in found[param]}
            st.multiselect(
                LABELS[param],
                list(labels),
                key=widget,
                format_func=labels.__getitem__,
                placeholder="すべて",
                select_all=False,
                filter_mode=None,
                on_change=first_page,
            )
        st.toggle("知見・課題のみ", key="lessons_only", on_change=first_page)
        st.button("絞り込みを解除", key="reset", on_click=reset_filters, disabled=not state.filters.active)
        st.slider("1 ページの表示件数", 1, 50, key="k", on_change=first_page)
        if not settings.server:  # a server reranks with its own settings
            rerank_toggle(settings)
        manifest = index.manifest
        try:
            built = datetime.fromisoformat(manifest.created).astimezone(JST).strftime("%Y-%m-%d %H:%M JST")
        except ValueError:
            built = "不明"
        model = markdown_literal(manifest.model.name)
        served = f"｜サーバー: {markdown_literal(settings.server)}" if settings.server else ""
        st.caption(
            f"索引: {manifest.findings} 件 / 文書 {manifest.documents} 件｜モデル: {model}｜作成: {built}{served}"
        )


def rerank_toggle(settings: Settings) -> None:
    """「再ランキング（名前）を使う」, on by default, when the settings name a reranker (``$KENSAKU_RERANKER``)."""
    if not settings.reranker:
        return
    name = markdown_literal(settings.reranker)
    st.toggle(f"再ランキング（{name}）を使う", value=True, key="use_rerank", on_change=first_page)
    st.caption(
        f"上位 {settings.rerank_depth} 件を、質問と本文を組にして読むモデル（クロスエンコーダー）で並べ替えます。"
        "順位が良くなることがありますが、検索に時間がかかります。"
    )


def active_reranker(settings: Settings) -> Reranker | None:
    """The reranker to search with: the settings' one while its toggle is on; a reranker that cannot be loaded is
    shown as an error (in Japanese) and the search goes on without it."""
    if not settings.reranker or settings.server or not st.session_state.get("use_rerank", True):
        return None
    try:
        return load_reranker_for(settings)
    except KensakuError as exc:
        show_error(exc)
        return None


def downloads(index: AppIndex, state: SearchState, hits: list[Hit]) -> None:
    """Export this page's results, with citations, the question and the filters."""
    with st.sidebar:
        st.header("書き出し")
        fmt = st.selectbox("形式", FORMATS, key="export_format")
        created = datetime.now(JST)
        chosen_filters = {LABELS[key]: list(values) for key, values in state.chosen.items()}
        chosen_filters["種類"] = ["知見・課題"] if state.lessons_only else []
        st.download_button(
            "この検索結果を書き出す",
            data=index.export(hits, fmt, query=state.query, filters=chosen_filters, created=created),
            file_name=file_name(fmt, created),
            mime=MIME[fmt],
            key="dl_all",
            disabled=not hits,
            on_click="ignore",
        )


def no_findings(state: SearchState) -> None:
    """The filters leave nothing to search: say which are set, and offer to clear them."""
    st.warning("この絞り込みの組み合わせに当てはまる事例はありません。")
    st.markdown("\n".join(f"- {markdown_literal(part)}" for part in describe(state.chosen, state.lessons_only)))
    st.button("絞り込みを解除", key="reset-empty", on_click=reset_filters, type="primary")


def paging(state: SearchState, total: int, shown: int) -> None:
    """「N 件中 a–b 件」 and the 前へ／次へ buttons."""
    first, last = state.offset + 1, state.offset + shown
    pages = max(1, math.ceil(total / state.k))
    head, back, forward = st.columns([6, 1, 1])
    head.subheader(f"{total} 件中 {first}–{last} 件" if shown else f"{total} 件")
    back.button("前へ", key="prev", on_click=turn, args=(-1,), disabled=state.page <= 1)
    forward.button("次へ", key="next", on_click=turn, args=(1,), disabled=state.page >= pages)


def results(index: AppIndex, state: SearchState, settings: Settings) -> list[Hit]:
    """Search and show the cards (or say that nothing answers the question); returns the hits shown as results.

    Hits below the relevance cut-off that ``total`` counts by (``found.relevant``) are not results: they are shown
    only behind 「関連の薄い結果（参考）」, and all of them are when the question has no good answer.
    """
    reranker = active_reranker(settings)
    try:
        found = index.query(state.query, state.k, offset=state.offset, filters=state.filters, reranker=reranker)
    except KensakuError as exc:
        show_error(exc)
        return []
    st.markdown(CARD_CSS, unsafe_allow_html=True)
    highlight = query_highlighter(state.query, index.tokenizer)
    rows = rows_of(index, [hit.finding.id for hit in found.hits])
    total = found.total if found.answerable else 0
    strong = [hit for hit in found.hits if found.answerable and found.relevant(hit)]
    weak = [hit for hit in found.hits if hit not in strong]
    if strong or state.page > 1:
        paging(state, total, len(strong))
        st.caption("このページのURLで同じ検索を共有できます。")
    else:
        st.subheader(NO_MATCH)
        chosen = "／".join(describe(state.chosen, state.lessons_only))
        st.info(NO_MATCH_HINT + (f" いまの絞り込み: {markdown_literal(chosen)}" if chosen else ""))
    for group in group_hits(strong, rows):
        show_card(group, index, state.query, highlight=highlight)
    if weak:
        with st.expander("関連の薄い結果（参考）"):
            for group in group_hits(weak, rows):
                show_card(group, index, state.query, highlight=highlight)
    return strong


def examples() -> None:
    """Example questions to click."""
    st.caption("質問の例（クリックで検索）")
    for column, example in zip(st.columns(len(EXAMPLES)), EXAMPLES, strict=True):
        column.button(example, key=f"example-{example}", on_click=use_example, args=(example,))


def use_example(example: str) -> None:
    """Example button callback: search for the example question."""
    st.session_state.query = example
    st.session_state.active_query = example
    st.session_state.page = 1


def submit() -> None:
    """Form callback: search for the typed question, from its first page."""
    st.session_state.active_query = st.session_state.query
    st.session_state.page = 1


def stale_notice(index: AppIndex) -> None:
    """Say which documents changed since the index was built: it is still searched, as it was built."""
    stale = index.stale
    where = "、検索サーバーの側で " if isinstance(index, RemoteIndex) else " "
    if stale:
        names = "、".join(markdown_literal(Path(s.rsplit(" (", 1)[0]).name) for s in stale[:3])
        more = f" ほか{len(stale) - 3}件" if len(stale) > 3 else ""
        st.warning(
            f"索引の作成後に文書が変わりました（{names}{more}）。検索は作成時の内容で行います。"
            f"最新にするには{where}`{index.update_command()}` を実行してください。"
        )


def main() -> None:
    """Page layout."""
    st.title("kensaku 事例検索")
    st.caption("自治体の取組事例から、知見・課題を探します。")
    try:
        settings = Settings.from_env()  # read once per run: the index folder and the reranker come from it
        index = load_index(settings)
    except Exception as exc:  # any load failure is shown to the user, in Japanese, with its reason
        show_error(exc, "索引を開けませんでした。")
        st.stop()
    init_state(index)
    stale_notice(index)
    st.markdown(HIDE_INPUT_HINTS, unsafe_allow_html=True)
    with st.form("search", enter_to_submit=False, border=False):
        st.text_input("質問", key="query", placeholder="例: " + EXAMPLES[0])
        st.form_submit_button("検索", type="primary", on_click=submit, shortcut="Ctrl+Enter")
        st.caption(ENTER_NOTE)
    state = SearchState.from_widgets(st.session_state.active_query, st.session_state.to_dict())
    sidebar(index, state, settings)
    basket_view.section(index)
    hits: list[Hit] = []
    if not state.query:
        examples()
    elif state.filters.active and not matching_count(index, state.chosen, state.lessons_only):
        no_findings(state)
    else:
        hits = results(index, state, settings)
    downloads(index, state, hits)
    st.query_params.from_dict({**state.to_params(), **basket_view.params()})

"""The search page: a question, filters, result cards with similar cases, and exports (widgets only)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import streamlit as st

from kensaku import Hit, Index, IndexLockedError, KensakuError, NothingToIndexError, QueryError, Settings
from kensaku.api import JST
from kensaku.app.loader import load_index
from kensaku.app.plaintext import markdown_literal
from kensaku.app.render import CARD_CSS, card_html, query_highlighter
from kensaku.app.state import Basket, SearchState, filter_values
from kensaku.export import FORMATS, MIME, file_name

EXAMPLES = ("フェローの契約形態は", "住民に費用を負担してもらう仕組み", "大学と連携するメリット")


def init_state(index: Index) -> None:
    """First run of a session: take the search from the URL into the widgets."""
    if "initialized" in st.session_state:
        return
    known = {key: set(values) for key, values in filter_values(index.findings).items()}
    state = SearchState.from_params(st.query_params.get_all, known)
    st.session_state.update(
        initialized=True, query=state.query, active_query=state.query, basket=Basket(), **state.widget_values()
    )


def sidebar(index: Index) -> None:
    """Filters, result count and index status."""
    values = filter_values(index.findings)
    with st.sidebar:
        st.header("絞り込み")
        st.multiselect("自治体", values["muni"], key="municipality", placeholder="すべて")
        st.multiselect("章", values["chapter"], key="chapter", placeholder="すべて")
        st.multiselect("節", values["section"], key="section", placeholder="すべて")
        st.toggle("知見・課題のみ", key="lessons_only")
        st.slider("表示件数", 1, 50, key="k")
        manifest = index.manifest
        if st.button("索引を再作成", key="rebuild", help="文書を読み直して索引を作り直します"):
            rebuild(index)
        st.caption(
            f"索引: {manifest.findings} 件 / 文書 {manifest.documents} 件｜"
            f"モデル: {markdown_literal(manifest.model.name)}｜作成: {manifest.created.replace('T', ' ')[:16]} UTC"
        )


def rebuild(index: Index) -> None:
    """Rebuild the index from its sources with a progress bar; the next run loads the new index.

    It takes the index's writer lock like ``kensaku build``; while another process writes the index it waits a few
    seconds at most (the server stays responsive) and then says who is writing it.
    """
    bar = st.progress(0.0, text="索引を再作成中…")
    stages = {"tokenize": "形態素解析", "embed": "埋め込み"}

    def on_progress(stage: str, done: int, total: int) -> None:
        bar.progress(min(done / max(total, 1), 1.0), text=f"{stages.get(stage, stage)} {done}/{total}")

    paths = None if index.sources else [Settings.from_env().corpus_dir]  # None: the sources of the index on disk
    try:
        report = index.rebuild(paths, on_progress=on_progress, wait=3).report
    except IndexLockedError as exc:
        bar.empty()
        who = "別のプロセス"
        if exc.holder is not None:
            h, since = exc.holder, exc.holder.since.astimezone(JST)
            host, command = markdown_literal(h.host), markdown_literal(h.command)
            who = f"PID {h.pid}（ホスト {host}、開始時刻 {since:%Y-%m-%d %H:%M:%S} JST、{command}）"
        st.error(f"索引は {who} が作成中のため、再作成できませんでした。終わってからもう一度お試しください。")
        return
    except KensakuError as exc:  # e.g. nothing left to index: the reason, and each file's
        bar.empty()
        st.error(f"索引を再作成できませんでした: {markdown_literal(str(exc))}")
        show_problems(exc.problems if isinstance(exc, NothingToIndexError) else ())
        return
    assert report is not None
    load_index.clear()
    done = f"索引を再作成しました（{report.findings} 件、文書 {report.documents} 件"
    if report.stats is not None:
        s = report.stats
        done += f"：新規 {s.new}・変更 {s.changed}・変更なし {s.unchanged}・削除 {s.removed}"
    st.success(done + "）")
    problems = [*report.result.errors, *report.result.warnings] if report.result else []
    show_problems([(problem.path, problem.reason) for problem in problems])


def show_problems(problems: Sequence[tuple[str, str]]) -> None:
    """One warning per file that was skipped or warned about; names and reasons show literally, never as Markdown."""
    for path, reason in problems:
        st.warning(markdown_literal(f"{path}: {reason}"))


def current_state() -> SearchState:
    """The search the widgets describe now."""
    return SearchState.from_widgets(st.session_state.active_query, st.session_state.to_dict())


def use_example(example: str) -> None:
    """Example button callback: search for the example question."""
    st.session_state.query = example
    st.session_state.active_query = example


def pick(finding_id: str, score: float, key: str) -> None:
    """Checkbox callback: put an excerpt into the basket or take it out."""
    st.session_state.basket.set(finding_id, score, bool(st.session_state[key]))


def show_hit(
    hit: Hit, prefix: str, index: Index, *, with_similar: bool, highlight: Callable[[str], str] | None = None
) -> None:
    """One card (query words marked) with its basket checkbox, score details and (optionally) similar cases."""
    st.html(card_html(hit, highlight=highlight))
    fid = hit.finding.id
    left, right = st.columns([1, 1])
    key = f"pick-{prefix}-{fid}"
    left.checkbox(
        "抜粋に追加", key=key, value=fid in st.session_state.basket.items, on_change=pick, args=(fid, hit.score, key)
    )
    if with_similar and right.toggle("類似事例（他自治体）", key=f"similar-{fid}"):
        with st.container(border=True):
            for similar in index.similar(fid, k=3, other_municipalities=True):
                show_hit(similar, f"sim-{fid}", index, with_similar=False)
    with st.expander("スコア詳細"):
        st.text(
            f"統合 {hit.score:.4f}｜BM25 {hit.bm25:.3f}（順位 {hit.bm25_rank or '-'}）｜"
            f"意味 {hit.dense:.4f}（順位 {hit.dense_rank or '-'}）｜ID {fid}"
        )


def downloads(index: Index, state: SearchState, hits: list[Hit]) -> None:
    """Export the basket or all results, with citations."""
    basket = st.session_state.basket
    with st.sidebar:
        st.header("書き出し")
        fmt = st.selectbox("形式", FORMATS, key="export_format")
        created = datetime.now(JST)
        chosen_filters = {
            "municipality": list(state.municipalities),
            "chapter": list(state.chapters),
            "section": list(state.sections),
            "kind": ["lesson"] if state.lessons_only else [],
        }
        st.caption(f"抜粋かご: {len(basket.items)} 件")
        for label, chosen, key in (
            ("抜粋かごを書き出す", basket.hits(index.finding), "dl_basket"),
            ("全結果を書き出す", hits, "dl_all"),
        ):
            st.download_button(
                label,
                data=index.export(chosen, fmt, query=state.query, filters=chosen_filters, created=created),
                file_name=file_name(fmt, created),
                mime=MIME[fmt],
                key=key,
                disabled=not chosen,
                on_click="ignore",
            )


def main() -> None:
    """Page layout."""
    st.title("kensaku 事例検索")
    st.caption("自治体の取組事例から、知見・課題を探します。")
    try:
        index = load_index(str(Settings.from_env().index_dir))
    except Exception as exc:  # any load failure is shown to the user with its reason
        st.error(f"索引を開けませんでした: {markdown_literal(str(exc))}")
        st.stop()
    init_state(index)
    sidebar(index)
    with st.form("search", enter_to_submit=False):
        st.text_input("質問", key="query", placeholder="例: " + EXAMPLES[0])
        if st.form_submit_button("検索", type="primary"):
            st.session_state.active_query = st.session_state.query
    state = current_state()
    st.query_params.from_dict(state.to_params())
    if not state.query:
        st.caption("質問の例（クリックで検索）")
        for column, example in zip(st.columns(len(EXAMPLES)), EXAMPLES, strict=True):
            column.button(example, key=f"example-{example}", on_click=use_example, args=(example,))
        return
    try:
        hits = index.search(state.query, state.k, filters=state.filters)
    except QueryError as exc:
        st.warning(markdown_literal(str(exc)))
        return
    st.markdown(CARD_CSS, unsafe_allow_html=True)
    st.subheader(f"{len(hits)} 件")
    st.caption("このページのURLで同じ検索を共有できます。")
    highlight = query_highlighter(state.query, index.tokenizer)
    for hit in hits:
        show_hit(hit, "r", index, with_similar=True, highlight=highlight)
    downloads(index, state, hits)

"""One result card on the page: the card itself, its basket button, 「スコアの内訳」, 「前後の文脈」 with the whole
■ section and the original file, and similar cases from other municipalities.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from pathlib import Path

import streamlit as st

from kensaku.app import basket_view
from kensaku.app.context import SourceFile, source_file
from kensaku.app.grouping import HitGroup
from kensaku.app.render import card_html, score_details
from kensaku.app.source import AppIndex, around, section_of
from kensaku.ingest.models import Finding
from kensaku.remote import RemoteIndex


@st.cache_resource(max_entries=4)
def sources_of(fingerprint: str, _index: AppIndex) -> list[tuple[str, str]]:
    """``(name, path)`` of each document of the index build ``fingerprint`` whose original file can be offered,
    listed once per build (on a server: the documents whose file the server has, by name)."""
    if isinstance(_index, RemoteIndex):
        return [(name, name) for name in sorted(_index.available_files())]
    return [(info.name, info.path) for info in _index.documents()]


def original_of(index: AppIndex, finding: Finding) -> tuple[SourceFile, Callable[[], bytes]] | None:
    """The original file of ``finding`` and how to read it (from the server, when the app runs on one)."""
    listed = sources_of(index.fingerprint, index)
    if isinstance(index, RemoteIndex):
        if finding.document not in dict(listed):
            return None
        name = finding.document
        return SourceFile(Path(name), finding.page, finding.report_page), lambda: index.document_file(name)
    found = source_file(finding, listed)
    return None if found is None else (found, found.path.read_bytes)


def findings_html(findings: Sequence[Finding], highlight: Callable[[str], str] | None = None) -> str:
    """Findings as escaped paragraphs, each with its location (for the context views)."""
    render = highlight or html.escape
    return "".join(
        f'<p class="kensaku-context"><span class="kensaku-cite">{html.escape(f.location)}</span> {render(f.text)}</p>'
        for f in findings
    )


def show_card(group: HitGroup, index: AppIndex, query: str, *, highlight: Callable[[str], str] | None = None) -> None:
    """One card with its controls."""
    st.html(card_html(group, highlight=highlight))
    best = group.best
    key = "-".join(group.ids[:1])
    picked = [fid for fid in group.ids if fid in basket_view.basket()]
    left, middle = st.columns([1, 1])
    if len(picked) == len(group.ids):
        left.button("抜粋かごから外す", key=f"out-{key}", on_click=_remove_all, args=(group.ids,))
    else:
        left.button(
            "抜粋かごに入れる", key=f"pick-{key}", on_click=_add_all, args=(group, query), help="引用する抜粋として保存"
        )
    # Without a municipality, "elsewhere" is another document (Searcher.similar excludes this one).
    elsewhere = "類似事例（他自治体）" if best.finding.municipality else "類似事例（他の文書）"
    if middle.toggle(elsewhere, key=f"similar-{key}"):
        with st.container(border=True):
            similar = index.similar(best.finding.id, k=3, other_municipalities=True)
            for hit in similar:
                st.html(card_html(hit))
            if not similar:
                st.caption("ほかに似た事例は見つかりませんでした。")
    with st.expander("前後の文脈"):
        context(group, index, key)
    with st.expander("スコアの内訳"):
        st.text("\n".join(score_details(hit) for hit in sorted(group.hits, key=lambda h: h.rank)))


def _add_all(group: HitGroup, query: str) -> None:
    for hit in group.hits:
        basket_view.add(hit.finding.id, query, hit.score)


def _remove_all(ids: Sequence[str]) -> None:
    for finding_id in ids:
        basket_view.remove(finding_id)


def context(group: HitGroup, index: AppIndex, key: str) -> None:
    """The findings before and after the card, the whole ■ section on request, and the original file."""
    near = around(index, group.ids[0], group.ids[-1])
    if near.previous is None and near.next is None:
        st.caption("この文書にはほかの事例がありません。")
    if near.previous is not None:
        st.caption("前の事例")
        st.html(findings_html([near.previous]))
    if near.next is not None:
        st.caption("次の事例")
        st.html(findings_html([near.next]))
    if st.toggle("■ この見出しの事例をすべて表示", key=f"section-{key}"):
        whole = section_of(index, group.ids[0])
        st.caption(f"「{whole[0].heading or whole[0].document}」の事例 {len(whole)} 件")
        st.html(findings_html(whole))
    found = original_of(index, group.findings[0])
    if found is None:
        st.caption("原文のファイルは見つかりません（移動または削除されています）。")
        return
    original, data = found
    st.download_button(
        original.label,
        data=data,
        file_name=original.path.name,
        key=f"orig-{key}",
        on_click="ignore",
    )
    if original.hint:
        st.caption(original.hint)

"""The 文書 page: add documents (upload), see what the index holds, describe, remove, rebuild (widgets only).

Uploads are stored in the documents folder the index owns (``Settings.documents_dir``) by
:func:`kensaku.library.store_upload` and added to the index in one incremental update (only new and changed
documents are read and embedded). Every change takes the index's writer lock, waiting a few seconds at most; a busy
index is reported by :func:`kensaku.app.messages.show_error` with who holds it. After a change the loader forgets
the old index, so every page shows the new one on its next run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import streamlit as st

from kensaku import Index, InputError, KensakuError, NothingToIndexError, Settings
from kensaku.api import JST
from kensaku.app import loader
from kensaku.app.messages import japanese_warning, show_error
from kensaku.app.plaintext import markdown_literal
from kensaku.index.build import BuildReport
from kensaku.index.manifest import inputs_of
from kensaku.library import DocumentInfo, DocumentMeta, as_meta, store_upload

UPLOAD_TYPES = ("pdf", "docx", "html", "htm", "md", "txt")
KIND_NAMES = {"pdf": "PDF", "docx": "Word", "html": "HTML", "htm": "HTML", "md": "Markdown", "txt": "テキスト"}
STAGES = {"read": "読み込み", "tokenize": "形態素解析", "embed": "埋め込み", "save": "保存"}
WAIT_S = 3  # seconds a change waits for another writer before saying who it is


def added_jst(added: str) -> str:
    """``2026-11-30T08:05:12+00:00`` → ``2026-11-30 17:05 JST`` (an unreadable value is shown as it is)."""
    try:
        return f"{datetime.fromisoformat(added).astimezone(JST):%Y-%m-%d %H:%M} JST"
    except ValueError:
        return added


def progress_bar(label: str) -> Callable[[str, int, int], None]:
    """A progress bar; returns the callback for the library (stage, done, total)."""
    bar = st.progress(0.0, text=label)

    def on_progress(stage: str, done: int, total: int) -> None:
        bar.progress(min(done / max(total, 1), 1.0), text=f"{label} {STAGES.get(stage, stage)} {done}/{total}")

    return on_progress


def show_problems(problems: Sequence[tuple[str, str]], *, skipped: bool = False) -> None:
    """One warning per file that was skipped or warned about, in Japanese (names literal, never Markdown)."""
    for path, reason in problems:
        name = Path(path).name
        head = f"{name} は読み込めませんでした: " if skipped else f"{name}: "
        st.warning(markdown_literal(head + japanese_warning(reason)))


@dataclass(frozen=True)
class Notice:
    """What the last change did, shown after the page is drawn again with the new index.

    Attributes:
        label: The action (「索引に追加」), for the finished progress bar.
        text: The summary (counts of 新規・変更・変更なし・削除, documents, findings).
        skipped: ``(path, reason)`` of each file that was not read.
        warnings: ``(path, warning)`` of each file read with a warning.
    """

    label: str
    text: str
    skipped: tuple[tuple[str, str], ...] = ()
    warnings: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, label: str, done: str, report: BuildReport | None) -> Notice:
        """The notice for a change that made ``report``."""
        if report is None:
            return cls(label, done)
        text = f"{done}（文書 {report.documents} 件、事例 {report.findings} 件"
        if report.stats is not None:
            s = report.stats
            text += f"：新規 {s.new}・変更 {s.changed}・変更なし {s.unchanged}・削除 {s.removed}"
        result = report.result
        skipped = tuple((e.path, e.reason) for e in result.errors) if result else ()
        warnings = tuple((w.path, w.reason) for w in result.warnings) if result else ()
        return cls(label, text + "）", skipped, warnings)

    def show(self) -> None:
        """The finished bar, the summary, each file's problems in Japanese and the originals in an expander."""
        st.progress(1.0, text=f"{self.label} 完了（100%）")
        st.success(markdown_literal(self.text))
        show_problems(self.skipped, skipped=True)
        show_problems(self.warnings)
        if self.skipped or self.warnings:
            with st.expander("詳細（原文）"):
                for path, reason in [*self.skipped, *self.warnings]:
                    st.markdown(markdown_literal(f"{path}: {reason}"))


def changed(action: Callable[[], Index], label: str, done: str, failed: str) -> None:
    """Run a change of the index; on success keep its notice and draw the page again (the table shows the new
    index), else show the error in Japanese."""
    try:
        new = action()
    except KensakuError as exc:
        show_error(exc, prefix=failed)
        if isinstance(exc, NothingToIndexError):
            show_problems(exc.problems, skipped=True)
        return
    finally:
        loader.clear()
    st.session_state.documents_notice = Notice.of(label, done, new.report)
    st.session_state.documents_generation = st.session_state.get("documents_generation", 0) + 1  # fresh choices
    st.rerun()


def upload(index: Index, settings: Settings) -> None:
    """The uploader: store each file in the documents folder, then add them all in one update."""
    st.subheader("文書を追加")
    # The server refuses bodies over its own server.maxUploadSize (.streamlit/config.toml): state the smaller limit.
    limit = min(settings.max_upload_mb, int(st.get_option("server.maxUploadSize")))
    with st.form("upload", clear_on_submit=True, border=False):
        files = st.file_uploader(
            f"ファイルを選んでください（PDF・DOCX・HTML・MD・TXT、1 ファイル {limit} MB まで、複数可）",
            type=list(UPLOAD_TYPES),
            accept_multiple_files=True,
            max_upload_size=limit,
            help=f"選んだファイルは文書フォルダー（{settings.documents_dir}）に保存され、索引に追加されます。",
        )
        submitted = st.form_submit_button("索引に追加", type="primary")
    if not submitted or not files:
        return None
    folder = settings.documents_dir
    before = set(folder.iterdir()) if folder.is_dir() else set()
    stored: list[Path] = []
    for file in files:
        try:
            target = store_upload(settings.documents_dir, file.name, file.getvalue(), max_mb=limit)
        except (KensakuError, OSError) as exc:
            show_error(exc, prefix=f"{file.name} を保存できませんでした。")
            continue
        stored.append(target)
    fresh = set(stored) - before  # files this upload created (not identical copies already in the folder)
    if not stored:
        return None
    on_progress = progress_bar("索引に追加中…")

    def add() -> Index:
        try:
            new = index.add(stored, on_progress=on_progress, wait=WAIT_S)
        except KensakuError:
            discard(fresh, kept=set())
            raise
        discard(fresh, kept={Path(d.path) for d in new.documents()})
        return new

    changed(add, "索引に追加", "索引に追加しました", "索引に追加できませんでした。")


def show_discarded(names: Sequence[str]) -> None:
    """Say which uploaded files were taken out of the documents folder again."""
    if names:
        listed = "、".join(names)
        st.warning(
            markdown_literal(
                f"読み込めなかったため、文書フォルダーから取り除きました（お手元の元ファイルはそのままです）: {listed}"
            )
        )


def discard(fresh: set[Path], *, kept: set[Path]) -> None:
    """Delete the uploaded copies that did not make it into the index (unreadable files, or an update that failed),
    so the documents folder holds only what the table lists; the page says which (the user still has the original)."""
    for path in sorted(fresh - kept):
        path.unlink(missing_ok=True)
        st.session_state.setdefault("documents_discarded", []).append(path.name)


def table(documents: Sequence[DocumentInfo], *, empty: str = "上の「文書を追加」から追加してください。") -> None:
    """The documents of the index, one row each, with Japanese column names; values shown literally (``empty``:
    what to do when there is none)."""
    st.subheader(f"登録済みの文書（{len(documents)} 件）")
    if not documents:
        st.info("索引に文書がありません。" + empty)
        return
    rows = [
        {
            "名前": d.name,
            "種類": KIND_NAMES.get(d.kind, d.kind.upper()),
            "ページ": "" if d.pages is None else str(d.pages),
            "事例数": str(d.findings),
            "自治体": d.municipality,
            "年度": "" if d.year is None else str(d.year),
            "表題": d.title,
            "タグ": "、".join(d.tags),
            "注意": f"{len(d.warnings)} 件" if d.warnings else "",
            "追加日時": added_jst(d.added),
            "保存場所": "文書フォルダー" if d.owned else "元の場所",
        }
        for d in documents
    ]
    st.table([{key: markdown_literal(value) for key, value in row.items()} for row in rows], hide_index=True)
    noted = [d for d in documents if d.warnings]
    if noted:
        with st.expander(f"読み込み時の注意（{len(noted)} 文書）"):
            for d in noted:
                show_problems([(d.name, warning) for warning in d.warnings])


def label_of(documents: Sequence[DocumentInfo]) -> Callable[[str], str]:
    """Option label for a document path: its name, and the folder when two documents share a name."""
    names = [d.name for d in documents]
    by_path = {d.path: d.name if names.count(d.name) == 1 else f"{d.name}（{Path(d.path).parent}）" for d in documents}
    return lambda path: by_path.get(path, path)


def parse_tags(text: str) -> tuple[str, ...]:
    """Tags separated by 、 , ， or spaces, without empties or repeats, in order."""
    for separator in ("、", "，", ",", "　"):
        text = text.replace(separator, " ")
    return tuple(dict.fromkeys(tag for tag in text.split(" ") if tag))


def edit_metadata(index: Index, documents: Sequence[DocumentInfo]) -> None:
    """Set municipality, year, title and tags of one document (no re-embedding)."""
    st.subheader("文書の情報を編集")
    by_path = {d.path: d for d in documents}
    path = st.selectbox(
        "文書",
        list(by_path),
        format_func=label_of(documents),
        key=f"meta_document-{st.session_state.get('documents_generation', 0)}",
        placeholder="文書を選んでください",
    )
    if path is None:
        return None
    d = by_path[path]
    record = next((r for r in index.manifest.sources if r.path == path), None)
    set_ = record.meta if record is not None and record.meta is not None else DocumentMeta()
    st.caption("空欄の項目は文書から読み取った値（薄い字）を使います。")
    with st.form(f"meta-{path}", border=False):
        left, right = st.columns(2)
        municipality = left.text_input("自治体", value=set_.municipality, placeholder=d.municipality or "例: 加賀市")
        year = right.text_input(
            "年度",
            value="" if set_.year is None else str(set_.year),
            placeholder=str(d.year) if d.year is not None else "例: 2024 または 令和6年度",
        )
        title = left.text_input("表題", value=set_.title, placeholder=d.title)
        tags = right.text_input(
            "タグ（読点「、」で区切る）", value="、".join(set_.tags), placeholder="例: 防災、ため池"
        )
        if not st.form_submit_button("情報を保存"):
            return None
    try:
        meta = as_meta(
            {"municipality": municipality.strip(), "year": year, "title": title.strip(), "tags": parse_tags(tags)}
        )
    except InputError as exc:
        show_error(exc)
        return
    changed(
        lambda: index.set_metadata(path, meta, wait=WAIT_S),
        "情報の保存",
        f"{d.name} の情報を保存しました",
        "情報を保存できませんでした。",
    )


def remove(index: Index, documents: Sequence[DocumentInfo]) -> None:
    """Choose documents, confirm, remove them from the index (an uploaded file is deleted with it)."""
    st.subheader("文書を削除")
    chosen: list[str] = st.multiselect(
        "削除する文書",
        [d.path for d in documents],
        format_func=label_of(documents),
        key=f"remove_documents-{st.session_state.get('documents_generation', 0)}",
        placeholder="文書を選んでください",
    )
    if st.button("選んだ文書を削除…", key="remove", disabled=not chosen):
        st.session_state.remove_confirm = list(chosen)
    pending = [p for p in st.session_state.get("remove_confirm", []) if p in chosen]
    if not pending:
        return None
    names = "、".join(label_of(documents)(p) for p in pending)
    st.warning(
        markdown_literal(
            f"{len(pending)} 件の文書を索引から削除します: {names}。アップロードした文書はファイルも削除されます。"
        )
    )
    yes, no = st.columns(2)
    if no.button("やめる", key="remove_cancel"):
        st.session_state.remove_confirm = []
        st.rerun()
    if not yes.button("削除する", key="remove_yes", type="primary"):
        return None
    st.session_state.remove_confirm = []
    on_progress = progress_bar("削除中…")
    changed(
        lambda: index.remove(pending, on_progress=on_progress, wait=WAIT_S),
        "削除",
        "削除しました",
        "削除できませんでした。",
    )


def rebuild(index: Index | None, settings: Settings) -> None:
    """Rebuild the index from what it holds (an index that cannot be opened: fully, from its recorded inputs)."""
    on_progress = progress_bar("索引を作り直し中…")
    if index is not None:
        action = lambda: index.rebuild(on_progress=on_progress, wait=WAIT_S)  # noqa: E731
    else:
        directory = settings.index_dir
        sources = inputs_of(directory) or [str(settings.corpus_dir)]
        action = lambda: Index.build(  # noqa: E731
            sources, directory, settings=settings, full=True, on_progress=on_progress, wait=WAIT_S
        )
    changed(action, "索引の作り直し", "索引を作り直しました", "索引を作り直せませんでした。")


SERVED_NOTE = (
    "検索サーバーにつないでいるため、この画面では文書の追加・削除・索引の作り直しはできません。"
    "サーバーの側で `kensaku add` / `kensaku remove` を実行するか、書き込みを許可したサーバー"
    "（`kensaku serve --writable`）の `/documents` を使ってください。"
)


def served_documents(settings: Settings) -> None:
    """The documents of the index a server answers from (``$KENSAKU_SERVER``): listed, not changed here."""
    st.caption(markdown_literal(f"検索サーバー: {settings.server}"))
    st.info(SERVED_NOTE)
    try:
        documents = loader.load_index(settings).documents()
    except Exception as exc:  # an unreachable server or its error, shown with its reason
        show_error(exc, prefix="検索サーバーから文書の一覧を読めませんでした。")
        return
    table(documents, empty="サーバーの側で追加してください。")


def main() -> None:
    """Page layout."""
    st.title("文書")
    settings = Settings.from_env()
    if settings.server:
        served_documents(settings)
        return
    st.caption(markdown_literal(f"文書の保存先: {settings.documents_dir}｜索引の保存先: {settings.index_dir}"))
    index: Index | None = None
    try:
        opened = loader.load_index(settings)
        assert isinstance(opened, Index)  # no server: the index itself
        index = opened
    except Exception as exc:  # any load failure is shown with its reason; the rebuild below can repair it
        show_error(exc, prefix="索引を開けませんでした。")
    if index is not None:
        notice = st.session_state.pop("documents_notice", None)
        if isinstance(notice, Notice):
            notice.show()
        show_discarded(st.session_state.pop("documents_discarded", []))
        upload(index, settings)
        documents = index.documents()
        table(documents)
        if documents:
            edit_metadata(index, documents)
            remove(index, documents)
    st.subheader("索引を作り直す")
    st.caption("文書を読み直して索引を作り直します。索引が壊れたとき、古い形式のときに使います。")
    if st.button("索引を作り直す", key="rebuild"):
        rebuild(index, settings)

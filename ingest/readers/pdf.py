"""PDF reader: every page's text as a reader sees it (PDFium via pypdfium2), OCR where a page has none.

What a page contributes:

* Its lines from :mod:`~kensaku.ingest.readers.pdftext`: PDFium decodes CID fonts without a ToUnicode map through
  the Adobe-Japan1 tables it carries (``Ryumin-Light`` with ``Identity-H``/``V``, ``EUC-H``, ``H``, ``90ms-RKSJ-H``),
  visual lines are rebuilt from character positions (text placed one word per object comes out as one line), and
  vertical text (縦書き) is read column by column, right to left. Radical look-alikes are mapped back (``⾏`` →
  ``行``, :func:`~kensaku.ingest.readers.compat.fix_compat_chars`).
* Junk is never indexed: lines of mojibake (:mod:`~kensaku.ingest.readers.junk`: ``ಘΒΕͨ୯ޠ``, private-use glyphs) are
  left out with a warning for the page. A page whose text is mostly junk, ``(cid:N)`` codes, characters PDFium could
  not map, garbled, or empty has no usable text layer.
* A page without a usable text layer is read by OCR (:mod:`~kensaku.ingest.readers.ocr`, Tesseract ``jpn`` and
  ``jpn_vert``) when Tesseract is installed and ``ocr`` is on, with a warning saying the page's text came from OCR;
  otherwise it is skipped with a warning saying what was lost and how to get it.
* When fewer than half of the pages had usable text, the first warning says how many pages were left out.

Then :mod:`~kensaku.ingest.readers.pdfblocks` removes running heads and page numbers and rebuilds paragraphs.
Citations are ``p.3 L5–7``: line 5 is the 5th text line of page 3 from the top in reading order (a column of
vertical text is one line), not counting the running head, the page number and blank lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kensaku.config import DEFAULTS, MB, ReadLimits, limit_setting
from kensaku.ingest.models import Document
from kensaku.ingest.normalize import clean_text, has_text
from kensaku.ingest.readers.base import ReadError, new_document
from kensaku.ingest.readers.compat import CID_RUN, cid_share, fix_compat_chars, garbled_share
from kensaku.ingest.readers.junk import junk_line
from kensaku.ingest.readers.ocr import OcrError, ocr_available, ocr_page
from kensaku.ingest.readers.pdfblocks import body_lines, render, strip_running
from kensaku.ingest.readers.pdfmeta import meta_title, page_labels
from kensaku.ingest.readers.pdftext import page_text

if TYPE_CHECKING:
    from pypdfium2 import PdfDocument, PdfPage


SUFFIXES: tuple[str, ...] = (".pdf",)
MAX_BYTES: int = DEFAULTS.max_binary_mb * MB

CID_MAX_SHARE = 0.3
GARBLED_MAX_SHARE = 0.05
UNMAPPED_MAX_SHARE = 0.3
JUNK_MAX_SHARE = 0.5
READABLE_MIN_SHARE = 0.5
CAUSE_MAX_CHARS = 80

_ENCRYPTED = "is encrypted with a password; remove the password (e.g. print to PDF) and add it again"
_OCR_HINT = "install Tesseract (apt install tesseract-ocr-jpn tesseract-ocr-jpn-vert) to OCR it"
_NO_OCR_HINT = "build without --no-ocr to OCR it"
# Why a page's text layer is unusable, by kind.
_UNUSABLE = {
    "empty": "no text layer (scanned image?)",
    "cid": "text layer is (cid:…) codes (font without a ToUnicode map)",
    "garbled": "text layer is garbled (a font without a usable Unicode map)",
    "unmapped": "{} of {} characters have no Unicode mapping in the font",
    "junk": "text layer is mostly mojibake ({} of {} lines)",
}
_FAILED = "p.{}: text could not be extracted ({}); OCR the PDF or export the text from the source file"
_JUNK_LINES = "p.{}: {} line(s) of mojibake left out"
_OCR_DONE = "p.{}: {}; text read by OCR (Tesseract {}, confidence {:.0f}); check quotes against the page"
_OCR_EMPTY = "p.{}: {}; OCR found no text (a blank or picture-only page?)"
_OCR_FAILED = "p.{}: {}; OCR failed: {}"
_FEW_PAGES = "only {} of {} pages had readable text; {} pages were left out (see the warnings for each page)"


@dataclass(frozen=True)
class _Page:
    """What one page gave: its lines (empty when nothing usable) and warnings."""

    lines: tuple[str, ...]
    problems: tuple[str, ...] = ()
    kind: str = ""


def read(data: bytes, path: Path, *, ocr: bool = True, limits: ReadLimits = DEFAULTS.limits) -> Document:
    """Read a PDF into a document (see the module docstring for lines, numbers, OCR and warnings).

    Args:
        data: The file's bytes.
        path: The file (for the name and the fallback title).
        ocr: Read pages without a usable text layer with Tesseract when it is installed.
        limits: ``max_pdf_pages``, checked when the PDF is opened, before any page is read.

    Returns:
        The document: markdown-like lines with their page and line-on-page number, the page labels, and warnings
        for pages that were read by OCR, lost lines or could not be read.

    Raises:
        ReadError: The data is not a readable PDF, needs a password, has more pages than ``limits`` allow, or no
            page has usable text.
    """
    pdf = _open(data)
    if len(pdf) > limits.max_pdf_pages:
        count = len(pdf)
        pdf.close()
        raise ReadError(
            f"has {count:,} pages, over the limit of {limits.max_pdf_pages:,} pages for one PDF",
            f"split the PDF, or raise {limit_setting('max_pdf_pages')}",
        )
    use_ocr = ocr and ocr_available()
    hint = "" if use_ocr else _NO_OCR_HINT if not ocr else _OCR_HINT
    try:
        pages = [_load_and_read(pdf, i, hint) for i in range(len(pdf))]
        title, labels = meta_title(pdf), page_labels(pdf)
    finally:
        pdf.close()
    problems = [problem for page in pages for problem in page.problems]
    texts = [list(page.lines) for page in pages]
    readable = sum(1 for lines in texts if any(lines))
    if not readable:
        raise ReadError(_no_text_reason([p.kind for p in pages], hint))
    if readable < READABLE_MIN_SHARE * len(pages):
        problems.insert(0, _FEW_PAGES.format(readable, len(pages), len(pages) - readable))
    body, kept = strip_running(texts)
    problems += kept
    lines, origins, page_numbers, first_heading = render(body_lines(body))
    return new_document(
        path,
        data,
        lines,
        title=title or first_heading,
        origins=origins,
        pages=page_numbers,
        page_labels=labels,
        problems=problems,
    )


def _cause(exc: Exception) -> str:
    """A short description of an error for a message."""
    text = clean_text(str(exc)) or type(exc).__name__
    return text if len(text) <= CAUSE_MAX_CHARS else text[: CAUSE_MAX_CHARS - 1] + "…"


def _open(data: bytes) -> PdfDocument:
    """Open the PDF with PDFium (an owner password alone does not stop it), refusing truncated or broken data."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    if b"%PDF-" not in data[:1024]:
        raise _broken("no %PDF- header; is it another format renamed to .pdf?")
    if b"%%EOF" not in data[-1024:]:
        raise _broken("truncated: no %%EOF at the end")
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if getattr(exc, "err_code", None) == pdfium_c.FPDF_ERR_PASSWORD:
            raise ReadError(_ENCRYPTED) from exc
        raise _broken(_cause(exc)) from exc
    if len(pdf) == 0:
        pdf.close()
        raise ReadError("has no pages; re-export or re-download it")
    return pdf


def _broken(cause: str) -> ReadError:
    return ReadError(f"is not a readable PDF ({cause}); re-export or re-download it")


def _load_and_read(pdf: PdfDocument, index: int, hint: str) -> _Page:
    """Page ``index`` read by :func:`_read_page`; a page PDFium cannot load (a broken page tree) is a failed page."""
    import pypdfium2 as pdfium

    try:
        page = pdf[index]
    except pdfium.PdfiumError as exc:
        return _Page((), (_FAILED.format(index + 1, _cause(exc)),), "failed")
    return _read_page(page, index + 1, hint)


def _read_page(page: PdfPage, number: int, hint: str) -> _Page:
    """The usable lines of one page, or its OCR reading (``hint`` empty: OCR is on), with the warnings for it."""
    try:
        text = page_text(page.get_textpage())
    except Exception as exc:
        return _Page((), (_FAILED.format(number, _cause(exc)),), "failed")
    lines = _clean_lines(text.lines)
    kind, why = _unusable("\n".join(text.lines), lines, text.unmapped, text.chars + text.unmapped)
    if not kind:
        junk = lines.count("")
        return _Page(tuple(lines), (_JUNK_LINES.format(number, junk),) if junk else ())
    if hint:
        return _Page((), (f"p.{number}: {why}; {hint}",), kind)
    return _ocr(page, number, why, kind)


def _clean_lines(raw: Sequence[str]) -> list[str]:
    """The non-empty lines, cleaned, without ``(cid:N)`` runs; a junk line is blanked, not removed: it is still a
    line of the page, so later lines keep their numbers."""
    lines = (clean_text(CID_RUN.sub("", fix_compat_chars(line))) for line in raw)
    return ["" if junk_line(line) else line for line in lines if line]


def _unusable(raw: str, lines: Sequence[str], unmapped: int, total: int) -> tuple[str, str]:
    """``(kind, why)`` when the page's text layer is unusable (see ``_UNUSABLE``), else ``("", "")``."""
    junk = lines.count("")
    if not has_text(raw):
        kind = "empty"
    elif cid_share(raw) > CID_MAX_SHARE:
        kind = "cid"
    elif garbled_share(raw) > GARBLED_MAX_SHARE:
        kind = "garbled"
    elif total and unmapped > UNMAPPED_MAX_SHARE * total:
        return "unmapped", _UNUSABLE["unmapped"].format(unmapped, total)
    elif junk and junk >= JUNK_MAX_SHARE * len(lines):
        return "junk", _UNUSABLE["junk"].format(junk, len(lines))
    elif junk == len(lines):
        kind = "empty"
    else:
        return "", ""
    return kind, _UNUSABLE[kind]


def _ocr(page: PdfPage, number: int, why: str, kind: str) -> _Page:
    """The page read by Tesseract, with a warning that says so (or why it gave nothing)."""
    try:
        result = ocr_page(page)
    except OcrError as exc:
        return _Page((), (_OCR_FAILED.format(number, why, exc),), kind)
    lines = _clean_lines(result.lines)
    if not any(lines):
        return _Page((), (_OCR_EMPTY.format(number, why),), kind)
    return _Page(tuple(lines), (_OCR_DONE.format(number, why, result.languages, result.confidence),))


def _no_text_reason(kinds: Sequence[str], hint: str) -> str:
    """Why no page gave text, and what to do about it (``hint`` empty: OCR ran and found nothing)."""
    if not hint:
        return "has no usable text layer and OCR found no text on any page; check the scan and add it again"
    if all(kind in ("cid", "garbled", "unmapped") for kind in kinds):
        return (
            "has only (cid:…) codes or garbled text in its text layer (fonts without a Unicode map); re-export it "
            f"with embedded Unicode fonts or {hint}, and add it again"
        )
    if all(kind == "empty" for kind in kinds):
        return f"has no text layer (a scanned PDF?); {hint} and add it again"
    return (
        "has no usable text layer (scanned pages, (cid:…) codes or broken text); re-export it with embedded "
        f"Unicode fonts or {hint}, and add it again"
    )

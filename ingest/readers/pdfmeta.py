"""A PDF's document information: the title (unless it is junk such as ``Microsoft Word - a.docx``) and page labels."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from kensaku.ingest.normalize import clean_text, has_text
from kensaku.ingest.readers.compat import fix_compat_chars

if TYPE_CHECKING:
    from pypdfium2 import PdfDocument


_JUNK_TITLE = re.compile(
    r"^(?:Microsoft (?:Word|PowerPoint|Excel)\s*-|untitled$|無題|PowerPoint\s*プレゼンテーション$)"
    r"|\.(?:docx?|xlsx?|pptx?|pdf|rtf|txt|odt|jtd|indd?|ai|eps)$|^(?:[A-Za-z]:)?[\\/]|\\",
    re.IGNORECASE,
)
# Starts only where a run of name characters does (and never gives them back), so that a search costs linear time.
_FILE_NAME = re.compile(r"(?<![A-Za-z0-9.-])[A-Za-z0-9.-]*+_[A-Za-z0-9_.-]*")


def meta_title(pdf: PdfDocument) -> str:
    """The ``/Title`` of a pypdfium2 document, unless empty or junk (``Microsoft Word - a.docx``, a file name)."""
    try:
        raw = pdf.get_metadata_value("Title")
    except Exception:
        return ""
    title = clean_text(fix_compat_chars(str(raw or "")))
    if not has_text(title) or _JUNK_TITLE.search(title) or _FILE_NAME.fullmatch(title):
        return ""
    return title


def page_labels(pdf: PdfDocument) -> list[str]:
    """The printed page labels (``/PageLabels``), one per page: the page number where a page has none."""
    try:
        return [str(pdf.get_page_label(i) or i + 1) for i in range(len(pdf))]
    except Exception:
        return []

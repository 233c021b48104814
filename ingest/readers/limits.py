"""Expansion limits the readers check before the work they bound (see :class:`kensaku.config.ReadLimits`).

Each check raises a :class:`~kensaku.ingest.readers.base.ReadError` naming the value, the limit and how to raise it;
the counting that needs a format's structure (table grids) stays in its reader, which calls :func:`check_table`.

* A ``.docx`` is a zip: :func:`check_package` reads its directory (sizes as stored there; Python's ``zipfile``, which
  python-docx uses too, never unzips a part past the size its directory gives) and counts the paragraph tags in the
  unzipped XML bytes, before python-docx parses any of it.
* A table (HTML or DOCX) is refused when its grid or the text its spanned cells repeat is over the limits.
"""

from __future__ import annotations

import io
import zipfile

from kensaku.config import MB, ReadLimits, limit_setting
from kensaku.ingest.readers.base import ReadError

# Only parts at least this large are checked for their zip ratio (a small part costs nothing to unzip).
RATIO_MIN_BYTES = MB
# The start tag of a WordprocessingML paragraph (``<w:p>``, ``<w:p w:rsidR=…>``, ``<w:p/>``), not ``<w:pPr>``.
_PARAGRAPH_TAGS = tuple(b"<w:p" + end for end in (b">", b"/", b" ", b"\n", b"\r", b"\t"))


def check_package(data: bytes, limits: ReadLimits) -> None:
    """Refuse a ``.docx`` that unzips too large, has a part that expands like a decompression bomb, or holds more
    paragraphs than ``limits`` allow; data that is not a readable zip is left to python-docx to report.

    Raises:
        ReadError: A limit is exceeded.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError):
        return
    with archive:
        infos = archive.infolist()
        total = sum(info.file_size for info in infos)
        if total > limits.max_unzipped_mb * MB:
            raise ReadError(
                f"unzips to {total / MB:,.0f} MB, over the limit of {limits.max_unzipped_mb:,} MB for one .docx",
                f"split it or save it with smaller pictures, or raise {limit_setting('max_unzipped_mb')}",
            )
        for info in infos:
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size >= RATIO_MIN_BYTES and ratio > limits.max_zip_ratio:
                raise ReadError(
                    f"its part {info.filename} unzips {ratio:,.0f} times larger ({info.file_size / MB:,.0f} MB from "
                    f"{info.compress_size / 1024:,.0f} KB; the limit is {limits.max_zip_ratio:,} times): a "
                    "decompression bomb, or a document of nothing but repeated empty elements",
                    f"open it in Word and save it again, or raise {limit_setting('max_zip_ratio')}",
                )
        paragraphs = sum(_count_paragraphs(archive, info) for info in infos if info.filename.endswith(".xml"))
    if paragraphs > limits.max_docx_paragraphs:
        raise ReadError(
            f"has {paragraphs:,} paragraphs, over the limit of {limits.max_docx_paragraphs:,} for one .docx",
            f"split the document, or raise {limit_setting('max_docx_paragraphs')}",
        )


def _count_paragraphs(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> int:
    """Paragraph start tags in one XML part (0 when it cannot be unzipped: python-docx then reports the damage)."""
    try:
        xml = archive.read(info)
    except Exception:  # a damaged part (CRC, zlib, encryption) is reported when python-docx opens it
        return 0
    return sum(xml.count(tag) for tag in _PARAGRAPH_TAGS)


def check_table(cells: int, chars: int, limits: ReadLimits, *, line: int | None = None) -> None:
    """Refuse a table of ``cells`` grid cells whose rows would hold ``chars`` characters (a spanned cell's text is
    repeated in every row it spans).

    Args:
        cells: Rows × columns, a cell spanning several counted as all it covers.
        chars: Characters in all rows, a spanned cell's text counted once per row.
        limits: ``max_table_cells`` and ``max_doc_chars``.
        line: Where the table starts, for the message (HTML source line).

    Raises:
        ReadError: Over either limit.
    """
    where = f" (line {line})" if line else ""
    if cells > limits.max_table_cells:
        raise ReadError(
            f"has a table{where} of {cells:,} grid cells (rows × columns, spans included), over the limit of "
            f"{limits.max_table_cells:,}",
            f"split the table or fix its colspan/rowspan, or raise {limit_setting('max_table_cells')}",
        )
    if chars > limits.max_doc_chars:
        raise ReadError(
            f"has a table{where} whose merged cells repeat into {chars:,} characters of text, over the limit of "
            f"{limits.max_doc_chars:,} for one document",
            f"split the table or unmerge its cells, or raise {limit_setting('max_doc_chars')}",
        )

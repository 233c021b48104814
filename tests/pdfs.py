"""Real Japanese PDFs written with reportlab's built-in CID font (see tests/unit/test_reader_pdf.py for why this font).

Every page is drawn with one text line per ``drawString``; a full line is 30 characters (``WIDTH``).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Container, Sequence

from PIL import Image
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

FONT = "HeiseiKakuGo-W5"
WIDTH = 30
CID_GARBAGE = "(cid:12)(cid:345)(cid:7)(cid:1022)(cid:88)(cid:3)"

pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def wrap(text: str) -> list[str]:
    """Cut ``text`` into lines of ``WIDTH`` characters, as a justified Japanese page would."""
    return [text[i : i + WIDTH] for i in range(0, len(text), WIDTH)]


def make_pdf(
    pages: Sequence[Sequence[str]],
    *,
    header: str | None = None,
    footer: Callable[[int], str] | None = None,
    title: str | None = None,
    images: Container[int] = (),
) -> bytes:
    """A PDF with one text line per entry of ``pages[i]``; ``images`` holds 1-based pages that get a raster image."""
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf)
    if title is not None:
        pdf.setTitle(title)
    for number, lines in enumerate(pages, 1):
        pdf.setFont(FONT, 10)
        if header:
            pdf.drawString(72, 810, header)
        y = 780
        for line in lines:
            pdf.drawString(72, y, line)
            y -= 16
        if footer:
            pdf.drawString(290, 30, footer(number))
        if number in images:
            pdf.drawImage(ImageReader(Image.new("RGB", (60, 40), (200, 30, 30))), 72, 300, 300, 200)
        pdf.showPage()
    pdf.save()
    return buf.getvalue()

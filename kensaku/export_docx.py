"""The Word (DOCX) export: A4, Japanese fonts set on every run, each excerpt as a quote with its citation.

Kept apart from :mod:`kensaku.export` so that python-docx is imported only when a Word file is written.
"""

from __future__ import annotations

import io
from datetime import UTC

from docx import Document as new_docx
from docx.document import Document as DocxDocument
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.shared import Mm, Pt
from docx.text.paragraph import Paragraph
from docx.text.run import Run

from kensaku.export import (
    NO_HITS,
    XML_ILLEGAL,
    ExportMeta,
    Items,
    excerpt_lines,
    full_citation,
    kind_label,
    meta_rows,
    prepare,
    short_citation,
    stable_zip,
)

BODY_FONT = "游明朝"
HEADING_FONT = "游ゴシック"


def _set_fonts(r_pr: BaseOxmlElement, font: str) -> None:
    """Set ascii/hAnsi/eastAsia fonts on an ``w:rPr``, dropping theme fonts that would override them."""
    fonts = r_pr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        r_pr.insert(0, fonts)
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(theme), None)
    for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia"):
        fonts.set(qn(attribute), font)


def _style_docx(doc: DocxDocument) -> None:
    """A4 page, Japanese fonts and language on Normal, Quote and the headings."""
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = section.top_margin = section.bottom_margin = Mm(25)
    normal = doc.styles["Normal"]
    normal.font.size = Pt(10.5)
    _set_fonts(normal.element.get_or_add_rPr(), BODY_FONT)
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "ja-JP")
    normal.element.get_or_add_rPr().append(lang)
    quote = doc.styles["Quote"]
    quote.font.italic = False  # Japanese has no italics; Word would slant the glyphs
    quote.paragraph_format.left_indent = Mm(8)
    _set_fonts(quote.element.get_or_add_rPr(), BODY_FONT)
    for name in ("Title", "Heading 1", "Heading 2"):
        _set_fonts(doc.styles[name].element.get_or_add_rPr(), HEADING_FONT)


def _run(paragraph: Paragraph, text: str, font: str = BODY_FONT, size: float | None = None) -> Run:
    """Add a run with its fonts (East Asian included) set on the run itself, as Word needs for Japanese."""
    run = paragraph.add_run(XML_ILLEGAL.sub("", text))
    _set_fonts(run._element.get_or_add_rPr(), font)
    if size is not None:
        run.font.size = Pt(size)
    return run


def _heading(doc: DocxDocument, text: str, level: int) -> None:
    _run(doc.add_heading("", level=level), text, HEADING_FONT)


def docx_bytes(hits: Items, meta: ExportMeta) -> bytes:
    """Word document: the question as heading (「N 件の質問」 for several, each listed below it), a metadata
    paragraph, each excerpt as a quote with its citation (and its question and note)."""
    excerpts, meta = prepare(hits, meta)
    doc = new_docx()
    _style_docx(doc)
    _heading(doc, f"「{meta.subject}」の検索結果" if not meta.several else f"{meta.subject}の検索結果", 1)
    lines = [f"{label}: {value}" for label, value in meta_rows(meta, len(excerpts))[1:]]  # the query is the heading
    info = doc.add_paragraph()
    for n, line in enumerate(lines):
        run = _run(info, line, size=9)
        if n < len(lines) - 1:
            run.add_break()
    if not excerpts:
        _run(doc.add_paragraph(), NO_HITS)
    for n, excerpt in enumerate(excerpts, start=1):
        finding = excerpt.hit.finding
        _heading(doc, f"{n}. {finding.municipality or finding.document}（{kind_label(finding.kind)}）", 2)
        for label, value in excerpt_lines(excerpt, meta):
            _run(doc.add_paragraph(), f"{label}: {value}", size=9)
        _run(doc.add_paragraph(style="Quote"), finding.text)
        citation = doc.add_paragraph()
        _run(citation, f"— {short_citation(finding)}", size=9)
        _run(citation, f"\n{full_citation(finding)}（ID: {finding.id}）", size=8)
    props = doc.core_properties
    props.title = XML_ILLEGAL.sub("", meta.subject)[:255]
    props.author = props.last_modified_by = "kensaku"
    props.created = props.modified = meta.created.astimezone(UTC)  # python-docx writes the time with a "Z"
    props.language = "ja-JP"
    buffer = io.BytesIO()
    doc.save(buffer)
    return stable_zip(buffer.getvalue(), meta.created)  # its entries dated meta.created, not by the clock

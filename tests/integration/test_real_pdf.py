"""The PDF reader on real Japanese PDFs from public test suites (``tests/fixtures/real/pdf``, see PROVENANCE.md).

* Every Japanese character poppler's ``pdftotext`` reads is read (recall 1.0: CID fonts without ToUnicode maps,
  Identity-H/V, EUC-H, ISO-2022-JP and Shift_JIS CMaps), when poppler-utils is installed (``.ci/run`` installs it).
* Vertical text is read column by column, right to left; text placed one word per object is joined into lines.
* No finding is junk; few findings are fragments of 3 characters or fewer.
* Pages without a text layer are read by OCR (Tesseract, installed by ``.ci/run``): a fixture page rendered into an
  image-only PDF reads back close to its text layer.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from kensaku.ingest.models import Document
from kensaku.ingest.pipeline import ingest_paths
from kensaku.ingest.read import read_document
from kensaku.ingest.readers.ocr import ocr_available
from kensaku.ingest.readers.pdf import read
from tests.realdocs import FIXTURES, char_accuracy, ja_recall, junk_count, poppler_text, short_share

PDFS = sorted((FIXTURES / "pdf").glob("*.pdf"))
# OCR character accuracy measured on this machine (tesseract 5.3.0, Debian jpn/jpn_vert models), minus a margin.
OCR_MIN_ACCURACY = {"pdfjs-issue16063.pdf": 0.95, "pdfminer-jo.pdf": 0.90}

needs_tesseract = pytest.mark.skipif(
    not ocr_available() and not os.environ.get("CI"), reason="Tesseract with jpn is not installed (.ci/run does it)"
)


def _text(doc: Document) -> str:
    return "\n".join(doc.lines)


def test_the_fixture_corpus_is_there() -> None:
    assert len(PDFS) >= 14
    listed = (FIXTURES / "pdf" / "PROVENANCE.md").read_text(encoding="utf-8")
    assert all(f"| {p.name} |" in listed for p in PDFS)


@pytest.mark.parametrize("path", PDFS, ids=lambda p: p.name)
def test_every_japanese_character_poppler_reads_is_read(path: Path) -> None:
    reference = poppler_text(path)
    if reference is None:
        if os.environ.get("CI"):
            pytest.fail("pdftotext (poppler-utils) is missing; .ci/run installs it")
        pytest.skip("pdftotext (poppler-utils) is not installed")
    doc = read_document(path, ocr=False)
    assert ja_recall(_text(doc), reference) == 1.0


def test_vertical_text_reads_in_columns_right_to_left() -> None:
    doc = read_document(FIXTURES / "pdf" / "pdfminer-jo.pdf", ocr=False)
    text = "".join(doc.lines)
    poem = [
        "わたくしといふ現象は",
        "假定された有機交流電燈の",
        "ひとつの青い照明です",
        "（あらゆる透明な幽霊の複合体）",
    ]
    positions = [text.index(line) for line in poem]
    assert positions == sorted(positions)
    # Identity-V brackets come out as ordinary brackets, not vertical presentation forms (︵︶).
    assert "︵" not in text and "（" in text


def test_vertical_columns_are_the_cited_lines() -> None:
    doc = read_document(FIXTURES / "pdf" / "pdfminer-jo.pdf", ocr=False)
    # 序 is column 1 of the page, the poem's first line column 2: the lines a reader of 縦書き counts.
    cited = {line: (doc.page(i), doc.origin(i)) for i, line in enumerate(doc.lines, 1) if line}
    assert cited["序"] == (1, 1)
    assert cited["わたくしといふ現象は"] == (1, 2)
    assert cited["假定された有機交流電燈の"] == (1, 3)


def test_words_placed_one_per_object_are_joined_into_lines() -> None:
    result = ingest_paths([FIXTURES / "pdf" / "pdfjs-issue19971.pdf"], ocr=False)
    texts = [f.text for f in result.findings]
    # pypdf read this 6-page file as one word per line: 720 findings, 694 of them single words.
    assert len(texts) < 120
    # What is left short is real: list items (111, 222, 333) and table cells (A1, A2) of this test document.
    assert short_share(texts) <= 0.12
    assert any("This is a sample text in Arial font." in t for t in texts)


def test_no_junk_and_few_fragments_over_the_real_corpus() -> None:
    # All real fixtures: PDFs, web pages, ordinances (the target: ≤ 5 % of findings of ≤ 3 characters).
    result = ingest_paths([FIXTURES], ocr=False)
    texts = [f.text for f in result.findings]
    assert not result.errors
    assert junk_count(texts) == 0
    assert short_share(texts) <= 0.05


def _image_only(path: Path) -> bytes:
    """Page 1 of ``path`` rendered at 150 dpi into a PDF that has no text layer (a scan)."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    image = pdf[0].render(scale=150 / 72, grayscale=True).to_pil()
    pdf.close()
    out = io.BytesIO()
    image.save(out, format="PDF", resolution=150)
    return out.getvalue()


@needs_tesseract
@pytest.mark.parametrize("name", sorted(OCR_MIN_ACCURACY))
def test_a_scanned_page_is_read_by_ocr(name: str, tmp_path: Path) -> None:
    source = FIXTURES / "pdf" / name
    truth = _text(read(source.read_bytes(), source, ocr=False))
    scan = tmp_path / f"scan-{name}"
    scan.write_bytes(_image_only(source))
    doc = read_document(scan)
    assert char_accuracy(_text(doc), truth) >= OCR_MIN_ACCURACY[name]
    [note] = doc.problems
    assert note.startswith("p.1: no text layer (scanned image?); text read by OCR (Tesseract jpn")


def test_without_ocr_a_scanned_page_is_refused_with_the_fix(tmp_path: Path) -> None:
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(_image_only(FIXTURES / "pdf" / "pdfjs-issue16063.pdf"))
    with pytest.raises(Exception, match=r"scan.pdf: has no text layer \(a scanned PDF\?\); build without --no-ocr"):
        read_document(scan, ocr=False)

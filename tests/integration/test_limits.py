"""The per-file time and memory budget (issue 11): each document is read in a worker process that is killed when it
runs over, and the batch goes on. Real work, real processes: a text file large enough to take seconds, a regex that
backtracks in C, a scanned page for Tesseract, a DOCX of 130,000 findings; nothing is monkeypatched (a patch in this
process would not reach the worker)."""

from __future__ import annotations

import io
import re
import shutil
import threading
import time
import zipfile
from dataclasses import replace
from pathlib import Path

import docx
import pytest

from kensaku import DEFAULTS, Index
from kensaku.ingest.isolate import FileTimeoutError, Isolation
from kensaku.ingest.pipeline import IngestResult, ingest_paths
from tests.support import ROOT, KeywordEmbedder

FIXTURES = ROOT / "tests" / "fixtures" / "real"
LIMITS = DEFAULTS.limits
GOOD = "住民説明会を三回開き、延べ二百人が参加した。意見は計画に反映した。\n"
needs_tesseract = pytest.mark.skipif(shutil.which("tesseract") is None, reason="Tesseract is not installed")


def _good(folder: Path) -> Path:
    path = folder / "説明会.txt"
    path.write_text(GOOD, encoding="utf-8")
    return path


def _big_text(folder: Path) -> Path:
    """A legal text file (18 MB, 6 million characters: under every limit) that takes seconds to cut into findings."""
    path = folder / "大きな報告書.txt"
    paragraph = "市民参画の推進について住民説明会を開き、意見を計画に反映した。" * 3 + "\n\n"
    path.write_text(paragraph * (6_000_000 // len(paragraph)), encoding="utf-8")
    return path


def _same(a: IngestResult, b: IngestResult) -> None:
    assert [f.to_dict() for f in a.findings] == [f.to_dict() for f in b.findings]
    assert (a.sources, a.errors, a.warnings, a.ignored) == (b.sources, b.errors, b.warnings, b.ignored)


def test_a_file_over_its_time_budget_is_stopped_and_the_batch_goes_on(tmp_path: Path) -> None:
    big, good = _big_text(tmp_path), _good(tmp_path)
    started = time.monotonic()
    result = ingest_paths([big, good], limits=replace(LIMITS, file_timeout_s=1))
    assert time.monotonic() - started < 15  # reading it whole takes about 10 s here
    [error] = result.errors
    assert error.path == str(big)
    assert error.reason == (
        "took more than 1 s to read and cut into findings (the limit is 1 s per file); the reader was stopped; "
        "split the file, or raise --file-timeout or $KENSAKU_FILE_TIMEOUT (Settings.limits.file_timeout_s)"
    )
    assert [s.name for s in result.sources] == ["説明会.txt"]  # read by a fresh worker after the kill
    assert [f.text for f in result.findings] == [GOOD.strip()]


def test_a_hang_in_c_code_is_stopped_from_a_thread_that_is_not_the_main_one() -> None:
    outcome: list[BaseException | object] = []

    def rebuild() -> None:  # as the app does: Index.rebuild runs in a Streamlit script thread
        with Isolation(replace(LIMITS, file_timeout_s=1)) as isolation:
            started = time.monotonic()
            try:  # catastrophic backtracking: re holds the GIL in C, no Python-level timeout could stop it
                isolation.run(re.findall, r"(a+)+$", "a" * 64 + "!")
            except FileTimeoutError as exc:
                outcome.append(exc)
            outcome.append(time.monotonic() - started)
            outcome.append(isolation.run(re.findall, r"(a+)+$", "aaa"))  # in a fresh worker

    thread = threading.Thread(target=rebuild)
    thread.start()
    thread.join(60)
    error, elapsed, fresh = outcome
    assert isinstance(error, FileTimeoutError) and "took more than 1 s" in str(error)
    assert isinstance(elapsed, float) and elapsed < 10
    assert fresh == ["aaa"]


def test_the_worker_reads_exactly_like_the_calling_process(tmp_path: Path) -> None:
    paths = [ROOT / "corpus", FIXTURES / "pdf", FIXTURES / "html", FIXTURES / "ordinance"]
    isolated = ingest_paths(paths, ocr=False)
    here = ingest_paths(paths, ocr=False, limits=replace(LIMITS, file_timeout_s=0))
    assert len(isolated.findings) > 500 and isolated.warnings
    _same(isolated, here)


def test_a_file_that_needs_more_memory_than_the_worker_may_use_fails_alone(tmp_path: Path) -> None:
    big = tmp_path / "巨大.txt"
    line = "市民参画の推進について説明会を開いた。" * 5 + "\n\n"
    big.write_text(line * (48_000_000 // len(line.encode())), encoding="utf-8")  # 48 MB, under the 50 MB limit
    good = _good(tmp_path)
    limits = replace(LIMITS, worker_memory_mb=160, max_doc_chars=10**9, max_doc_findings=10**8)
    result = ingest_paths([big, good], limits=limits)
    [error] = result.errors
    assert error.path == str(big)
    assert re.match(r"(needs more memory than|stopped the reader process .*more than) the 160 MB", error.reason)
    assert error.reason.endswith("raise $KENSAKU_WORKER_MEMORY_MB (Settings.limits.worker_memory_mb)")
    assert [s.name for s in result.sources] == ["説明会.txt"]


def _docx_of_findings(path: Path, n: int) -> None:
    """A real python-docx package whose body is ``n`` one-word paragraphs (a heading every 100)."""
    template = io.BytesIO()
    docx.Document().save(template)
    body = "".join(
        f'<w:p><w:pPr><w:pStyle w:val="Heading2"/></w:pPr><w:r><w:t>第{i}節</w:t></w:r></w:p>'
        if i % 100 == 0
        else f"<w:p><w:r><w:t>項目{i}。</w:t></w:r></w:p>"
        for i in range(n)
    )
    ns = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    xml = f'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="{ns}"><w:body>{body}</w:body></w:document>'
    with zipfile.ZipFile(template) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = xml.encode() if info.filename == "word/document.xml" else src.read(info)
            dst.writestr(info.filename, data)


class CountingEmbedder(KeywordEmbedder):
    """The keyword embedder, counting the passages it is asked to embed."""

    def __init__(self) -> None:
        self.embedded = 0

    def encode_passages(self, texts, progress=None):  # type: ignore[no-untyped-def]
        self.embedded += len(texts)
        return super().encode_passages(texts, progress)


def test_a_small_docx_of_130000_findings_is_refused_before_any_embedding(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    bomb = docs / "一覧.docx"
    _docx_of_findings(bomb, 130_000)
    assert bomb.stat().st_size < 600_000  # small on disk: the byte limits (200 MB) let it through
    good = _good(docs)
    embedder = CountingEmbedder()
    report = Index.build([docs], tmp_path / "index", embedder=embedder).report
    assert report is not None and report.result is not None
    [error] = report.result.errors
    assert error.path == str(bomb)
    assert re.match(r"gives 1[23]\d,\d{3} findings, over the limit of 50,000 for one document", error.reason)
    assert "raise $KENSAKU_MAX_DOC_FINDINGS" in error.reason
    assert [s.name for s in report.result.sources] == [good.name]
    assert embedder.embedded == report.findings == 1  # only the good file's finding was embedded


def _scan(tmp_path: Path) -> Path:
    """Page 1 of a real PDF rendered at 150 dpi into a PDF without a text layer."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(FIXTURES / "pdf" / "pdfjs-issue16063.pdf"))
    image = pdf[0].render(scale=150 / 72, grayscale=True).to_pil()
    pdf.close()
    out = tmp_path / "スキャン.pdf"
    image.save(out, format="PDF", resolution=150)
    return out


@needs_tesseract
def test_the_budget_grows_with_each_page_read_by_ocr(tmp_path: Path) -> None:
    scan = _scan(tmp_path)  # its OCR takes about 3 s here: over 1 s, within 1 s + 60 s
    grown = ingest_paths([scan], limits=replace(LIMITS, file_timeout_s=1, ocr_page_s=60))
    assert not grown.errors and grown.findings
    assert "text read by OCR" in grown.warnings[0].reason
    short = ingest_paths([scan], limits=replace(LIMITS, file_timeout_s=0.5, ocr_page_s=0.5))
    [error] = short.errors
    assert error.reason.startswith(
        "took more than 1 s to read and cut into findings (the limit is 0.5 s per file, plus 0.5 s per page read by "
        "OCR, 1 page so far)"
    )

"""OCR for PDF pages without a usable text layer: Tesseract's Japanese models on the page rendered by PDFium.

Tesseract is an optional system program (Debian: ``tesseract-ocr tesseract-ocr-jpn tesseract-ocr-jpn-vert``); when it
or its ``jpn`` model is missing, :func:`ocr_available` is false and the PDF reader only reports such pages. Search
never needs it.

A page is rendered at 300 dpi in grey and read with ``-l jpn`` (horizontal text, the fast common case). When the
mean word confidence stays under 60 — vertical text read as horizontal scores about 20, horizontal text about 90 — it
is read again with ``-l jpn+jpn_vert`` (Tesseract then finds vertical blocks itself) and the more confident reading is
kept. Words are joined as wrapped lines are (:func:`~kensaku.ingest.normalize.join_lines`: a space only between
two ASCII words; the vertical model puts spaces between Japanese words).

OCR is the slow part of reading a scan (22 s for a dense A4 page on a 2-core machine), so the per-file time budget
(:class:`~kensaku.config.ReadLimits`) grows by ``ocr_page_s`` with every page read by OCR: the worker process that
reads the file (:mod:`kensaku.ingest.isolate`) registers a hook with :func:`on_each_page` and tells the caller as
each page starts.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kensaku.errors import KensakuError
from kensaku.ingest.normalize import join_lines

if TYPE_CHECKING:
    from pypdfium2 import PdfPage


OCR_DPI = 300
RETRY_BELOW_CONFIDENCE = 60.0
TIMEOUT_S = 180
HORIZONTAL = "jpn"
BOTH = "jpn+jpn_vert"

# Called as each page's OCR starts (see on_each_page); one at most.
_page_hooks: list[Callable[[], None]] = []


class OcrError(KensakuError, RuntimeError):
    """Tesseract failed on a page (it crashed, timed out or printed nothing readable)."""


@dataclass(frozen=True)
class OcrText:
    """What Tesseract read on one page: lines, the models used and the mean word confidence (0–100)."""

    lines: tuple[str, ...]
    languages: str
    confidence: float


@functools.cache
def _languages() -> frozenset[str]:
    """The models the installed Tesseract has (empty without Tesseract)."""
    exe = _executable()
    if exe is None:
        return frozenset()
    try:
        out = subprocess.run([exe, "--list-langs"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return frozenset()
    return frozenset(line.strip() for line in out.stdout.splitlines()[1:] if line.strip())


@functools.cache
def _executable() -> str | None:
    """The path of ``tesseract``, or ``None`` when it is not installed."""
    return shutil.which("tesseract")


def ocr_available() -> bool:
    """True when Tesseract with its Japanese model (``jpn``) is installed."""
    return HORIZONTAL in _languages()


def on_each_page(hook: Callable[[], None] | None) -> None:
    """Have ``hook`` called as the OCR of each page starts, replacing any earlier one (``None``: no hook)."""
    _page_hooks[:] = [] if hook is None else [hook]


def ocr_page(page: PdfPage) -> OcrText:
    """Read one pypdfium2 page with Tesseract (see the module docstring).

    Args:
        page: A ``pypdfium2.PdfPage``.

    Returns:
        The lines read, the models used and their mean word confidence.

    Raises:
        OcrError: Tesseract is missing, failed or timed out.
    """
    if not ocr_available():
        raise OcrError("Tesseract with the Japanese model is not installed", "apt install tesseract-ocr-jpn")
    for hook in _page_hooks:
        hook()
    image = page.render(scale=OCR_DPI / 72, grayscale=True).to_pil()
    with tempfile.TemporaryDirectory(prefix="kensaku-ocr-") as tmp:
        png = Path(tmp) / "page.png"
        image.save(png)
        best = _tesseract(png, HORIZONTAL)
        if best.confidence < RETRY_BELOW_CONFIDENCE and "jpn_vert" in _languages():
            both = _tesseract(png, BOTH)
            best = both if both.confidence > best.confidence else best
    return best


def _tesseract(png: Path, languages: str) -> OcrText:
    """Run Tesseract on ``png`` and parse its TSV output into lines."""
    command = [_executable() or "tesseract", str(png), "stdout", "-l", languages, "--psm", "3", "tsv"]
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        raise OcrError(f"Tesseract took over {TIMEOUT_S} s on one page", "split the PDF or pass --no-ocr") from exc
    except OSError as exc:
        raise OcrError(f"Tesseract could not be started ({exc.strerror})", "check the tesseract-ocr install") from exc
    if out.returncode != 0:
        reason = (out.stderr.strip().splitlines() or ["no message"])[-1]
        raise OcrError(f"Tesseract failed ({reason})", "check the tesseract-ocr install or pass --no-ocr")
    return _parse_tsv(out.stdout, languages)


def _parse_tsv(tsv: str, languages: str) -> OcrText:
    r"""Lines (words grouped by block, paragraph and line, joined the Japanese way) and the words' mean confidence.

    >>> rows = ["level\tpage\tblock\tpar\tline\tword\tl\tt\tw\th\tconf\ttext"]
    >>> words = [("わた", 90), ("くし", 80), ("と", 70), ("ABC", 60), ("def", 50), ("。", 40)]
    >>> rows += [f"5\t1\t1\t1\t1\t{i}\t0\t0\t1\t1\t{c}\t{w}" for i, (w, c) in enumerate(words)]
    >>> _parse_tsv("\n".join(rows), "jpn")
    OcrText(lines=('わたくしとABC def。',), languages='jpn', confidence=65.0)
    """
    lines: dict[tuple[str, str, str], list[str]] = {}
    confidences: list[float] = []
    for row in tsv.splitlines()[1:]:
        cells = row.split("\t")
        if len(cells) < 12 or not cells[11].strip():
            continue
        confidence = float(cells[10])
        if confidence < 0:
            continue
        confidences.append(confidence)
        lines.setdefault((cells[2], cells[3], cells[4]), []).append(cells[11].strip())
    texts = tuple(join_lines(words) for words in lines.values())
    mean = sum(confidences) / len(confidences) if confidences else 0.0
    return OcrText(texts, languages, mean)

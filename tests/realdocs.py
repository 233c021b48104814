"""Measures for real documents, shared by the tests and ``bench/real_documents.py``.

* :func:`ja_recall`: the share of the Japanese characters (kana, kanji; NFKC) of a reference text that a reading
  has, counted as multisets — order-free, so it measures what was lost, not layout.
* :func:`char_accuracy`: 1 − character error rate (Levenshtein distance over the reference length), whitespace
  ignored — for OCR against the known text.
* :func:`poppler_text`: poppler's ``pdftotext`` of a PDF (the reference reader; a test-time tool only).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
from collections import Counter
from pathlib import Path

from kensaku.ingest.readers.junk import junk_line

JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003ffff]")
FIXTURES = Path(__file__).parent / "fixtures" / "real"
SHORT_MAX_CHARS = 3


def japanese_chars(text: str) -> Counter[str]:
    """The kana and kanji of ``text`` after NFKC, counted."""
    return Counter(JAPANESE.findall(unicodedata.normalize("NFKC", text)))


def ja_recall(reading: str, reference: str) -> float:
    """Share of the reference's Japanese characters found in the reading (1.0 when the reference has none)."""
    ref = japanese_chars(reference)
    total = sum(ref.values())
    if not total:
        return 1.0
    got = japanese_chars(reading)
    return sum(min(got[ch], n) for ch, n in ref.items()) / total


def char_accuracy(reading: str, reference: str) -> float:
    """1 − CER of ``reading`` against ``reference`` (whitespace ignored; NFKC), floored at 0."""
    a = "".join(unicodedata.normalize("NFKC", reading).split())
    b = "".join(unicodedata.normalize("NFKC", reference).split())
    if not b:
        return 1.0 if not a else 0.0
    previous = list(range(len(a) + 1))
    for i, cb in enumerate(b, 1):
        current = [i]
        for j, ca in enumerate(a, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return max(0.0, 1 - previous[-1] / len(b))


def poppler_text(path: Path) -> str | None:
    """``pdftotext`` output for ``path`` (UTF-8), or ``None`` when poppler-utils is not installed."""
    exe = shutil.which("pdftotext")
    if exe is None:
        return None
    out = subprocess.run([exe, "-q", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=False, timeout=60)
    return out.stdout.decode("utf-8", "replace")


def short_share(texts: list[str]) -> float:
    """Share of findings with 3 characters or fewer (whitespace ignored)."""
    return sum(1 for t in texts if len("".join(t.split())) <= SHORT_MAX_CHARS) / len(texts) if texts else 0.0


def junk_count(texts: list[str]) -> int:
    """Findings that contain a junk (mojibake) line."""
    return sum(1 for t in texts if any(junk_line(line) for line in t.splitlines()))

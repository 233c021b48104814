"""Readers on real documents: the fixture corpus read by this tree and by an earlier commit, side by side.

For every file in ``tests/fixtures/real`` (PDFs from the pdf.js / pdfminer.six / pdfplumber test suites, web pages,
ordinances; see each folder's PROVENANCE.md) and, with ``--extra DIR``, any further files:

* engine: what read it (PDFium for PDFs now, pypdf before; trafilatura + rules for HTML);
* ja recall: the share of the Japanese characters poppler's ``pdftotext`` reads that the reader's lines have
  (multiset, NFKC; PDFs only, poppler-utils is a reference here, never a dependency);
* findings, findings of ≤ 3 characters, junk findings (a line of mojibake, :mod:`kensaku.ingest.readers.junk`),
  pages read by OCR, warnings;
* speed: text-layer pages per second (all fixture PDF pages, OCR off), OCR pages per second (two fixture pages
  rendered into image-only PDFs), and ``kensaku build --full`` of the seed corpus.

The earlier commit (``--baseline``, default ``ba2c979``: before issue 10) is checked out into a temporary worktree
and imported from there (``PYTHONPATH`` wins over the editable install), in a subprocess of the same venv, so both
columns are measured in one run on one machine.

Usage: ``.venv/bin/python bench/real_documents.py [--baseline REV] [--extra DIR] [--no-seed]``; writes
``bench/results/real_documents.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "real"
SUFFIXES = (".pdf", ".html", ".htm", ".txt", ".md", ".docx")


def _dump(paths: list[str], ocr: bool) -> list[dict[str, Any]]:
    """Read and segment each file with whatever ``kensaku`` is importable (this tree or the baseline)."""
    import inspect

    from kensaku.ingest.read import read_document
    from kensaku.ingest.segment import segment

    takes_ocr = "ocr" in inspect.signature(read_document).parameters
    rows = []
    for path in paths:
        start = time.perf_counter()
        try:
            doc = read_document(path, ocr=ocr) if takes_ocr else read_document(path)
            findings = [f.text for f in segment(doc)]
            rows.append({"path": path, "lines": list(doc.lines), "findings": findings, "problems": list(doc.problems)})
        except Exception as exc:
            rows.append({"path": path, "error": str(exc), "lines": [], "findings": [], "problems": []})
        rows[-1]["seconds"] = time.perf_counter() - start
    return rows


@contextlib.contextmanager
def _baseline_env(rev: str) -> Iterator[dict[str, str]]:
    """The environment that imports kensaku from a worktree of ``rev`` laid out as the installed package
    (``PYTHONPATH`` comes before the venv's editable finder); the worktree is removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="kensaku-base-") as tmp:
        tree, pkg = Path(tmp) / "tree", Path(tmp) / "pkg" / "kensaku"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(tree), rev], check=True)
        try:
            pkg.mkdir(parents=True)
            for item in (tree / "kensaku").iterdir():
                (pkg / item.name).symlink_to(item)
            (pkg / "ingest").symlink_to(tree / "ingest")
            (pkg / "index").symlink_to(tree / "index")
            yield {**os.environ, "PYTHONPATH": str(pkg.parent)}
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=True)


def _baseline_rows(env: dict[str, str], paths: list[str], ocr: bool) -> list[dict[str, Any]]:
    """:func:`_dump` run in a subprocess with the baseline's ``env``."""
    command = [sys.executable, __file__, "--dump", *paths] + ([] if ocr else ["--no-ocr"])
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True, cwd=tempfile.gettempdir())
    return list(json.loads(out.stdout))


def _pages(path: str) -> int:
    if not path.endswith(".pdf"):
        return 0
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(path)
    try:
        return len(pdf)
    finally:
        pdf.close()


def _measure(row: dict[str, Any]) -> dict[str, Any]:
    from tests.realdocs import ja_recall, junk_count, poppler_text, short_share

    path, texts = row["path"], row["findings"]
    reference = poppler_text(Path(path)) if path.endswith(".pdf") else None
    return {
        "recall": ja_recall("\n".join(row["lines"]), reference) if reference is not None else None,
        "findings": len(texts),
        "short": round(short_share(texts) * len(texts)),
        "junk": junk_count(texts),
        "ocr": sum(1 for p in row["problems"] if "text read by OCR" in p),
        "warnings": len(row["problems"]),
        "error": row.get("error", ""),
    }


def _engine(path: str, now: bool) -> str:
    if path.endswith(".pdf"):
        return "PDFium" if now else "pypdf"
    if path.endswith((".html", ".htm")):
        return "trafilatura+rules" if now else "rules"
    return "text"


def _cell(m: dict[str, Any]) -> str:
    if m["error"]:
        return "refused | – | – | – | – | 1"
    recall = "–" if m["recall"] is None else f"{m['recall']:.2f}"
    return f"{recall} | {m['findings']} | {m['short']} | {m['junk']} | {m['ocr']} | {m['warnings']}"


def _totals(measures: list[dict[str, Any]]) -> str:
    findings = sum(m["findings"] for m in measures)
    short = sum(m["short"] for m in measures)
    junk = sum(m["junk"] for m in measures)
    refused = sum(1 for m in measures if m["error"])
    recalls = [m["recall"] for m in measures if m["recall"] is not None]
    mean = sum(recalls) / len(recalls) if recalls else float("nan")
    return (
        f"{findings} findings, {short} of ≤ 3 characters ({short / max(findings, 1):.1%}), {junk} junk "
        f"({junk / max(findings, 1):.1%}); {refused} file(s) refused; mean ja recall over PDFs {mean:.3f}"
    )


def _ocr_speed() -> str:
    """Seconds per page for OCR of two fixture pages rendered into image-only PDFs (horizontal and vertical)."""
    import pypdfium2 as pdfium

    from kensaku.ingest.readers.ocr import ocr_available
    from kensaku.ingest.readers.pdf import read
    from tests.realdocs import char_accuracy

    if not ocr_available():
        return "OCR: Tesseract is not installed; not measured"
    parts = []
    for name in ("pdfjs-issue16063.pdf", "pdfminer-jo.pdf"):
        source = FIXTURES / "pdf" / name
        truth = "\n".join(read(source.read_bytes(), source, ocr=False).lines)
        pdf = pdfium.PdfDocument(str(source))
        image = pdf[0].render(scale=150 / 72, grayscale=True).to_pil()
        pdf.close()
        buf = io.BytesIO()
        image.save(buf, format="PDF", resolution=150)
        start = time.perf_counter()
        doc = read(buf.getvalue(), Path(f"scan-{name}"))
        seconds = time.perf_counter() - start
        accuracy = char_accuracy("\n".join(doc.lines), truth)
        parts.append(f"{name} (scan, 150 dpi): {seconds:.1f} s/page, character accuracy {accuracy:.3f}")
    return "OCR: " + "; ".join(parts)


def _seed_build(rev: str, base_env: dict[str, str]) -> str:
    """``kensaku build --full`` of the seed corpus, this tree and the baseline, in seconds (best of 2)."""
    timings = {}
    for label, env in (("now", dict(os.environ)), ("baseline", base_env)):
        with tempfile.TemporaryDirectory() as tmp:
            runs = []
            for i in range(2):
                index = Path(tmp) / f"index{i}"
                command = [sys.executable, "-m", "kensaku.cli", "build", str(ROOT / "corpus"), "--index", str(index)]
                start = time.perf_counter()
                subprocess.run([*command, "--no-progress", "--full"], env=env, capture_output=True, check=True)
                runs.append(time.perf_counter() - start)
            timings[label] = min(runs)
    now, before = timings["now"], timings["baseline"]
    return (
        f"seed corpus `kensaku build --full` (best of 2): now {now:.1f} s, {rev} {before:.1f} s (×{now / before:.2f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="ba2c979", help="commit to compare with (default: before issue 10)")
    parser.add_argument("--extra", type=Path, help="also measure the files in this folder (not committed)")
    parser.add_argument("--no-seed", action="store_true", help="skip the seed-corpus build timing")
    parser.add_argument("--dump", nargs="*", help=argparse.SUPPRESS)
    parser.add_argument("--no-ocr", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.dump is not None:
        print(json.dumps(_dump(args.dump, not args.no_ocr), ensure_ascii=False))
        return
    sys.path.insert(0, str(ROOT))  # tests.realdocs (not in --dump: there kensaku must come from PYTHONPATH)
    load_before = os.getloadavg()[0]
    files = sorted(p for p in FIXTURES.rglob("*") if _document(p))
    if args.extra:
        files += sorted(p for p in args.extra.rglob("*") if _document(p))
    paths = [str(p) for p in files]
    with _baseline_env(args.baseline) as base_env:
        now_rows, base_rows = _dump(paths, ocr=True), _baseline_rows(base_env, paths, ocr=True)
        seed = "" if args.no_seed else _seed_build(args.baseline, base_env)
    out = [
        f"# Readers on real documents ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)",
        "",
        f"`.venv/bin/python bench/real_documents.py` at {_git('rev-parse', '--short', 'HEAD')} (with uncommitted "
        f"changes: {'yes' if _git('status', '--porcelain') else 'no'}) vs {args.baseline}; load before: "
        f"{load_before:.2f} (2 cores). Cells: now ← before.",
        "",
        *_table(paths, now_rows, base_rows),
        f"- {_ocr_speed()}",
        *([f"- {seed}"] if seed else []),
        f"- load after: {os.getloadavg()[0]:.2f}",
    ]
    text = "\n".join(out) + "\n"
    (ROOT / "bench" / "results" / "real_documents.md").write_text(text, encoding="utf-8")
    print(text)


def _table(paths: list[str], now_rows: list[dict[str, Any]], base_rows: list[dict[str, Any]]) -> list[str]:
    """The per-file table, the totals and the text-layer speed, as markdown lines."""
    now, base = [_measure(r) for r in now_rows], [_measure(r) for r in base_rows]
    out = [
        "| file | engine now / before | ja recall | findings | ≤3 chars | junk | OCR pages | warnings |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for path, n, b in zip(paths, now, base, strict=True):
        name = str(Path(path).relative_to(ROOT)) if path.startswith(str(ROOT)) else path
        cells = [f"{x} ← {y}" for x, y in zip(_cell(n).split(" | "), _cell(b).split(" | "), strict=True)]
        out.append(f"| {name} | {_engine(path, True)} / {_engine(path, False)} | " + " | ".join(cells) + " |")
    out += ["", f"- now: {_totals(now)}", f"- before: {_totals(base)}"]
    pdf_paths = [p for p in paths if p.endswith(".pdf")]
    pdf_pages = sum(_pages(p) for p in pdf_paths)
    pdf_now = sum(r["seconds"] for r in _dump(pdf_paths, ocr=False))
    pdf_base = sum(r["seconds"] for r in base_rows if r["path"] in pdf_paths)
    out.append(
        f"- text-layer PDF pages: {pdf_pages} pages in {pdf_now:.2f} s now ({pdf_pages / pdf_now:.0f} pages/s, incl. "
        f"segmenting) vs {pdf_base:.2f} s before ({pdf_pages / pdf_base:.0f} pages/s)"
    )
    return out


def _document(path: Path) -> bool:
    """A fixture document (not a PROVENANCE.md)."""
    return path.suffix.lower() in SUFFIXES and path.name != "PROVENANCE.md"


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False).stdout.strip()


if __name__ == "__main__":
    main()

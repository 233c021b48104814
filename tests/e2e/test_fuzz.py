"""Fuzz (issue 11): a few hundred mutated real documents per format, read through the library in bounded time.

Real files of each format (the fixtures in ``tests/fixtures/real``; DOCX and Markdown made from the ordinance texts)
are mutated with a fixed seed. Most mutations keep the format parseable, so that the readers and segmenters get
past the first check: text (TXT, Markdown, HTML) gets control, invisible and odd characters, markup of every format
at line starts and anywhere (headings, lists, tables, 第N条, tags, character references to control characters),
lines repeated, deleted, shuffled or joined, a cut in the middle; a DOCX gets its ``word/document.xml`` restructured
(elements duplicated hundreds of times, deleted, moved into others, odd style/level/span/merge values, odd text).
The rest are byte-level: truncation, flipped bytes, a zeroed block, a repeated block, NUL bytes, another document
spliced in, another format's bytes under the suffix (all PDF mutations are byte-level).

Each format's folder is read by one :func:`kensaku.ingest.ingest_paths` call (one worker process for the folder,
OCR off, a 10 s budget per file so that a hang costs 10 s, not the default 300 s). Every file must come back either
as a document (with findings, or with a warning that says why it gave none) or as an :class:`IngestError` with a
reason; no exception may escape, no file may be missing from both lists, and no finding may carry a control
character. A failure names the files and how each was made (pytest keeps them under its ``tmp_path``). About 25 s
here for the 1,200 files (2 cores).
"""

from __future__ import annotations

import dataclasses
import io
import random
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from kensaku.config import DEFAULTS, ReadLimits
from kensaku.ingest import ingest_paths
from tests.support import ROOT

REAL = ROOT / "tests" / "fixtures" / "real"
SEED = 11
PER_FORMAT = 300
FILE_TIMEOUT_S = 10.0
# What no finding may contain: C0 controls but tab and newline, DEL, C1 (kensaku.ingest.normalize.strip_controls).
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
DOCUMENT_XML = "word/document.xml"


def _ordinance_texts() -> list[tuple[str, str]]:
    return [(p.stem, p.read_text(encoding="utf-8")) for p in sorted((REAL / "ordinance").glob("*.txt"))]


def _markdown(text: str) -> bytes:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    body = [f"## {line.strip('()')}" if line.startswith("(") and len(line) < 20 else f"- {line}" for line in lines[1:]]
    return "\n".join([f"# {lines[0]}", *body]).encode("utf-8")


def _docx(text: str) -> bytes:
    import docx

    document = docx.Document()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    document.add_heading(lines[0], level=1)
    for line in lines[1:]:
        if line.startswith("(") and len(line) < 20:
            document.add_heading(line.strip("()"), level=2)
        elif "\t" in line:
            cells = line.split("\t")
            table = document.add_table(rows=1, cols=len(cells))
            for cell, value in zip(table.rows[0].cells, cells, strict=True):
                cell.text = value
        else:
            document.add_paragraph(line)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def bases(group: str) -> list[tuple[str, bytes]]:
    """The real documents a format group starts from: (suffix, bytes)."""
    if group == "pdf":
        return [(".pdf", p.read_bytes()) for p in sorted((REAL / "pdf").glob("*.pdf"))]
    if group == "html":
        pages = [*(REAL / "html").glob("*.html"), *(REAL / "ordinance").glob("*.html")]
        return [(".html", p.read_bytes()) for p in sorted(pages)]
    if group == "docx":
        return [(".docx", _docx(text)) for _, text in _ordinance_texts()]
    texts = _ordinance_texts()
    return [(".txt", text.encode("utf-8")) for _, text in texts] + [(".md", _markdown(text)) for _, text in texts]


# --- byte-level mutations (any format) ----------------------------------------------------------------------------


def _truncate(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.randrange(len(data))]


def _flip(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 24)):
        out[rng.randrange(len(out))] ^= rng.randrange(1, 256)
    return bytes(out)


def _zero(rng: random.Random, data: bytes) -> bytes:
    start, size = rng.randrange(len(data)), rng.choice((16, 256, 4096))
    return data[:start] + bytes(len(data[start : start + size])) + data[start + size :]


def _repeat(rng: random.Random, data: bytes) -> bytes:
    start = rng.randrange(len(data))
    return data[:start] + data[start : start + rng.choice((64, 1024))] * rng.choice((10, 100)) + data[start:]


def _nuls(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 40)):
        out.insert(rng.randrange(len(out) + 1), 0)
    return bytes(out)


BYTE_MUTATIONS: tuple[Callable[[random.Random, bytes], bytes], ...] = (_truncate, _flip, _zero, _repeat, _nuls)

# --- text-level mutations (TXT, Markdown, HTML: the result stays valid UTF-8, so the parsers are reached) -----------

# Control and invisible characters (no NUL: that makes a file binary), odd Unicode, and markup of every format.
ODD = [
    *("\x1b[31m", "\x1b]0;t\x07", "\x07", "\x08", "\x7f", "\x85", "\x9b2J", "\r", "\x0b", "\x0c", "\x1c"),
    *("\u200b", "\ufeff", "\u2060", "\u202e", "\u3164", "\u2800", "\u3000", "\u0301" * 30, "𠮷", "🇯🇵", "\ufffd"),
]
MARKUP = [
    *("# ", "## ", "###### ", "- ", "* ", "1. ", "> ", "```", "|", "| --- |", "[", "](", "![", "**", "<!--", "-->"),
    *("第1条　", "第二章　", "(1)　", "（目的）", "■", "・", "附則", "別表第1", "1　", "一　", "ア　"),
    *("<div>", "</div>", "<p>", "</p>", "<br>", "<table>", '<td colspan="99999">', '<td rowspan="0">', "</tr>"),
    *("<main>", "<article>", "<h1>", "<li>", "<script>", "</script>", "<pre>", "&amp;", "&#0;", "&#x1b;", "<![CDATA["),
]


def _insert(rng: random.Random, text: str, pool: list[str]) -> str:
    out = list(text)
    for _ in range(rng.randint(5, 60)):
        out.insert(rng.randrange(len(out) + 1), rng.choice(pool))
    return "".join(out)


def _t_odd(rng: random.Random, text: str) -> str:
    return _insert(rng, text, ODD)


def _t_markup(rng: random.Random, text: str) -> str:
    lines = text.split("\n")
    for _ in range(rng.randint(5, 60)):
        i = rng.randrange(len(lines))
        lines[i] = rng.choice(MARKUP) + lines[i]
    return "\n".join(_insert(rng, "\n".join(lines), MARKUP).split("\n"))


def _t_lines(rng: random.Random, text: str) -> str:
    """Lines duplicated, deleted, shuffled in a window, or joined."""
    lines = text.split("\n")
    i = rng.randrange(len(lines))
    j = min(len(lines), i + rng.randint(1, 30))
    action = rng.randrange(4)
    if action == 0:
        lines[i:i] = lines[i:j] * rng.choice((2, 20, 200))
    elif action == 1:
        del lines[i:j]
    elif action == 2:
        window = lines[i:j]
        rng.shuffle(window)
        lines[i:j] = window
    else:
        lines[i:j] = ["".join(lines[i:j])]
    return "\n".join(lines)


def _t_cut(rng: random.Random, text: str) -> str:
    """Cut at a character (not a byte), maybe in the middle of markup."""
    return text[: rng.randrange(len(text) + 1)]


TEXT_MUTATIONS: tuple[Callable[[random.Random, str], str], ...] = (_t_odd, _t_markup, _t_lines, _t_cut)

# --- DOCX: well-formed WordprocessingML with odd structure ----------------------------------------------------------

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
ATTRIBUTES = [
    ("pStyle", "val", ("Heading1", "Heading9", "Title", "", "見出し 1", "x" * 300)),
    ("outlineLvl", "val", ("0", "8", "9", "-1", "99999999999", "abc")),
    ("gridSpan", "val", ("0", "-3", "63", "99999", "x")),
    ("vMerge", "val", ("restart", "continue", "")),
    ("sz", "val", ("1", "200", "-5", "9" * 30)),
    ("b", "val", ("1", "0", "true", "maybe")),
    ("numId", "val", ("1", "0", "-1", "x")),
]


def _docx_structure(rng: random.Random, xml: bytes) -> bytes:
    """``document.xml`` with elements duplicated, deleted, moved, given odd attributes or odd text."""
    from lxml import etree

    root = etree.fromstring(xml)
    body = root.find(f"{W}body")
    assert body is not None
    for _ in range(rng.randint(1, 12)):
        elements = [el for el in body.iter() if isinstance(el.tag, str) and el is not body]
        el = rng.choice(elements)
        parent = el.getparent()
        action = rng.randrange(6)
        if action == 0 and parent is not None:  # duplicated, many times
            for _ in range(rng.choice((2, 50, 500))):
                parent.insert(parent.index(el), etree.fromstring(etree.tostring(el)))
        elif action == 1 and parent is not None:
            parent.remove(el)
        elif action == 2 and parent is not None:  # moved under another element (a paragraph into a run, …)
            target = rng.choice(elements)
            if el not in target.iterancestors() and target is not el:
                parent.remove(el)
                target.append(el)
        elif action == 3:  # an odd property
            tag, attribute, values = rng.choice(ATTRIBUTES)
            prop = etree.SubElement(el, f"{W}{tag}")
            prop.set(f"{W}{attribute}", rng.choice(values))
        elif action == 4:  # odd text (XML allows no C0 controls: tab, newline and the rest of ODD)
            text = etree.SubElement(etree.SubElement(el, f"{W}r"), f"{W}t")
            text.text = _insert(rng, "本文", [c for c in ODD if not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f]", c)])
        else:  # a table around it
            table = etree.Element(f"{W}tbl")
            cell = etree.SubElement(etree.SubElement(table, f"{W}tr"), f"{W}tc")
            if parent is not None:
                parent.replace(el, table)
                cell.append(el)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True))


def _in_document_xml(mutation: Callable[[random.Random, bytes], bytes], rng: random.Random, data: bytes) -> bytes:
    """The DOCX with its ``word/document.xml`` mutated, zipped again (the zip itself well-formed)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            part = src.read(info)
            dst.writestr(info, mutation(rng, part) if info.filename == DOCUMENT_XML else part)
    return out.getvalue()


def _mutate(
    group: str, rng: random.Random, data: bytes, sources: list[bytes], others: list[bytes]
) -> tuple[bytes, str]:
    """One mutation of ``data``: mostly one that keeps the format parseable, sometimes one at the byte level."""
    roll = rng.random()
    if roll < 0.05:
        return rng.choice(others), "another format's bytes"
    if roll < 0.12:
        other = rng.choice(sources)
        at, a, b = rng.randrange(len(data)), *sorted(rng.randrange(len(other)) for _ in range(2))
        return data[:at] + other[a:b] + data[rng.randrange(at, len(data) + 1) :], "splice"
    if roll < 0.35 or group == "pdf":
        mutation = rng.choice(BYTE_MUTATIONS)
        return mutation(rng, data), mutation.__name__[1:]
    if group == "docx":
        return _in_document_xml(_docx_structure, rng, data), "document.xml structure"
    text_mutation = rng.choice(TEXT_MUTATIONS)
    text = data.decode("utf-8", errors="replace")
    for _ in range(rng.randint(1, 3)):
        text = text_mutation(rng, text)
    return text.encode("utf-8"), text_mutation.__name__[3:]


def write_mutants(group: str, folder: Path, n: int) -> dict[str, str]:
    """Write ``n`` mutated files of ``group`` into ``folder``; returns file name → how it was made."""
    folder.mkdir()
    sources = bases(group)
    others = [data for g in ("pdf", "html", "docx", "text") if g != group for _, data in bases(g)[:3]]
    made = {}
    for i in range(n):
        rng = random.Random(f"{SEED}:{group}:{i}")
        k = rng.randrange(len(sources))
        suffix, data = sources[k]
        mutated, how = _mutate(group, rng, data, [d for _, d in sources], others)
        name = f"m{i:03d}{suffix}"
        (folder / name).write_bytes(mutated)
        made[name] = f"base {k} of {group}, {how}"
    return made


def _raises(path: Path, limits: ReadLimits) -> bool:
    try:
        ingest_paths([path], ocr=False, limits=limits)
    except Exception:
        return True
    return False


@pytest.mark.slow
@pytest.mark.parametrize("group", ["pdf", "html", "docx", "text"])
def test_mutated_files_give_findings_or_a_reason(tmp_path: Path, group: str) -> None:
    folder = tmp_path / group
    made = write_mutants(group, folder, PER_FORMAT)
    limits = dataclasses.replace(DEFAULTS.limits, file_timeout_s=FILE_TIMEOUT_S)

    try:
        result = ingest_paths([folder], ocr=False, limits=limits)  # nothing may escape
    except Exception as exc:  # name the files that raise (each read alone: slow, only when the test fails)
        culprits = [f"{name}: {made[name]}" for name in sorted(made) if _raises(folder / name, limits)]
        pytest.fail(f"{type(exc).__name__}: {exc} escaped ingest_paths; raising alone: {culprits[:10]}")

    read = {Path(source.path).name: source for source in result.sources}
    failed = {Path(error.path).name: error.reason for error in result.errors}
    assert not set(read) & set(failed), "a file is both read and failed"
    missing = sorted(set(made) - set(read) - set(failed))
    assert not missing, [f"{name}: {made[name]}" for name in missing]
    assert not (set(read) | set(failed)) - set(made)
    for name, reason in failed.items():
        assert reason.strip() and "Traceback" not in reason, f"{name} ({made[name]}): {reason!r}"
    warned = {Path(warning.path).name for warning in result.warnings}
    for name, source in read.items():
        assert source.findings > 0 or name in warned, f"{name} ({made[name]}) gave no findings and no reason"
    counts = {name: source.findings for name, source in read.items()}
    assert sum(counts.values()) == len(result.findings)
    for finding in result.findings:
        for item in dataclasses.fields(finding):
            value = getattr(finding, item.name)
            if isinstance(value, str):
                assert not CONTROLS.search(value), f"{finding.id}.{item.name} = {value[:80]!a}"

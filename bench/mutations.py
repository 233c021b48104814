"""Bad input files for ``bench/reliability.py``: real documents mutated at random (seeded) and hostile files made
on purpose, per format (PDF, HTML, DOCX, TXT, MD).

Every case is a name and a function that makes its bytes, so one case can be made again alone from its name and
the seed (``bench/reliability.py --write-case NAME DIR``): a random case ``pdf-r017`` depends only on the seed,
its format and its number, never on how many cases were made with it.

* **random** (``{format}-r{NNN}``): a real document of the format (``tests/fixtures/real/{pdf,html,ordinance}``;
  DOCX and Markdown are made from the ordinance texts) with one mutation: truncation, byte flips, a zeroed block, a
  splice of another document, a block repeated, NUL bytes, a line repeated hundreds of times, a wrong extension
  (another format's bytes under this suffix), re-encoding (CP932, UTF-16), and for DOCX the same mutations of
  ``word/document.xml`` inside a well-formed zip.
* **hostile** (``{format}-{what}``): documents that attack the readers' time and memory: quadratic-regex bait
  (``'# 見出し' + ' ' * 5000 + 'x'``), 100,000-character runs of ``#``, ``[``, ``<!--``, deep HTML nesting, table
  span bombs, a DOCX zip bomb and 400,000 paragraphs, XML entity expansion, PDF page-tree loops and lies, a Flate
  bomb, documents that give more findings than one document may, empty and NUL-only files.
"""

from __future__ import annotations

import io
import random
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "real"
FORMATS = ("pdf", "html", "docx", "txt", "md")
DOCUMENT_XML = "word/document.xml"
W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


@dataclass(frozen=True)
class Case:
    """One bad input file.

    Attributes:
        name: Unique name; the file is ``{name}.{suffix}``.
        fmt: The format the file claims by its suffix.
        make: Makes the bytes and says what was done to them (the mutation or attack, for the report).
    """

    name: str
    fmt: str
    make: Callable[[], tuple[str, bytes]]

    @property
    def filename(self) -> str:
        """The file name, with the format's suffix."""
        return f"{self.name}.{self.fmt}"

    def write(self, directory: Path) -> tuple[Path, str]:
        """Write the file into ``directory``; returns its path and what was done to it."""
        what, data = self.make()
        path = directory / self.filename
        path.write_bytes(data)
        return path, what


# --- the real documents each format starts from ------------------------------------------------------------------


@cache
def bases() -> dict[str, tuple[tuple[str, bytes], ...]]:
    """The real documents per format: (name, bytes)."""
    ordinance = FIXTURES / "ordinance"
    texts = [(p.name, p.read_bytes()) for p in sorted(ordinance.glob("*.txt"))]
    html = [(p.name, p.read_bytes()) for p in sorted([*(FIXTURES / "html").glob("*.html"), *ordinance.glob("*.html")])]
    pdf = [(p.name, p.read_bytes()) for p in sorted((FIXTURES / "pdf").glob("*.pdf"))]
    md = [(name.replace(".txt", ".md"), _markdown(data.decode("utf-8"))) for name, data in texts]
    docx = [(name.replace(".txt", ".docx"), _docx(data.decode("utf-8"))) for name, data in texts]
    return {"pdf": tuple(pdf), "html": tuple(html), "docx": tuple(docx), "txt": tuple(texts), "md": tuple(md)}


def _markdown(text: str) -> bytes:
    """An ordinance as Markdown: the title as ``#``, each article's caption as ``##``, the rest as list items."""
    out = []
    for i, line in enumerate(text.splitlines()):
        line = line.strip()
        if not line:
            continue
        if i == 0:
            out.append(f"# {line.lstrip('○')}\n")
        elif line.startswith("(") and line.endswith(")") and len(line) < 20:
            out.append(f"\n## {line.strip('()')}\n")
        else:
            out.append(f"- {line}")
    return ("\n".join(out) + "\n").encode("utf-8")


def _docx(text: str) -> bytes:
    """An ordinance as a Word document: title, article captions as headings, paragraphs, one table."""
    import docx

    document = docx.Document()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    document.add_heading(lines[0].lstrip("○"), level=1)
    rows = []
    for line in lines[1:]:
        if line.startswith("(") and line.endswith(")") and len(line) < 20:
            document.add_heading(line.strip("()"), level=2)
        elif "\t" in line:
            rows.append(line.split("\t"))
        else:
            document.add_paragraph(line)
    if rows:
        width = max(len(r) for r in rows)
        table = document.add_table(rows=len(rows), cols=width)
        for r, row in enumerate(rows):
            for c, cell in enumerate(row):
                table.cell(r, c).text = cell
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


# --- random mutations --------------------------------------------------------------------------------------------


def _truncate(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    cut = rng.randrange(0, max(len(data), 1))
    return f"truncated at {cut:,} of {len(data):,} bytes", data[:cut]


def _flip(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    out = bytearray(data)
    n = rng.randint(1, 24)
    for _ in range(n):
        i = rng.randrange(len(out))
        out[i] ^= 1 << rng.randrange(8) if rng.random() < 0.5 else rng.randrange(1, 256)
    return f"{n} byte(s) flipped", bytes(out)


def _zero(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    size = rng.choice((16, 256, 4096, 65536))
    start = rng.randrange(len(data))
    return f"{size:,} bytes zeroed at {start:,}", data[:start] + bytes(min(size, len(data) - start)) + data[
        start + size :
    ]


def _splice(rng: random.Random, data: bytes, others: tuple[tuple[str, bytes], ...]) -> tuple[str, bytes]:
    name, other = rng.choice(others)
    a, b = sorted(rng.randrange(len(other)) for _ in range(2))
    at = rng.randrange(len(data))
    cut = rng.randrange(at, len(data) + 1)
    return f"bytes {a:,}–{b:,} of {name} spliced in at {at:,}", data[:at] + other[a:b] + data[cut:]


def _repeat_block(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    size = rng.choice((64, 1024, 8192))
    start = rng.randrange(len(data))
    times = rng.choice((10, 50, 100))
    block = data[start : start + size]
    return f"{len(block):,}-byte block at {start:,} repeated {times}×", data[:start] + block * times + data[start:]


def _nuls(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    out = bytearray(data)
    n = rng.randint(1, 50)
    for _ in range(n):
        out.insert(rng.randrange(len(out) + 1), 0)
    return f"{n} NUL byte(s) inserted", bytes(out)


def _repeat_line(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    lines = data.split(b"\n")
    i = rng.randrange(len(lines))
    times = rng.choice((50, 200, 500))
    return f"line {i + 1} repeated {times}×", b"\n".join([*lines[:i], *([lines[i]] * times), *lines[i + 1 :]])


def _reencode(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    text = data.decode("utf-8", errors="replace")
    codec = rng.choice(("cp932", "euc_jp", "utf-16", "utf-8-sig", "iso2022_jp"))
    return f"re-encoded as {codec}", text.encode(codec, errors="replace")


def _controls(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    text = data.decode("utf-8", errors="replace")
    out = list(text)
    junk = ["\x1b[31m", "\x1b]0;title\x07", "\x00", "\x07", "\x7f", "\x85", "\x9b2J", "\u202e", "\u200b", "\ufeff"]
    n = rng.randint(5, 60)
    for _ in range(n):
        out.insert(rng.randrange(len(out) + 1), rng.choice(junk))
    return f"{n} control/invisible sequence(s) inserted", "".join(out).encode("utf-8")


BYTE_OPS = ("truncate", "flip", "zero", "splice", "repeat-block", "nuls", "wrong-extension")
TEXT_OPS = ("repeat-line", "reencode", "controls")
OPS: dict[str, tuple[str, ...]] = {
    "pdf": BYTE_OPS,
    "html": BYTE_OPS + TEXT_OPS,
    "txt": BYTE_OPS + TEXT_OPS,
    "md": BYTE_OPS + TEXT_OPS,
    "docx": (*BYTE_OPS, "xml-truncate", "xml-flip", "xml-splice", "xml-repeat-block", "xml-nuls", "xml-controls"),
}


def _apply(op: str, rng: random.Random, fmt: str, data: bytes) -> tuple[str, bytes]:
    """Apply mutation ``op`` to ``data`` of format ``fmt``: (description, bytes)."""
    if op.startswith("xml-"):
        xml = _part(data, DOCUMENT_XML)
        what, mutated = _apply(op[4:], rng, "xml", xml)
        return f"{DOCUMENT_XML}: {what}", _replace_part(data, DOCUMENT_XML, mutated)
    if op == "wrong-extension":
        other = rng.choice([f for f in FORMATS if f != fmt and not (f in ("txt", "md") and fmt in ("txt", "md"))])
        name, payload = rng.choice(bases()[other])
        return f"{name} ({other}) under a .{fmt} name", payload
    simple: dict[str, Callable[[random.Random, bytes], tuple[str, bytes]]] = {
        "truncate": _truncate,
        "flip": _flip,
        "zero": _zero,
        "repeat-block": _repeat_block,
        "nuls": _nuls,
        "repeat-line": _repeat_line,
        "reencode": _reencode,
        "controls": _controls,
    }
    if op == "splice":
        return _splice(rng, data, bases()["docx" if fmt == "xml" else fmt])
    return simple[op](rng, data)


def random_case(fmt: str, number: int, seed: int) -> Case:
    """Random case ``number`` of format ``fmt`` (its bytes depend on the seed, the format and the number only)."""

    def make() -> tuple[str, bytes]:
        rng = random.Random(f"{seed}:{fmt}:{number}")
        name, data = rng.choice(bases()[fmt])
        op = rng.choice(OPS[fmt])
        what, mutated = _apply(op, rng, fmt, data)
        return f"{name}: {what}", mutated

    return Case(f"{fmt}-r{number:03d}", fmt, make)


# --- DOCX parts ------------------------------------------------------------------------------------------------


def _part(docx_bytes: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(docx_bytes)) as archive:
        return archive.read(name)


def _replace_part(docx_bytes: bytes, name: str, data: bytes | None, *, extra: dict[str, bytes] | None = None) -> bytes:
    """The package with part ``name`` replaced by ``data`` (``None``: removed) and ``extra`` parts added."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(docx_bytes)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename == name:
                if data is not None:
                    dst.writestr(name, data)
            else:
                dst.writestr(info, src.read(info))
        for extra_name, extra_data in (extra or {}).items():
            dst.writestr(extra_name, extra_data)
    return out.getvalue()


def _docx_with_body(body: str, *, prolog: str = "") -> bytes:
    """The first base DOCX with its ``<w:body>`` replaced by ``body`` (and a DOCTYPE ``prolog``)."""
    xml = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n{prolog}'
        f'<w:document xmlns:w="{W_NS}"><w:body>{body}</w:body></w:document>'
    )
    return _replace_part(bases()["docx"][0][1], DOCUMENT_XML, xml.encode("utf-8"))


def _p(text: str) -> str:
    return f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>"


def _docx_bomb() -> bytes:
    """``word/document.xml`` padded to 300 MB of spaces (about 300 KB zipped): a decompression bomb."""
    out = io.BytesIO()
    base = bases()["docx"][0][1]
    head = f'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="{W_NS}"><w:body>{_p("爆弾")}'.encode()
    with zipfile.ZipFile(io.BytesIO(base)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename != DOCUMENT_XML:
                dst.writestr(info, src.read(info))
        with dst.open(DOCUMENT_XML, "w", force_zip64=True) as part:
            part.write(head)
            chunk = b" " * (1 << 20)
            for _ in range(300):
                part.write(chunk)
            part.write(b"</w:body></w:document>")
    return out.getvalue()


# --- raw PDFs -----------------------------------------------------------------------------------------------------


def _raw_pdf(objects: list[bytes], *, trailer: bytes = b"", root: int = 1) -> bytes:
    """A PDF of the numbered ``objects`` (1-based) with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, root, trailer, xref)
    return bytes(out)


_FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def _stream(content: bytes, *, flate: bool = False) -> bytes:
    data = zlib.compress(content) if flate else content
    head = b"<< /Length %d%s >>" % (len(data), b" /Filter /FlateDecode" if flate else b"")
    return head + b"\nstream\n" + data + b"\nendstream"


def _page_pdf(content: bytes, *, pages_extra: bytes = b"", flate: bool = False) -> bytes:
    """One page with a content stream and Helvetica as /F1."""
    return _raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 " + pages_extra + b">>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> "
            b"/Contents 4 0 R >>",
            _stream(content, flate=flate),
            _FONT,
        ]
    )


def _pdf_kids_loop() -> bytes:
    """A page tree whose inner node lists itself among its kids."""
    return _raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 2 >>",
            b"<< /Type /Pages /Parent 2 0 R /Kids [3 0 R 4 0 R] /Count 2 >>",
            b"<< /Type /Page /Parent 3 0 R /MediaBox [0 0 595 842] /Contents 5 0 R >>",
            _stream(b"BT /F1 12 Tf 72 720 Td (loop) Tj ET"),
        ]
    )


def _pdf_many_pages(n: int) -> bytes:
    """``n`` empty pages (over the page limit of one PDF when ``n`` > 2,000)."""
    kids = b" ".join(b"%d 0 R" % (3 + i) for i in range(n))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % n]
    objects += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"] * n
    return _raw_pdf(objects)


def _pdf_flate_bomb() -> bytes:
    """A content stream that inflates to 200 MB of spaces, with a line of text at the end."""
    comp = zlib.compressobj(9)
    parts = [comp.compress(b" " * (1 << 20)) for _ in range(200)]
    parts.append(comp.compress(b"BT /F1 12 Tf 72 720 Td (bomb) Tj ET"))
    parts.append(comp.flush())
    data = b"".join(parts)
    stream = b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream"
    return _raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> "
            b"/Contents 4 0 R >>",
            stream,
            _FONT,
        ]
    )


def _pdf_prev_loop() -> bytes:
    """A trailer whose ``/Prev`` points at its own cross-reference table."""
    data = _page_pdf(b"BT /F1 12 Tf 72 720 Td (prev) Tj ET")
    xref = int(data.rsplit(b"startxref\n", 1)[1].split(b"\n", 1)[0])
    return data.replace(b"/Root 1 0 R", b"/Root 1 0 R /Prev %d" % xref)


def _text_ops(n: int) -> bytes:
    """``n`` text-showing operations of empty strings (the parsing costs, the text does not), then one line."""
    return b"BT /F1 10 Tf 12 TL 72 800 Td " + b"() Tj 0.01 0 Td " * n + b"(end of the page) Tj ET"


# --- hostile cases ------------------------------------------------------------------------------------------------


def _utf8(text: str) -> Callable[[], bytes]:
    return lambda: text.encode("utf-8")


def _lines(line: str, n: int) -> Callable[[], bytes]:
    return lambda: "\n".join(line.replace("{i}", str(i)) for i in range(n)).encode("utf-8")


def _html(body: str) -> Callable[[], bytes]:
    return lambda: (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>t</title></head><body>{body}</body></html>'.encode()
    )


_BLOCK = "駐車場の利用者は、管理者の指示に従わなければならない。"
_LAUGHS = (
    '<!DOCTYPE w:document [<!ENTITY a "ははははははははは">'
    + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
    + "]>"
)


def _text_hostile(fmt: str) -> list[tuple[str, str, Callable[[], bytes]]]:
    """Hostile plain-text / Markdown documents (the same attacks under both suffixes)."""
    return [
        (
            "heading-spaces",
            "'# 見出し' + 5,000 spaces + 'x' (quadratic heading regex)",
            _utf8("# 見出し" + " " * 5000 + "x"),
        ),
        ("hashes", "100,000 × '#'", _utf8("#" * 100_000)),
        ("brackets", "100,000 × '['", _utf8("[" * 100_000)),
        ("comments", "25,000 × '<!--' (100,000 characters)", _utf8("<!--" * 25_000)),
        ("stars", "100,000 × '*'", _utf8("*" * 100_000)),
        ("backticks", "100,000 × '`'", _utf8("`" * 100_000)),
        ("pipes", "100,000 × '|'", _utf8("|" * 100_000)),
        ("parens", "100,000 × '（'", _utf8("（" * 100_000)),
        ("links", "50,000 × '[a](b'", _utf8("[a](b" * 50_000)),
        ("heading-run", "'# ' + 100,000 × '第1条　'", _utf8("# " + "第1条　" * 100_000)),
        (
            "nested-list",
            "1,000 nested list levels (Python's recursion limit)",
            lambda: "\n".join("  " * i + f"- 項目{i}" for i in range(1000)).encode(),
        ),
        ("long-line", "one 12,000,000-character line (over the characters limit)", _utf8("駐車場" * 4_000_000)),
        (
            "findings-bomb",
            "200,000 one-line findings (over the findings limit of one document)",
            _lines("- 項目{i}です。", 200_000),
        ),
        ("articles-bomb", "100,000 articles 第N条", _lines("第{i}条　この条例は公布の日から施行する。", 100_000)),
        ("blank-lines", "2,000,000 empty lines", lambda: b"\n" * 2_000_000),
        (
            "controls",
            "ESC/OSC/BEL/C1/RTL sequences around text",
            _utf8("\x1b[31m駐車場\x1b[0m\x1b]0;x\x07\x9b2J\u202e逆\n" * 50),
        ),
        ("nul-only", "10,000 NUL bytes", lambda: bytes(10_000)),
        ("empty", "an empty file", lambda: b""),
        ("bom-only", "a UTF-8 byte-order mark alone", lambda: b"\xef\xbb\xbf"),
        ("spaces-only", "whitespace only (ASCII and U+3000)", _utf8(" \t\u3000\n" * 1000)),
        ("binary", "200 KB of random bytes", lambda: random.Random(f"binary:{fmt}").randbytes(200_000)),
        ("cp932", "a CP932 (Shift_JIS) document", lambda: (_BLOCK + "\n").encode("cp932") * 100),
        ("utf16", "a UTF-16 document with BOM", lambda: ((_BLOCK + "\n") * 100).encode("utf-16")),
        (
            "invalid-utf8",
            "UTF-8 with truncated sequences",
            lambda: ((_BLOCK + "\n").encode() * 50)[:-1] + b"\xe3\x81\n\xff\xfe",
        ),
        ("surrogates", "CESU-style encoded surrogates", lambda: b"\xed\xa0\x80\xed\xb0\x80" * 1000 + _BLOCK.encode()),
        ("combining", "100,000 combining marks on one letter", _utf8("か" + "\u3099" * 100_000)),
    ]


def _html_hostile() -> list[tuple[str, str, Callable[[], bytes]]]:
    return [
        ("deep-div", "100,000 nested <div>", _html("<div>" * 100_000 + _BLOCK + "</div>" * 100_000)),
        ("unclosed", "50,000 unclosed <b><i>", _html("<b><i>" * 50_000 + _BLOCK)),
        ("comments", "25,000 × '<!--'", _html("<!--" * 25_000 + _BLOCK)),
        ("brackets", "100,000 × '['", _html("<p>" + "[" * 100_000 + "</p>")),
        ("lt-run", "100,000 × '<'", _html("<p>" + "<" * 100_000 + "</p>")),
        (
            "colspan-bomb",
            "one cell with colspan 1,000,000 × rowspan 65,534",
            _html(f'<table><tr><td colspan="1000000" rowspan="65534">{_BLOCK}</td></tr><tr><td>x</td></tr></table>'),
        ),
        (
            "rowspan-rows",
            "200 cells with rowspan 65,534 over 200 rows",
            _html(
                "<table>"
                + "<tr>"
                + f'<td rowspan="65534">{_BLOCK}</td>' * 200
                + "</tr>"
                + "<tr><td>x</td></tr>" * 200
                + "</table>"
            ),
        ),
        ("many-rows", "200,000 table rows", _html("<table>" + f"<tr><td>{_BLOCK}</td></tr>" * 200_000 + "</table>")),
        (
            "many-paragraphs",
            "200,000 paragraphs (over the findings limit)",
            lambda: _html("".join(f"<p>段落{i}です。{_BLOCK}</p>" for i in range(200_000)))(),
        ),
        ("entities", "1,000,000 × '&amp;'", _html("<p>" + "&amp;" * 1_000_000 + "</p>")),
        ("br-flood", "500,000 × 'x<br>'", _html("<p>" + "x<br>" * 500_000 + "</p>")),
        (
            "text-node",
            "one 11,000,000-character text node (over the characters limit)",
            _html("<p>" + "あ" * 11_000_000 + "</p>"),
        ),
        ("nested-lists", "10,000 nested <ul><li>", _html("<ul><li>" * 10_000 + _BLOCK)),
        ("attributes", "one tag with a 1 MB attribute", _html('<p title="' + "x" * 1_000_000 + f'">{_BLOCK}</p>')),
        ("script", "a 5 MB <script>", _html("<script>" + "var a=1;" * 600_000 + f"</script><p>{_BLOCK}</p>")),
        (
            "bogus-charset",
            "<meta charset=x-bogus>",
            lambda: f'<html><head><meta charset="x-bogus"></head><body><p>{_BLOCK}</p></body></html>'.encode(),
        ),
        (
            "cp932-declared-utf8",
            "CP932 declared, UTF-8 bytes",
            lambda: f'<html><head><meta charset="shift_jis"></head><body><p>{_BLOCK}</p></body></html>'.encode(),
        ),
        (
            "controls",
            "control characters and RTL overrides in text",
            _html(f"<p>\x1b[31m{_BLOCK}\x07\x00\u202e逆\x9b</p>" * 20),
        ),
        (
            "bel-after-nav",
            "a BEL in the text after a <nav> (control characters without NUL)",
            _html(f"<p>{_BLOCK}</p><nav>メニュー</nav>\x07{_BLOCK}<p>{_BLOCK}</p>"),
        ),
        ("empty", "an empty file", lambda: b""),
        ("nul-only", "10,000 NUL bytes", lambda: bytes(10_000)),
        ("binary", "200 KB of random bytes", lambda: random.Random("binary:html").randbytes(200_000)),
        (
            "xml-bomb",
            "XML entity expansion in an XHTML page",
            lambda: (
                '<?xml version="1.0"?>' + _LAUGHS.replace("w:document", "html") + "<html><body><p>&j;</p></body></html>"
            ).encode(),
        ),
    ]


def _docx_hostile() -> list[tuple[str, str, Callable[[], bytes]]]:
    many = "".join(_p(f"段落{i}") for i in range(400_000))
    return [
        ("zip-bomb", "word/document.xml unzips to 300 MB (×1000)", _docx_bomb),
        ("paragraphs", "400,000 paragraphs", lambda: _docx_with_body(many)),
        ("empty-paragraphs", "1,000,000 empty paragraphs", lambda: _docx_with_body("<w:p/>" * 1_000_000)),
        (
            "gridspan-bomb",
            "a table cell spanning 1,000,000 columns",
            lambda: _docx_with_body(
                '<w:tbl><w:tr><w:tc><w:tcPr><w:gridSpan w:val="1000000"/></w:tcPr>'
                + _p(_BLOCK)
                + "</w:tc></w:tr></w:tbl>"
            ),
        ),
        (
            "vmerge-rows",
            "10,000 rows × 50 vertically merged cells",
            lambda: _docx_with_body(
                "<w:tbl>"
                + (
                    "<w:tr>"
                    + '<w:tc><w:tcPr><w:vMerge w:val="restart"/></w:tcPr>'
                    + _p(_BLOCK)
                    + "</w:tc>" * 50
                    + "</w:tr>"
                )
                + ("<w:tr>" + "<w:tc><w:tcPr><w:vMerge/></w:tcPr>" + _p("") + "</w:tc>" * 50 + "</w:tr>") * 10_000
                + "</w:tbl>"
            ),
        ),
        (
            "nested-tables",
            "500 nested tables",
            lambda: _docx_with_body("<w:tbl><w:tr><w:tc>" * 500 + _p(_BLOCK) + "</w:tc></w:tr></w:tbl>" * 500),
        ),
        ("laughs", "billion laughs entity expansion", lambda: _docx_with_body(_p("&j;"), prolog=_LAUGHS)),
        (
            "xxe",
            "an external entity reading /etc/passwd",
            lambda: _docx_with_body(
                _p("&x;"), prolog='<!DOCTYPE w:document [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            ),
        ),
        (
            "huge-run",
            "one 12,000,000-character run (over the characters limit)",
            lambda: _docx_with_body(_p("あ" * 12_000_000)),
        ),
        (
            "no-document",
            "a package without word/document.xml",
            lambda: _replace_part(bases()["docx"][0][1], DOCUMENT_XML, None),
        ),
        (
            "not-xml",
            "word/document.xml is not XML",
            lambda: _replace_part(bases()["docx"][0][1], DOCUMENT_XML, b"\x00\xff<<<"),
        ),
        (
            "many-entries",
            "a zip of 20,000 extra entries",
            lambda: _replace_part(
                bases()["docx"][0][1], "", None, extra={f"junk/{i}.bin": b"x" for i in range(20_000)}
            ),
        ),
        ("controls", "control characters in runs", lambda: _docx_with_body(_p(f"\x1b[31m{_BLOCK}\x07\u202e逆") * 20)),
        ("zip-version", "a zip entry that needs zip version 10.4 to extract", _zip_version),
        ("empty", "an empty file", lambda: b""),
        ("zip-empty", "an empty zip", lambda: _empty_zip()),
    ]


def _zip_version() -> bytes:
    """The first base DOCX with its first central-directory entry asking for zip version 10.4 to extract."""
    data = bytearray(bases()["docx"][0][1])
    at = data.find(b"PK\x01\x02")
    data[at + 6] = 104
    return bytes(data)


def _empty_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w"):
        pass
    return out.getvalue()


def _pdf_hostile() -> list[tuple[str, str, Callable[[], bytes]]]:
    return [
        ("kids-loop", "a page tree that contains itself", _pdf_kids_loop),
        (
            "count-lie",
            "/Count 100,000,000 over one page",
            lambda: _page_pdf(b"BT /F1 12 Tf 72 720 Td (lie) Tj ET").replace(b"/Count 1 ", b"/Count 100000000 "),
        ),
        ("many-pages", "3,000 empty pages (over the page limit)", lambda: _pdf_many_pages(3000)),
        ("deep-array", "200,000 nested arrays in a content stream", lambda: _page_pdf(b"[" * 200_000 + b"]" * 200_000)),
        (
            "deep-dict",
            "50,000 nested dictionaries in an object",
            lambda: _page_pdf(b"BT ET", pages_extra=b"/X " + b"<< /A " * 50_000 + b">> " * 50_000),
        ),
        ("text-ops", "200,000 empty text operations on one page", lambda: _page_pdf(_text_ops(200_000), flate=True)),
        ("flate-bomb", "a content stream that inflates to 200 MB", _pdf_flate_bomb),
        ("prev-loop", "a cross-reference /Prev pointing at itself", _pdf_prev_loop),
        ("header-only", "'%PDF-1.7' and nothing else", lambda: b"%PDF-1.7\n"),
        (
            "no-xref",
            "objects without a cross-reference table",
            lambda: _page_pdf(b"BT /F1 12 Tf 72 720 Td (x) Tj ET").split(b"xref")[0],
        ),
        (
            "controls",
            "control characters in the text layer",
            lambda: _page_pdf(b"BT /F1 12 Tf 72 720 Td (\x1b[31mred\x07\x00x) Tj ET"),
        ),
        ("empty", "an empty file", lambda: b""),
        ("nul-only", "10,000 NUL bytes", lambda: bytes(10_000)),
        (
            "binary",
            "200 KB of random bytes after a PDF header",
            lambda: b"%PDF-1.4\n" + random.Random("binary:pdf").randbytes(200_000),
        ),
    ]


# The hostile cases --quick mode runs (a full run runs them all).
QUICK_HOSTILE = frozenset(
    {
        *("txt-heading-spaces", "md-brackets", "html-deep-div", "html-colspan-bomb"),
        *("docx-zip-bomb", "docx-paragraphs", "pdf-kids-loop", "pdf-many-pages"),
    }
)


def hostile_cases() -> list[Case]:
    """The hostile cases of every format."""
    groups = {
        "pdf": _pdf_hostile(),
        "html": _html_hostile(),
        "docx": _docx_hostile(),
        "txt": _text_hostile("txt"),
        "md": _text_hostile("md"),
    }
    return [
        Case(f"{fmt}-{name}", fmt, _described(what, make))
        for fmt, cases in groups.items()
        for name, what, make in cases
    ]


def _described(what: str, make: Callable[[], bytes]) -> Callable[[], tuple[str, bytes]]:
    return lambda: (what, make())


def random_cases(n: int, seed: int) -> list[Case]:
    """``n`` random cases spread evenly over the formats (format by format, numbered from 0)."""
    per, extra = divmod(n, len(FORMATS))
    return [random_case(fmt, i, seed) for k, fmt in enumerate(FORMATS) for i in range(per + (k < extra))]


def find_case(name: str, seed: int) -> Case:
    """The case called ``name`` (``pdf-r017`` or a hostile name such as ``html-deep-div``)."""
    fmt, _, rest = name.partition("-")
    if rest.startswith("r") and rest[1:].isdigit():
        return random_case(fmt, int(rest[1:]), seed)
    for case in hostile_cases():
        if case.name == name:
            return case
    raise SystemExit(f"no case named {name!r}")

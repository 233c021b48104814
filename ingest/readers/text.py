"""Plain text in UTF-8 (BOM or not), UTF-16 or UTF-32 with BOM, Shift_JIS/CP932, EUC-JP or ISO-2022-JP.

Line ends (``\\r\\n``, ``\\r``) are normalized so that line ``n`` is what an editor shows as line ``n``; the lines
themselves are kept exactly (not cleaned) so that citations point at real text.
"""

from __future__ import annotations

import codecs
import unicodedata
from collections.abc import Sequence
from pathlib import Path

from kensaku.config import DEFAULTS, MB
from kensaku.ingest.models import Document
from kensaku.ingest.normalize import clean_text
from kensaku.ingest.readers.base import ReadError, new_document, short_title

SUFFIXES: tuple[str, ...] = (".txt",)
MAX_BYTES: int = DEFAULTS.max_text_mb * MB
# Tried in this order; UTF-8 wins whenever it decodes, because a wrong strict UTF-8 decode is practically impossible.
_LEGACY_ENCODINGS: tuple[str, ...] = ("cp932", "euc_jp")
_ISO_2022_JP_ESCAPES: tuple[bytes, ...] = (b"\x1b$B", b"\x1b$@", b"\x1b(J", b"\x1b$(D")
_ALLOWED_CONTROLS = frozenset("\t\n\r\f\v")
# charset-normalizer decodes almost anything as some Western code page; only its Japanese and Unicode guesses are
# believed (JIS X 0213 text beyond CP932, UTF-16 without a BOM).
_TRUSTED_GUESSES = ("utf_16", "utf_32", "shift_jis", "euc_jis", "iso2022_jp")


def _bad_chars(text: str) -> int:
    """Count characters that do not occur in real text: controls (bar tab/newlines), private use, unassigned."""
    return sum(1 for ch in text if ch not in _ALLOWED_CONTROLS and unicodedata.category(ch) in ("Cc", "Co", "Cn"))


def _oddness(text: str) -> int:
    """How wrong a legacy decoding looks: EUC-JP read as CP932 gives half-width katakana and private-use characters."""
    return _bad_chars(text) + sum(1 for ch in text if "\uff61" <= ch <= "\uff9f")


def _detect(data: bytes) -> str:
    """Decode bytes that are not UTF-8: CP932 or EUC-JP (whichever looks right), else charset-normalizer's guess."""
    candidates: list[tuple[int, int, str]] = []
    for order, encoding in enumerate(_LEGACY_ENCODINGS):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        candidates.append((_oddness(text), order, text))
    if candidates:
        return min(candidates)[2]
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None or not best.encoding.startswith(_TRUSTED_GUESSES):
        raise ReadError("cannot be decoded as UTF-8, Shift_JIS (CP932) or EUC-JP. Re-save the file as UTF-8.")
    return str(best)


def _decode_bom(data: bytes, codec: str) -> str:
    """``data`` decoded with ``codec`` (``utf-16`` or ``utf-32``, which read the byte-order mark and drop it).

    Raises:
        ReadError: The bytes after the mark are not valid in that encoding (a truncated or mislabelled file).
    """
    name = codec.upper()
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        raise ReadError(
            f"starts with a {name} byte-order mark but bytes {exc.start}–{exc.end - 1} are not valid {name}",
            "re-save the file as UTF-8",
        ) from exc


def decode(data: bytes) -> str:
    """Decode the bytes of a text file, refusing binary data.

    >>> decode("加賀市の取組".encode("cp932"))
    '加賀市の取組'
    >>> decode("加賀市の取組".encode("iso2022_jp"))
    '加賀市の取組'
    >>> decode("加賀市の取組".encode("utf-32")), decode("加賀市の取組".encode("utf-16"))
    ('加賀市の取組', '加賀市の取組')

    Raises:
        ReadError: The bytes are binary or undecodable; the message says how to fix it.
    """
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8) :].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ReadError(
                f"starts with a UTF-8 BOM but byte {exc.start} is not valid UTF-8. Re-save the file as UTF-8."
            ) from exc
    # UTF-32 first: its little-endian BOM (FF FE 00 00) starts with the UTF-16 one (FF FE).
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return _decode_bom(data, "utf-32")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _decode_bom(data, "utf-16")
    if b"\x00" in data:
        raise ReadError("contains NUL bytes, so it is binary data, not text. Convert it to a UTF-8 text file.")
    if any(escape in data for escape in _ISO_2022_JP_ESCAPES):
        try:
            return data.decode("iso2022_jp_ext")
        except UnicodeDecodeError:
            pass
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = _detect(data)
    odd = _bad_chars(text)
    # A few stray control characters happen in real exports; more than 1% means this is not text.
    if odd > max(3, len(text) // 100):
        raise ReadError(
            f"{odd} of {len(text)} characters are control or unassigned characters after decoding; "
            "this looks like binary data. Convert it to a UTF-8 text file."
        )
    return text


def split_text_lines(data: bytes) -> list[str]:
    """Decode and split into lines without their ends (a final line end does not add an empty line).

    Raises:
        ReadError: Binary or undecodable data, or only whitespace.
    """
    text = decode(data).replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    if not any(clean_text(line) for line in lines):
        raise ReadError("contains only whitespace; nothing to index. Remove it or add text.")
    return lines


def text_title(lines: Sequence[str], fallback: str) -> str:
    """First non-empty line (markdown ``#`` and front matter skipped), cleaned; else ``fallback``."""
    start = 0
    if lines and lines[0].strip() == "---":
        closing = next((i for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")), None)
        start = 0 if closing is None else closing + 1
    for line in lines[start:]:
        text = short_title(line.lstrip().lstrip("#"))
        if text:
            return text
    return fallback


def read(data: bytes, path: Path) -> Document:
    """Read a text file.

    Raises:
        ReadError: Binary or undecodable data, or only whitespace.
    """
    lines = split_text_lines(data)
    return new_document(path, data, lines, title=text_title(lines, path.stem))

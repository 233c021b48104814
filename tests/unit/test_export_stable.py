"""Exports are a pure function of (hits, meta): the same ``meta.created`` gives the same bytes in every format, a
second or more apart (ZIP entry times have a resolution of two seconds); XLSX and DOCX are dated ``meta.created``
(properties and archive entries, not the clock) and still open with the expected cells."""

from __future__ import annotations

import io
import time
import zipfile
from datetime import UTC, datetime, timedelta, timezone

import docx
import openpyxl
import pytest

from kensaku.export import FORMATS, ExportMeta, export, stable_zip
from kensaku.index.search import Hit
from tests.support import SMALL_FINDINGS

CREATED = datetime(2026, 11, 30, 18, 0, 42, tzinfo=timezone(timedelta(hours=9)))
HITS = [Hit(1, 0.91, SMALL_FINDINGS[0], 3.2, 0.88, 1, 1), Hit(2, 0.5, SMALL_FINDINGS[4], 1.0, 0.7, 2, 3)]
META = ExportMeta("フェローの契約形態は", CREATED, {"kind": ["lesson"]}, "fp-123", "9.9.9")


@pytest.fixture(scope="module")
def twice() -> dict[str, tuple[bytes, bytes]]:
    """Every format rendered twice, more than two seconds apart."""
    first = {fmt: export(HITS, META, fmt) for fmt in FORMATS}
    time.sleep(2.1)
    return {fmt: (first[fmt], export(HITS, META, fmt)) for fmt in FORMATS}


@pytest.mark.parametrize("fmt", FORMATS)
def test_same_created_gives_the_same_bytes(twice: dict[str, tuple[bytes, bytes]], fmt: str) -> None:
    first, second = twice[fmt]
    assert first == second and len(first) > 200


@pytest.mark.parametrize("fmt", ["xlsx", "docx"])
def test_zip_entries_and_properties_are_dated_created(twice: dict[str, tuple[bytes, bytes]], fmt: str) -> None:
    data = twice[fmt][0]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        assert {info.date_time for info in archive.infolist()} == {(2026, 11, 30, 18, 0, 42)}
        assert {info.compress_type for info in archive.infolist()} == {zipfile.ZIP_DEFLATED}
        core = archive.read("docProps/core.xml").decode()
    assert core.count("2026-11-30T09:00:42Z") == 2  # created and modified, in UTC
    later = export(HITS, ExportMeta(META.query, CREATED + timedelta(minutes=1), META.filters), fmt)
    assert later != data


def test_xlsx_still_opens_with_its_cells(twice: dict[str, tuple[bytes, bytes]]) -> None:
    book = openpyxl.load_workbook(io.BytesIO(twice["xlsx"][0]))
    sheet = book["抜粋"]
    assert sheet["A1"].value == "順位" and sheet["C2"].value == SMALL_FINDINGS[0].text and sheet["B3"].value == 0.5
    info = {row[0].value: row[1].value for row in book["検索条件"].iter_rows()}
    assert info["検索語"] == "フェローの契約形態は" and info["索引"] == "fp-123" and info["件数"] == "2"
    assert book.properties.created == CREATED.astimezone(UTC).replace(tzinfo=None)
    assert book.properties.modified == book.properties.created


def test_docx_still_opens_with_its_text(twice: dict[str, tuple[bytes, bytes]]) -> None:
    document = docx.Document(io.BytesIO(twice["docx"][0]))
    texts = [p.text for p in document.paragraphs]
    assert texts[0] == "「フェローの契約形態は」の検索結果"
    assert SMALL_FINDINGS[0].text in texts and SMALL_FINDINGS[4].text in texts
    assert document.core_properties.created == CREATED  # an aware time: equal to the same instant in UTC


def test_stable_zip_keeps_names_order_contents_and_a_time_before_1980_is_1980() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("b.txt", "二")
        archive.writestr(zipfile.ZipInfo("a.xml"), b"<a/>", compress_type=zipfile.ZIP_DEFLATED)
    old = datetime(1970, 1, 1, tzinfo=UTC)
    with zipfile.ZipFile(io.BytesIO(stable_zip(buffer.getvalue(), old))) as archive:
        assert archive.namelist() == ["b.txt", "a.xml"] and archive.read("b.txt") == "二".encode()
        assert [i.compress_type for i in archive.infolist()] == [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}

"""The Excel (XLSX) export: sheet 抜粋 (one row per excerpt) and sheet 検索条件 (the search conditions).

Every text cell is stored as a string, never a formula, and neutralized (:func:`kensaku.export.neutralize`); kept
apart from :mod:`kensaku.export` so that openpyxl is imported only when a workbook is written.
"""

from __future__ import annotations

import io
import zipfile
from datetime import UTC

from openpyxl import Workbook
from openpyxl.cell.cell import Cell as XlCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from kensaku.export import (
    COLUMN_WIDTHS,
    COLUMNS,
    TITLE,
    WRAPPED_COLUMNS,
    XML_ILLEGAL,
    Cell,
    ExportMeta,
    Items,
    meta_rows,
    neutralize,
    prepare,
    row_of,
    stable_zip,
)


def _xml_safe(value: Cell) -> Cell:
    return XML_ILLEGAL.sub("", value) if isinstance(value, str) else value


def _put(sheet: Worksheet, row: int, column: int, value: Cell) -> XlCell:
    cell = sheet.cell(row=row, column=column, value=_xml_safe(value))
    if isinstance(value, str):
        cell.data_type = "s"  # never a formula, whatever the text starts with
    return cell


def xlsx_bytes(hits: Items, meta: ExportMeta) -> bytes:
    """Excel workbook: sheet 抜粋 (frozen header, widths, wrapped excerpts) and sheet 検索条件 (the metadata)."""
    excerpts, meta = prepare(hits, meta)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "抜粋"
    top = Alignment(vertical="top")
    wrapped = Alignment(vertical="top", wrap_text=True)
    for column, (name, width) in enumerate(zip(COLUMNS, COLUMN_WIDTHS, strict=True), start=1):
        _put(sheet, 1, column, name).font = Font(bold=True)
        sheet.column_dimensions[get_column_letter(column)].width = width
    for row, excerpt in enumerate(excerpts, start=2):
        for column, value in enumerate(row_of(excerpt), start=1):
            _put(sheet, row, column, value).alignment = wrapped if COLUMNS[column - 1] in WRAPPED_COLUMNS else top
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    info = book.create_sheet("検索条件")
    info.column_dimensions["A"].width = 12
    info.column_dimensions["B"].width = 80
    for row, (label, value) in enumerate(meta_rows(meta, len(excerpts)), start=1):
        _put(info, row, 1, label).font = Font(bold=True)
        _put(info, row, 2, neutralize(value)).alignment = wrapped
    book.properties.creator = "kensaku"
    book.properties.title = XML_ILLEGAL.sub("", f"{TITLE}: {meta.subject}")
    return _saved(book, meta)


def _saved(book: Workbook, meta: ExportMeta) -> bytes:
    """The workbook's bytes, made and modified at ``meta.created`` (not when it is written): ``Workbook.save`` would
    date the properties and the archive's entries by the clock, so it is written with openpyxl's writer here."""
    created = meta.created.astimezone(UTC).replace(tzinfo=None)  # openpyxl writes naive times as UTC ("Z")
    book.properties.created = book.properties.modified = created
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(book, archive).write_data()
    return stable_zip(buffer.getvalue(), meta.created)

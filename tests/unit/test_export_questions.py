"""Exports of excerpts from several questions: the header lists every question (not the last one), each excerpt
shows its own question and note, and an unknown (NaN) score is an empty cell, never 0 (every format parsed back)."""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import datetime, timedelta, timezone

import docx
import openpyxl
import pytest

from kensaku.errors import InputError
from kensaku.export import ExportMeta, export
from kensaku.index.search import Hit
from tests.support import SMALL_FINDINGS

CREATED = datetime(2026, 11, 30, 18, 0, tzinfo=timezone(timedelta(hours=9)))
FELLOW, BUDGET = "フェローの契約形態は", "予算の確保"
HITS = [
    Hit(1, 0.91, SMALL_FINDINGS[0], 3.2, 0.88, 1, 1),
    Hit(2, float("nan"), SMALL_FINDINGS[3], float("nan"), float("nan"), 0, 0),  # picked earlier: score unknown
    Hit(3, 0.5, SMALL_FINDINGS[4], 1.0, 0.7, 2, 3),
]
QUERIES = [FELLOW, BUDGET, BUDGET]
NOTES = ["議会説明に使う", "", "=SUM(A1)"]


def render(fmt: str, query: str = BUDGET) -> bytes:
    meta = ExportMeta(query=query, created=CREATED, filters={"municipality": ["加賀市"]})
    return export(HITS, meta, fmt, queries=QUERIES, notes=NOTES)


def test_markdown_header_lists_every_question_and_each_excerpt_its_own() -> None:
    text = render("md").decode("utf-8")
    head, body = text.split("## 1.", 1)
    assert "- 検索語: 2 件の質問" in head
    assert f"- 質問 1: {FELLOW}" in head and f"- 質問 2: {BUDGET}" in head
    sections = body.split("\n## ")
    assert f"- 質問: {FELLOW}" in sections[0] and "- メモ: 議会説明に使う" in sections[0]
    assert f"- 質問: {BUDGET}" in sections[1] and "メモ" not in sections[1]


def test_csv_rows_carry_question_note_and_an_empty_unknown_score() -> None:
    rows = list(csv.DictReader(io.StringIO(render("csv").decode("utf-8-sig"))))
    assert [r["質問"] for r in rows] == QUERIES
    assert [r["メモ"] for r in rows] == ["議会説明に使う", "", "'=SUM(A1)"]  # a note is formula-safe too
    assert [r["スコア"] for r in rows] == ["0.91", "", "0.5"]
    assert rows[0]["ID"] == SMALL_FINDINGS[0].id


def test_xlsx_sheets_list_the_questions_and_leave_the_unknown_score_empty() -> None:
    book = openpyxl.load_workbook(io.BytesIO(render("xlsx")))
    sheet = book["抜粋"]
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, (c.value for c in row), strict=True)) for row in sheet.iter_rows(min_row=2)]
    assert [r["質問"] for r in rows] == QUERIES and rows[0]["メモ"] == "議会説明に使う"
    assert [r["スコア"] for r in rows] == [0.91, None, 0.5]
    info = {row[0].value: row[1].value for row in book["検索条件"].iter_rows()}
    assert info["検索語"] == "2 件の質問" and info["質問 1"] == FELLOW and info["質問 2"] == BUDGET
    assert info["件数"] == "3"


def test_json_has_every_question_and_null_for_unknown_numbers() -> None:
    data = json.loads(render("json"))  # strict JSON: NaN would not parse back as null
    assert data["query"] == "" and data["queries"] == [FELLOW, BUDGET]
    assert [r["query"] for r in data["results"]] == QUERIES
    assert [r["note"] for r in data["results"]] == NOTES
    assert data["results"][1]["score"] is None and data["results"][1]["dense"] is None
    assert data["results"][0]["score"] == 0.91


def test_docx_heading_and_excerpts_show_the_questions() -> None:
    document = docx.Document(io.BytesIO(render("docx")))
    texts = [p.text for p in document.paragraphs]
    assert texts[0] == "2 件の質問の検索結果"
    assert f"質問 1: {FELLOW}" in texts[1] and f"質問 2: {BUDGET}" in texts[1]
    assert f"質問: {FELLOW}" in texts and "メモ: 議会説明に使う" in texts
    assert document.core_properties.title == "2 件の質問"


def test_one_question_keeps_the_plain_header() -> None:
    meta = ExportMeta(query=FELLOW, created=CREATED)
    text = export(HITS[:1], meta, "md").decode("utf-8")
    assert f"- 検索語: {FELLOW}" in text and "質問 1" not in text and "- 質問:" not in text
    same = export(HITS[:1], meta, "md", queries=[FELLOW]).decode("utf-8")
    assert same == text
    assert json.loads(export(HITS[:1], meta, "json"))["queries"] == [FELLOW]
    assert docx.Document(io.BytesIO(export(HITS[:1], meta, "docx"))).paragraphs[0].text == f"「{FELLOW}」の検索結果"


def test_questions_and_notes_must_be_one_per_hit() -> None:
    meta = ExportMeta(query=FELLOW, created=CREATED)
    with pytest.raises(InputError, match="2 queries for 3 hits"):
        export(HITS, meta, "csv", queries=QUERIES[:2])
    with pytest.raises(InputError, match="1 notes for 3 hits"):
        export(HITS, meta, "csv", notes=["x"])
    assert math.isnan(HITS[1].score)  # the hit itself is left as it was


def test_questions_without_excerpts_are_still_listed() -> None:
    meta = ExportMeta(query="", created=CREATED, questions=(FELLOW, BUDGET))
    text = export([], meta, "md").decode("utf-8")
    assert f"- 質問 1: {FELLOW}" in text and f"- 質問 2: {BUDGET}" in text and "- 件数: 0" in text
    assert json.loads(export([], meta, "json"))["queries"] == [FELLOW, BUDGET]

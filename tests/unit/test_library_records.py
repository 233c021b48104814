"""What an index records per document (format 4: added, reader warnings, user metadata) and how metadata reaches
the findings: applied at build time, undone exactly (citation included) when changed or cleared, stable when
applied again to findings that already carry it; versions 1–3 still read."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from kensaku.errors import IndexCorruptError, InputError
from kensaku.index.documents import apply_meta, carry_over, restored
from kensaku.index.integrity import canonical_checksum
from kensaku.index.manifest import (
    FORMAT_VERSION,
    BuildOptions,
    DocumentMeta,
    IngestInfo,
    Manifest,
    ModelInfo,
    SourceRecord,
)
from kensaku.index.tokenizer import TokenizerConfig
from kensaku.library import build_plan, find_document, parse_year, plan_removal
from tests.support import SMALL_FINDINGS

META = DocumentMeta(municipality="金沢市", year=2023, title="防災の手引き", tags=("防災", "避難", "防災"))


def manifest_of(*sources: SourceRecord, inputs: tuple[str, ...] = ()) -> Manifest:
    return Manifest(
        model=ModelInfo("e5-small-int8", 384),
        tokenizer=TokenizerConfig(),
        dictionary={"package": "unidic-lite", "version": "1.0.8"},
        build_options=BuildOptions(),
        ingest=IngestInfo(3, 400),
        inputs=inputs,
        sources=sources,
        findings=sum(s.findings for s in sources),
    ).stamped()


def test_manifest_round_trip_keeps_added_warnings_and_metadata(tmp_path: Path) -> None:
    record = SourceRecord("報告.pdf", "/d/報告.pdf", "0" * 64, 6, "報告", 10, 1, None, "2026-01-02T03:04:05+00:00")
    record = replace(record, warnings=("p.3 に文字がありません",), meta=META)
    manifest = manifest_of(record)
    data = json.loads(manifest.to_json())
    assert data["format_version"] == FORMAT_VERSION == 6
    assert data["sources"][0]["meta"] == {
        "municipality": "金沢市",
        "year": 2023,
        "title": "防災の手引き",
        "tags": ["防災", "避難"],
    }
    again = Manifest.from_json(manifest.to_json(), tmp_path)
    assert again == manifest and again.sources[0].meta == META and again.sources[0].warnings == record.warnings


def test_edited_metadata_fails_the_checksum(tmp_path: Path) -> None:
    manifest = manifest_of(replace(SourceRecord("a.txt", "/d/a.txt", "0" * 64, 6, "a"), meta=META))
    data = json.loads(manifest.to_json())
    data["sources"][0]["meta"]["municipality"] = "加賀市"
    with pytest.raises(IndexCorruptError, match="checksum"):
        Manifest.from_json(json.dumps(data), tmp_path)
    data["checksum"] = canonical_checksum(data)
    assert Manifest.from_json(json.dumps(data), tmp_path).sources[0].meta == replace(META, municipality="加賀市")


def test_format_3_manifest_without_the_new_fields_is_read(tmp_path: Path) -> None:
    data = json.loads(manifest_of(SourceRecord("a.txt", "/d/a.txt", "0" * 64, 6, "a")).to_json())
    data["format_version"] = 3
    for key in ("added", "warnings", "meta"):
        del data["sources"][0][key]
    data["checksum"] = canonical_checksum(data)
    source = Manifest.from_json(json.dumps(data), tmp_path).sources[0]
    assert (source.added, source.warnings, source.meta) == ("", (), None)


def test_metadata_is_applied_and_undone_exactly() -> None:
    sources = [SourceRecord("doc.txt", "/d/doc.txt", "0" * 64, 6, "doc", meta=META)]
    applied = apply_meta(SMALL_FINDINGS, sources)
    first = applied[0]
    assert {f.municipality for f in applied} == {"金沢市"}
    assert first.title == first.extra["title"] == "防災の手引き"
    assert (first.extra["year"], first.extra["tags"]) == ("2023", "防災,避難")
    assert first.citation.startswith("doc.txt｜金沢市｜推進体制")
    assert apply_meta(applied, sources) == applied  # applying again to findings that carry it changes nothing
    assert [f.extra for f in apply_meta(applied, sources)] == [f.extra for f in applied]
    cleared = apply_meta(applied, [replace(sources[0], meta=None)])
    assert cleared == SMALL_FINDINGS
    assert [(f.citation, f.extra, f.title) for f in cleared] == [(f.citation, f.extra, f.title) for f in SMALL_FINDINGS]
    assert [restored(f) for f in applied] == SMALL_FINDINGS


def test_changing_one_field_keeps_the_readers_other_values() -> None:
    year_found = [replace(f, extra={"year": "1997"}) for f in SMALL_FINDINGS]
    sources = [SourceRecord("doc.txt", "/d/doc.txt", "0" * 64, 6, "doc", meta=DocumentMeta(tags=("条例",)))]
    tagged = apply_meta(year_found, sources)
    assert [f.municipality for f in tagged] == [f.municipality for f in SMALL_FINDINGS]  # 加賀市 and 会津若松市 …
    assert {f.extra["year"] for f in tagged} == {"1997"}
    retitled = apply_meta(tagged, [replace(sources[0], meta=DocumentMeta(year=2001))])
    assert {f.extra["year"] for f in retitled} == {"2001"} and "tags" not in retitled[0].extra
    assert [f.extra for f in apply_meta(retitled, [replace(sources[0], meta=None)])] == [{"year": "1997"}] * 6


def test_carry_over_keeps_added_and_warnings_of_reused_documents() -> None:
    old = SourceRecord("a.pdf", "/d/a.pdf", "1" * 64, 2, "a", added="2026-01-01T00:00:00+00:00", meta=META)
    old = replace(old, warnings=("古い警告",))
    new = [replace(old, added="", warnings=(), meta=None), SourceRecord("b.md", "/d/b.md", "2" * 64, 1, "b")]
    out = carry_over(
        new, ({old.path: old}, "2025-12-31T00:00:00+00:00"), {"/d/b.md": ["新しい警告"]}, [True, False], {}
    )
    assert (out[0].added, out[0].warnings, out[0].meta) == (old.added, ("古い警告",), META)
    assert out[1].added > old.added and out[1].warnings == ("新しい警告",) and out[1].meta is None
    cleared = carry_over(new[:1], ({old.path: old}, ""), {}, [False], {old.path: DocumentMeta()})
    assert cleared[0].meta is None and cleared[0].warnings == ()


def test_removal_rules(tmp_path: Path) -> None:
    folder, docs = tmp_path / "資料", tmp_path / "documents"
    folder.mkdir()
    docs.mkdir()
    (folder / "a.txt").write_text("本文", encoding="utf-8")
    (docs / "up.md").write_text("本文", encoding="utf-8")
    records = [SourceRecord(p.name, str(p), "0" * 64, 1, p.stem) for p in (folder / "a.txt", docs / "up.md")]
    manifest = manifest_of(*records, inputs=(str(folder), str(docs / "up.md")))
    plan = plan_removal(manifest, [docs / "up.md"], docs)
    assert plan.inputs == [folder] and plan.removed == [str(docs / "up.md")] and plan.delete == [docs / "up.md"]
    with pytest.raises(InputError) as inside:
        plan_removal(manifest, [folder / "a.txt"], docs)
    assert str(folder) in inside.value.reason and f"kensaku remove {folder}" in inside.value.fix
    with pytest.raises(InputError) as unknown:
        plan_removal(manifest, [tmp_path / "nothing.pdf"], docs)
    assert str(folder) in unknown.value.fix and str(docs / "up.md") in unknown.value.fix
    with pytest.raises(InputError, match="without documents"):
        plan_removal(manifest, [folder, docs / "up.md"], docs)
    with pytest.raises(InputError, match="not a document of the index"):
        find_document(manifest, tmp_path / "x.txt")


def test_build_plan_new_index_recorded_sources_and_replaced(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    plan = build_plan(tmp_path / "none", [], corpus)
    assert plan.new and plan.sources == [corpus]
    with pytest.raises(InputError, match="no index at"):
        build_plan(tmp_path / "none", [], tmp_path / "missing")


@pytest.mark.parametrize(
    ("text", "year"), [("2023", 2023), ("令和5年度", 2023), ("平成31年", 2019), ("2001年度", 2001)]
)
def test_years_are_read_western_or_japanese(text: str, year: int) -> None:
    assert parse_year(text) == year


@pytest.mark.parametrize("text", ["去年", "99999", "R5"])
def test_a_text_without_a_year_is_refused(text: str) -> None:
    with pytest.raises(InputError, match="is not a year"):
        parse_year(text)

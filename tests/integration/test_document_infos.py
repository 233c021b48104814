"""The documents list (``Index.documents()``, the 文書 page) read from the code columns gives exactly what reading
every finding gave, on the seed index and on real documents with parts and user metadata, while parsing only two
findings per document (the first for the title, the last for the pages); with the real default model, MeCab and
FAISS."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from kensaku import DEFAULTS, Index, Settings
from kensaku.index.columns import FIELDS, Columns, FindingTable
from kensaku.index.embed import Embedder, load_embedder
from kensaku.index.store import IndexBundle
from kensaku.ingest.models import Finding
from kensaku.library import DocumentInfo, DocumentMeta, document_infos
from kensaku.library import _municipalities as column_municipalities
from kensaku.library import _year as column_year
from tests.pdfs import make_pdf, wrap

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "real"
SHELTER = "避難所の運営は地域の自主防災組織が担い、市は物資の備蓄と職員の派遣を行う。"
ALERT = "防災行政無線と登録制メールで避難情報を伝え、高齢者には民生委員が個別に連絡する。"
DRILL = "年二回の総合防災訓練では、要配慮者の避難誘導と避難所の開設手順を確かめる。"


def reference_infos(bundle: IndexBundle, documents_dir: Path) -> list[DocumentInfo]:
    """The documents list as it was made before the columns: every finding of every document read."""
    owned_root = Path(documents_dir).expanduser().resolve()
    out, start = [], 0
    for source in bundle.manifest.sources:
        block = bundle.findings[start : start + source.findings]
        start += source.findings
        meta = source.meta or DocumentMeta()
        out.append(
            DocumentInfo(
                path=source.path,
                name=source.name,
                kind=Path(source.name).suffix.lower().lstrip(".") or "txt",
                pages=max((f.page_end or f.page or 0 for f in block), default=0) or None,
                findings=source.findings,
                municipality=meta.municipality or _municipalities(block),
                year=meta.year if meta.year is not None else _year(block),
                title=meta.title or (block[0].title if block else "") or source.name,
                tags=meta.tags,
                warnings=source.warnings,
                added=source.added,
                owned=Path(source.path).is_relative_to(owned_root),
            )
        )
    return out


def _municipalities(findings: Sequence[Finding]) -> str:
    counts = Counter(f.municipality for f in findings if f.municipality)
    names = [name for name, _ in counts.most_common()]
    return "、".join(names[:3]) + ("…" if len(names) > 3 else "")


def _year(findings: Sequence[Finding]) -> int | None:
    text = next((f.extra["year"] for f in findings if f.extra.get("year", "").isdigit()), "")
    return int(text) if text else None


def check(bundle: IndexBundle, documents_dir: Path, monkeypatch: pytest.MonkeyPatch) -> list[DocumentInfo]:
    """The documents of ``bundle``: equal to the reference, with at most two findings parsed per document."""
    expected = reference_infos(bundle, documents_dir)
    parsed: list[int] = []
    original = type(bundle.findings)._at

    def counting(self: FindingTable, index: int) -> Finding:
        parsed.append(index)
        return original(self, index)

    with monkeypatch.context() as patch:
        patch.setattr(type(bundle.findings), "_at", counting)
        got = document_infos(bundle, documents_dir)
    assert got == expected
    assert len(parsed) <= 2 * len(bundle.manifest.sources)
    in_memory = replace(bundle, findings=tuple(bundle.findings))  # columns made from the findings held in memory
    assert isinstance(in_memory.findings, FindingTable)
    assert document_infos(in_memory, documents_dir) == expected
    return got


def test_ties_empty_values_and_years_as_the_findings_say() -> None:
    """Ties in count keep the order the rows name them in; empty names and non-digit years are skipped."""
    names = ["前橋市", "", "加賀市", "加賀市", "前橋市", "高松市", "", "つくば市", "高松市", "会津若松市"]
    years = ["", "令和5", "２０２１", "2023", "", "2020", "", "", "", "2019"]
    findings = [
        Finding(f"d:L{i}", "本文", "d.txt", name, "", "", "", "practice", i, i, "d", extra={"year": y} if y else {})
        for i, (name, y) in enumerate(zip(names, years, strict=True), start=1)
    ]
    columns = Columns.of(findings)
    municipality, year = columns.codes[FIELDS.index("municipality")], columns.codes[FIELDS.index("year")]
    digit = [v.isdigit() for v in columns.values["year"]]
    for start, stop in ((0, 10), (0, 5), (1, 2), (3, 9), (6, 7), (4, 4)):
        rows = findings[start:stop]
        got = column_municipalities(municipality[start:stop], columns.values["municipality"])
        assert got == _municipalities(rows)
        assert column_year(year[start:stop], np.array(digit), columns.values["year"]) == _year(rows)
    assert _municipalities(findings[:5]) == "前橋市、加賀市"  # a tie: the one named first leads
    assert _year(findings[:3]) == 2021  # full-width digits count, as int() reads them


@pytest.fixture(scope="module")
def embedder(default_model: Path) -> Embedder:
    return load_embedder("e5-small-int8")


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return replace(DEFAULTS, ocr=False, documents_dir=tmp_path / "documents")


def test_seed_index(seed_index: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index = Index.open(seed_index)
    documents = check(index.bundle, DEFAULTS.documents_dir, monkeypatch)
    assert documents == index.documents()
    assert len(documents) == 1 and documents[0].municipality.endswith("…")  # more than three municipalities


def test_real_documents_with_parts_and_metadata(
    tmp_path: Path, settings: Settings, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "例規"
    folder.mkdir()
    for name in ("katsuragi_chushajo_jorei.txt", "katsuragi_kaihan_seibi_jorei.txt", "katsuragi_hyosho_kitei.html"):
        shutil.copy(FIXTURES / "ordinance" / name, folder / name)
    shutil.copy(FIXTURES / "pdf" / "jsvine-issue-463-example.pdf", folder / "jsvine-issue-463-example.pdf")
    plan = tmp_path / "防災計画.pdf"
    pages = [["第1章 避難所の運営", "", *wrap(SHELTER)], [*wrap(ALERT)], ["第2章 訓練", "", *wrap(DRILL * 3)]]
    plan.write_bytes(make_pdf(pages, title="令和5年度 地域防災計画の概要"))
    upload = settings.documents_dir / "計画の写し.pdf"
    upload.parent.mkdir()
    shutil.copy(plan, upload)

    built = Index.build([folder], tmp_path / "index", embedder=embedder, settings=settings)
    check(built.bundle, settings.documents_dir, monkeypatch)
    added = built.add([plan, upload])  # written as a part of the index
    assert added.manifest.parts
    documents = {d.name: d for d in check(added.bundle, settings.documents_dir, monkeypatch)}
    assert (documents["防災計画.pdf"].pages, documents["防災計画.pdf"].year) == (3, 2023)
    assert documents["計画の写し.pdf"].owned and documents["katsuragi_chushajo_jorei.txt"].municipality
    reopened = Index.open(tmp_path / "index", embedder=embedder, settings=settings)
    assert check(reopened.bundle, settings.documents_dir, monkeypatch) == list(documents.values())

    meta = DocumentMeta(municipality="金沢市", year=2022, title="防災の計画", tags=("防災",))
    changed = reopened.set_metadata(plan, meta)
    documents = {d.name: d for d in check(changed.bundle, settings.documents_dir, monkeypatch)}
    assert (documents["防災計画.pdf"].municipality, documents["防災計画.pdf"].year) == ("金沢市", 2022)
    cleared = Index.open(tmp_path / "index", embedder=embedder, settings=settings).set_metadata(
        plan, DocumentMeta(municipality="金沢市")
    )
    check(cleared.bundle, settings.documents_dir, monkeypatch)
    check(Index.open(tmp_path / "index", settings=settings).bundle, settings.documents_dir, monkeypatch)

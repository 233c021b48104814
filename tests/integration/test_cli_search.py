"""The search side of the CLI on the real seed index and model: filter values checked with suggestions, a mistyped
index path, blank query lines kept, total/answerable and paging, and exports in several formats from one search."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from kensaku.cli import main

FELLOW = "フェローの契約形態は"
COST = "住民に費用を負担してもらう仕組み"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["search", FELLOW, "--municipality", "加賀"], ["municipality 「加賀」", "did you mean 「加賀市」?"]),
        (["search", FELLOW, "--chapter", "推進"], ["chapter 「推進」", "did you mean 「推進体制」?", "4 chapters"]),
        (["similar", "--text", FELLOW, "--section", "庁内"], ["section 「庁内」", "「庁内体制」"]),
        (["export", "--query", FELLOW, "--document", "smartcity"], ["「smartcity_model_project_cases.txt」"]),
        (["search", FELLOW, "--year", "1999"], ["year 「1999」"]),
    ],
)
def test_unknown_filter_values_are_refused_with_the_known_ones(
    seed_index: Path, capsys: pytest.CaptureFixture[str], argv: list[str], expected: list[str]
) -> None:
    code, out, err = run(capsys, *argv, "--index", str(seed_index))
    assert code == 2 and out == "" and "Traceback" not in err
    assert err.startswith("kensaku: error: no finding in this index has ") and len(err.strip().splitlines()) == 1
    for part in expected:
        assert part in err


def test_municipality_suggestions_list_the_known_values_with_their_count(
    seed_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "search", FELLOW, "--municipality", "加賀", "--index", str(seed_index))
    assert code == 2
    suggested, listed = err.split("? this index has ", 1)
    assert suggested.endswith("did you mean 「加賀市」")
    count, values = listed.split(" municipalities: ", 1)
    assert int(count) >= 10 and values.startswith("「加賀市」「会津若松市」")


def test_a_mistyped_index_path_suggests_the_index_beside_it(
    seed_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    typo = seed_index.parent / "indx"
    code, out, err = run(capsys, "search", FELLOW, "--index", str(typo))
    assert code == 2 and out == ""
    assert err.startswith(f"kensaku: error: no index at {typo} (did you mean {seed_index}")
    assert "kensaku build" not in err
    assert not typo.exists()  # nothing was built there


def test_blank_lines_of_a_queries_file_give_empty_result_sets(
    seed_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "q.txt"
    path.write_text(f"{COST}\n\n{FELLOW}\n", encoding="utf-8")
    argv = ["search", "--queries", str(path), "--index", str(seed_index), "-k", "3"]
    code, out, _ = run(capsys, *argv, "--format", "jsonl")
    assert code == 0
    blocks = [json.loads(line) for line in out.splitlines()]
    assert [b["query"] for b in blocks] == [COST, "", FELLOW]
    empty = {"query": "", "total": 0, "answerable": False, "offset": 0, "total_exact": True, "cutoff": None}
    assert blocks[1] == {**empty, "results": []}
    assert len(blocks[0]["results"]) == len(blocks[2]["results"]) == 3
    code, out, _ = run(capsys, *argv, "--format", "json")
    assert [b["query"] for b in json.loads(out)] == [COST, "", FELLOW]
    code, out, _ = run(capsys, *argv)
    assert code == 0
    heads = [line for line in out.splitlines() if line.startswith("# ")]
    assert heads == [f"# {COST}", "# (line 2 is empty)", f"# {FELLOW}"]


def test_json_gives_total_and_answerable(seed_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "search", FELLOW, "--index", str(seed_index), "--format", "json", "-k", "5")
    assert code == 0
    data = json.loads(out)
    assert list(data) == ["query", "total", "answerable", "offset", "total_exact", "cutoff", "results"]
    assert data["answerable"] is True and data["offset"] == 0
    assert isinstance(data["total"], int) and data["total"] >= 1
    assert [r["rank"] for r in data["results"]] == [1, 2, 3, 4, 5]
    narrowed = ["--municipality", "加賀市", "--format", "json"]
    code, out, _ = run(capsys, "search", FELLOW, "--index", str(seed_index), *narrowed)
    few = json.loads(out)
    assert isinstance(few["total"], int) and {r["municipality"] for r in few["results"]} == {"加賀市"}


def test_a_filter_never_raises_the_total(seed_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "search", FELLOW, "--index", str(seed_index), "--format", "json")
    everything = json.loads(out)["total"]
    narrowed = ["--municipality", "加賀市", "--format", "json"]
    _, out, _ = run(capsys, "search", FELLOW, "--index", str(seed_index), *narrowed)
    assert 1 <= json.loads(out)["total"] <= everything  # relevance is taken over the whole index, not the filtered part


def test_an_off_topic_question_is_said_to_have_no_good_answer(
    seed_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "search", "美味しいラーメン屋", "--index", str(seed_index), "-k", "3")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "# 美味しいラーメン屋"
    assert lines[1].endswith("matching findings; showing 1–3") and not lines[1].startswith("3 ")
    assert lines[2] == "no finding answers this question well (results below are weak)"
    code, out, _ = run(capsys, "search", "美味しいラーメン屋", "--index", str(seed_index), "--format", "json")
    data = json.loads(out)
    assert data["answerable"] is False and data["total"] < len(data["results"])
    code, out, _ = run(capsys, "search", FELLOW, "--index", str(seed_index), "-k", "3")
    assert "no finding answers" not in out and out.splitlines()[1].endswith("showing 1–3")


def test_offset_pages_through_the_same_ranking(seed_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["search", COST, "--index", str(seed_index), "--format", "json"]
    _, out, _ = run(capsys, *base, "-k", "10")
    first = json.loads(out)
    _, out, _ = run(capsys, *base, "-k", "5", "--offset", "5")
    page = json.loads(out)
    assert page["offset"] == 5 and page["total"] == first["total"]
    assert [r["rank"] for r in page["results"]] == [6, 7, 8, 9, 10]
    assert [r["id"] for r in page["results"]] == [r["id"] for r in first["results"][5:]]
    code, out, _ = run(capsys, "search", COST, "--index", str(seed_index), "-k", "5", "--offset", "5")
    assert code == 0
    assert out.splitlines()[1] == f"{first['total']} matching findings; showing 6–10"
    assert out.splitlines()[2].startswith(" 6. [")
    code, _, err = run(capsys, "search", COST, "--index", str(seed_index), "--offset", "-1")
    assert code == 2 and "--offset -1 is negative" in err


def counting_model_loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every model load of the API (the real loader still does the work)."""
    import kensaku.api

    loads: list[str] = []
    real: Callable[..., Any] = kensaku.api.load_embedder

    def spy(name: str, **kwargs: Any) -> Any:
        loads.append(name)
        return real(name, **kwargs)

    monkeypatch.setattr(kensaku.api, "load_embedder", spy)
    return loads


def read_xlsx(path: Path) -> list[dict[str, Any]]:
    sheet = openpyxl.load_workbook(path)["抜粋"]
    header = [c.value for c in sheet[1]]
    return [dict(zip(header, (c.value for c in row), strict=True)) for row in sheet.iter_rows(min_row=2)]


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.read_text(encoding="utf-8-sig").splitlines()))


def test_export_writes_every_format_from_one_search(
    seed_index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    loads = counting_model_loads(monkeypatch)
    base = tmp_path / "out" / "report.md"  # a base name: its .md is replaced by each format's suffix
    code, out, _ = run(capsys, "export", "--query", FELLOW, "--format", "md,csv,xlsx", "-o", str(base),
                       "--index", str(seed_index), "-k", "5")  # fmt: skip
    assert code == 0 and len(loads) == 1
    written = [base.with_suffix(f".{fmt}") for fmt in ("md", "csv", "xlsx")]
    assert out.splitlines() == [f"wrote 5 excerpt(s) to {path}" for path in written]
    rows, cells = read_csv(written[1]), read_xlsx(written[2])
    assert [r["ID"] for r in rows] == [c["ID"] for c in cells] and len(rows) == 5
    assert {r["質問"] for r in rows} == {c["質問"] for c in cells} == {FELLOW}
    assert all(isinstance(c["スコア"], int | float) for c in cells)  # 1.0 is read back as 1
    assert f"- 検索語: {FELLOW}" in written[0].read_text(encoding="utf-8")
    folder = tmp_path / "folder"
    folder.mkdir()
    code, out, _ = run(capsys, "export", "--query", FELLOW, "--format", "json,docx", "-o", str(folder),
                       "--index", str(seed_index), "-k", "2")  # fmt: skip
    assert code == 0 and sorted(p.suffix for p in folder.iterdir()) == [".docx", ".json"]
    assert all(p.name.startswith("kensaku_excerpts_") for p in folder.iterdir())


def test_export_defaults_to_the_current_folder(
    seed_index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, _ = run(capsys, "export", "--query", FELLOW, "--format", "csv,md", "--index", str(seed_index), "-k", "1")
    assert code == 0
    assert sorted(p.suffix for p in tmp_path.glob("kensaku_excerpts_*")) == [".csv", ".md"]
    code, _, err = run(capsys, "export", "--query", FELLOW, "--format", "csv,pdf", "--index", str(seed_index))
    assert code == 2 and "unknown export format 'pdf'" in err


def test_export_of_a_queries_file_gives_each_excerpt_its_question(
    seed_index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    loads = counting_model_loads(monkeypatch)
    questions = tmp_path / "questions.txt"
    questions.write_text(f"{FELLOW}\n\n{COST}\n", encoding="utf-8")
    target = tmp_path / "basket"
    code, out, _ = run(capsys, "export", "--queries", str(questions), "--format", "csv,xlsx,md,json",
                       "-o", str(target), "--index", str(seed_index), "-k", "3")  # fmt: skip
    assert code == 0 and len(loads) == 1 and "wrote 6 excerpt(s)" in out
    rows = read_csv(tmp_path / "basket.csv")
    assert [r["質問"] for r in rows] == [FELLOW] * 3 + [COST] * 3
    assert [r["順位"] for r in rows] == ["1", "2", "3"] * 2
    assert [c["質問"] for c in read_xlsx(tmp_path / "basket.xlsx")] == [r["質問"] for r in rows]
    info = {r[0].value: r[1].value for r in openpyxl.load_workbook(tmp_path / "basket.xlsx")["検索条件"].iter_rows()}
    assert info["検索語"] == "2 件の質問" and info["質問 1"] == FELLOW and info["質問 2"] == COST
    markdown = (tmp_path / "basket.md").read_text(encoding="utf-8")
    assert f"- 質問 1: {FELLOW}" in markdown and f"- 質問 2: {COST}" in markdown
    assert markdown.count(f"- 質問: {COST}") == 3
    data = json.loads((tmp_path / "basket.json").read_text(encoding="utf-8"))
    assert data["queries"] == [FELLOW, COST] and [r["query"] for r in data["results"]] == [r["質問"] for r in rows]

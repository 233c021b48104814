"""The CLI contract, end to end on the real seed corpus with the real bundled model."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from kensaku.cli import main
from tests.support import ROOT, score_tolerance

FELLOW_CONTRACT = (
    "smartcity_model_project_cases:L200"  # 「加賀市地方創生デジタル化・スマートシティフェロー」制度…要綱で定め
)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_search_json_contract(seed_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "search", "フェローの契約形態は", "--index", str(seed_index), "--format", "json", "-k", "5"
    )
    assert code == 0
    data = json.loads(out)
    assert data["query"] == "フェローの契約形態は"
    results = data["results"]
    assert [r["rank"] for r in results] == [1, 2, 3, 4, 5]
    assert FELLOW_CONTRACT in [r["id"] for r in results]
    for r in results:
        assert {"rank", "score", "id", "text", "citation", "municipality", "chapter", "line_start"} <= set(r)
        assert isinstance(r["score"], float)
    top = next(r for r in results if r["id"] == FELLOW_CONTRACT)
    assert top["municipality"] == "加賀市" and top["section"] == "人材育成・人材活用"
    assert top["citation"].endswith("L200")


def test_search_queries_file_jsonl_in_input_order(
    seed_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    queries = ["住民に費用を負担してもらう仕組み", "", "フェローの契約形態は"]
    path = tmp_path / "q.txt"
    path.write_text("\n".join(queries) + "\n", encoding="utf-8")
    code, out, _ = run(capsys, "search", "--queries", str(path), "--index", str(seed_index), "--format", "jsonl")
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert [obj["query"] for obj in lines] == queries  # the blank line is kept as an empty result set
    assert [len(obj["results"]) for obj in lines] == [10, 0, 10]


def test_search_filters(seed_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "search",
        "連携",
        "--index",
        str(seed_index),
        "--format",
        "json",
        "-k",
        "20",
        "--municipality",
        "つくば市",
        "--kind",
        "lesson",
    )
    assert code == 0
    results = json.loads(out)["results"]
    assert results and {r["municipality"] for r in results} == {"つくば市"}
    assert {r["kind"] for r in results} == {"lesson"}


def test_search_text_output(seed_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "search", "フェローの契約形態は", "--index", str(seed_index), "-k", "3")
    assert code == 0
    assert out.startswith("# フェローの契約形態は")
    assert "id: smartcity_model_project_cases:L" in out and "｜L" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["search", ""], "the query is empty"),
        (["search", "   "], "the query is empty"),
        (["search", "あ" * 2001], "over the limit of 2,000"),
        (["search", "-k", "0", "契約"], "out of range"),
        (["search"], "give a query or --queries FILE"),
        (["search", "--queries", "/nonexistent/q.txt"], "not found"),
        (["similar"], "give a finding id or --text"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    seed_index: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, *argv, "--index", str(seed_index))
    assert code == 2 and out == ""
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_missing_index_and_missing_corpus(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no default index (./.kensaku/index) to suggest instead
    monkeypatch.delenv("KENSAKU_INDEX", raising=False)
    code, _, err = run(capsys, "search", "契約", "--index", str(tmp_path / "none"))
    assert code == 2 and "no index at" in err and "kensaku build" in err
    code, _, err = run(capsys, "build", str(tmp_path / "no-such-dir"), "--index", str(tmp_path / "ix"))
    assert code == 2 and "no-such-dir" in err


def test_similar_other_municipalities(seed_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "similar",
        FELLOW_CONTRACT,
        "--other-municipalities",
        "--index",
        str(seed_index),
        "--format",
        "json",
        "-k",
        "5",
    )
    assert code == 0
    results = json.loads(out)["results"]
    assert len(results) == 5
    assert all(r["municipality"] != "加賀市" for r in results)
    code, _, err = run(capsys, "similar", "nope:L1", "--index", str(seed_index))
    assert code == 2 and "no finding with id 'nope:L1'" in err


def test_info_reports_index_and_versions(seed_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "info", "--index", str(seed_index), "--format", "json")
    assert code == 0
    info = json.loads(out)
    assert info["model"]["name"] == "e5-small-int8" and info["model"]["dim"] == 384
    assert info["dictionary"]["version"] == "1.0.8"
    assert info["counts"]["documents"] == 1 and info["stale"] == []
    assert info["versions"]["faiss-cpu"] == "1.15.1"


def test_build_if_needed_skips_fresh_index(seed_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "build", str(ROOT / "corpus"), "--index", str(seed_index), "--if-needed", "--format", "json"
    )
    assert code == 0
    assert json.loads(out)["built"] is False


def test_eval_on_seed_test_gives_the_expected_scores(seed_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    benchmark = str(ROOT / "corpus" / "eval")
    argv = ["eval", "--benchmark", benchmark, "--index", str(seed_index), "--format", "json", "--no-progress"]
    code, out, _ = run(capsys, *argv)
    assert code == 0
    metrics = json.loads(out)["metrics"]
    assert set(metrics) == {"bm25", "dense", "hybrid"}
    assert set(metrics["hybrid"]) >= {"nDCG@10", "Recall@10", "Recall@100", "MRR@10", "success@1", "success@5"}
    expected = tomllib.loads((ROOT / "tests" / "expected_scores.toml").read_text(encoding="utf-8"))
    for leg in ("bm25", "dense", "hybrid"):
        allowed = score_tolerance(leg, expected["seed"]["queries"])  # the int8 legs differ slightly between CPUs
        for metric, value in expected["seed"][leg].items():
            assert metrics[leg][metric] == pytest.approx(value, abs=allowed), (leg, metric)


def test_eval_on_beir_benchmark_with_its_own_corpus(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = tmp_path / "minibench"
    (bench / "qrels").mkdir(parents=True)
    passages = {
        "p0": ("梅雨", "梅雨は、北海道と小笠原諸島を除く日本で5月から7月にかけて見られる雨の多い期間である。"),
        "p1": ("富士山", "富士山は静岡県と山梨県にまたがる活火山で、標高は3776メートルである。"),
        "p2": ("将棋", "将棋は二人で行うボードゲームで、相手の玉将を詰ませた方が勝ちとなる。"),
    }
    corpus = [json.dumps({"_id": k, "title": t, "text": x}, ensure_ascii=False) for k, (t, x) in passages.items()]
    (bench / "corpus.jsonl").write_text("\n".join(corpus) + "\n", encoding="utf-8")
    queries = {"q0": "梅雨がないのはどこか", "q1": "富士山の高さは", "q2": "将棋は何人で遊ぶか"}
    lines = [json.dumps({"_id": k, "text": v}, ensure_ascii=False) for k, v in queries.items()]
    (bench / "queries.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (bench / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\nq0\tp0\t1\nq1\tp1\t1\nq2\tp2\t1\n", encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)  # the benchmark's own index is cached under ./.kensaku/bench/
    code, out, _ = run(capsys, "eval", "--benchmark", str(bench), "--format", "json", "--no-progress")
    assert code == 0
    metrics = json.loads(out)["metrics"]
    assert metrics["hybrid"]["success@1"] == 1.0 and metrics["bm25"]["MRR@10"] == 1.0
    manifest = json.loads((tmp_path / ".kensaku" / "bench" / "minibench" / "manifest.json").read_text("utf-8"))
    assert manifest["counts"]["findings"] == 3
    findings = (tmp_path / ".kensaku" / "bench" / "minibench" / "findings.jsonl").read_text("utf-8")
    assert [json.loads(line)["id"] for line in findings.splitlines()] == ["p0", "p1", "p2"]
    code, out, _ = run(capsys, "eval", "--benchmark", str(bench), "--format", "text", "--no-progress")
    assert code == 0 and "nDCG@10" in out and "hybrid" in out  # second run reuses the cached index


def test_export_csv_and_docx_keep_citations(seed_index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    import csv

    target = tmp_path / "out" / "excerpts.csv"
    code, out, _ = run(capsys, "export", "--query", "フェローの契約形態は", "--format", "csv", "-o", str(target),
                       "--index", str(seed_index), "-k", "5", "--municipality", "加賀市")  # fmt: skip
    assert code == 0 and "wrote 5 excerpt(s)" in out
    data = target.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(data.decode("utf-8-sig").splitlines()))
    assert len(rows) == 5 and {r["自治体"] for r in rows} == {"加賀市"}
    assert any(r["ID"] == FELLOW_CONTRACT and r["引用"].endswith("L200") for r in rows)
    monkeypatch.chdir(tmp_path)  # default file name: ASCII with a timestamp, in the current folder
    code, out, _ = run(capsys, "export", "--query", "住民の費用負担", "--format", "docx", "--index", str(seed_index))
    written = next(tmp_path.glob("kensaku_excerpts_*.docx"))
    assert code == 0 and written.name.isascii() and written.stat().st_size > 0
    code, _, err = run(capsys, "export", "--query", " ", "--index", str(seed_index))
    assert code == 2 and "empty" in err

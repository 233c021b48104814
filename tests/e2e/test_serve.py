"""``kensaku serve`` as a real uvicorn process on a free local port, over the seed index: the answers equal the
command line's (search JSON, similar, export bytes), the guards (token, body size, query length, rate limit) answer
with JSON errors, and 16 concurrent clients get what sequential searches get."""

from __future__ import annotations

import http.client
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from kensaku.cli import main
from tests.e2e.browser_support import _die_with_parent, free_port
from tests.support import ROOT

QUERIES = ["フェローの契約形態は", "人材育成", "データ連携基盤の運用費用", "住民の合意形成", "オープンデータ"]
TOKEN = "s3cret-token-for-tests"


@contextmanager
def serve(index: Path, *extra: str, env: dict[str, str] | None = None, timeout: float = 90) -> Iterator[str]:
    """``kensaku serve`` on a free port; yields its URL once /health answers, stops it afterwards."""
    port = free_port()
    cmd = [sys.executable, "-m", "kensaku.cli", "serve", "--index", str(index), "--port", str(port), *extra]
    environ = {k: v for k, v in os.environ.items() if k != "KENSAKU_TOKEN"} | (env or {})
    proc = subprocess.Popen(cmd, env=environ, cwd=ROOT, stderr=subprocess.PIPE, preexec_fn=_die_with_parent)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(url + "/health", timeout=5):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    err = proc.stderr.read().decode() if proc.stderr else ""
                    pytest.fail(f"kensaku serve did not start (exit {proc.poll()}): {err}")
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def call(url: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """One request: the status and the body (errors included)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url + path, data=data, headers=headers or {}, method="POST" if data else "GET")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def get_json(url: str, path: str, **params: Any) -> Any:
    status, body = call(url, f"{path}?{urllib.parse.urlencode(params, doseq=True)}")
    assert status == 200, body
    return json.loads(body)


def cli(capsys: pytest.CaptureFixture[str], argv: Sequence[str]) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def server(seed_index: Path) -> Iterator[str]:
    with serve(seed_index, "--rate-limit", "0") as url:
        yield url


def test_health_names_the_index(server: str, seed_index: Path) -> None:
    from kensaku import Index

    index = Index.open(seed_index)
    health = get_json(server, "/health")
    assert health["fingerprint"] == index.fingerprint
    assert health["findings"] == len(index) and health["model"] == index.manifest.model.name


def test_search_equals_the_cli_json(server: str, seed_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--index", str(seed_index), "-k", "5", "--format", "json", "--municipality", "加賀市"]
    code, out, _ = cli(capsys, ["search", QUERIES[0], *args])
    assert code == 0
    expected = json.loads(out)
    assert get_json(server, "/search", q=QUERIES[0], k=5, municipality="加賀市") == expected
    status, body = call(server, "/search", {"query": QUERIES[0], "k": 5, "filters": {"municipality": ["加賀市"]}})
    assert status == 200 and json.loads(body) == expected
    assert expected["results"] and all(r["citation"] and r["municipality"] == "加賀市" for r in expected["results"])
    # --server: the CLI sends it to the server and prints the same JSON, and the same text
    assert cli(capsys, ["search", QUERIES[0], *args, "--server", server])[1] == out
    text = [a for a in args if a != "json" and a != "--format"]
    assert (
        cli(capsys, ["search", QUERIES[0], *text, "--server", server])[1]
        == cli(capsys, ["search", QUERIES[0], *text])[1]
    )


def test_similar_equals_the_cli(server: str, seed_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = get_json(server, "/search", q=QUERIES[0], k=1)["results"][0]["id"]
    argv = ["similar", first, "--index", str(seed_index), "-k", "4", "--other-municipalities", "--format", "json"]
    code, out, _ = cli(capsys, argv)
    assert code == 0
    answer = get_json(server, "/similar", id=first, k=4, other_municipalities="true")
    assert answer == json.loads(out) and len(answer["results"]) == 4
    assert cli(capsys, [*argv, "--server", server])[1] == out
    code, _, err = cli(capsys, [*argv, "--server", server, "--w-dense", "0.7", "--depth", "50"])
    assert code == 2 and "--w-dense, --depth cannot be sent to a server" in err  # never silently dropped


def test_finding_with_neighbours_and_404(server: str) -> None:
    first = get_json(server, "/search", q=QUERIES[1], k=1)["results"][0]
    answer = get_json(server, f"/findings/{urllib.parse.quote(first['id'])}")
    assert answer["finding"]["id"] == first["id"] and answer["finding"]["citation"] == first["citation"]
    for side in ("previous", "next"):
        assert answer[side] is None or answer[side]["document"] == first["document"]
    status, body = call(server, "/findings/no-such-id")
    assert status == 404
    assert json.loads(body)["error"]["reason"] == "no finding with id 'no-such-id' in this index"


STAMP = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\+09:00|Z)")  # as written, and in XLSX/DOCX properties
FORMATS = ["md", "csv", "xlsx", "json", "docx"]


def members(data: bytes) -> list[tuple[str, bytes]]:
    """The entries of an XLSX or DOCX, in order, each with its time stamps normalised."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [(name, STAMP.sub(b"T", archive.read(name))) for name in archive.namelist()]


def assert_same_export(fmt: str, theirs: bytes, mine: bytes) -> None:
    """Equal but the time the files were made: XLSX and DOCX compared entry by entry (names and bytes)."""
    assert len(mine) > 200
    if fmt in ("xlsx", "docx"):
        assert members(theirs) == members(mine) and len(members(mine)) > 5
        with zipfile.ZipFile(io.BytesIO(mine)) as archive:  # the stamps are there (and normalised above)
            assert any(STAMP.search(archive.read(name)) for name in archive.namelist())
    else:
        assert STAMP.sub(b"T", theirs) == STAMP.sub(b"T", mine)
        assert fmt == "csv" or STAMP.search(mine)  # (the CSV holds rows only)


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_bytes_equal_the_cli(
    server: str, seed_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    target = tmp_path / f"out.{fmt}"
    argv = ["export", "--query", QUERIES[0], "--format", fmt, "-k", "6", "--kind", "lesson", "-o", str(target)]
    assert cli(capsys, [*argv, "--index", str(seed_index)])[0] == 0
    status, body = call(
        server, f"/export?{urllib.parse.urlencode({'q': QUERIES[0], 'format': fmt, 'k': 6, 'kind': 'lesson'})}"
    )
    assert status == 200
    assert_same_export(fmt, body, target.read_bytes())


def test_export_via_server_equals_a_local_export(
    server: str, seed_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    questions = tmp_path / "questions.txt"
    questions.write_text(f"{QUERIES[0]}\n\n{QUERIES[1]}\n", encoding="utf-8")  # a blank line: skipped by both
    argv = ["export", "--queries", str(questions), "--format", ",".join(FORMATS), "-k", "4", "--kind", "practice"]
    code, out, _ = cli(capsys, [*argv, "--index", str(seed_index), "-o", str(tmp_path / "local")])
    assert code == 0 and out.count("wrote 8 excerpt(s)") == 5
    code, out, _ = cli(capsys, [*argv, "--server", server, "-o", str(tmp_path / "remote")])
    assert code == 0 and out.count("wrote 8 excerpt(s)") == 5
    for fmt in FORMATS:
        assert_same_export(fmt, (tmp_path / f"remote.{fmt}").read_bytes(), (tmp_path / f"local.{fmt}").read_bytes())
    data = json.loads((tmp_path / "remote.json").read_bytes())
    assert data["queries"] == QUERIES[:2] and data["index"]["fingerprint"] == get_json(server, "/health")["fingerprint"]
    assert {r["kind"] for r in data["results"]} == {"practice"}


def test_export_via_server_refuses_ranking_flags(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "out.md"
    argv = ["export", "--query", QUERIES[0], "--server", server, "-o", str(target)]
    code, _, err = cli(capsys, [*argv, "--reranker", "none", "--w-dense", "0.7"])
    assert code == 2 and "--w-dense, --reranker cannot be sent to a server" in err and not target.exists()
    code, _, err = cli(capsys, [*argv, "--municipality", "加賀"])  # the server checks the filters as here
    assert code == 2 and "加賀" in err and not target.exists()


@pytest.mark.parametrize("fmt", ["text", "json", "jsonl"])
def test_search_queries_via_server_equal_the_cli(
    server: str, seed_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    queries = tmp_path / "queries.txt"
    queries.write_text(f"{QUERIES[0]}\n\n{QUERIES[2]}\n{QUERIES[3]}\n", encoding="utf-8")
    argv = ["search", "--queries", str(queries), "-k", "3", "--offset", "1", "--format", fmt]
    code, local, _ = cli(capsys, [*argv, "--index", str(seed_index)])
    assert code == 0 and local.count(QUERIES[3]) >= 1
    code, remote, _ = cli(capsys, [*argv, "--server", server])
    assert code == 0 and remote == local  # byte for byte, the empty block of the blank line included
    assert ("# (line 2 is empty)" in local) if fmt == "text" else ('"query": ""' in local)


def test_search_queries_via_server_are_checked_here(
    server: str, seed_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    queries = tmp_path / "queries.txt"
    queries.write_text(f"{QUERIES[0]}\n{'あ' * 2001}\n", encoding="utf-8")
    local = cli(capsys, ["search", "--queries", str(queries), "--index", str(seed_index)])
    remote = cli(capsys, ["search", "--queries", str(queries), "--server", server])
    assert local[0] == remote[0] == 2 and local[2] == remote[2] and "line 2 of the queries file" in local[2]


def test_errors_are_json_with_the_cli_message(
    server: str, seed_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    long = "あ" * 2001
    code, _, err = cli(capsys, ["search", long, "--index", str(seed_index)])
    assert code == 2
    status, body = call(server, "/search", {"query": long})
    error = json.loads(body)["error"]
    assert status == 422 and error["status"] == 422
    assert err.strip() == f"kensaku: error: {error['reason']}; {error['fix']}"
    status, body = call(server, "/search?q=x&k=5000")
    assert status == 422 and "k=5000" in json.loads(body)["error"]["reason"]
    status, body = call(server, "/search", {"query": "x", "unknown": 1})
    assert status == 422 and "unknown" in json.loads(body)["error"]["reason"]


def test_oversize_bodies_get_413_before_parsing(server: str) -> None:
    status, body = call(server, "/search", {"query": "あ" * 40_000})  # 120 kB > 64 KiB
    assert status == 413 and json.loads(body)["error"]["status"] == 413
    host, port = server.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    chunks = (b"x" * 8192 for _ in range(20))  # chunked: no Content-Length
    connection.request(
        "POST", "/search", body=chunks, headers={"Content-Type": "application/json"}, encode_chunked=True
    )
    answer = connection.getresponse()
    assert answer.status == 413 and b"the limit is 65,536 bytes" in answer.read()


def test_16_concurrent_clients_get_the_sequential_results(server: str) -> None:
    def search(query: str) -> Any:
        return get_json(server, "/search", q=query, k=5)

    sequential = {q: search(q) for q in QUERIES}
    jobs = [QUERIES[(client + i) % len(QUERIES)] for client in range(16) for i in range(50)]
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(search, jobs))
    assert len(answers) == 800
    assert all(answer == sequential[query] for query, answer in zip(jobs, answers, strict=True))


def test_non_loopback_needs_a_token(seed_index: Path, tmp_path: Path) -> None:
    refused = subprocess.run(
        [sys.executable, "-m", "kensaku.cli", "serve", "--index", str(seed_index), "--host", "0.0.0.0"],
        env={k: v for k, v in os.environ.items() if k != "KENSAKU_TOKEN"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2 and "no token is set" in refused.stderr
    refused = subprocess.run(
        [sys.executable, "-m", "kensaku.cli", "serve", "--index", str(seed_index), "--writable"],
        env={k: v for k, v in os.environ.items() if k != "KENSAKU_TOKEN"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2 and "write access needs a token" in refused.stderr
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    extra = ["--host", "0.0.0.0", "--token-file", str(token_file), "--rate-limit", "1", "--burst", "6"]
    with serve(seed_index, *extra) as url:
        status, body = call(url, "/search?q=x")
        assert status == 401 and json.loads(body)["error"]["status"] == 401
        assert call(url, "/search?q=x", headers={"Authorization": "Bearer wrong"})[0] == 401
        good = {"Authorization": f"Bearer {TOKEN}"}
        assert call(url, "/search?q=%E4%BA%BA%E6%9D%90", headers=good)[0] == 200
        assert call(url, "/documents", {"paths": ["x"]}, headers=good)[0] == 403  # not started --writable
        answers = [call(url, "/health") for _ in range(8)]  # the burst of 6 spent (wrong tokens count): 429
        refused = [json.loads(body)["error"] for status, body in answers if status == 429]
        assert refused and refused[0]["status"] == 429 and "1 requests per second" in refused[0]["reason"]


def test_writable_server_adds_and_removes_documents(seed_index: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    shutil.copytree(seed_index, index_dir)
    document = tmp_path / "docs" / "除雪計画.txt"
    document.parent.mkdir()
    document.write_text(
        "■ 除雪の取組\n・量子アニーリングで除雪車の巡回経路を最適化し、出動時間を短縮した。\n", encoding="utf-8"
    )
    with serve(index_dir, "--writable", env={"KENSAKU_TOKEN": TOKEN}) as url:
        good = {"Authorization": f"Bearer {TOKEN}"}
        before = json.loads(call(url, "/health", headers=good)[1])
        assert call(url, "/documents", {"paths": [str(document)]})[0] == 401  # writes: always the token
        status, body = call(url, "/documents", {"paths": [str(document)]}, headers=good)
        assert status == 200 and json.loads(body)["documents"] == before["documents"] + 1
        status, body = call(url, "/search?" + urllib.parse.urlencode({"q": "除雪車の巡回経路", "k": 1}), headers=good)
        assert json.loads(body)["results"][0]["document"] == "除雪計画.txt"
        names = [d["name"] for d in json.loads(call(url, "/documents", headers=good)[1])]
        assert "除雪計画.txt" in names
        status, body = call(url, "/documents/remove", {"paths": [str(document)]}, headers=good)
        assert status == 200 and json.loads(body)["findings"] == before["findings"]

"""Searching through a running ``kensaku serve`` (``--server URL`` / ``$KENSAKU_SERVER``) against searching the
local index, for the CLI and for the Streamlit app, on the seed corpus.

CLI: the wall time of whole ``.venv/bin/kensaku search フェローの契約形態は --format json`` and ``kensaku export
--query … --format md`` processes, with ``--index DIR`` (each process loads the model and the index) and with
``--server URL`` (each process sends one request), ``--runs`` times each, interleaved local, server, local, …;
median and min per path. The JSON outputs of both paths must be equal (``json.loads``), and so must the export files
but for the time stamp in them.

App: for each mode (local: ``KENSAKU_INDEX=DIR``; server: ``KENSAKU_SERVER=URL`` and a ``KENSAKU_INDEX`` that does
not exist), ``--rounds`` rounds interleaved: a fresh ``streamlit run search_app.py`` process on a free port, a fresh
headless Chromium context for it (Debian's ``chromium`` through Playwright; nothing cached from earlier processes),
and the seconds from ``page.goto('/?q=…')`` until the header 「N 件中 1–M 件」 is visible (and, from the same
``goto``, until the page title is): cold (the first question of the process) and warm (a second question, same
process, new page load). Then the app process's RSS (``VmRSS``) and whether ``onnxruntime`` is in its memory map,
and the RSS of the server process (it holds the model).

The seed index is built afresh (``kensaku build corpus``) in ``.kensaku/bench/app-server-seed`` unless ``--index``
names one to reuse. Everything runs on this machine: server, app, browser and the CLI processes share its cores.
Usage: ``.venv/bin/python bench/app_server.py [--index DIR] [--runs 7] [--rounds 2]``; writes
``bench/results/app_server.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
KENSAKU = ROOT / ".venv" / "bin" / "kensaku"
DEFAULT_INDEX = ROOT / ".kensaku" / "bench" / "app-server-seed"
COLD = "フェローの契約形態は"
WARM = "大学と連携するメリット"
TITLE = "kensaku 事例検索"
HEADER = re.compile(r"^\d+ 件中 1–\d+ 件$")
STAMP = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+09:00")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(url: str, expected: bytes | None, timeout: float = 180) -> float:
    """Poll ``url`` until it answers (with ``expected`` when given); returns the seconds waited."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                if expected is None or answer.read() == expected:
                    return time.perf_counter() - started
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {timeout:.0f} s")


def rss_mb(pid: int) -> float:
    """The resident memory of process ``pid`` in MB (``VmRSS``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pid_on_port(port: int) -> int:
    """The Streamlit process started with ``--server.port port`` (as tests/e2e/test_app_server.py finds it)."""
    wanted = ["--server.port", str(port)]
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:  # a process that ended meanwhile
            continue
        if "streamlit" in " ".join(argv) and any(argv[i : i + 2] == wanted for i in range(len(argv))):
            return int(proc.name)
    raise SystemExit(f"no streamlit process on port {port}")


def build_index(index: Path | None) -> tuple[Path, float | None]:
    """The index to search: ``index`` as it is, or the seed corpus built afresh (and the seconds that took)."""
    if index is not None:
        return index, None
    shutil.rmtree(DEFAULT_INDEX, ignore_errors=True)
    started = time.perf_counter()
    cmd = [str(KENSAKU), "build", "corpus", "--index", str(DEFAULT_INDEX), "--no-progress"]
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return DEFAULT_INDEX, time.perf_counter() - started


@contextmanager
def serve(index: Path) -> Iterator[tuple[str, int]]:
    """A ``kensaku serve`` process on a free port (rate limit off); yields its URL and PID once /health answers."""
    port = free_port()
    cmd = [str(KENSAKU), "serve", "--index", str(index), "--port", str(port), "--rate-limit", "0"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(f"{url}/health", None)
        yield url, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def timed(cmd: list[str]) -> tuple[float, bytes]:
    """Run ``cmd`` to the end; its wall time in seconds and its standard output."""
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - started, done.stdout


def summary(times: list[float]) -> dict[str, float]:
    """Median and min of ``times``, in seconds."""
    return {"median_s": round(statistics.median(times), 3), "min_s": round(min(times), 3)}


def bench_cli(index: Path, url: str, runs: int, scratch: Path) -> dict[str, Any]:
    """``kensaku search`` and ``kensaku export`` with ``--index`` against ``--server``, interleaved."""
    where = {"local": ["--index", str(index)], "server": ["--server", url]}
    search = {path: [str(KENSAKU), "search", COLD, *flag, "--format", "json"] for path, flag in where.items()}
    times: dict[str, dict[str, list[float]]] = {cmd: {"local": [], "server": []} for cmd in ("search", "export")}
    outputs: dict[str, bytes] = {}
    for _ in range(runs):
        for path, flag in where.items():
            seconds, outputs[path] = timed(search[path])
            times["search"][path].append(seconds)
            target = scratch / f"{path}.md"
            seconds, _ = timed([str(KENSAKU), "export", "--query", COLD, *flag, "--format", "md", "-o", str(target)])
            times["export"][path].append(seconds)
    assert json.loads(outputs["local"]) == json.loads(outputs["server"]), "search: the JSON outputs differ"
    exported = [STAMP.sub(b"T", (scratch / f"{path}.md").read_bytes()) for path in where]
    assert exported[0] == exported[1] and len(exported[0]) > 500, "export: the files differ"
    result: dict[str, Any] = {"runs": runs, "hits": len(json.loads(outputs["local"])["results"])}
    for command, by_path in times.items():
        result[command] = {path: summary(values) for path, values in by_path.items()}
        result[command]["ratio"] = round(statistics.median(by_path["local"]) / statistics.median(by_path["server"]), 2)
    return result


def seconds_to_header(page: Page, url: str, question: str) -> tuple[float, float]:
    """Seconds from opening ``/?q=question`` until the page title is visible, and until the result header is."""
    started = time.perf_counter()
    page.goto(f"{url}/?q={quote(question)}")
    page.get_by_text(TITLE, exact=True).wait_for(state="visible", timeout=180_000)
    title = time.perf_counter() - started
    page.get_by_text(HEADER).wait_for(state="visible", timeout=180_000)
    return title, time.perf_counter() - started


def app_run(browser: Browser, env: dict[str, str], server_pid: int) -> dict[str, Any]:
    """One fresh Streamlit process: cold and warm question in a fresh browser context, then its memory."""
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "search_app.py"), "--server.headless", "true"]
    cmd += ["--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(f"{url}/_stcore/health", b"ok")
        result: dict[str, Any] = {"start_s": round(time.perf_counter() - started, 2)}
        context = browser.new_context(viewport={"width": 1400, "height": 1300})
        try:
            page = context.new_page()
            for name, question in (("cold", COLD), ("warm", WARM)):
                title, header = seconds_to_header(page, url, question)
                result[f"{name}_title_s"], result[f"{name}_s"] = round(title, 2), round(header, 2)
        finally:
            context.close()
        pid = pid_on_port(port)
        result["app_rss_mb"] = round(rss_mb(pid), 1)
        result["onnxruntime"] = "onnxruntime" in Path(f"/proc/{pid}/maps").read_text()
        result["server_rss_mb"] = round(rss_mb(server_pid), 1)
        return result
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def bench_app(index: Path, url: str, server_pid: int, rounds: int, scratch: Path) -> list[dict[str, Any]]:
    """``rounds`` rounds of (local app, app through the server), each a fresh process."""
    from playwright.sync_api import sync_playwright

    base = {k: v for k, v in os.environ.items() if k not in ("KENSAKU_SERVER", "KENSAKU_INDEX")}
    base["KENSAKU_DOCUMENTS"] = str(scratch / "documents")
    envs = {
        "local": {**base, "KENSAKU_INDEX": str(index)},
        "server": {**base, "KENSAKU_SERVER": url, "KENSAKU_INDEX": str(scratch / "no-index")},
    }
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    runs: list[dict[str, Any]] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            for number in range(1, rounds + 1):
                for mode, env in envs.items():
                    run = {"round": number, "mode": mode, **app_run(browser, env, server_pid)}
                    print(json.dumps(run), flush=True)
                    runs.append(run)
        finally:
            browser.close()
    assert not (scratch / "no-index").exists(), "the app through the server created a local index"
    return runs


def markdown(data: dict[str, Any]) -> str:
    """The results as a markdown page."""
    cli = data["cli"]
    built = f"built in {data['build_s']:.0f} s" if data["build_s"] is not None else "reused"
    lines = [
        "# Searching through `kensaku serve` (`--server` / `$KENSAKU_SERVER`) against the local index",
        "",
        f"{data['date']}. Machine: {data['cpus']} CPUs, shared with other work; load average (1, 5, 15 min) before "
        f"the run {data['loadavg_before']}, after {data['loadavg_after']}. Server, app, Chromium and the CLI "
        f"processes all on this machine. Seed index {built}. Command: `{data['command']}`. "
        f"Total {data['total_s']:.0f} s.",
        "",
        f"## CLI: wall time of the whole process, {cli['runs']} runs per path, interleaved",
        "",
        "| command | path | median s | min s |",
        "|---|---|---:|---:|",
    ]
    for command in ("search", "export"):
        for path in ("local", "server"):
            row = cli[command][path]
            lines.append(f"| {command} | {path} | {row['median_s']} | {row['min_s']} |")
    lines += [
        "",
        f"Median local / server: search {cli['search']['ratio']}×, export {cli['export']['ratio']}×. The JSON "
        f"outputs of both paths are equal ({cli['hits']} hits), and so are the export files but for the time stamp.",
        "",
        "## App: seconds from `page.goto('/?q=…')` until 「N 件中 1–M 件」 is visible",
        "",
        f"Cold: {COLD} (first question of a fresh Streamlit process); warm: {WARM} (second, same process). Start: "
        "process start until `/_stcore/health` answers. Title s: from the same `goto` until the page title "
        f"「{TITLE}」 is visible (the page drawn, before the results). RSS read after both questions.",
        "",
        "| round | mode | start s | cold s (title s) | warm s (title s) | app RSS MB | onnxruntime in app "
        "| server RSS MB |",
        "|---:|---|---:|---:|---:|---:|---|---:|",
    ]
    for run in data["app"]:
        cold, warm = (f"{run[f'{n}_s']} ({run[f'{n}_title_s']})" for n in ("cold", "warm"))
        cells = (run["round"], run["mode"], run["start_s"], cold, warm, run["app_rss_mb"])
        loaded = "yes" if run["onnxruntime"] else "no"
        lines.append("| {} | {} | {} | {} | {} | {} | ".format(*cells) + f"{loaded} | {run['server_rss_mb']} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    """Run the benchmark and write ``bench/results/app_server.md``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--index", type=Path, help="an index of the seed corpus to reuse (default: build one)")
    parser.add_argument("--runs", type=int, default=7, help="CLI runs per command and path")
    parser.add_argument("--rounds", type=int, default=2, help="app rounds (each: a local and a server process)")
    args = parser.parse_args()
    started = time.perf_counter()
    data: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": " ".join([".venv/bin/python bench/app_server.py", *sys.argv[1:]]),
        "loadavg_before": [round(x, 2) for x in os.getloadavg()],
    }
    index, data["build_s"] = build_index(args.index)
    with serve(index) as (url, server_pid), tempfile.TemporaryDirectory() as scratch:
        data["cli"] = bench_cli(index, url, args.runs, Path(scratch))
        print(json.dumps(data["cli"]), flush=True)
        data["app"] = bench_app(index, url, server_pid, args.rounds, Path(scratch))
    data["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    data["total_s"] = time.perf_counter() - started
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "app_server.md").write_text(markdown(data), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

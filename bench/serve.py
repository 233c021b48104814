"""``kensaku serve`` under load: requests per second and p50/p95 latency of ``GET /search`` at 1, 4 and 16
concurrent clients on the seed index and on JSQuAD (same run), and the server's memory after 100 and after 10,000
searches.

The server is a real ``kensaku serve`` process (one uvicorn worker, rate limit off) on a free local port; the
clients are threads of this process, each with its own keep-alive connection, on the same machine (so they share
its cores with the server). Usage:
``.venv/bin/python bench/serve.py [--requests 400] [--memory-searches 10000]``; writes
``bench/results/serve.json`` and ``bench/results/serve.md``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from common import JSQUAD, ROOT, SEED_EVAL, write_json

RESULTS = ROOT / "bench" / "results"
INDEXES = {"seed": ROOT / ".kensaku" / "bench" / "serve-seed", "jsquad": ROOT / ".kensaku" / "bench" / "jsquad"}
SOURCES = {"seed": ROOT / "corpus", "jsquad": JSQUAD / "corpus.jsonl"}


def queries(corpus: str, limit: int = 200) -> list[str]:
    path = (JSQUAD if corpus == "jsquad" else SEED_EVAL) / "queries.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["text"] for line in lines if line.strip()][:limit]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(index: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    cmd = [sys.executable, "-m", "kensaku.cli", "serve", "--index", str(index), "--port", str(port)]
    proc = subprocess.Popen([*cmd, "--rate-limit", "0"], cwd=ROOT, stderr=subprocess.DEVNULL)
    for _ in range(600):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5):
                return proc, port
        except OSError:
            time.sleep(0.2)
    raise SystemExit("kensaku serve did not start")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def load(port: int, texts: list[str], clients: int, total: int) -> dict[str, Any]:
    """``total`` searches by ``clients`` threads, each with its own keep-alive connection."""
    local = threading.local()
    latencies: list[float] = []

    def one(i: int) -> None:
        if not hasattr(local, "conn"):
            local.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        path = "/search?" + urllib.parse.urlencode({"q": texts[i % len(texts)], "k": 10})
        started = time.perf_counter()
        local.conn.request("GET", path)
        answer = local.conn.getresponse()
        body = answer.read()
        latencies.append(time.perf_counter() - started)
        assert answer.status == 200, body[:300]

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(total)))
    wall = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "clients": clients,
        "requests": total,
        "rps": round(total / wall, 1),
        "p50_ms": round(cuts[49] * 1000, 2),
        "p95_ms": round(cuts[94] * 1000, 2),
    }


def bench_corpus(corpus: str, requests: int, memory_searches: int) -> dict[str, Any]:
    from kensaku import Index

    Index.build([SOURCES[corpus]], INDEXES[corpus], if_needed=True)
    proc, port = start(INDEXES[corpus])
    texts = queries(corpus)
    try:
        load(port, texts, 4, 100)  # warm-up: the first 100 searches
        after_100 = rss_mb(proc.pid)
        result: dict[str, Any] = {"queries": len(texts), "runs": [load(port, texts, c, requests) for c in (1, 4, 16)]}
        done = 100 + 3 * requests
        memory = {"rss_mb_after_100": round(after_100, 1), f"rss_mb_after_{done}": round(rss_mb(proc.pid), 1)}
        for mark in (memory_searches // 2, memory_searches):  # halfway too: growth that levels off is a cache
            if mark > done:
                load(port, texts, 4, mark - done)
                done = mark
                memory[f"rss_mb_after_{mark}"] = round(rss_mb(proc.pid), 1)
        if memory_searches:
            result["memory"] = memory
        return result
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def markdown(data: dict[str, Any]) -> str:
    lines = [
        "# kensaku serve: /search throughput and latency",
        "",
        f"Machine: {data['machine']['cpus']} CPUs (shared), load before the run {data['loadavg_before']}, "
        f"after {data['loadavg_after']}. Clients and server on the same machine. Command: `{data['command']}`.",
        "",
        "| index | findings | clients | requests | req/s | p50 ms | p95 ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for corpus in ("seed", "jsquad"):
        for run in data[corpus]["runs"]:
            row = (corpus, data[corpus]["findings"], run["clients"], run["requests"], run["rps"])
            lines.append("| {} | {} | {} | {} | {} | ".format(*row) + f"{run['p50_ms']} | {run['p95_ms']} |")
    lines += ["", "Server memory (RSS, MB):", ""]
    for corpus in ("seed", "jsquad"):
        if "memory" in data[corpus]:
            lines.append(f"- {corpus}: " + ", ".join(f"{k} = {v}" for k, v in data[corpus]["memory"].items()))
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=400, help="searches per concurrency level")
    parser.add_argument("--memory-searches", type=int, default=10_000, help="searches before the last RSS reading")
    parser.add_argument("--memory-on", nargs="*", default=["seed"], help="corpora whose memory is measured")
    args = parser.parse_args()
    data: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": " ".join(["bench/serve.py", *sys.argv[1:]]),
        "loadavg_before": Path("/proc/loadavg").read_text().split()[:3],
    }
    for corpus in ("seed", "jsquad"):
        searches = args.memory_searches if corpus in args.memory_on else 0
        data[corpus] = bench_corpus(corpus, args.requests, searches)
        from kensaku import Index

        data[corpus]["findings"] = len(Index.open(INDEXES[corpus]))
        print(corpus, json.dumps(data[corpus]), flush=True)
    data["loadavg_after"] = Path("/proc/loadavg").read_text().split()[:3]
    write_json(RESULTS / "serve.json", data)
    (RESULTS / "serve.md").write_text(markdown(data), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A build killed with SIGKILL while embedding resumes where it stopped: the real ``kensaku`` console script builds
the seed corpus (280 findings) with small journal chunks, is killed once the embedding journal holds three chunks, and
is run again. The second run embeds only the findings the journal lacked, shows progress from where it stopped with
an ETA, deletes the journal, and its index equals an uninterrupted build bit for bit (ids, vectors, top-10
results of Japanese queries)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from kensaku.index.journal import CHUNK_ENV, journal_path
from tests.support import ROOT

SEED = ROOT / "corpus" / "smartcity_model_project_cases.txt"
FINDINGS = 280  # of the seed corpus
CHUNK = 32  # findings per journal chunk: 9 chunks, the last one partial
KILL_AFTER = 3  # chunks journaled before the kill
QUERIES = ("フェローの契約形態は", "住民説明会は何回開いたか", "事業の予算と財源", "大学との連携の成果")
KENSAKU = Path(sys.executable).parent / "kensaku"


def command(docs: Path, index: Path) -> list[str]:
    return [str(KENSAKU), "build", str(docs), "--index", str(index), "--format", "json"]


def environment(tmp_path: Path) -> dict[str, str]:
    """The build's environment: small chunks; no index, documents folder or project settings from the caller."""
    env = {k: v for k, v in os.environ.items() if k not in ("KENSAKU_INDEX", "KENSAKU_DOCUMENTS", "KENSAKU_MODEL")}
    return {**env, CHUNK_ENV: str(CHUNK), "KENSAKU_DOCUMENTS": str(tmp_path / "uploads")}


def start(docs: Path, index: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    """Start a build."""
    return subprocess.Popen(
        command(docs, index), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=docs.parent
    )


def finish(process: subprocess.Popen[str]) -> tuple[dict[str, int], str]:
    """Wait for a build to end; returns its ``reuse`` counts and its stderr (progress bars, messages)."""
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr[-2000:]
    summary = json.loads(stdout)
    assert summary["findings"] == FINDINGS
    return summary["reuse"], stderr


def kill_mid_embedding(docs: Path, index: Path, env: dict[str, str]) -> int:
    """Start a build, SIGKILL it once its journal holds :data:`KILL_AFTER` chunks; returns how many it left."""
    chunks = journal_path(index)
    process = subprocess.Popen(
        command(docs, index), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=docs.parent
    )
    try:
        deadline = time.monotonic() + 240
        while len(list(chunks.glob("chunk-*.bin"))) < KILL_AFTER:
            assert process.poll() is None, f"the build ended before it journaled {KILL_AFTER} chunks"
            assert time.monotonic() < deadline, f"not {KILL_AFTER} journal chunks after 240 s"
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        returncode = process.wait(timeout=60)
    assert returncode == -signal.SIGKILL
    return len(list(chunks.glob("chunk-*.bin")))


def siblings(index: Path) -> list[str]:
    return sorted(p.name for p in index.parent.iterdir() if p.name.startswith(f".{index.name}."))


@pytest.mark.slow
def test_killed_build_resumes_and_equals_an_uninterrupted_one(tmp_path: Path) -> None:
    docs = tmp_path / "資料 一式"
    docs.mkdir()
    (docs / SEED.name).write_bytes(SEED.read_bytes())
    env = environment(tmp_path)
    index = tmp_path / "index"
    whole = tmp_path / "whole"
    uninterrupted = start(docs, whole, env)  # the build to compare with, alongside (2 processes use 2 cores better)

    chunks = kill_mid_embedding(docs, index, env)
    assert not index.exists()  # the kill came before the new index was saved
    assert KILL_AFTER <= chunks < -(-FINDINGS // CHUNK), f"{chunks} chunks: the build was not killed mid-embedding"
    journaled = chunks * CHUNK  # every chunk but the last (never reached) is full

    started = time.monotonic()
    reuse, stderr = finish(start(docs, index, env))
    resumed_s = time.monotonic() - started
    assert (reuse["resumed"], reuse["embedded"]) == (journaled, FINDINGS - journaled)
    assert f"kensaku: resumed {journaled} vector(s) from the embedding journal" in stderr
    # Progress starts at what was resumed, ends at every finding, and shows an ETA (tqdm: [elapsed<remaining]).
    bars = [line for line in re.split(r"[\r\n]", stderr) if line.startswith("embed:")]
    assert f"| {journaled}/{FINDINGS} [" in bars[0], bars[:2]
    assert f"| {FINDINGS}/{FINDINGS} [" in bars[-1]
    assert any(re.search(r"\[\d\d:\d\d<\d\d:\d\d, ", line) for line in bars[1:-1]), bars[:5]
    assert siblings(index) == []  # journal deleted once the index was saved; no lock or temporary left

    counts, _ = finish(uninterrupted)
    assert (counts["resumed"], counts["embedded"]) == (0, FINDINGS)
    assert siblings(whole) == []
    assert_same_index(whole, index)
    print(f"resumed build: {resumed_s:.1f} s, {journaled} of {FINDINGS} vectors resumed")


def assert_same_index(expected_dir: Path, actual_dir: Path) -> None:
    """Same finding ids in the same order, byte-identical vectors, the same top 10 for each query."""
    from kensaku import Index

    expected = Index.open(expected_dir)
    actual = Index.open(actual_dir, embedder=expected.embedder)
    assert [f.id for f in actual.findings] == [f.id for f in expected.findings]
    assert len(actual.findings) == FINDINGS
    rows = np.arange(FINDINGS, dtype=np.int64)
    assert actual.bundle.dense.vectors(rows).tobytes() == expected.bundle.dense.vectors(rows).tobytes()
    for query in QUERIES:
        want = [(h.finding.id, h.score) for h in expected.search(query, 10)]
        assert [(h.finding.id, h.score) for h in actual.search(query, 10)] == want, query

"""A build on Ray killed with SIGKILL while embedding resumes where it stopped: the real ``kensaku`` console script
builds the seed corpus (280 findings) with ``--embed-with ray`` (a local Ray it starts itself, 2 actors) and small
journal chunks, is killed once the embedding journal holds three chunks, and is run again on Ray. The second run
embeds only what the journal lacked, says how many vectors it resumed, leaves no journal and no Ray process, and
its index equals an uninterrupted local build bit for bit (ids, vectors, top-10 results of Japanese queries).

The helpers are those of the local kill-and-resume test (``tests/e2e/test_resume.py``)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from kensaku.index.journal import journal_path
from tests.e2e.test_resume import (
    CHUNK,
    FINDINGS,
    KENSAKU,
    KILL_AFTER,
    SEED,
    assert_same_index,
    environment,
    finish,
    siblings,
)

pytest.importorskip("ray", reason="the ray extra is not installed: pip install 'kensaku[ray]'")

RAY_ENV = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
CORE = ("raylet", "gcs_server", "ray::EmbedWorker")  # the processes that must not outlive a killed build


def command(docs: Path, index: Path) -> list[str]:
    return [str(KENSAKU), "build", str(docs), "--index", str(index), "--format", "json", "--embed-with", "ray"]


def ray_environment(tmp_path: Path) -> dict[str, str]:
    """The local test's environment, without a Ray cluster to join (each build starts its own local Ray)."""
    env = {k: v for k, v in environment(tmp_path).items() if k != "RAY_ADDRESS"}
    return {**env, **RAY_ENV}


def ray_processes(session: int) -> list[str]:
    """The live processes of ``session`` (a build started in its own session: its Ray's helpers stay in it)."""
    listing = subprocess.run(["ps", "-eo", "sid=,pid=,args="], capture_output=True, text=True, check=True).stdout
    lines = [line for line in listing.splitlines() if line.split(None, 1)[0] == str(session)]
    return [line for line in lines if not line.endswith("<defunct>")]  # ended, not yet reaped


def kill_mid_embedding(docs: Path, index: Path, env: dict[str, str]) -> tuple[int, list[str]]:
    """Start a build on Ray in its own session, SIGKILL it once its journal holds :data:`KILL_AFTER` chunks; returns
    the chunks it left and the processes of its session that outlived it (then ends them)."""
    chunks = journal_path(index)
    process = subprocess.Popen(
        command(docs, index),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=docs.parent,
        start_new_session=True,
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
    deadline = time.monotonic() + 30  # raylet, gcs and the actors end with their parent (seconds under load)
    while [p for p in ray_processes(process.pid) if any(name in p for name in CORE)] and time.monotonic() < deadline:
        time.sleep(0.2)
    left = ray_processes(process.pid)
    for line in left:  # Ray's dashboard and runtime-env agents outlive a SIGKILL of the build
        try:
            os.kill(int(line.split()[1]), signal.SIGKILL)
        except ProcessLookupError:
            pass
    return len(list(chunks.glob("chunk-*.bin"))), left


@pytest.mark.slow
def test_killed_ray_build_resumes_and_equals_an_uninterrupted_local_one(seed_index: Path, tmp_path: Path) -> None:
    docs = tmp_path / "資料 一式"
    docs.mkdir()
    (docs / SEED.name).write_bytes(SEED.read_bytes())
    env = ray_environment(tmp_path)
    index = tmp_path / "index"

    chunks, left = kill_mid_embedding(docs, index, env)
    assert not index.exists()  # the kill came before the new index was saved
    assert KILL_AFTER <= chunks < -(-FINDINGS // CHUNK), f"{chunks} chunks: the build was not killed mid-embedding"
    journaled = chunks * CHUNK  # every chunk but the last (never reached) is full
    assert not [p for p in left if any(name in p for name in CORE)], left

    started = time.monotonic()
    resumed = subprocess.Popen(
        command(docs, index),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=docs.parent,
        start_new_session=True,
    )
    reuse, stderr = finish(resumed)
    resumed_s = time.monotonic() - started
    assert (reuse["resumed"], reuse["embedded"]) == (journaled, FINDINGS - journaled)
    assert f"kensaku: resumed {journaled} vector(s) from the embedding journal" in stderr
    bars = [line for line in re.split(r"[\r\n]", stderr) if line.startswith("embed:")]  # from the resumed count
    assert f"| {journaled}/{FINDINGS} [" in bars[0] and f"| {FINDINGS}/{FINDINGS} [" in bars[-1], bars[:2]
    assert siblings(index) == []  # journal deleted once the index was saved; no lock or temporary left
    assert ray_processes(resumed.pid) == []  # the Ray it started was shut down
    assert_same_index(seed_index, index)
    print(
        f"resumed build on Ray: {resumed_s:.1f} s, {journaled} of {FINDINGS} vectors resumed; left by the kill: {left}"
    )

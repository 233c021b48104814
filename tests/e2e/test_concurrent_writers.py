"""One writer at a time (issue 11): real ``kensaku add`` processes on one index, with the default model.

Two adds started at once both end up in the index (the second waits for the first and then adds to its result);
with ``--wait 0`` the second is refused with exit status 2 and a message naming the holder; searching goes on while
a writer holds the lock. A writer is held at a known point by stopping it (SIGSTOP) once it holds the lock.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kensaku.writelock import read_holder

EXE = Path(sys.executable).parent / "kensaku"
DOCS = {
    "base.md": "# 基本計画\n\n- 市は庁内に推進本部を設け、毎月会議を開いた。\n",
    "a.md": "# 加賀市の報告\n\n- フェローは業務委託契約で採用し、謝礼金を支払った。\n",
    "b.md": "# 会津若松市の報告\n\n- 大学と連携してデータ分析の人材を育成した。\n",
}


def kensaku(cwd: Path, *args: str) -> subprocess.Popen[str]:
    """The console script as its own process, stdout and stderr captured."""
    return subprocess.Popen(
        [str(EXE), *args, "--no-progress"], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    """Exit status and stderr of a process, once it has ended."""
    _, err = process.communicate(timeout=120)
    return process.returncode, err


def documents(index: Path) -> set[str]:
    """The document names the index at ``index`` holds, as ``kensaku info`` reports them."""
    info = subprocess.run(
        [str(EXE), "info", "--index", str(index), "--format", "json"], capture_output=True, text=True, check=True
    )
    return {Path(source["path"]).name for source in json.loads(info.stdout)["sources"]}


@pytest.fixture()
def built(tmp_path: Path) -> Path:
    """The three documents on disk and an index of base.md alone; returns the index directory."""
    for name, text in DOCS.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    index = tmp_path / "index"
    status, err = finish(kensaku(tmp_path, "build", "base.md", "--index", str(index)))
    assert status == 0, err
    return index


def test_two_adds_at_once_both_end_up_in_the_index(built: Path) -> None:
    cwd = built.parent
    first, second = (kensaku(cwd, "add", name, "--index", str(built)) for name in ("a.md", "b.md"))
    (status_a, err_a), (status_b, err_b) = finish(first), finish(second)
    assert (status_a, status_b) == (0, 0), err_a + err_b
    assert documents(built) == {"base.md", "a.md", "b.md"}
    # They overlapped: one of them found the other holding the lock and waited (the default policy).
    assert "is being written by PID" in err_a + err_b and "waiting up to 600 s" in err_a + err_b


def test_second_writer_refused_with_wait_0_and_waits_by_default(built: Path) -> None:
    cwd = built.parent
    first = kensaku(cwd, "add", "a.md", "--index", str(built))
    deadline = time.monotonic() + 60
    while (holder := read_holder(built)) is None or holder.pid != first.pid:
        assert time.monotonic() < deadline and first.poll() is None, "the first add never took the lock"
        time.sleep(0.01)
    os.kill(first.pid, signal.SIGSTOP)  # the first writer holds the lock and stays in the middle of its build
    try:
        status, err = finish(kensaku(cwd, "add", "b.md", "--index", str(built), "--wait", "0"))
        assert status == 2 and "Traceback" not in err
        assert f"kensaku: error: index {built} is being written by PID {first.pid} on host" in err
        assert "(kensaku add a.md --index" in err and "--wait SECONDS" in err
        search = subprocess.run(
            [str(EXE), "search", "推進本部", "--index", str(built), "--format", "json", "--no-progress"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert search.returncode == 0, search.stderr  # readers never take the lock
        assert "推進本部" in json.loads(search.stdout)["results"][0]["text"]
        waiting = kensaku(cwd, "add", "b.md", "--index", str(built))  # the default: wait for the first
        time.sleep(3)
        assert waiting.poll() is None
    finally:
        os.kill(first.pid, signal.SIGCONT)
    assert finish(first)[0] == 0
    status, err = finish(waiting)
    assert status == 0 and f"is being written by PID {first.pid}" in err and "waiting up to 600 s" in err
    assert documents(built) == {"base.md", "a.md", "b.md"}

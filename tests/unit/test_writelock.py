"""One writer at a time per index: the lock beside the index directory, held by real processes.

Holders are real Python processes that take :func:`kensaku.writelock.write_lock` and sleep; they are killed with
SIGKILL to show that the kernel releases the lock (no stale lock, whatever PID comes next). Leftovers of builds are
judged by the lock, not by the PID in their names, so a PID reused by a live unrelated process does not keep a dead
build's copy from being restored.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kensaku import files, writelock
from kensaku.errors import IndexLockedError, InputError
from kensaku.files import MARKER, atomic_directory, process_start, recover
from kensaku.writelock import lock_path, read_holder, write_lock

HOLDER = """
import sys, time
from pathlib import Path
from kensaku.writelock import write_lock
with write_lock(Path(sys.argv[1]), 0):
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def hold(directory: Path, seconds: float = 60) -> subprocess.Popen[str]:
    """A process that holds the lock of ``directory`` for ``seconds`` (returns once it holds it)."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(directory), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stdout.readline() == "locked\n"
    return process


@pytest.fixture()
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    process = hold(tmp_path / "index")
    yield process
    process.kill()
    process.wait()


def old_copy(index: Path, pid: int) -> Path:
    """A complete previous index left as ``.NAME.old-PID`` by a build killed between its two renames."""
    old = index.parent / f".{index.name}.old-{pid}"
    old.mkdir()
    (old / MARKER).write_text("{}", encoding="utf-8")
    return old


def test_holder_record_is_written_while_held_and_emptied_after(tmp_path: Path) -> None:
    index = tmp_path / "index"
    with write_lock(index, 0):
        holder = read_holder(index)
        assert holder is not None
        assert (holder.pid, holder.host) == (os.getpid(), socket.gethostname())
        assert abs((datetime.now(UTC) - holder.since).total_seconds()) < 5
        assert holder.command
        assert lock_path(index) == tmp_path / ".index.lock"  # beside the directory, which may not exist yet
    assert read_holder(index) is None and list(tmp_path.iterdir()) == []  # deleted on release


def test_second_writer_in_another_process_is_refused_naming_the_holder(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    index = tmp_path / "index"
    start = time.monotonic()
    with pytest.raises(IndexLockedError) as refused, write_lock(index, 0):
        pass
    assert time.monotonic() - start < 1
    error = refused.value
    assert error.holder is not None and error.holder.pid == holder.pid and error.waited == 0
    assert f"is being written by PID {holder.pid} on host {socket.gethostname()} since" in str(error)
    assert "--wait SECONDS" in error.fix and error.directory == str(index)


def test_a_waiting_writer_gives_up_after_wait_seconds(
    tmp_path: Path, holder: subprocess.Popen[str], caplog: pytest.LogCaptureFixture
) -> None:
    index = tmp_path / "index"
    start = time.monotonic()
    with caplog.at_level(logging.WARNING, "kensaku"), pytest.raises(IndexLockedError) as refused:
        with write_lock(index, 0.6):
            pass
    assert 0.6 <= time.monotonic() - start < 3
    assert refused.value.waited >= 0.6 and "gave up after waiting" in str(refused.value)
    assert f"PID {holder.pid}" in caplog.text and "waiting up to 0.6 s" in caplog.text


def test_a_waiting_writer_goes_on_when_the_holder_finishes(tmp_path: Path) -> None:
    index = tmp_path / "index"
    process = hold(index, 1.0)
    start = time.monotonic()
    with write_lock(index, 30):
        assert read_holder(index) is not None and read_holder(index).pid == os.getpid()  # type: ignore[union-attr]
    assert 0.3 < time.monotonic() - start < 20
    assert process.wait(timeout=10) == 0


def test_lock_of_a_killed_holder_is_free_at_once(tmp_path: Path) -> None:
    index = tmp_path / "index"
    process = hold(index)
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=10) == -signal.SIGKILL
    assert read_holder(index) is not None  # its file and record stay (it had no chance to delete them) …
    start = time.monotonic()
    with write_lock(index, 0):  # … but the kernel released the lock with the process
        assert read_holder(index).pid == os.getpid()  # type: ignore[union-attr]
    assert time.monotonic() - start < 1
    assert not lock_path(index).exists()


def test_lock_is_reentrant_in_one_thread_and_exclusive_between_threads(tmp_path: Path) -> None:
    index = tmp_path / "index"
    refused: list[IndexLockedError] = []

    def other_thread() -> None:
        try:
            with write_lock(index, 0):
                pass
        except IndexLockedError as exc:
            refused.append(exc)

    with write_lock(index, 0), write_lock(index, 0):
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
    assert len(refused) == 1 and refused[0].holder is not None and refused[0].holder.pid == os.getpid()
    with write_lock(index, 0):  # released after the outer block
        pass


@pytest.mark.parametrize("wait", [-1.0, float("nan")])
def test_a_negative_wait_is_refused(tmp_path: Path, wait: float) -> None:
    with pytest.raises(InputError, match="seconds ≥ 0"), write_lock(tmp_path / "index", wait):
        pass


def test_atomic_directory_waits_for_the_lock(tmp_path: Path, holder: subprocess.Popen[str]) -> None:
    index = tmp_path / "index"
    with pytest.raises(IndexLockedError), atomic_directory(index, wait=0):
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == [".index.lock"]  # the holder's; no temporary directory


def test_leftover_of_a_reused_pid_is_restored_when_no_writer_holds_the_lock(tmp_path: Path) -> None:
    index = tmp_path / "index"
    alive = os.getppid()  # a live process unrelated to the dead build that once had this PID
    old = old_copy(index, alive)
    tmp = tmp_path / f".index.tmp-{alive}-abc"
    tmp.mkdir()
    assert recover(index) is True
    assert (index / MARKER).is_file() and not old.exists() and not tmp.exists()


def test_leftovers_of_a_live_writer_are_left_alone(tmp_path: Path, holder: subprocess.Popen[str]) -> None:
    index = tmp_path / "index"
    old = old_copy(index, holder.pid)
    tmp = tmp_path / f".index.tmp-{holder.pid}-abc"
    tmp.mkdir()
    assert recover(index) is False
    assert old.exists() and tmp.exists() and not index.exists()
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=10)
    assert recover(index) is True  # the writer is gone: its copy is put back, its temporary directory removed
    assert (index / MARKER).is_file() and not old.exists() and not tmp.exists()


def test_without_locking_leftovers_are_judged_by_pid_and_start_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a filesystem without locks: a leftover whose PID belongs to a process that started before it was made may
    be that process's build (kept); a dead PID's is restored; and a PID whose process started after the leftover was
    made was reused (simulated here: a real process cannot be given a PID chosen in advance)."""
    monkeypatch.setattr(writelock, "_fcntl", lambda: None)
    index = tmp_path / "index"
    live = old_copy(index, os.getppid())  # pytest's parent started before this leftover was made
    assert recover(index) is False and live.exists()
    dead = old_copy(index, 999_999_999)
    assert recover(index) is True and not dead.exists() and live.exists()
    shutil.rmtree(index)
    monkeypatch.setattr(files, "process_start", lambda pid: time.time() + 60)  # started after the leftover
    assert recover(index) is True and not live.exists() and (index / MARKER).is_file()


def test_process_start_is_when_the_process_started() -> None:
    before = time.time()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        started = process_start(sleeper.pid)
        assert started is not None and before - 1.5 < started < time.time() + 1.5
    finally:
        sleeper.kill()
        sleeper.wait()
    assert process_start(sleeper.pid) is None


def test_writers_taking_turns_never_hold_the_lock_together(tmp_path: Path) -> None:
    """Threads take the lock in turn many times, each holder deleting the file on release: no two ever hold it."""
    index = tmp_path / "index"
    inside: list[int] = []
    overlaps: list[int] = []

    def writer() -> None:
        for _ in range(20):
            with write_lock(index, 30):
                inside.append(1)
                if len(inside) > 1:
                    overlaps.append(len(inside))
                time.sleep(0.001)
                inside.pop()

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == [] and not lock_path(index).exists()


def test_a_lock_on_a_file_deleted_meanwhile_is_not_taken_for_the_lock(tmp_path: Path) -> None:
    """A writer opened the lock file, its holder then released (deleting it) and a new writer took a new file: the
    first writer's flock on the old file succeeds but is seen not to be the lock."""
    import fcntl

    index = tmp_path / "index"
    path = lock_path(index)
    with write_lock(index, 0):
        stale = os.open(path, os.O_RDWR)
    try:
        holder = hold(index)  # a new writer, on a new file at the same path
        try:
            assert writelock._try(fcntl, stale) is True and not writelock._is_current(stale, path)
            with pytest.raises(IndexLockedError):  # so the lock is still the holder's
                write_lock(index, 0).__enter__()
        finally:
            holder.kill()
            holder.wait()
    finally:
        os.close(stale)
